#ifndef SYMBI_CORE_RESULT_H
#define SYMBI_CORE_RESULT_H

#include <symbi/sandbox.h>

#include "supervise.h"

/* A result with status ERROR, exit_code -1 and the message as both error
 * and stderr (the reference's ExecutionResult::error). */
symbi_result_t *symbi_result_new_error(const char *message, uint64_t elapsed_ms);

/* Moves the captured streams of `oc` into a new result and fills the
 * fields derived from them; the caller then sets status/exit_code. */
symbi_result_t *symbi_result_from_outcome(symbi_supervise_outcome_t *oc);

/* Sets status and the fields that follow from it (success). */
void symbi_result_set_exit(symbi_result_t *res, symbi_status_t status, int exit_code, int sig);

/* Copies `len` bytes of `data` into a new NUL-terminated string in which
 * every invalid UTF-8 sequence is replaced by U+FFFD; its length (which
 * counts any NULs inside) goes to *out_len if non-NULL. */
char *symbi_utf8_lossy(const char *data, size_t len, size_t *out_len);

#endif
