/* Stateful code contexts (context.c) and the interpreters' drivers that run
 * inside the sandbox (context_drivers.c). */
#ifndef SYMBI_CORE_CONTEXT_H
#define SYMBI_CORE_CONTEXT_H

#include <symbi/sandbox.h>

/* The per-process defaults of a live sandbox (live.c). */
void symbi_live_limits(const symbi_live_t *lv, uint64_t *timeout_ms, size_t *max_output);

extern const char symbi_context_python_driver[];
extern const char symbi_context_sh_driver[];

#endif
