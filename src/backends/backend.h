/* The interface every backend implements. Callers hold a symbi_sandbox_t and
 * never learn which backend is behind it. */
#ifndef SYMBI_BACKENDS_BACKEND_H
#define SYMBI_BACKENDS_BACKEND_H

#include <symbi/sandbox.h>

#include "../core/config.h"

typedef struct symbi_exec_request {
	const char *code;
	size_t code_len;
	const symbi_env_t *env; /* may be NULL */
	const char *stdin_data; /* NULL: empty stdin */
	size_t stdin_len;
	int cancel_fd;          /* readable = cancel; -1 for none */
} symbi_exec_request_t;

typedef struct symbi_backend_ops {
	const char *name;
	const char *warning; /* shown by front ends before each run; may be NULL */
	/* A warning that depends on the sandbox (what create found), or
	 * NULL; may be NULL. Wins over `warning`. */
	const char *(*state_warning)(const void *state);
	/* Start-up check (is the engine there?); may keep state in *state. The
	 * config has already passed symbi_config_validate(). */
	int (*create)(const symbi_config_t *cfg, void **state, symbi_error_t *err);
	/* Same contract as symbi_sandbox_execute(); must be thread-safe. */
	int (*execute)(void *state, const symbi_config_t *cfg, const symbi_exec_request_t *req,
		       symbi_result_t **out, symbi_error_t *err);
	void (*destroy)(void *state);
	/* symbi_collect_leftovers(); may be NULL. */
	void (*collect_leftovers)(void);
} symbi_backend_ops_t;

extern const symbi_backend_ops_t symbi_backend_docker;
extern const symbi_backend_ops_t symbi_backend_gvisor;
extern const symbi_backend_ops_t symbi_backend_native;
extern const symbi_backend_ops_t symbi_backend_process;

#endif
