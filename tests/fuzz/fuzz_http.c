/* HTTP request handling (src/server/http.c) through the real libmicrohttpd:
 * the input's bytes are one client's side of a connection, handed to an
 * in-process daemon (no listening socket, no threads) with
 * MHD_add_connection() on a socketpair; the daemon is run until it closes
 * the connection, and what came back is checked. Routing, percent-decoding
 * (unescape), the head checks (token, Host/Origin, Content-Type), body
 * limits and draining, parse_body and the service behind every route run as
 * in `serve`.
 *
 * The input's first byte picks the server: 'O' one without tokens (browser
 * checks on, Origin http://localhost:3000 allowed), anything else one with
 * the token "fuzz-secret-token" (named "fuzzer"). Each server owns one
 * session, made at start; "{sid}" in the input stands for its id.
 *
 * Nothing is ever executed: the harness's policy has max_running 0 and
 * max_queued 0, so every execution that passes validation (policy, code,
 * files, workspace, sandbox creation) is refused by the limiter with 429
 * before anything starts; only the native backend is allowed (docker would
 * call the daemon when a sandbox is made), and workspaces are plain
 * directories (max_workspace_bytes 0: no tmpfs mounts).
 *
 * Invariants: what came back is a sequence of well-formed HTTP/1.x answers:
 * the handler's, in order and with the status and body it queued, then at
 * most one of MHD's own (a malformed request); every answer of ours has an
 * allowed status (no 5xx but 503 and 507), every JSON answer parses, errors
 * as {"error":{"code","message"}}; with tokens, an input without the token
 * gets nothing but 401 and health answers and calls no service function,
 * and every service call is the token's; no execution runs; every request
 * is completed; no descriptor and no one-shot workspace is left behind. */
#include "fuzz.h"

#include <dirent.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/server.h"

#define TOKEN "fuzz-secret-token"

/* ---- what the handler did, recorded through wrappers ------------------- */

struct answer {
	int status;
	char *body;
	size_t len;
	char type[64];
	char method[16];
	char path[64];
	bool refused; /* by MHD_queue_response */
};

static struct {
	/* Every answer of one input's pipelined requests. A request takes at
	 * least 14 bytes ("G / HTTP/1.1\n\n"), so an input of libFuzzer's
	 * 4096 bytes holds fewer than 300 (64 was too few: an input of 73
	 * session executes, found after 7.7 million runs). */
	struct answer a[512];
	size_t n;
	/* the response being built by send_reply */
	char *body;
	size_t len;
	char type[64];
	/* of the request being answered (from its audit entry) */
	char method[16];
	char path[64];
	/* service calls: how many, by whom; whether sessions were deleted or
	 * made, or files put in a workspace */
	unsigned service_calls, executions;
	bool bad_who;
	bool sessions_dirty, files_dirty;
	const char *expect_who;
	unsigned requests_open;
} rec;

static struct MHD_Response *fuzz_create_response(size_t len, void *buf,
						 enum MHD_ResponseMemoryMode mode)
{
	free(rec.body);
	rec.body = malloc(len + 1);
	FUZZ_CHECK(rec.body != NULL, "malloc");
	memcpy(rec.body, buf, len);
	rec.body[len] = '\0';
	rec.len = len;
	rec.type[0] = '\0';
	return MHD_create_response_from_buffer(len, buf, mode);
}

static enum MHD_Result fuzz_add_header(struct MHD_Response *r, const char *name,
				       const char *value)
{
	if (strcmp(name, "Content-Type") == 0)
		snprintf(rec.type, sizeof(rec.type), "%s", value);
	return MHD_add_response_header(r, name, value);
}

static enum MHD_Result fuzz_queue_response(struct MHD_Connection *c, unsigned status,
					   struct MHD_Response *r)
{
	/* MHD may refuse (e.g. after "100 Continue" to a head whose end it
	 * misread): the handler then returns MHD_NO and MHD closes the
	 * connection. Such an answer is checked but not looked for on the wire. */
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	FUZZ_CHECK(rec.n < sizeof(rec.a) / sizeof(rec.a[0]), "more answers than rec.a holds");
	struct answer *a = &rec.a[rec.n++];
	a->status = (int)status;
	a->refused = ret != MHD_YES;
	a->body = rec.body;
	a->len = rec.len;
	rec.body = NULL;
	snprintf(a->type, sizeof(a->type), "%s", rec.type);
	snprintf(a->method, sizeof(a->method), "%s", rec.method);
	snprintf(a->path, sizeof(a->path), "%s", rec.path);
	return ret;
}

