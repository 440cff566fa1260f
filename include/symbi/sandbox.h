/* libsymbi-sandbox: run untrusted code in an isolated sandbox with hard limits.
 *
 * Conventions (they hold for every function below):
 *  - Functions that can fail take a trailing `symbi_error_t *err`. On failure
 *    they return -1 (or NULL) and fill *err with an error code, the errno
 *    involved (0 if none) and a message. `err` may be NULL.
 *  - The library never prints and never exits.
 *  - There is no global mutable state. Distinct objects may be used from
 *    distinct threads freely; a symbi_sandbox_t may be shared by threads that
 *    call symbi_sandbox_execute() concurrently. A symbi_config_t or
 *    symbi_env_t must not be modified while another thread reads it.
 *  - Ownership: every pointer returned by a *_new() or *_to_json() function
 *    belongs to the caller, who releases it with the matching *_free()
 *    function (free() for strings). Strings passed in are copied; the caller
 *    keeps ownership of its arguments.
 */
#ifndef SYMBI_SANDBOX_H
#define SYMBI_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SYMBI_VERSION "0.1.0"

/* Marks what libsymbi-sandbox.so exports: the library is built with
 * -fvisibility=hidden, so everything else in it stays internal. */
#if defined(__GNUC__)
#define SYMBI_API __attribute__((visibility("default")))
#else
#define SYMBI_API
#endif

/* ---- errors ------------------------------------------------------------ */

typedef enum symbi_error_code {
	SYMBI_OK = 0,
	SYMBI_E_INVALID,     /* bad argument or configuration value */
	SYMBI_E_SECURITY,    /* refused because it would weaken isolation */
	SYMBI_E_UNAVAILABLE, /* backend not usable on this host (no docker...) */
	SYMBI_E_SYSTEM,      /* a system call failed; see err_no */
	SYMBI_E_NOMEM,       /* out of memory */
} symbi_error_code_t;

typedef struct symbi_error {
	symbi_error_code_t code;
	int err_no;
	char message[1024];
} symbi_error_t;

/* A static, human-readable name for an error code ("invalid", ...). */
SYMBI_API const char *symbi_strerror(symbi_error_code_t code);

/* Parses a docker-style size ("512m", "1.5g", "2GiB", "1024"; binary
 * units) into bytes, as every size field of the configuration does. */
SYMBI_API int symbi_parse_size(const char *text, uint64_t *out, symbi_error_t *err);

/* ---- SYMBIONT_ENV ------------------------------------------------------ */

typedef enum symbi_deploy_env {
	SYMBI_ENV_DEVELOPMENT,
	SYMBI_ENV_STAGING,
	SYMBI_ENV_PRODUCTION,
	SYMBI_ENV_TEST,
} symbi_deploy_env_t;

/* Parse a SYMBIONT_ENV value as the reference does (trimmed,
 * ASCII-lowercased; NULL means unset = development). Returns 0 and sets *out,
 * or -1 with SYMBI_E_INVALID for an unknown value. */
SYMBI_API int symbi_deploy_env_parse(const char *value, symbi_deploy_env_t *out,
				     symbi_error_t *err);

/* Reads SYMBIONT_ENV from the process environment. Returns 1 if production,
 * 0 if not, -1 (with err) if the value is unknown. Callers that guard
 * something dangerous must treat -1 as "production" (fail closed). */
SYMBI_API int symbi_is_production(symbi_error_t *err);

/* ---- environment map passed to the sandboxed program ------------------- */

typedef struct symbi_env symbi_env_t;

SYMBI_API symbi_env_t *symbi_env_new(void);
SYMBI_API void symbi_env_free(symbi_env_t *env);
/* Sets KEY=VALUE (replacing an earlier value of KEY). Keys must be
 * identifiers: ASCII letters, digits and '_', not starting with a digit
 * (anything else is refused with SYMBI_E_INVALID); values contain no NUL. */
SYMBI_API int symbi_env_set(symbi_env_t *env, const char *key, const char *value,
			    symbi_error_t *err);
SYMBI_API size_t symbi_env_count(const symbi_env_t *env);
/* The i-th entry, in insertion order; pointers stay valid until the map is
 * modified or freed. */
