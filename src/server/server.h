/* The service faces (HTTP API and MCP) of symbi-sandbox: shared types.
 *
 * Everything here lives in the CLI binary, on top of the public library API.
 * Errors follow the library's convention with an HTTP flavour: functions that
 * can fail take a trailing `srv_err_t *` and return -1 (or NULL); only the
 * faces (http.c, mcp.c, the CLI) turn an error into output. */
#ifndef SYMBI_SERVER_H
#define SYMBI_SERVER_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>
#include <symbi/sandbox.h>

/* ---- errors -------------------------------------------------------------- */

typedef struct srv_err {
	int status;       /* HTTP status: 400, 401, 404, 413, 429, 500, 503 */
	const char *code; /* stable machine-readable code, e.g. "policy_violation" */
	char message[512];
	unsigned retry_after; /* seconds, for 429/503/507; 0: the policy's default */
} srv_err_t;

int srv_fail(srv_err_t *err, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Maps a library error to a server error (invalid -> 400, unavailable -> 503...). */
int srv_fail_lib(srv_err_t *err, const symbi_error_t *lerr);
/* {"error":{"code":..,"message":..}}; caller frees. */
char *srv_err_json(const srv_err_t *err);

/* ---- small helpers (util.c) ----------------------------------------------- */

/* Whether s[0..n) is valid UTF-8 (NUL bytes allowed). */
bool srv_utf8_valid(const char *s, size_t n);
/* A JSON string of s[0..n): as is if valid UTF-8, else with every byte
 * outside printable ASCII and every '%' written as %XX. */
json_t *srv_json_text(const char *s, size_t n);
/* Standard base64 with padding (malloc'd); decode is strict and returns -1
 * on anything else. */
char *srv_base64_encode(const void *data, size_t len);
int srv_base64_decode(const char *text, size_t len, char **out, size_t *outlen);
/* The n bytes as lower-case hex into out (2*n+1, NUL-terminated). */
void srv_hex(const unsigned char *bytes, size_t n, char *out);
/* Lower-case hex SHA-256 of data into out[65] (empty if hashing failed). */
void srv_sha256_hex(const void *data, size_t len, char out[65]);
/* Constant-time comparison of two strings of any length (compares digests). */
bool srv_secret_equal(const char *a, const char *b);
/* `nbytes` random bytes as hex into out (2*nbytes+1). Returns -1 on failure. */
int srv_random_hex(char *out, size_t nbytes);
/* Docker-style size ("512m", "1g", "1048576") to bytes; -1 if invalid. */
int srv_parse_size(const char *text, uint64_t *out);
/* Appends n bytes to a growing buffer, kept NUL-terminated; -1: no memory. */
int srv_buf_append(char **buf, size_t *len, size_t *cap, const void *data, size_t n);
/* Copies what is left of src[*off..len) into buf (at most max), moving
 * *off on; returns the count (a streamed answer's reader). */
size_t srv_copy_out(const char *src, size_t len, size_t *off, char *buf, size_t max);
/* "ID/REST" or "ID": the id (shorter than idlen, not empty) into id,
 * *rest at "/REST" or "". */
bool srv_path_id(const char *p, char *id, size_t idlen, const char **rest);
/* Writes "PORT\n" to path (NULL: nothing), atomically. */
void srv_write_ready_file(const char *path, unsigned port);
/* Wakes a thread that polls stop_fd (writes a byte) and joins it. */
void srv_thread_stop(int stop_fd, pthread_t t);
/* Monotonic and wall clocks in milliseconds. */
uint64_t srv_now_ms(void);
/* RFC 3339 UTC timestamp with milliseconds into out[32]. */
void srv_timestamp(char out[32]);
/* A condition variable whose timed waits count on the monotonic clock. */
void srv_cond_init_monotonic(pthread_cond_t *cond);
/* Waits on such a cond (lock held) for at most ms; returns
 * pthread_cond_timedwait's value (ETIMEDOUT: the time ran out). */
int srv_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *lock, uint64_t ms);
/* Whether the client on socket fd closed its end (-1: no client, never);
 * MHD notices only when it writes, and a quiet program or a queued request
 * gives it nothing to write. */