/* answer() audits every request just before its answer is queued. */
static int fuzz_audit_append(srv_audit_t *log, json_t *entry)
{
	const char *m = json_string_value(json_object_get(entry, "method"));
	const char *path = json_string_value(json_object_get(entry, "path"));
	snprintf(rec.method, sizeof(rec.method), "%s", m ? m : "");
	snprintf(rec.path, sizeof(rec.path), "%s", path ? path : "");
	return srv_audit_append(log, entry);
}

/* Every service call is checked for its caller. */
enum { READS, WRITES_FILES, CHANGES_SESSIONS };

static void service_call(const char *who, int effect)
{
	rec.service_calls++;
	rec.bad_who |= strcmp(who, rec.expect_who) != 0;
	rec.files_dirty |= effect == WRITES_FILES;
	rec.sessions_dirty |= effect == CHANGES_SESSIONS;
}

static char *fuzz_execute_once(srv_service_t *svc, srv_exec_call_t *call, srv_err_t *err)
{
	service_call(call->who, READS);
	rec.executions++;
	return srv_execute_once(svc, call, err);
}

static json_t *fuzz_session_create(srv_service_t *svc, json_t *req, const char *who,
				   srv_err_t *err)
{
	json_t *d = srv_session_create(svc, req, who, err);
	service_call(who, d ? CHANGES_SESSIONS : READS);
	return d;
}

static json_t *fuzz_session_describe(srv_service_t *svc, const char *id, const char *who,
				     srv_err_t *err)
{
	service_call(who, READS);
	return srv_session_describe(svc, id, who, err);
}

static char *fuzz_session_execute(srv_service_t *svc, const char *id, srv_exec_call_t *call,
				  srv_err_t *err)
{
	service_call(call->who, WRITES_FILES); /* its "files" stay */
	return srv_session_execute(svc, id, call, err);
}

static int fuzz_session_write(srv_service_t *svc, const char *id, const char *who,
			      const char *path, const void *data, size_t len, srv_err_t *err)
{
	service_call(who, WRITES_FILES);
	return srv_session_write(svc, id, who, path, data, len, err);
}

static char *fuzz_session_read(srv_service_t *svc, const char *id, const char *who,
			       const char *path, size_t *len, srv_err_t *err)
{
	service_call(who, READS);
	return srv_session_read(svc, id, who, path, len, err);
}

static json_t *fuzz_session_list(srv_service_t *svc, const char *id, const char *who,
				 const char *path, srv_err_t *err)
{
	service_call(who, READS);
	return srv_session_list(svc, id, who, path, err);
}

static int fuzz_session_delete(srv_service_t *svc, const char *id, const char *who,
			       srv_err_t *err)
{
	int rc = srv_session_delete(svc, id, who, err);
	service_call(who, rc == 0 ? CHANGES_SESSIONS : READS);
	return rc;
}

#define MHD_create_response_from_buffer fuzz_create_response
#define MHD_add_response_header fuzz_add_header
#define MHD_queue_response fuzz_queue_response
#define srv_audit_append fuzz_audit_append
#define srv_execute_once fuzz_execute_once
#define srv_session_create fuzz_session_create
#define srv_session_describe fuzz_session_describe
#define srv_session_execute fuzz_session_execute
#define srv_session_write fuzz_session_write
#define srv_session_read fuzz_session_read
#define srv_session_list fuzz_session_list
#define srv_session_delete fuzz_session_delete
#include "server/http.c"
#include "server/header_deadline.c"
#undef MHD_create_response_from_buffer
#undef MHD_add_response_header
#undef MHD_queue_response
#undef srv_audit_append
#undef srv_execute_once
#undef srv_session_create
#undef srv_session_describe
#undef srv_session_execute
#undef srv_session_write
#undef srv_session_read
#undef srv_session_list
#undef srv_session_delete