SYMBI_API const char *symbi_env_key(const symbi_env_t *env, size_t i);
SYMBI_API const char *symbi_env_value(const symbi_env_t *env, size_t i);

/* ---- configuration ----------------------------------------------------- */

typedef enum symbi_backend_kind {
	SYMBI_BACKEND_DOCKER,
	SYMBI_BACKEND_GVISOR,
	SYMBI_BACKEND_NATIVE,  /* namespaces + cgroups + seccomp, no daemon */
	SYMBI_BACKEND_PROCESS, /* the reference's unisolated runner */
} symbi_backend_kind_t;

typedef struct symbi_config symbi_config_t;

/* A configuration holding the reference's defaults (see README). */
SYMBI_API symbi_config_t *symbi_config_new(void);
/* DockerConfig::for_image(image): the docker backend with that image. */
SYMBI_API symbi_config_t *symbi_config_for_image(const char *image);
SYMBI_API symbi_config_t *symbi_config_copy(const symbi_config_t *cfg);
SYMBI_API void symbi_config_free(symbi_config_t *cfg);

/* Every field has one type and one rule, whichever way it is set: from its
 * text (symbi_config_set, as the CLI and the JSON loader's strings do) or
 * from a typed value (symbi_config_set_bool/_double/_u64, _unset,
 * _add_volume). A value is validated as it is set; on failure (-1, err
 * filled: SYMBI_E_INVALID for a bad or out-of-range value, an unknown
 * field or a value of the wrong type; SYMBI_E_SECURITY for a refused
 * volume) the config is unchanged. Strings are copied: the caller keeps
 * ownership of what it passes.
 *
 * The fields, their types and where they mean something:
 *   "backend"            text: "docker", "gvisor", "native", "process"
 *   "image"              text, docker and gvisor
 *   "shell"              text, not empty; docker, gvisor, native
 *   "memory_limit"       size ("512m", or bytes by _u64), 6m or more; "none"
 *                        unsets; docker, gvisor, native
 *   "cpu_limit"          number 0.01 to 1024; "none" unsets; docker, gvisor, native
 *   "max_execution_time" seconds (may be fractional; _double), 0.001 to 604800
 *   "idle_timeout", "max_lifetime"  seconds, 0 (never) to 604800; live sandboxes
 *   "network_mode"       none, bridge, host, container:NAME; docker, gvisor, native
 *   "volumes"            list, "host:container[:mode]" (or _add_volume);
 *                        docker, gvisor, native
 *   "working_dir"        absolute path; docker, gvisor, native
 *   "auto_remove", "allow_writable_volume_paths"  bool; docker and gvisor
 *   "allowed_named_volumes", "extra_flags"  lists; docker and gvisor
 *   "docker_binary"      text; docker and gvisor
 *   "max_output_bytes"   size, 1 to 1g
 *   "pids_limit"         integer 1 to 4194304; "none" unsets; docker, gvisor, native
 *   "user"               NAME, UID, NAME:GROUP or UID:GID; "" unsets;
 *                        docker, gvisor, native
 *   "runtime_name", "runsc_binary"  text; gvisor
 *   "lang"               "sh", "bash", "python", "node"; "" = SHELL -c;
 *                        docker, gvisor, native
 *   "tmp_size"           size 4k to 64g, /tmp's tmpfs; docker, gvisor, native
 *   "workdir_size"       size 4k to 64g, the working directory's tmpfs; native
 *   "weak_limits"        bool: where no cgroup can be made, accept memory and
 *                        pids limits as per-process rlimits; native
 *   "native_id_range"    "BASE:COUNT", the host uids/gids given to runs of a
 *                        root caller, one per live run; native
 *   "executable", "working_directory", "enforce_resource_limits" (bool),
 *   "max_memory_mb", "max_cpu_seconds" (integers), "allowed_executables"
 *                        (list): the process backend (the reference's
 *                        native runner)
 * Bools take "true"/"false", "1"/"0", "yes"/"no" as text. List fields
 * append one entry per call. A field set explicitly on a backend where it
 * means nothing makes symbi_config_validate() (and so symbi_sandbox_new)
 * fail with SYMBI_E_INVALID: it is never silently ignored. */