bool srv_client_gone(int fd);
/* The servers' signals: SIGTERM and SIGINT blocked in the calling thread
 * (and the threads it starts), to be taken from `set` by sigwait or a
 * signalfd; SIGPIPE ignored (a client gone is an error of the write). The
 * library resets the mask of everything it spawns. */
void srv_block_stop_signals(sigset_t *set);
/* The wall clock in ms since the epoch, and such a time as RFC 3339. */
uint64_t srv_wall_ms(void);
void srv_timestamp_at(uint64_t wall_ms, char out[32]);

/* ---- policy (policy.c) ---------------------------------------------------- */

typedef struct srv_limits {
	double timeout_s;
	uint64_t memory_bytes; /* 0: unlimited (only allowed as a default if max is 0) */
	double cpus;
	int64_t pids;
	uint64_t max_output_bytes;
} srv_limits_t;

typedef struct srv_language {
	char *name;
	char *shell;
	char *image; /* NULL: the default image */
} srv_language_t;

typedef struct srv_policy {
	char *default_backend;
	char *default_image;
	char *default_language;
	srv_limits_t defaults;
	srv_limits_t maximums;
	char **allowed_backends;
	size_t n_backends;
	char **allowed_images;
	size_t n_images;
	srv_language_t *languages;
	size_t n_languages;
	bool allow_network;      /* "bridge" */
	bool allow_host_network; /* "host" */
	bool allow_host_volumes;
	double session_idle_ttl_s, max_session_idle_ttl_s;
	size_t max_sessions;
	size_t max_body_bytes;
	size_t max_file_bytes;
	uint64_t max_workspace_bytes; /* tmpfs size of a workspace (root only); 0: no cap */
	/* Each session is charged its max_workspace_bytes when it is created,
	 * against its token's and the server's budgets. */
	size_t max_sessions_per_token;
	uint64_t max_workspace_bytes_per_token;
	uint64_t workspace_budget_bytes;
	size_t max_running;
	size_t warm_pool; /* warm sandboxes per configuration (pool.c); 0: none */
	size_t max_queued;
	unsigned retry_after_s;
} srv_policy_t;

/* The built-in policy, then `path` (may be NULL) applied over it. */
srv_policy_t *srv_policy_load(const char *path, srv_err_t *err);
void srv_policy_free(srv_policy_t *p);
bool srv_policy_backend_allowed(const srv_policy_t *p, const char *backend);
/* The operator's command-line choice of default backend (which becomes
 * allowed) and default image; NULL leaves a value alone. */
int srv_policy_override(srv_policy_t *p, const char *backend, const char *image, srv_err_t *err);
/* Checks that a sandbox with the defaults can be made (the backend's start-up
 * check), so that the operator hears about a missing backend at start. */
int srv_policy_probe_default(const srv_policy_t *p, srv_err_t *err);
/* Tries every allowed backend once (at start) and drops, with a warning on
 * stderr, those that cannot make a sandbox here, so that health and clients
 * see only what works; a dropped default is replaced by the first that
 * works. */
void srv_policy_probe_backends(srv_policy_t *p, const char *prog);

/* What a request asked for, after defaults and policy checks. */
typedef struct srv_exec_spec {
	char backend[32];
	char image[256];
	char shell[256];
	char network[32];
	srv_limits_t limits;
	double idle_ttl_s; /* sessions only */
	/* Where a session's workspace is mounted, and its processes' working
	 * directory; "": /workspace (the E2B face uses /home/user). */
	char workdir[64];
} srv_exec_spec_t;

/* Fills `spec` from the request fields in `req` (backend, image, language,
 * shell, timeout, memory, cpus, pids, max_output_bytes, network and their
 * reference aliases), refusing anything over a maximum or not allowed.
 * `allowed_keys` names the other keys the caller accepts (NULL-terminated);
 * any other key is refused. */
int srv_policy_resolve(const srv_policy_t *p, json_t *req, const char *const *allowed_keys,
		       bool session, srv_exec_spec_t *spec, srv_err_t *err);
/* A library configuration for `spec`; `workspace` (may be NULL) is bound at
 * /workspace read-write. */