/* ---- the two servers ------------------------------------------------------ */

struct server {
	struct http_server hs;
	srv_http_options_t opts;
	struct MHD_Daemon *d;
	const char *who;
	char sid[33];
};

static srv_service_t svc;
static struct server with_tokens, without_tokens;
static char *tokens[] = {TOKEN, NULL}, *token_names[] = {"fuzzer", NULL};
static char *origins[] = {"http://localhost:3000", NULL};
static int lowest_free_fd = -1;
static bool trace;

static void make_session(struct server *s)
{
	srv_err_t err = {0};
	json_t *req = json_object();
	json_t *d = srv_session_create(&svc, req, s->who, &err);
	json_decref(req);
	FUZZ_CHECK(d != NULL, "a session for %s: %s", s->who, err.message);
	snprintf(s->sid, sizeof(s->sid), "%s", json_string_value(json_object_get(d, "id")));
	json_decref(d);
}

static void renew_sessions(void)
{
	srv_session_expire(&svc, UINT64_MAX);
	make_session(&with_tokens);
	make_session(&without_tokens);
}

/* Empties a session's workspace (cheaper than a new session). */
static void clear_workspace(const char *sid)
{
	int fd = openat(svc.state.sessions_fd, sid, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FUZZ_CHECK(fd >= 0, "the workspace of %s", sid);
	DIR *dir = fdopendir(fd);
	FUZZ_CHECK(dir != NULL, "fdopendir");
	struct dirent *e;
	while ((e = readdir(dir))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		FUZZ_CHECK(unlinkat(fd, e->d_name, 0) == 0 ||
				   (errno == EISDIR && srv_ws_remove_tree(fd, e->d_name) == 0),
			   "cannot remove %s from a workspace", e->d_name);
	}
	closedir(dir);
}

static void start_server(struct server *s, bool auth)
{
	s->opts.tokens = auth ? tokens : NULL;
	s->opts.token_names = auth ? token_names : NULL;
	s->opts.allowed_origins = auth ? NULL : origins;
	s->opts.header_timeout_s = 10;
	s->who = auth ? "fuzzer" : "anonymous";
	s->hs.svc = &svc;
	s->hs.opts = &s->opts;
	pthread_mutex_init(&s->hs.lock, NULL);
	pthread_cond_init(&s->hs.idle, NULL);
	/* serve's options, but driven from here: no listening socket, no
	 * threads (the header watchdog is not started: no time passes; its
	 * connection list is, to check that every connection leaves it). */
	s->hs.deadline = calloc(1, sizeof(*s->hs.deadline));
	FUZZ_CHECK(s->hs.deadline != NULL, "out of memory");
	pthread_mutex_init(&s->hs.deadline->lock, NULL);
	s->d = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, handler, &s->hs,
				MHD_OPTION_NOTIFY_COMPLETED, request_completed, &s->hs,
				MHD_OPTION_NOTIFY_CONNECTION, srv_header_deadline_notify, s->hs.deadline,
				MHD_OPTION_UNESCAPE_CALLBACK, srv_http_unescape, NULL, MHD_OPTION_END);
	FUZZ_CHECK(s->d != NULL, "MHD_start_daemon");
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	trace = getenv("FUZZ_HTTP_TRACE") != NULL;
	srv_err_t err = {0};
	svc.policy = srv_policy_load(NULL, &err);
	FUZZ_CHECK(svc.policy != NULL, "policy: %s", err.message);
	srv_policy_t *p = svc.policy;
	for (size_t i = 1; i < p->n_backends; i++)
		free(p->allowed_backends[i]);
	p->n_backends = 1; /* native */
	p->max_running = p->max_queued = 0;
	p->max_workspace_bytes = 0;
	p->max_sessions = 2;
	/* Small limits, so that the fuzzer reaches them. */
	p->max_body_bytes = 2048;
	p->max_file_bytes = 1024;
	svc.limiter = srv_limiter_new(p->max_running, p->max_queued);
	FUZZ_CHECK(svc.limiter != NULL, "limiter");
	svc.host_ns_fd = svc.own_ns_fd = -1;
	svc.reaper_stop[0] = svc.reaper_stop[1] = -1;
	FUZZ_CHECK(pipe2(svc.cancel_fd, O_CLOEXEC) == 0, "pipe");
	pthread_mutex_init(&svc.lock, NULL);
	/* The sessions' workspaces become native volumes, which may not lie
	 * under /dev (the native backend builds its root there), where the
	 * other harnesses' scratch goes (/dev/shm): this one's is in /tmp. */
	const char *scratch = getenv("TMPDIR");
	if (!scratch || strncmp(scratch, "/dev/", 5) == 0 || strcmp(scratch, "/dev") == 0)
		setenv("TMPDIR", "/tmp", 1);
	FUZZ_CHECK(srv_state_open(&svc.state, fuzz_tmpdir(), &err) == 0, "state: %s",
		   err.message);
	start_server(&with_tokens, true);
	start_server(&without_tokens, false);
	renew_sessions();
	lowest_free_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	close(lowest_free_fd);
	return 0;
}

