/* The E2B-compatible face (serve --e2b-listen): what its parts share.
 *
 * One listener serves both of E2B's planes: a request with an
 * E2b-Sandbox-Id header is for a sandbox (the data plane: envd on port
 * 49983, the code interpreter on 49999), any other is the control plane.
 * An E2B sandbox is an HTTP session (sessions.c) with its workspace at
 * /home/user, plus what E2B adds: its 20-character id, its two access
 * tokens, its metadata, create-time environment and end time. The wire
 * format is what the official SDKs send and expect (e2b 2.51.0,
 * @e2b/code-interpreter 2.8.0, checked by tests/integration/e2b_sdk.sh);
 * README.md says what of it is served. */
#ifndef SYMBI_E2B_H
#define SYMBI_E2B_H

#include "server.h"

#define E2B_HOME "/home/user"
#define E2B_ENVD_VERSION "0.4.0"

/* ---- answers (e2b_http.c) -------------------------------------------------- */

typedef struct e2b_reply {
	int status;
	char *body; /* owned */
	size_t len;
	const char *content_type;
	char next_token[24]; /* X-Next-Token, if not empty */
	/* A streamed body instead: next(ctx, &len) gives its next piece
	 * (malloc'd; it may wait for it), NULL at the end; free(ctx) once the
	 * answer is over or abandoned. */
	char *(*next)(void *ctx, size_t *len);
	void (*free)(void *ctx);
	void *ctx;
} e2b_reply_t;

/* The request as the routes see it. */
typedef struct e2b_request {
	const char *method, *url;
	const char *body;
	size_t len;
	const char *who;      /* the API key's name (control plane) */
	int client_fd;
	json_t *audit;
	/* Header and query lookups (MHD's). */
	const char *(*header)(void *c, const char *name);
	const char *(*query)(void *c, const char *name);
	void *conn;
} e2b_request_t;

void e2b_reply_json(e2b_reply_t *r, int status, json_t *o);
/* {"code": status, "message": ...}: the control plane's, envd REST's and
 * the interpreter's error body. */
void e2b_reply_error(e2b_reply_t *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void e2b_reply_bytes(e2b_reply_t *r, int status, char *body, size_t len, const char *type);

/* ---- sandboxes (e2b_sandboxes.c) ------------------------------------------- */

typedef struct e2b_state e2b_state_t;
typedef struct e2b_sandbox e2b_sandbox_t;

e2b_state_t *e2b_state_new(srv_service_t *svc, srv_err_t *err);
/* Kills every E2B sandbox and frees the state (after the listener stopped). */
void e2b_state_free(e2b_state_t *st);
/* Kills the sandboxes whose end time passed; returns how many. */
size_t e2b_expire(e2b_state_t *st, uint64_t now_ms);

/* The control plane: every route under E2B_API_URL. */
void e2b_control(e2b_state_t *st, e2b_request_t *rq, e2b_reply_t *r);

/* A live sandbox by id with a reference, or NULL (unknown, killed,
 * expired); e2b_sandbox_put drops it. */
e2b_sandbox_t *e2b_sandbox_get(e2b_state_t *st, const char *id);
void e2b_sandbox_put(e2b_state_t *st, e2b_sandbox_t *sb);
/* Whether `token` is the sandbox's envd access token (traffic: its traffic
 * token). Constant time. */
bool e2b_sandbox_token_ok(const e2b_sandbox_t *sb, const char *token, bool traffic);
/* Its session (held while sb is), its owner, its create-time envVars. */
srv_session_t *e2b_sandbox_session(e2b_sandbox_t *sb);
const char *e2b_sandbox_session_id(const e2b_sandbox_t *sb);
const char *e2b_sandbox_owner(const e2b_sandbox_t *sb);
json_t *e2b_sandbox_env(const e2b_sandbox_t *sb);
/* The id of its default code context for `language` ("" if none yet), and
 * setting it. */
void e2b_sandbox_default_ctx(e2b_sandbox_t *sb, const char *language, char *id, size_t idlen);
void e2b_sandbox_set_default_ctx(e2b_sandbox_t *sb, const char *language, const char *id);
srv_service_t *e2b_state_service(e2b_state_t *st);

/* ---- the data plane ---------------------------------------------------------- */

/* envd (port 49983): Connect RPC (e2b_rpc.c) and /files (e2b_files.c). */
void e2b_envd(e2b_state_t *st, e2b_sandbox_t *sb, e2b_request_t *rq, e2b_reply_t *r);
void e2b_rpc_process(e2b_state_t *st, e2b_sandbox_t *sb, const char *method, e2b_request_t *rq,
		     e2b_reply_t *r);
void e2b_rpc_filesystem(e2b_state_t *st, e2b_sandbox_t *sb, const char *method,
			e2b_request_t *rq, e2b_reply_t *r);
void e2b_files(e2b_state_t *st, e2b_sandbox_t *sb, e2b_request_t *rq, e2b_reply_t *r);
/* The code interpreter (port 49999, e2b_interp.c). */
void e2b_interp(e2b_state_t *st, e2b_sandbox_t *sb, e2b_request_t *rq, e2b_reply_t *r);

/* Connect RPC helpers (e2b_rpc.c). A unary error: {"code": "not_found",
 * "message": ...} with the code's HTTP status. */
void e2b_rpc_error(e2b_reply_t *r, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A server error as a Connect code (404 not_found, 400 invalid_argument...). */
const char *e2b_rpc_code(const srv_err_t *err);
/* One envelope: flags, 4-byte big-endian length, the JSON (stolen). */
char *e2b_envelope(unsigned char flags, json_t *o, size_t *len);

/* A path of the SDK (absolute, ~/..., or relative to the home) as a path
 * inside the workspace ("" for the home itself); -1 with a 403 for paths
 * outside the home. */
int e2b_ws_path(const char *path, char *out, size_t outlen, srv_err_t *err);

/* The data plane on the listener (e2b_http.c): starts the daemon. */
typedef struct e2b_listener e2b_listener_t;
e2b_listener_t *e2b_listen(srv_service_t *svc, const char *addr, char **tokens,
			   char **names, const char *ready_file, unsigned max_connections,
			   unsigned max_connections_per_ip, unsigned header_timeout_s, srv_err_t *err);
/* Stops accepting, kills every sandbox, frees. */
void e2b_listener_stop(e2b_listener_t *l);

#endif