SYMBI_API int symbi_config_set(symbi_config_t *cfg, const char *field, const char *value,
			       symbi_error_t *err);
/* A bool field. */
SYMBI_API int symbi_config_set_bool(symbi_config_t *cfg, const char *field, bool value,
				    symbi_error_t *err);
/* A number field: cpu_limit, a duration in seconds, or a size or integer
 * field (the value must then be a whole number). NaN and infinities are
 * refused. */
SYMBI_API int symbi_config_set_double(symbi_config_t *cfg, const char *field, double value,
				      symbi_error_t *err);
/* A size (bytes) or integer field, or cpu_limit; not a duration (use
 * _double: seconds). */
SYMBI_API int symbi_config_set_u64(symbi_config_t *cfg, const char *field, uint64_t value,
				   symbi_error_t *err);
/* Unsets a field that can be unset: memory_limit, cpu_limit, pids_limit
 * (no limit), user (the image's), lang (the shell). */
SYMBI_API int symbi_config_unset(symbi_config_t *cfg, const char *field, symbi_error_t *err);
/* Appends a volume: host path (or a named volume), container path,
 * read-only or read-write; the same checks as a "volumes" spec, and
 * neither path may contain ':'. */
SYMBI_API int symbi_config_add_volume(symbi_config_t *cfg, const char *host,
				      const char *target, bool read_only, symbi_error_t *err);
/* user as numeric ids: the same as "UID:GID". */
SYMBI_API int symbi_config_set_user_ids(symbi_config_t *cfg, uint32_t uid, uint32_t gid,
					symbi_error_t *err);
/* Whether a field means something on the config's backend (false for an
 * unknown field), so that a front end serving several backends sets only
 * those. */
SYMBI_API bool symbi_config_field_honoured(const symbi_config_t *cfg, const char *field);
/* Empties a list field ("volumes", "extra_flags", "allowed_executables",
 * "allowed_named_volumes"). */
SYMBI_API int symbi_config_clear_list(symbi_config_t *cfg, const char *field,
				      symbi_error_t *err);
/* Applies a JSON object whose keys are the reference's field names. A
 * value is a string (read as symbi_config_set reads text), a number for a
 * number field, a bool for a bool field, an array of strings for a list
 * field (which it replaces), or null for a field that can be unset;
 * durations may also be {"secs":..,"nanos":..}. Unknown keys are refused.
 * All or nothing: on failure the config is unchanged. */
SYMBI_API int symbi_config_load_json(symbi_config_t *cfg, const char *json,
				     symbi_error_t *err);

/* The reference's builders. with_volume validates and can fail. */
SYMBI_API int symbi_config_with_network(symbi_config_t *cfg, symbi_error_t *err);
SYMBI_API int symbi_config_with_memory(symbi_config_t *cfg, const char *limit,
				       symbi_error_t *err);
SYMBI_API int symbi_config_with_cpu(symbi_config_t *cfg, double cpus, symbi_error_t *err);
SYMBI_API int symbi_config_with_volume(symbi_config_t *cfg, const char *mount,
				       symbi_error_t *err);

/* Validates the whole configuration as a sandbox would before starting
 * (empty image, every volume, every extra flag, host networking in
 * production, ...). */
SYMBI_API int symbi_config_validate(const symbi_config_t *cfg, symbi_error_t *err);

/* Read access, mainly for tests and front ends. Returned strings belong to
 * the config. */
SYMBI_API const char *symbi_config_get_image(const symbi_config_t *cfg);
SYMBI_API const char *symbi_config_get_network_mode(const symbi_config_t *cfg);
/* NULL when unset. */
SYMBI_API const char *symbi_config_get_memory_limit(const symbi_config_t *cfg);
/* Negative when unset. */
SYMBI_API double symbi_config_get_cpu_limit(const symbi_config_t *cfg);
SYMBI_API uint64_t symbi_config_get_timeout_ms(const symbi_config_t *cfg);
SYMBI_API size_t symbi_config_get_max_output_bytes(const symbi_config_t *cfg);
SYMBI_API symbi_backend_kind_t symbi_config_get_backend(const symbi_config_t *cfg);
SYMBI_API size_t symbi_config_list_count(const symbi_config_t *cfg, const char *field);
SYMBI_API const char *symbi_config_list_get(const symbi_config_t *cfg, const char *field,
					    size_t i);