/* ---- one connection --------------------------------------------------------- */

/* The request bytes: "{sid}" replaced by the server's session id. */
static char *request_bytes(const uint8_t *data, size_t size, const char *sid, size_t *len)
{
	size_t cap = size * 8 + 64, n = 0;
	char *out = malloc(cap);
	FUZZ_CHECK(out != NULL, "malloc");
	for (size_t i = 0; i < size;) {
		if (size - i >= 5 && memcmp(data + i, "{sid}", 5) == 0) {
			memcpy(out + n, sid, strlen(sid));
			n += strlen(sid);
			i += 5;
		} else {
			out[n++] = (char)data[i++];
		}
	}
	*len = n;
	return out;
}

/* Runs the daemon until it closes the connection; returns what it sent. */
static char *converse(struct MHD_Daemon *d, const char *req, size_t len, size_t *outlen)
{
	int sv[2];
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0,
		   "socketpair");
	struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(40000),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	FUZZ_CHECK(MHD_add_connection(d, sv[0], (struct sockaddr *)&peer, sizeof(peer)) == MHD_YES,
		   "MHD_add_connection");
	size_t sent = 0, cap = 4096, n = 0;
	char *out = malloc(cap);
	FUZZ_CHECK(out != NULL, "malloc");
	bool eof = false;
	if (len == 0)
		shutdown(sv[1], SHUT_WR);
	for (unsigned round = 0; !eof; round++) {
		FUZZ_CHECK(round < 100000, "the server neither answers nor closes the connection");
		if (sent < len) {
			ssize_t w = write(sv[1], req + sent, len - sent);
			if (w > 0)
				sent += (size_t)w;
			else if (w < 0 && errno == EPIPE)
				sent = len; /* the server closed: the rest is not read */
			if (sent == len)
				shutdown(sv[1], SHUT_WR);
		}
		MHD_run(d);
		for (;;) {
			if (cap - n < 4096) {
				cap *= 2;
				out = realloc(out, cap);
				FUZZ_CHECK(out != NULL, "realloc");
			}
			ssize_t r = read(sv[1], out + n, cap - n);
			if (r > 0) {
				n += (size_t)r;
				continue;
			}
			eof = r == 0 || (r < 0 && errno == ECONNRESET);
			break;
		}
	}
	close(sv[1]);
	/* MHD closes a connection's socket in a later pass than the one that
	 * shut it down. */
	for (unsigned round = 0;; round++) {
		const union MHD_DaemonInfo *di =
			MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		FUZZ_CHECK(di != NULL, "MHD_DAEMON_INFO_CURRENT_CONNECTIONS");
		if (di->num_connections == 0)
			break;
		FUZZ_CHECK(round < 1000, "the connection is never cleaned up");
		MHD_run(d);
	}
	*outlen = n;
	return out;
}

/* ---- the checks ----------------------------------------------------------- */

static bool allowed_status(int s)
{
	switch (s) {
	case 200: case 201: case 400: case 401: case 403: case 404: case 405: case 413:
	case 415: case 429: case 503: case 507:
		return true;
	default:
		return false;
	}
}