symbi_config_t *srv_spec_config(const srv_exec_spec_t *spec, const char *workspace,
				srv_err_t *err);
/* {"timeout_ms":..,"memory_bytes":..,...} for the audit log and answers. */
json_t *srv_limits_json(const srv_exec_spec_t *spec);

/* ---- audit log (audit.c) --------------------------------------------------- */

typedef struct srv_audit srv_audit_t;

/* Opens (creating, mode 0600) an append-only log whose chain every append
 * continues from the file's last line, under an exclusive flock (several
 * processes may share the file). With key_file, hashes are HMAC-SHA-256
 * with that key. */
srv_audit_t *srv_audit_open(const char *path, const char *key_file, srv_err_t *err);
void srv_audit_close(srv_audit_t *a);
/* Appends `entry` (stolen) with seq, time, prev and hash added. NULL log: no-op. */
int srv_audit_append(srv_audit_t *a, json_t *entry);
/* Reads a key file (at least 16 bytes; a trailing newline is not part of it). */
int srv_audit_load_key(const char *path, unsigned char **key, size_t *keylen, srv_err_t *err);
/* Checks the chain of the file at path (keyed if key != NULL; ending at
 * expect_head if given). Returns the number of entries, or -1 with a message
 * naming the first bad line. */
long srv_audit_verify(const char *path, const unsigned char *key, size_t keylen,
		      const char *expect_head, char *msg, size_t msglen);

/* ---- metrics (metrics.c) --------------------------------------------------- */

void srv_metrics_execution(const char *backend, const char *status, uint64_t ms);
void srv_metrics_rejection(const char *reason);
void srv_metrics_http(int status);
/* Prometheus text exposition; caller frees. */
char *srv_metrics_render(size_t sessions_open, size_t running, size_t queued);

/* ---- concurrency limiter (limiter.c) --------------------------------------- */

typedef struct srv_limiter srv_limiter_t;

srv_limiter_t *srv_limiter_new(size_t max_running, size_t max_queued);
void srv_limiter_free(srv_limiter_t *l);
/* Takes a slot, waiting in the queue if needed. Returns 0 with a slot, -1 if
 * the queue is full (429), the limiter is closed (503) or the client on
 * client_fd (-1: none) hung up while it waited (it leaves the queue). */
int srv_limiter_acquire(srv_limiter_t *l, int client_fd, srv_err_t *err, unsigned retry_after);
void srv_limiter_release(srv_limiter_t *l);
/* Refuses new work and wakes everyone waiting. */
void srv_limiter_close(srv_limiter_t *l);
/* Waits until nothing runs or the deadline (monotonic ms) passes; 0 if idle. */
int srv_limiter_wait_idle(srv_limiter_t *l, uint64_t deadline_ms);
void srv_limiter_stats(srv_limiter_t *l, size_t *running, size_t *queued);

/* ---- workspace files (workspace.c) ----------------------------------------- */

/* Checks a client-supplied relative path: valid UTF-8, no NUL, no absolute
 * path, no "..", no empty or "." component, at most SRV_MAX_PATH_BYTES bytes,
 * SRV_MAX_PATH_DEPTH components and NAME_MAX bytes per component. */
#define SRV_MAX_PATH_BYTES 1024
#define SRV_MAX_PATH_DEPTH 32
int srv_path_check(const char *path, srv_err_t *err);
/* Writes `len` bytes to `path` beneath the directory `dirfd`, creating parent
 * directories; never follows a symlink. */
int srv_ws_write(int dirfd, const char *path, const void *data, size_t len, srv_err_t *err);
/* Reads a regular file beneath dirfd (at most `max` bytes, else 413). */
char *srv_ws_read(int dirfd, const char *path, size_t max, size_t *len, srv_err_t *err);
/* Lists a directory beneath dirfd ("" or NULL is the top). */
json_t *srv_ws_list(int dirfd, const char *path, srv_err_t *err);
/* Removes the directory `name` beneath `parentfd` and everything in it,
 * never following symlinks. */