/* ---- results ----------------------------------------------------------- */

typedef enum symbi_status {
	SYMBI_STATUS_EXITED,   /* the program exited; exit_code is its status */
	SYMBI_STATUS_SIGNALED, /* the program died of signal `signal` */
	SYMBI_STATUS_TIMEOUT,  /* killed at max_execution_time; output kept */
	SYMBI_STATUS_OOM,      /* killed for exceeding the memory limit */
	SYMBI_STATUS_ERROR,    /* the sandbox could not run the code; see error */
	SYMBI_STATUS_CANCELLED, /* stopped through cancel_fd; output kept */
} symbi_status_t;

typedef struct symbi_result {
	int32_t exit_code; /* -1 when there is none */
	/* Captured bytes, exactly as written, each NUL-terminated for
	 * convenience (the data may itself contain NULs: use the lengths).
	 * When truncated, the reference's marker
	 * "\n... [output truncated at N bytes]" follows the first N bytes. */
	char *stdout_data;
	size_t stdout_len;
	char *stderr_data;
	size_t stderr_len;
	uint64_t execution_time_ms;
	bool success; /* exit_code == 0 and status == EXITED */
	bool stdout_truncated;
	bool stderr_truncated;
	symbi_status_t status;
	int signal; /* for SIGNALED (and TIMEOUT/OOM: the killing signal) */
	char *error; /* NULL unless something went wrong; human-readable */
} symbi_result_t;

SYMBI_API void symbi_result_free(symbi_result_t *res);
/* "exited", "signaled", "timeout", "oom", "error", "cancelled". */
SYMBI_API const char *symbi_status_name(symbi_status_t status);
/* One JSON object with every result field named as in the reference plus
 * status, signal and error. Output that is not valid UTF-8 is converted
 * lossily (U+FFFD), as the reference does. Caller frees with free(). */
SYMBI_API char *symbi_result_to_json(const symbi_result_t *res, symbi_error_t *err);

/* ---- the sandbox ------------------------------------------------------- */

typedef struct symbi_sandbox symbi_sandbox_t;

/* Validates a copy of `cfg` and checks that the backend is available (the
 * reference's `docker version` / `runsc --version` start-up checks). */
SYMBI_API symbi_sandbox_t *symbi_sandbox_new(const symbi_config_t *cfg,
					     symbi_error_t *err);
SYMBI_API void symbi_sandbox_free(symbi_sandbox_t *sb);
/* The backend's name: "docker", "gvisor", "native", "process". */
SYMBI_API const char *symbi_sandbox_backend_name(const symbi_sandbox_t *sb);
/* A warning that front ends must show before running code, or NULL: the
 * process backend runs it unisolated; the native backend, with weak_limits
 * and no cgroup, enforces memory and pids limits per process only, and run
 * by a user without /etc/subuid ids runs every execution as that user. It
 * belongs to the sandbox and does not change during its life. */
SYMBI_API const char *symbi_sandbox_warning(const symbi_sandbox_t *sb);

/* Removes what runs of processes that died (SIGKILL, a crash) left on this
 * host: the native backend's cgroups whose supervisor is gone. Each run
 * collects such leftovers beside it as it starts, off its critical path; a
 * long-lived process (a server) calls this once when it starts, so that a
 * killed predecessor's leftovers go before any run. Best effort, never
 * fails; thread-safe. */
SYMBI_API void symbi_collect_leftovers(void);