static void check_answer(const struct answer *a, bool auth, bool has_token)
{
	FUZZ_CHECK(allowed_status(a->status), "status %d: %.300s", a->status,
		   a->body ? a->body : "");
	if (strcmp(a->type, "application/json") == 0) {
		json_error_t jerr;
		json_t *j = json_loadb(a->body, a->len, 0, &jerr);
		FUZZ_CHECK(j != NULL, "a JSON answer (%d) does not parse: %s: %.300s", a->status,
			   jerr.text, a->body);
		if (a->status >= 400) {
			json_t *e = json_object_get(j, "error");
			FUZZ_CHECK(json_is_string(json_object_get(e, "code")) &&
					   json_is_string(json_object_get(e, "message")),
				   "an error answer without code and message: %.300s", a->body);
		}
		json_decref(j);
	}
	if (auth && !has_token && a->status != 401) {
		/* Only /v1/health answers anything but 401 without the token. */
		FUZZ_CHECK(strcmp(a->path, "/v1/health") == 0,
			   "answer %d to %s %s without the token: %.300s", a->status, a->method,
			   a->path, a->body ? a->body : "");
	}
}

static size_t header_end(const char *p, size_t n)
{
	for (size_t i = 0; i + 3 < n; i++)
		if (memcmp(p + i, "\r\n\r\n", 4) == 0)
			return i + 4;
	return 0;
}

/* The value of header `name` in head[0..n), or NULL. */
static const char *header(const char *head, size_t n, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	for (const char *line = head; line < head + n;) {
		const char *eol = memmem(line, (size_t)(head + n - line), "\r\n", 2);
		if (!eol)
			break;
		if ((size_t)(eol - line) > nl + 1 && strncasecmp(line, name, nl) == 0 &&
		    line[nl] == ':') {
			const char *v = line + nl + 1;
			while (*v == ' ')
				v++;
			*vlen = (size_t)(eol - v);
			return v;
		}
		line = eol + 2;
	}
	return NULL;
}

/* The wire: our answers in order, then at most one of MHD's own. */
static void check_wire(const char *out, size_t n)
{
	size_t pos = 0, ours = 0;
	while (pos < n) {
		const char *p = out + pos;
		size_t left = n - pos;
		FUZZ_CHECK(left >= 13 && (memcmp(p, "HTTP/1.1 ", 9) == 0 || memcmp(p, "HTTP/1.0 ", 9) == 0) &&
				   p[9] >= '1' && p[9] <= '5' && p[10] >= '0' && p[10] <= '9' &&
				   p[11] >= '0' && p[11] <= '9' && p[12] == ' ',
			   "not a status line at byte %zu: %.40s", pos, p);
		int status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
		size_t head = header_end(p, left);
		FUZZ_CHECK(head > 0, "an answer's head does not end");
		if (status == 100) { /* "100 Continue", to Expect: 100-continue */
			pos += head;
			continue;
		}
		size_t vlen = 0;
		const char *cl = header(p, head, "Content-Length", &vlen);
		size_t body = cl ? strtoul(cl, NULL, 10) : 0;
		while (ours < rec.n && rec.a[ours].refused)
			ours++;
		if (ours < rec.n) {
			const struct answer *a = &rec.a[ours];
			FUZZ_CHECK(status == a->status, "answer %zu: %d on the wire, %d queued", ours,
				   status, a->status);
			FUZZ_CHECK(cl && body == a->len, "answer %zu: Content-Length", ours);
			/* No body to HEAD; but "HEAD\0..." is HEAD to us (a C
			 * string) and another method to MHD, which sends it. */
			if (strcmp(a->method, "HEAD") == 0 &&
			    (left - head < body || memcmp(p + head, a->body, body) != 0))
				body = 0;
			FUZZ_CHECK(left - head >= body && memcmp(p + head, a->body, body) == 0,
				   "answer %zu: its body is not what was queued", ours);
			FUZZ_CHECK(status != 401 || header(p, head, "WWW-Authenticate", &vlen),
				   "a 401 without WWW-Authenticate");
			ours++;
		} else {
			/* MHD's own (a malformed request): the last thing said, with
			 * its body (none to a HEAD request). */
			FUZZ_CHECK(status >= 400, "MHD's answer %d", status);
			/* libmicrohttpd 0.9.75 sends the head of its 400 to a malformed
			 * Content-Length twice (seen with `serve` too): tolerated, as
			 * exactly that, since it is MHD's and the connection closes. */
			size_t twice = left >= 2 * head && memcmp(p, p + head, head) == 0 ? head : 0;
			if (left == head + twice)
				body = 0; /* to HEAD */
			body += twice;
			FUZZ_CHECK(left == head + body, "MHD's answer: %zu bytes after its head, "
				   "Content-Length %zu", left - head, body);
		}
		pos += head + body;
	}
	while (ours < rec.n && rec.a[ours].refused)
		ours++;
	FUZZ_CHECK(ours == rec.n, "%zu answers queued, %zu on the wire", rec.n, ours);
}