int srv_ws_remove_tree(int parentfd, const char *name);
/* Creates a fresh private directory (mode 0700) beneath parentfd named by a
 * random id (id[33] out); returns its fd, -1 on error. As root and with
 * max_bytes > 0, the directory is a tmpfs of that size (its own mount): in
 * the host's mount namespace if host_ns_fd >= 0 (parent_path names parentfd
 * there), else in ours. */
int srv_ws_create(int parentfd, const char *parent_path, char id[33], uint64_t max_bytes,
		  int host_ns_fd, srv_err_t *err);
/* Single entries beneath dirfd, never through a symlink: lstat ("" is the
 * top); mkdir -p (*existed: it was there already, a directory); rename
 * (creating the destination's parents); remove, recursively (missing: 0). */
struct stat;
int srv_ws_stat(int dirfd, const char *path, struct stat *st, srv_err_t *err);
int srv_ws_mkdirs(int dirfd, const char *path, bool *existed, srv_err_t *err);
int srv_ws_rename(int dirfd, const char *from, const char *to, srv_err_t *err);
int srv_ws_remove(int dirfd, const char *path, srv_err_t *err);
/* Puts every "path": "content" pair of `files` into dirfd. */
int srv_ws_put_files(int dirfd, json_t *files, size_t max_file, srv_err_t *err);

/* ---- state directory (statedir.c) and mount namespace (mountns.c) -------- */

typedef struct srv_state {
	char *dir;          /* the operator's --state-dir, or a private temporary one */
	bool own_dir;       /* the temporary one: removed at the end */
	int own_fd;         /* dir/symbi-sandbox, marked as ours */
	char inst_name[33]; /* this server's directory in it */
	char *inst_path;    /* dir/symbi-sandbox/<inst_name> */
	int inst_fd, lock_fd, sessions_fd, tmp_fd;
} srv_state_t;

/* Takes dir/symbi-sandbox (refusing someone else's), removes what servers
 * that died left there, and makes this server's directory. */
int srv_state_open(srv_state_t *st, const char *state_dir, srv_err_t *err);
/* Opens this server's directories again (after srv_mountns_enter). */
int srv_state_reopen(srv_state_t *st, srv_err_t *err);
/* Removes this server's directory (and the temporary state dir). */
void srv_state_close(srv_state_t *st);

/* As root: moves the (still single-threaded) process into a private mount
 * namespace; *host_ns_fd keeps the host's. Not root: nothing, fd -1. */
int srv_mountns_enter(int *host_ns_fd, srv_err_t *err);
/* Moves the calling thread alone into the mount namespace ns_fd (it first
 * stops sharing its root and working directory with the other threads).
 * Returns -1 with errno. */
int srv_mountns_thread_join(int ns_fd);
/* A tmpfs at `path` in the host's namespace; returns its descriptor. */
int srv_host_mount_tmpfs(int host_ns_fd, const char *path, const char *opts, srv_err_t *err);
void srv_host_umount(int host_ns_fd, const char *path);

/* ---- the service (service.c): policy + state shared by HTTP and MCP ------- */

typedef struct srv_session srv_session_t;

/* A session being created: its place in the quotas (sessions.c). */
struct srv_reservation {
	char who[128];
	uint64_t charge;
	struct srv_reservation *next;
};

/* Warm sandboxes for one-shot executions (pool.c). */
typedef struct srv_pool srv_pool_t;
/* Keeps up to `depth` warm sandboxes per configuration asked for (0: none;
 * its thread starts and stops them). */
srv_pool_t *srv_pool_new(size_t depth, srv_err_t *err);
/* Stops every sandbox it holds; no take or retire may run any more. */
void srv_pool_free(srv_pool_t *p);
/* A warm live sandbox made for exactly `spec`, or NULL (none ready yet, or
 * a backend without warm sandboxes): the caller runs one execution in it
 * and gives it to srv_pool_retire(), never to anyone else. Either way the
 * pool learns that `spec` is wanted. p may be NULL. */
symbi_live_t *srv_pool_take(srv_pool_t *p, const srv_exec_spec_t *spec);
/* Stops a sandbox srv_pool_take() gave, soon, on the pool's thread. */
void srv_pool_retire(srv_pool_t *p, symbi_live_t *lv);