/* Runs `code` (code_len bytes; it may be several MiB) as `SHELL -c CODE`
 * would, with `env` (may be NULL) as its extra environment. Returns 0 and a
 * result in *out for everything that happened to the program (including
 * timeouts, OOM kills and failures of the container engine, which come back
 * as status ERROR); returns -1 with err only for invalid input, in which
 * case nothing was started.
 *
 * It means start + exec + stop of a live sandbox (symbi_live_*) with the
 * same configuration, and gives the same results, field for field but the
 * time (tests/unit/test_oneshot_equiv.c checks a corpus both ways). A
 * backend may run the three steps fused: the native backend starts the
 * program while it builds the root, which makes a one-shot run 15-30%
 * faster than the three steps apart (bench/live-exec.sh measures both). */
SYMBI_API int symbi_sandbox_execute(symbi_sandbox_t *sb, const char *code,
				    size_t code_len, const symbi_env_t *env,
				    symbi_result_t **out, symbi_error_t *err);

/* Everything one execution can be given. Zero-initialise, then set what
 * you need (cancel_fd must be set to -1 when unused). */
typedef struct symbi_exec_options {
	const char *code;
	size_t code_len;
	const symbi_env_t *env;  /* may be NULL */
	const char *stdin_data;  /* the program's stdin; NULL: empty */
	size_t stdin_len;
	/* When this descriptor becomes readable (e.g. a pipe written or closed
	 * by another thread) the execution is stopped and comes back with
	 * status CANCELLED, error "execution cancelled" and the output it had
	 * written. -1: none. */
	int cancel_fd;
	/* Runs this program (argv[0] searched in the sandbox's PATH; the list
	 * ends with NULL) instead of code. */
	char *const *argv;
	/* The working directory (absolute, inside the sandbox); NULL: the
	 * configuration's working_dir. */
	const char *cwd;
	/* 0: the configuration's max_execution_time / max_output_bytes. */
	uint64_t timeout_ms;
	size_t max_output_bytes;
	/* Called with every chunk of output as the program writes it (which:
	 * 1 stdout, 2 stderr), before any cap, from the thread that waits for
	 * the program; the result still holds the capped capture. NULL: none. */
	void (*on_output)(void *ctx, int which, const char *data, size_t len);
	void *output_ctx;
	/* stdin stays open for symbi_process_write_stdin() until
	 * symbi_process_close_stdin() (stdin_data must then be NULL). */
	bool stdin_open;
	/* Detached: stdin, stdout and stderr are /dev/null, and the process
	 * runs until it ends or the sandbox stops, with no timeout; it cannot
	 * be waited for (a server started in the background). */
	bool detached;
} symbi_exec_options_t;

/* symbi_sandbox_execute() with every option. The fields below `cancel_fd`
 * are for live sandboxes (symbi_live_*); a one-shot execution refuses them
 * with SYMBI_E_INVALID, but for timeout_ms and max_output_bytes, which it
 * honours. */
SYMBI_API int symbi_sandbox_execute_opts(symbi_sandbox_t *sb, const symbi_exec_options_t *opts,
					 symbi_result_t **out, symbi_error_t *err);

/* ---- live sandboxes ------------------------------------------------------
 *
 * A live sandbox is started once and runs many processes, one after another
 * or side by side, until it is stopped: files, /tmp, background processes and
 * interpreter state persist between them. The configuration's memory, pids
 * and cpu limits hold for the whole sandbox, as do its deadlines (idle_timeout
 * and max_lifetime: when one passes, everything in it is killed and every
 * later call reports it); max_execution_time and max_output_bytes hold for
 * each process. Native, docker and gvisor backends (process:
 * SYMBI_E_UNAVAILABLE). On docker and gvisor a live sandbox is one container
 * and each process an exec: code, argv and environment values must be UTF-8
 * and code at most 100 KiB (else SYMBI_E_INVALID); a death by signal N and
 * an exit with status 128 + N cannot be told apart (both SIGNALED).
 *
 * Threads: any thread may exec into, and signal processes of, one live
 * sandbox concurrently. symbi_live_stop() must not race other calls on the
 * same sandbox; processes being waited for then come back with status
 * ERROR. */

typedef struct symbi_live symbi_live_t;
typedef struct symbi_process symbi_process_t;

/* Starts a live sandbox with a copy of cfg (validated as symbi_sandbox_new
 * does). Caller stops it with symbi_live_stop(). */