static bool workspaces_empty(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FUZZ_CHECK(fd >= 0, "open tmp");
	DIR *dir = fdopendir(fd);
	FUZZ_CHECK(dir != NULL, "fdopendir");
	struct dirent *e;
	bool empty = true;
	while ((e = readdir(dir)))
		empty &= strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(dir);
	return empty;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	/* Measured per input: between inputs libFuzzer itself may open
	 * descriptors (the sanitizer's symbolizer pipe, when it describes a
	 * new function), which are not this input's. */
	lowest_free_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	close(lowest_free_fd);
	struct server *s = data[0] == 'O' ? &without_tokens : &with_tokens;
	bool auth = s == &with_tokens;
	size_t len;
	char *req = request_bytes(data + 1, size - 1, s->sid, &len);
	bool has_token = memmem(req, len, TOKEN, strlen(TOKEN)) != NULL;
	memset(&rec, 0, sizeof(rec));
	rec.expect_who = s->who;

	size_t outlen;
	char *out = converse(s->d, req, len, &outlen);
	if (trace)
		fprintf(stderr, "fuzz_http: wire: %.*s\n", (int)outlen, out);
	check_wire(out, outlen);
	for (size_t i = 0; i < rec.n; i++) {
		if (trace) /* FUZZ_HTTP_TRACE=1: what each input got, on stderr */
			fprintf(stderr, "fuzz_http: %s %d %.200s\n", rec.a[i].method, rec.a[i].status,
				strcmp(rec.a[i].type, "application/octet-stream") ? rec.a[i].body : "");
		check_answer(&rec.a[i], auth, has_token);
	}
	FUZZ_CHECK(!rec.bad_who, "a service call for someone else than %s", s->who);
	FUZZ_CHECK(!auth || has_token || rec.service_calls == 0,
		   "%u service calls without the token", rec.service_calls);
	size_t running, queued;
	srv_limiter_stats(svc.limiter, &running, &queued);
	FUZZ_CHECK(running == 0 && queued == 0, "an execution ran (%zu) or waits (%zu)", running,
		   queued);
	FUZZ_CHECK(s->hs.inflight == 0, "%u requests not completed", s->hs.inflight);
	FUZZ_CHECK(s->hs.deadline->conns == NULL, "a connection is still registered");
	FUZZ_CHECK(!rec.executions || workspaces_empty(svc.state.tmp_fd),
		   "a one-shot workspace was left behind");
	/* The sessions first: a deleted one's descriptor is free until then. */
	if (rec.sessions_dirty) {
		renew_sessions();
	} else if (rec.files_dirty) {
		clear_workspace(with_tokens.sid);
		clear_workspace(without_tokens.sid);
	}
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd != lowest_free_fd) {
		char link[64], what[256] = "";
		snprintf(link, sizeof(link), "/proc/self/fd/%d", lowest_free_fd);
		ssize_t n = readlink(link, what, sizeof(what) - 1);
		what[n > 0 ? n : 0] = '\0';
		FUZZ_CHECK(fd == lowest_free_fd, "a descriptor was left open: %d, %s",
			   lowest_free_fd, what);
	}
	close(fd);
	for (size_t i = 0; i < rec.n; i++)
		free(rec.a[i].body);
	free(rec.body);
	free(out);
	free(req);
	return 0;
}