typedef struct srv_service {
	srv_policy_t *policy;
	srv_audit_t *audit;
	srv_limiter_t *limiter;
	srv_state_t state;
	int host_ns_fd;      /* the host's mount namespace; -1: we share it */
	int own_ns_fd;       /* ours (private), when host_ns_fd >= 0 */
	int cancel_fd[2];    /* written at the shutdown deadline: cancels everything */
	pthread_mutex_t lock;
	srv_session_t *sessions;
	size_t n_sessions;
	struct srv_reservation *reserved; /* sessions being created (their quota) */
	pthread_t reaper;
	bool reaper_started;
	int reaper_stop[2];
	srv_pool_t *pool;    /* NULL until the reaper starts (policy warm_pool) */
} srv_service_t;

srv_service_t *srv_service_new(srv_policy_t *policy, const char *state_dir,
			       const char *audit_path, const char *audit_key_file, srv_err_t *err);
/* Ends every session, cancels what still runs, removes what we created. */
void srv_service_free(srv_service_t *svc);
/* Starts the thread that expires idle sessions. */
int srv_service_start_reaper(srv_service_t *svc, srv_err_t *err);
/* Cancels every running execution (the shutdown deadline). */
void srv_service_cancel_all(srv_service_t *svc);

/* A workspace for a sandbox of `backend` (session's or one-shot): returns its
 * descriptor, its path in *path; _end unmounts and removes it. */
int srv_workspace_new(srv_service_t *svc, bool session, const char *backend, char id[33],
		      char *path, size_t pathlen, srv_err_t *err);
int srv_workspace_end(srv_service_t *svc, bool session, const char *backend, const char *id);

/* Starts a live sandbox of `backend` as sessions do: a daemon's from the
 * host's mount namespace (this thread comes back to ours). */
symbi_live_t *srv_live_start(srv_service_t *svc, const char *backend, const symbi_config_t *cfg,
			     symbi_error_t *err);

/* One execution request (one-shot or in a session). */
typedef struct srv_exec_call {
	json_t *req;          /* the request object */
	const char *who;      /* for the audit log */
	int client_fd;        /* socket (or pipe) whose hang-up cancels the run; -1: none */
	const char *hangup_reason; /* audit text for that hang-up; NULL: "client_disconnected" */
	json_t *audit;        /* filled with the audit fields of the execution */
} srv_exec_call_t;

/* POST /v1/execute: returns the result JSON (symbi_result_to_json). */
char *srv_execute_once(srv_service_t *svc, srv_exec_call_t *call, srv_err_t *err);

/* Sessions (sessions.c). Returns the new session's description. */
json_t *srv_session_create(srv_service_t *svc, json_t *req, const char *who, srv_err_t *err);
/* The same for a spec already resolved by srv_policy_resolve (and perhaps
 * adjusted by the caller: its workdir). */
json_t *srv_session_create_spec(srv_service_t *svc, const srv_exec_spec_t *spec,
				const char *who, srv_err_t *err);
json_t *srv_session_describe(srv_service_t *svc, const char *id, const char *who, srv_err_t *err);
char *srv_session_execute(srv_service_t *svc, const char *id, srv_exec_call_t *call,
			  srv_err_t *err);
int srv_session_write(srv_service_t *svc, const char *id, const char *who, const char *path,
		      const void *data, size_t len, srv_err_t *err);
char *srv_session_read(srv_service_t *svc, const char *id, const char *who, const char *path,
		       size_t *len, srv_err_t *err);
json_t *srv_session_list(srv_service_t *svc, const char *id, const char *who, const char *path,
			 srv_err_t *err);
int srv_session_delete(srv_service_t *svc, const char *id, const char *who, srv_err_t *err);
size_t srv_session_count(srv_service_t *svc);
/* Ends idle sessions; returns how many ended. */
size_t srv_session_expire(srv_service_t *svc, uint64_t now_ms);

/* Runs code on `sb` under the limiter with cancellation on client hang-up or
 * shutdown, updates metrics and fills call->audit; returns the result JSON. */
/* A session's live sandbox, handed to a run only once the limiter admitted
 * it (the session starts it then, on first use): NULL with err if it
 * cannot. */
