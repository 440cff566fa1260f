/* The interface every backend implements (the core's, so that the core
 * depends on no backend: backends include this). Callers hold a
 * symbi_sandbox_t and never learn which backend is behind it. */
#ifndef SYMBI_CORE_BACKEND_H
#define SYMBI_CORE_BACKEND_H

#include <symbi/sandbox.h>

#include "config.h"

typedef struct symbi_exec_request {
	const char *code;
	size_t code_len;
	const symbi_env_t *env; /* may be NULL */
	const char *stdin_data; /* NULL: empty stdin */
	size_t stdin_len;
	int cancel_fd;          /* readable = cancel; -1 for none */
} symbi_exec_request_t;

/* A backend's live sandboxes (include/symbi/sandbox.h, "live sandboxes"):
 * the core (src/core/live.c) checks arguments, applies the configuration's
 * defaults to the options, and keeps the sandbox alive while process
 * handles refer to it. */
typedef struct symbi_live_ops {
	/* Starts one with the state from create and the core's config, which
	 * outlives it. On failure *live may still be set: kill and free it. */
	int (*start)(void *state, const symbi_config_t *cfg, void **live, symbi_error_t *err);
	void (*kill)(void *live);  /* ends everything in it; idempotent */
	void (*free)(void *live);  /* after kill, once no process handle is left */
	const char *(*ended)(void *live);
	size_t (*list)(void *live, int *pids, size_t max);
	/* opts: timeout_ms and max_output_bytes set; code or argv. */
	int (*spawn)(void *live, const symbi_exec_options_t *opts, void **proc, symbi_error_t *err);
	int (*wait)(void *proc, symbi_result_t **out, symbi_error_t *err);
	int (*signal)(void *proc, int sig, symbi_error_t *err);
	int (*write_stdin)(void *proc, const void *data, size_t len, symbi_error_t *err);
	int (*close_stdin)(void *proc, symbi_error_t *err);
	int (*id)(const void *proc);
	void (*proc_free)(void *proc);
} symbi_live_ops_t;

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
	/* The backend's own configuration rules, so that the core knows none:
	 * check_config runs in symbi_config_validate() after the common
	 * checks; check_field as symbi_config_set() takes a value (0 for a
	 * field it has no rule for). Either may be NULL. */
	int (*check_config)(const symbi_config_t *cfg, symbi_error_t *err);
	int (*check_field)(const char *field, const char *value, symbi_error_t *err);
	/* Live sandboxes; NULL where the backend has none yet. */
	const symbi_live_ops_t *live;
} symbi_backend_ops_t;

/* The backends, for the dispatch (sandbox.c). */
extern const symbi_backend_ops_t symbi_backend_docker;
extern const symbi_backend_ops_t symbi_backend_gvisor;
extern const symbi_backend_ops_t symbi_backend_native;
extern const symbi_backend_ops_t symbi_backend_process;
extern const symbi_live_ops_t symbi_native_live_ops;
/* docker_live.c: the docker and gvisor backends' (cfg->backend tells). */
extern const symbi_live_ops_t symbi_docker_live_ops;

/* The backend of a kind (sandbox.c), for the core's dispatch: NULL for an
 * unknown kind. */
const symbi_backend_ops_t *symbi_backend_for(symbi_backend_kind_t kind);

#endif