SYMBI_API symbi_live_t *symbi_live_start(const symbi_config_t *cfg, symbi_error_t *err);
/* Kills everything in the sandbox, removes all it made on the host and
 * frees it. Processes not yet freed must be freed afterwards (they report
 * the stop). NULL is a no-op. */
SYMBI_API void symbi_live_stop(symbi_live_t *lv);
/* Starts a process in the sandbox (code with the configuration's lang, or
 * opts->argv). Returns 0 with *out (caller frees with symbi_process_free()),
 * or -1 with err if it could not start: invalid options (SYMBI_E_INVALID),
 * a sandbox that has ended (SYMBI_E_UNAVAILABLE, its reason in the message),
 * or a failed step inside the sandbox (the program not found...). */
SYMBI_API int symbi_live_spawn(symbi_live_t *lv, const symbi_exec_options_t *opts,
			       symbi_process_t **out, symbi_error_t *err);
/* spawn + wait + free: the live counterpart of symbi_sandbox_execute_opts,
 * with the same results. A failure inside the sandbox comes back as a
 * result with status ERROR, as there. */
SYMBI_API int symbi_live_exec(symbi_live_t *lv, const symbi_exec_options_t *opts,
			      symbi_result_t **out, symbi_error_t *err);
/* The ids, inside the sandbox, of its processes still running that were
 * started by spawn or exec (not their children), up to max of them into
 * pids; returns how many there are. */
SYMBI_API size_t symbi_live_list(symbi_live_t *lv, int *pids, size_t max);
/* Why the sandbox ended (its idle or lifetime deadline passed, its init was
 * killed), or NULL while it is alive. Static or sandbox-owned text. */
SYMBI_API const char *symbi_live_ended(symbi_live_t *lv);

/* Supervises the process to its end (reading its output, enforcing its
 * timeout and cancel_fd) and returns its result; once per process, not for
 * a detached one. */
SYMBI_API int symbi_process_wait(symbi_process_t *p, symbi_result_t **out, symbi_error_t *err);
/* Sends a signal to the process's group (itself and the children it did
 * not move out); thread-safe, also while another thread waits. */
SYMBI_API int symbi_process_signal(symbi_process_t *p, int sig, symbi_error_t *err);
/* For stdin_open processes; thread-safe, also while another thread waits.
 * write blocks until all was written (or the process closed its stdin:
 * SYMBI_E_SYSTEM, EPIPE). */
SYMBI_API int symbi_process_write_stdin(symbi_process_t *p, const void *data, size_t len,
					symbi_error_t *err);
SYMBI_API int symbi_process_close_stdin(symbi_process_t *p, symbi_error_t *err);
/* The process's id inside the sandbox. */
SYMBI_API int symbi_process_id(const symbi_process_t *p);
/* Frees the handle. A process not waited for is killed first (SIGKILL to
 * its group), unless detached. NULL is a no-op. */
SYMBI_API void symbi_process_free(symbi_process_t *p);

/* ---- stateful code contexts ----------------------------------------------
 *
 * A context is a long-running interpreter in a live sandbox that runs cells
 * and keeps its state between them, as a notebook kernel does: "python"
 * (python3: variables, imports, functions persist; the value of a cell's
 * last expression is returned as its repr; an exception as its name, value
 * and traceback) or "sh" (variables, functions, the working directory
 * persist; the cell's exit status is returned). A cell's stdin is
 * /dev/null. Cells of one context run one at a time (a second caller
 * waits); contexts of one sandbox run side by side. */

typedef struct symbi_context symbi_context_t;

typedef struct symbi_cell {
	/* The cell's output, capped at the sandbox's max_output_bytes (the
	 * marker of symbi_result_t follows the first N bytes when truncated). */
	char *stdout_data;
	size_t stdout_len;
	char *stderr_data;
	size_t stderr_len;
	bool stdout_truncated, stderr_truncated;
	/* EXITED: the cell ran to its end, raising or not; TIMEOUT: it was
	 * interrupted at its timeout (python: KeyboardInterrupt, the state is
	 * kept; a cell that ignores the interrupt for 2 s ends the context);
	 * ERROR: the context has ended (see error) and cannot run cells. */
	symbi_status_t status;
	int exit_code;      /* sh: the cell's status; python: 0, or 1 if it raised */
	char *value;        /* python: repr of the last expression, if not None */
	char *error_name;   /* python: the exception's type name, else NULL */
	char *error_value;  /* its str() */
	char *traceback;    /* the formatted traceback */
	char *error;        /* what went wrong with the context, else NULL */
	uint64_t execution_time_ms;
} symbi_cell_t;