typedef struct srv_live_source {
	symbi_live_t *(*get)(void *ctx, symbi_error_t *err);
	void *ctx;
	const char *backend; /* its backend's name, when srv_run has no sandbox */
	/* This execution's timeout and output cap, where the sandbox's
	 * configuration does not hold them (a warm one's); 0: its own. */
	uint64_t timeout_ms;
	size_t max_output_bytes;
} srv_live_source_t;
char *srv_run(srv_service_t *svc, symbi_sandbox_t *sb, const srv_live_source_t *live,
	      const char *code, size_t code_len, json_t *env_json, json_t *stdin_json,
	      srv_exec_call_t *call, symbi_result_t **result_out, srv_err_t *err);
/* An "env" member as a library map (NULL/null: empty); its keys (never the
 * values) are appended to audit_keys. */
symbi_env_t *srv_env_from_json(json_t *env, json_t *audit_keys, srv_err_t *err);

/* A session execution whose output goes to the client as it comes, one JSON
 * object a line (stream.c): {"type":"start","pid":N}, then
 * {"type":"stdout"|"stderr","data":TEXT} chunks (invalid UTF-8 becomes
 * U+FFFD; at most max_output_bytes of each stream are sent), then
 * {"type":"result", ...the result object...}. */
typedef struct srv_stream srv_stream_t;
/* Starts the process in the live sandbox (under the limiter); `release(ctx)` is called
 * once the stream no longer needs lv (the session's reference). On failure
 * returns NULL with err, having called nothing. */
srv_stream_t *srv_stream_start(srv_service_t *svc, const srv_live_source_t *live,
			       const symbi_exec_options_t *opts, srv_exec_call_t *call,
			       void (*release)(void *ctx), void *release_ctx, srv_err_t *err);
/* Copies the next bytes of the answer into buf, waiting for them: returns
 * their count, 0 at the end. */
size_t srv_stream_read(srv_stream_t *st, char *buf, size_t max);
/* Ends the stream: the process is killed if it still runs (the client went
 * away), then everything is freed. */
void srv_stream_free(srv_stream_t *st);
/* POST /v1/sessions/{id}/execute with "stream": true (sessions.c). */
srv_stream_t *srv_session_stream(srv_service_t *svc, const char *id, srv_exec_call_t *call,
				 srv_err_t *err);

/* One cell in a session's context (with `live`, srv_run runs the code in
 * the session's running sandbox instead of sb): limiter, audit, metrics;
 * once admitted, get(ctx) gives the context (NULL with err: refused) and
 * put(ctx) is called after the cell. Returns symbi_cell_to_json. */
typedef struct srv_context_source {
	symbi_context_t *(*get)(void *ctx, srv_err_t *err);
	void (*put)(void *ctx);
	void *ctx;
} srv_context_source_t;
char *srv_run_cell(srv_service_t *svc, const srv_context_source_t *cs, const char *backend,
		   const char *code, size_t code_len, uint64_t timeout_ms, srv_exec_call_t *call,
		   srv_err_t *err);

/* Helpers of streamed output (stream.c): s[0..n) as a JSON string with every
 * invalid UTF-8 sequence as U+FFFD; where a chunk can end without cutting a
 * sequence. */
json_t *srv_utf8_lossy(const unsigned char *s, size_t n);
size_t srv_utf8_complete_prefix(const unsigned char *s, size_t n);

/* ---- background processes of a session (processes.c) -------------------- */

/* At most this many processes run in one session at once; ended ones are
 * kept (for listing, their result and output) while the session holds
 * fewer than SRV_PROCS_RUNNING_MAX + SRV_PROCS_KEPT, the oldest ended
 * dropped first. */
#define SRV_PROCS_RUNNING_MAX 16
#define SRV_PROCS_KEPT 16
/* Stdin accepted for a process and not yet written to it. */
#define SRV_PROC_STDIN_PENDING_MAX (1u << 20)

typedef struct srv_procs srv_procs_t;
typedef struct srv_proc srv_proc_t;

srv_procs_t *srv_procs_new(void);
/* Kills every process (SIGKILL, stdin shut): the first half of a session's
 * end, before its live sandbox stops. */
void srv_procs_kill_all(srv_procs_t *t);
/* Joins their threads and frees the table (after the live sandbox stopped:
 * that ends any wait). Readers of their output keep what they hold. */
void srv_procs_free(srv_procs_t *t);

typedef struct srv_ctxs srv_ctxs_t;

/* What the process and context APIs need of a session. */
typedef struct srv_session_view {
	srv_procs_t *procs;
	srv_ctxs_t *ctxs;
	const srv_exec_spec_t *spec;
	srv_live_source_t live; /* .get NULL: the session has no live sandbox */
	const char *id;
	int dirfd; /* its workspace (the session's: do not close) */
} srv_session_view_t;

/* POST .../processes: starts it, answers its description (201). */
json_t *srv_proc_start(srv_service_t *svc, const srv_session_view_t *ps, json_t *req,
		       srv_exec_call_t *call, srv_err_t *err);
json_t *srv_proc_list(srv_procs_t *t);
/* A reference to the process `pid` (404 if none); srv_proc_put drops it. */
srv_proc_t *srv_proc_find(srv_procs_t *t, const char *pid, srv_err_t *err);
/* The newest process whose id inside the sandbox is pid (running_only: not
 * ended), with a reference; 404 if none. */
srv_proc_t *srv_proc_find_pid(srv_procs_t *t, int pid, bool running_only, srv_err_t *err);
int srv_proc_pid(srv_proc_t *p);
/* Attaches the caller's description (stolen), listed as "meta". */
void srv_proc_set_meta(srv_proc_t *p, json_t *meta);
void srv_proc_put(srv_proc_t *p);
/* Its description; wait_ms > 0 waits (at most that long, less if the client
 * on client_fd hangs up or the server shuts down) for it to end. */
json_t *srv_proc_describe(srv_service_t *svc, srv_proc_t *p, uint64_t wait_ms, int client_fd);
/* Waits as srv_proc_describe does, and no more. */
void srv_proc_wait(srv_service_t *svc, srv_proc_t *p, uint64_t wait_ms, int client_fd);
/* {"data": text, "encoding": "utf-8"|"base64", "eof": bool}: queued for the
 * process's stdin (written by its own thread). */
json_t *srv_proc_stdin(srv_proc_t *p, json_t *req, json_t *audit, srv_err_t *err);
/* {"signal": "TERM"|...}: only the allowlisted names. */
json_t *srv_proc_signal(srv_proc_t *p, json_t *req, json_t *audit, srv_err_t *err);
/* What is buffered so far: {"stdout","stderr","stdout_truncated",...,
 * "state", "result"}. */
json_t *srv_proc_output(srv_proc_t *p);
/* GET .../output: NDJSON lines of the buffered output from its start, then
 * as it comes, then the result line; it ends early when the client on
 * client_fd hangs up or the server shuts down. Takes its own reference. */
typedef struct srv_proc_reader srv_proc_reader_t;
srv_proc_reader_t *srv_proc_reader_new(srv_service_t *svc, srv_proc_t *p, int client_fd);
/* The same, from the output to come when from_now (nothing written before
 * is replayed). */
srv_proc_reader_t *srv_proc_reader_new_at(srv_service_t *svc, srv_proc_t *p, int client_fd,
					  bool from_now);
/* Raw output for other encodings: waits at most wait_ms for what follows
 * the cursor. Returns 1 with up to max bytes (*which 1 stdout or 2 stderr,
 * *data malloc'd), 2 once at the end with *result (the result without its
 * output; caller frees), 0 when nothing came in time, -1 when the client
 * on client_fd left, the server stops, or after the end. */
int srv_proc_reader_next(srv_proc_reader_t *r, uint64_t wait_ms, size_t max, int *which,
			 char **data, size_t *len, json_t **result);
size_t srv_proc_reader_read(srv_proc_reader_t *r, char *buf, size_t max);
void srv_proc_reader_free(srv_proc_reader_t *r);

/* A session by id for `who`, with a reference (sessions.c), and what the
 * process API needs of it; srv_session_release drops the reference. */
srv_session_t *srv_session_acquire(srv_service_t *svc, const char *id, const char *who,
				   srv_err_t *err);