/* Starts an interpreter ("python" or "sh") in the live sandbox. The
 * context must be freed before the sandbox is stopped. */
SYMBI_API symbi_context_t *symbi_context_new(symbi_live_t *lv, const char *language,
					     symbi_error_t *err);
/* Runs one cell (code_len bytes) and returns its result in *out (caller
 * frees with symbi_cell_free). timeout_ms 0: the sandbox's
 * max_execution_time. on_output (may be NULL) sees the cell's output as it
 * comes (which: 1 stdout, 2 stderr), from another thread. -1 only for
 * invalid arguments. */
SYMBI_API int symbi_context_run(symbi_context_t *cx, const char *code, size_t code_len,
				uint64_t timeout_ms,
				void (*on_output)(void *ctx, int which, const char *data, size_t len),
				void *output_ctx, symbi_cell_t **out, symbi_error_t *err);
/* symbi_context_run() that also stops when cancel_fd (-1: none) becomes
 * readable: the cell is then interrupted as its timeout would do it (the
 * interpreter and its state are kept; one that ignores the interrupt is
 * ended) and comes back with status CANCELLED and the output it wrote. */
SYMBI_API int symbi_context_run_cancellable(symbi_context_t *cx, const char *code,
					    size_t code_len, uint64_t timeout_ms, int cancel_fd,
					    void (*on_output)(void *ctx, int which,
							      const char *data, size_t len),
					    void *output_ctx, symbi_cell_t **out,
					    symbi_error_t *err);
/* Why the context's interpreter has ended (it exited, was killed, or its
 * sandbox ended), or NULL while it runs; the text belongs to the context.
 * An ended context answers every cell with status ERROR: make a new one. */
SYMBI_API const char *symbi_context_ended(symbi_context_t *cx);
/* Ends the interpreter and frees the context. NULL is a no-op. */
SYMBI_API void symbi_context_free(symbi_context_t *cx);
SYMBI_API void symbi_cell_free(symbi_cell_t *cell);
/* The cell as symbi_result_to_json's object (success: it exited 0 without
 * an exception; signal null) plus "value" (string or null) and "exception"
 * ({"name","value","traceback"} or null). Caller frees with free(). */
SYMBI_API char *symbi_cell_to_json(const symbi_cell_t *cell, symbi_error_t *err);

/* ---- host capabilities (what `symbi-sandbox doctor` reports) ------------ */

typedef struct symbi_host_info {
	bool is_root;
	char kernel[128];          /* uname release */
	bool namespaces;           /* pid, mount, net, ipc, uts, cgroup can be made */
	char namespaces_detail[256];
	bool user_namespaces;      /* an unprivileged user namespace can be made */
	char user_namespaces_detail[256];
	int cgroup_version;        /* 0: none mounted, 1: v1 (or hybrid), 2: unified */
	bool cgroup_memory, cgroup_pids, cgroup_cpu; /* usable by this process */
	char cgroup_detail[256];   /* where sandboxes go, or why they cannot */
	bool seccomp;              /* seccomp filters can be installed */
	char libseccomp_version[32];
	int landlock_abi;          /* 0: landlock unavailable */
	/* Native backend, default configuration: whether each run gets a host
	 * uid/gid of its own (else runs share the caller's), and from where. */
	bool run_identity;
	char run_identity_detail[512];
} symbi_host_info_t;

/* Probes this host (forks short-lived children; creates and removes one
 * test cgroup). Never fails for a missing feature: that is reported in
 * *out. */
SYMBI_API int symbi_host_probe(symbi_host_info_t *out, symbi_error_t *err);

#ifdef __cplusplus
}
#endif
#endif