void srv_session_release(srv_service_t *svc, srv_session_t *s);
srv_session_view_t srv_session_view(srv_session_t *s);

/* A streamed cell (stream.c): as srv_stream_start, but the lines come from
 * a cell of the context cs gives (under the limiter; cs->put after the
 * cell); a start line without pid, chunks, then the cell's result. */
srv_stream_t *srv_stream_start_cell(srv_service_t *svc, const srv_context_source_t *cs,
				    const char *code, size_t code_len, uint64_t timeout_ms,
				    size_t max_output_bytes, srv_exec_call_t *call,
				    void (*release)(void *ctx), void *release_ctx, srv_err_t *err);

/* ---- named contexts of a session (contexts_api.c) ------------------------ */

#define SRV_CONTEXTS_MAX 8

srv_ctxs_t *srv_ctxs_new(void);
/* Frees every context (the session's end, before its sandbox stops). */
void srv_ctxs_free(srv_ctxs_t *t);
/* POST .../contexts {"language": "python"|"sh"}: {"id","language","state"}. */
json_t *srv_ctx_create(srv_service_t *svc, const char *sid, srv_exec_call_t *call,
		       srv_err_t *err);
json_t *srv_ctx_list(srv_service_t *svc, const char *sid, const char *who, srv_err_t *err);
int srv_ctx_delete(srv_service_t *svc, const char *sid, const char *who, const char *cid,
		   srv_err_t *err);
/* POST .../contexts/{cid}/execute {"code"}: symbi_cell_to_json's object. */
char *srv_ctx_execute(srv_service_t *svc, const char *sid, const char *cid,
		      srv_exec_call_t *call, srv_err_t *err);
/* The same with "stream": true: NDJSON lines (the session and the context
 * are held until the stream is freed). */
srv_stream_t *srv_ctx_stream(srv_service_t *svc, const char *sid, const char *cid,
			     srv_exec_call_t *call, srv_err_t *err);

/* ---- faces ---------------------------------------------------------------- */

typedef struct srv_http_options {
	const char *listen;      /* "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:8080" */
	char **tokens;           /* NULL-terminated; NULL: no auth */
	char **token_names;      /* parallel to tokens */
	unsigned shutdown_grace_s;
	const char *ready_file;  /* written with the port once listening */
	unsigned max_connections;        /* at once, all clients together */
	unsigned max_connections_per_ip; /* at once, from one address */
	unsigned header_timeout_s; /* to deliver a complete request head */
	unsigned idle_timeout_s;   /* without a byte either way */
	char **allowed_origins;    /* NULL-terminated; Origins a tokenless server accepts */
	const char *e2b_listen;     /* the E2B-compatible listener (e2b_http.c), or NULL */
	const char *e2b_ready_file; /* written with its port once listening */
} srv_http_options_t;

/* HOST:PORT ("127.0.0.1:8080", "[::1]:0", "localhost:9") as an address;
 * *loopback tells whether it is one. */
int srv_parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sl,
		     bool *loopback, srv_err_t *err);
/* libmicrohttpd's unescape callback for our listeners: %00 becomes C0 80
 * (refused by srv_path_check) instead of an end of string. */
struct MHD_Connection;
size_t srv_http_unescape(void *cls, struct MHD_Connection *c, char *s);

/* Serves until SIGTERM or SIGINT; returns the process exit status. */
int srv_http_serve(srv_service_t *svc, const srv_http_options_t *opts);
/* Prints "METHOD PATH" of every route (for the OpenAPI test). */
void srv_http_print_routes(void);

/* The MCP process tools (mcp_processes.c): whether `name` is one, and its
 * call: the structured answer, or NULL with err. */
bool srv_mcp_is_process_tool(const char *name);
json_t *srv_mcp_process_tool(srv_service_t *svc, const char *name, json_t *args,
			     srv_exec_call_t *call, srv_err_t *err);
/* The result of MCP tools/list for this policy (mcp_schema.c). */
json_t *srv_mcp_tools_list(const srv_policy_t *p);
/* Serves MCP on stdin/stdout until EOF; returns the exit status. */
int srv_mcp_serve(srv_service_t *svc);

#endif
