/* envd on port 49983: its routes, Connect RPC with the JSON codec, and the
 * process.Process service over the session's background processes
 * (processes.c).
 *
 * Connect: a unary call is a bare JSON body both ways, an error a JSON
 * {"code": "not_found", ...} with the code's HTTP status. A server stream
 * (Start, Connect) takes one envelope (flags 0, 4-byte big-endian length,
 * JSON) and answers 200 application/connect+json with envelopes: start
 * first, data as output comes, keepalive while idle, end, and the final
 * EndStream (flags 2) frame, {} or {"error": ...}.
 *
 * A process's timeout (Connect-Timeout-Ms) is its own, enforced by its
 * waiter thread: the stream ending (the client went away) leaves it
 * running, as envd does. */
#include "e2b.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DATA_FRAME_MAX 32768
#define KEEPALIVE_DEFAULT_S 50

/* ---- Connect helpers ----------------------------------------------------------- */

static const struct {
	const char *code;
	int status;
} codes[] = {
	{"invalid_argument", 400},  {"unauthenticated", 401},   {"permission_denied", 403},
	{"not_found", 404},         {"already_exists", 409},    {"failed_precondition", 400},
	{"resource_exhausted", 429}, {"unavailable", 503},      {"deadline_exceeded", 504},
	{"unimplemented", 501},     {"internal", 500},
};

void e2b_rpc_error(e2b_reply_t *r, const char *code, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	int status = 500;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(codes[i].code, code) == 0)
			status = codes[i].status;
	e2b_reply_json(r, status, json_pack("{s:s,s:o}", "code", code, "message",
					    srv_json_text(msg, strlen(msg))));
}

/* A whole stream that is one EndStream error (an error before any
 * message: the SDK raises it from the call). */
static void stream_error(e2b_reply_t *r, const char *code, const char *msg)
{
	size_t n = 0;
	char *f = e2b_envelope(2, json_pack("{s:{s:s,s:o}}", "error", "code", code, "message",
					    srv_json_text(msg, strlen(msg))), &n);
	e2b_reply_bytes(r, 200, f, f ? n : 0, "application/connect+json");
}

/* The request of a unary call (a JSON object), or NULL with the error
 * answered. */
static json_t *unary_request(e2b_request_t *rq, e2b_reply_t *r)
{
	const char *ct = rq->header(rq->conn, "Content-Type");
	if (!ct || strncmp(ct, "application/json", 16) != 0) {
		e2b_rpc_error(r, "invalid_argument",
			      "unary calls take Content-Type application/json (the JSON codec)");
		return NULL;
	}
	json_t *o = rq->len ? json_loadb(rq->body, rq->len, 0, NULL) : json_object();
	if (!json_is_object(o)) {
		json_decref(o);
		e2b_rpc_error(r, "invalid_argument", "the body is not a JSON object");
		return NULL;
	}
	return o;
}

/* The message of a server-streaming call: exactly one uncompressed
 * envelope holding a JSON object; NULL with the error answered. */
static json_t *stream_request(e2b_request_t *rq, e2b_reply_t *r)
{
	const char *ct = rq->header(rq->conn, "Content-Type");
	const unsigned char *b = (const unsigned char *)rq->body;
	if (!ct || strncmp(ct, "application/connect+json", 24) != 0) {
		stream_error(r, "invalid_argument",
			     "streaming calls take Content-Type application/connect+json");
		return NULL;
	}
	if (rq->len < 5) {
		stream_error(r, "invalid_argument", "the body is not a Connect envelope");
		return NULL;
	}
	size_t n = (size_t)b[1] << 24 | (size_t)b[2] << 16 | (size_t)b[3] << 8 | b[4];
	if (b[0] != 0 || n != rq->len - 5) {
		stream_error(r, "invalid_argument",
			     b[0] & 1 ? "compressed messages are not supported"
				      : "the envelope's flags or length do not match its body");
		return NULL;
	}
	json_t *o = json_loadb(rq->body + 5, n, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		stream_error(r, "invalid_argument", "the message is not a JSON object");
		return NULL;
	}
	return o;
}

/* An int64 of the JSON mapping: a number or a decimal string. */
static bool int_field(json_t *v, long long *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_string(v)) {
		char *end;
		*out = strtoll(json_string_value(v), &end, 10);
		return end != json_string_value(v) && !*end;
	}
	return false;
}

/* ---- process.Process ----------------------------------------------------------- */

struct proc_stream {
	srv_proc_reader_t *rd;
	int pid;
	int phase; /* 0: start to send, 1: running, 2: EndStream to send, 3: over */
	uint64_t keepalive_ms;
	json_t *endstream; /* what the EndStream frame carries */
};

static json_t *end_event(json_t *res, json_t **endstream)
{
	const char *status = json_string_value(json_object_get(res, "status"));
	long long code = json_integer_value(json_object_get(res, "exit_code"));
	long long sig = json_integer_value(json_object_get(res, "signal"));
	char text[64];
	*endstream = json_object();
	if (status && strcmp(status, "exited") == 0) {
		snprintf(text, sizeof(text), "exit status %lld", code);
		json_t *e = json_pack("{s:I,s:b,s:s}", "exitCode", (json_int_t)code, "exited", 1,
				      "status", text);
		if (code)
			json_object_set_new(e, "error", json_string(text));
		return e;
	}
	if (status && strcmp(status, "error") == 0) {
		json_t *m = json_object_get(res, "error");
		snprintf(text, sizeof(text), "error");
		json_t *e = json_pack("{s:i,s:b,s:s,s:O}", "exitCode", -1, "exited", 0, "status", text,
				      "error", json_is_string(m) ? m : json_string("error"));
		return e;
	}
	if (sig == 9 || !sig)
		snprintf(text, sizeof(text), "signal: killed");
	else if (sig == 15)
		snprintf(text, sizeof(text), "signal: terminated");
	else
		snprintf(text, sizeof(text), "signal: %lld", sig);
	if (status && strcmp(status, "timeout") == 0) {
		json_decref(*endstream);
		*endstream = json_pack("{s:{s:s,s:s}}", "error", "code", "deadline_exceeded", "message",
				       "the command's timeout passed: it was killed");
	}
	return json_pack("{s:i,s:b,s:s,s:s}", "exitCode", -1, "exited", 0, "status", text, "error",
			 text);
}

/* The next frame (the stream's next piece), or NULL at the end. */
static char *next_frame(void *ctx, size_t *len)
{
	struct proc_stream *ps = ctx;
	json_t *msg = NULL;
	unsigned char flags = 0;
	while (!msg) {
		if (ps->phase == 0) {
			msg = json_pack("{s:{s:{s:i}}}", "event", "start", "pid", ps->pid);
			ps->phase = 1;
		} else if (ps->phase == 1) {
			int which = 0;
			char *data = NULL;
			size_t n = 0;
			json_t *res = NULL;
			int rc = srv_proc_reader_next(ps->rd, ps->keepalive_ms, DATA_FRAME_MAX, &which,
						      &data, &n, &res);
			if (rc == 1) {
				char *b64 = srv_base64_encode(data, n);
				free(data);
				msg = json_pack("{s:{s:{s:s}}}", "event", "data",
						which == 1 ? "stdout" : "stderr", b64 ? b64 : "");
				free(b64);
			} else if (rc == 2) {
				msg = json_pack("{s:{s:o}}", "event", "end", end_event(res, &ps->endstream));
				json_decref(res);
				ps->phase = 2;
			} else if (rc == 0) {
				msg = json_pack("{s:{s:{}}}", "event", "keepalive");
			} else {
				/* The server stops (or the client left: then
				 * nobody reads this). */
				ps->endstream = json_pack("{s:{s:s,s:s}}", "error", "code", "unavailable",
							  "message", "the server is shutting down");
				ps->phase = 2;
			}
		} else if (ps->phase == 2) {
			msg = ps->endstream ? ps->endstream : json_object();
			ps->endstream = NULL;
			flags = 2;
			ps->phase = 3;
		} else {
			return NULL;
		}
	}
	return e2b_envelope(flags, msg, len);
}

static void proc_stream_free(void *ctx)
{
	struct proc_stream *ps = ctx;
	srv_proc_reader_free(ps->rd);
	json_decref(ps->endstream);
	free(ps);
}

/* Streams the process p (a reference the stream takes over). */
static void reply_stream(e2b_state_t *st, srv_proc_t *p, bool from_now, e2b_request_t *rq,
			 e2b_reply_t *r)
{
	struct proc_stream *ps = calloc(1, sizeof(*ps));
	srv_proc_reader_t *rd = ps ? srv_proc_reader_new_at(e2b_state_service(st), p,
							     rq->client_fd, from_now) : NULL;
	int pid = srv_proc_pid(p);
	srv_proc_put(p);
	if (!rd) {
		free(ps);
		stream_error(r, "internal", "out of memory");
		return;
	}
	ps->rd = rd;
	ps->pid = pid;
	const char *ka = rq->header(rq->conn, "Keepalive-Ping-Interval");
	long secs = ka ? strtol(ka, NULL, 10) : KEEPALIVE_DEFAULT_S;
	ps->keepalive_ms = (uint64_t)(secs > 0 && secs <= KEEPALIVE_DEFAULT_S ? secs
									 : KEEPALIVE_DEFAULT_S) * 1000;
	r->status = 200;
	r->content_type = "application/connect+json";
	r->next = next_frame;
	r->free = proc_stream_free;
	r->ctx = ps;
}

/* The process selector {"process": {"pid": N}} (or a tag, which we do not
 * keep): a running process with a reference, or NULL with err. */
static srv_proc_t *selected(srv_procs_t *procs, json_t *req, bool running_only, srv_err_t *err)
{
	json_t *sel = json_object_get(req, "process");
	long long pid;
	if (!json_is_object(sel) || !int_field(json_object_get(sel, "pid"), &pid) || pid <= 0 ||
	    pid > 0x7fffffff)
		return srv_fail(err, json_object_get(sel, "tag") ? 404 : 400,
				json_object_get(sel, "tag") ? "not_found" : "invalid_argument",
				"select the process by {\"process\": {\"pid\": N}}%s",
				json_object_get(sel, "tag") ? " (tags are not kept here)" : ""), NULL;
	return srv_proc_find_pid(procs, (int)pid, running_only, err);
}

/* The Start request as a processes.c request. */
static json_t *start_request(e2b_state_t *st, e2b_sandbox_t *sb, const srv_session_view_t *v,
			     json_t *req, e2b_request_t *rq, json_t **meta, srv_err_t *err)
{
	json_t *proc = json_object_get(req, "process");
	json_t *cmd = json_object_get(proc, "cmd"), *args = json_object_get(proc, "args");
	json_t *envs = json_object_get(proc, "envs"), *cwd = json_object_get(proc, "cwd");
	json_t *in = json_object_get(req, "stdin");
	if (json_object_get(req, "pty"))
		return srv_fail(err, 501, "unimplemented", "PTYs are not supported by this server"),
		       NULL;
	if (!json_is_string(cmd) || (args && !json_is_array(args)) ||
	    (envs && !json_is_object(envs)) || (cwd && !json_is_string(cwd)) ||
	    (in && !json_is_boolean(in)))
		return srv_fail(err, 400, "invalid_argument",
				"process.cmd is a string, args a list, envs a map, cwd a string"),
		       NULL;
	json_t *argv = json_array();
	json_array_append(argv, cmd);
	size_t i;
	json_t *a;
	json_array_foreach(args, i, a) json_array_append(argv, a);
	/* The environment: the user's, then the sandbox's (create's
	 * envVars), then the request's; later ones win. */
	json_t *env = json_pack("{s:s,s:s,s:s}", "HOME", E2B_HOME, "USER", "user", "LOGNAME", "user");
	json_object_update(env, e2b_sandbox_env(sb));
	if (envs)
		json_object_update(env, envs);
	char dir[4096];
	char rel[SRV_MAX_PATH_BYTES + 1];
	const char *c = cwd ? json_string_value(cwd) : "";
	if (!*c) {
		snprintf(dir, sizeof(dir), "%s", E2B_HOME);
	} else if (c[0] == '/') {
		snprintf(dir, sizeof(dir), "%s", c);
	} else if (strncmp(c, "~/", 2) == 0 || strcmp(c, "~") == 0) {
		snprintf(dir, sizeof(dir), "%s%s", E2B_HOME, c + 1);
	} else {
		snprintf(dir, sizeof(dir), "%s/%s", E2B_HOME, c);
	}
	/* A missing directory under the home is told as envd tells it. */
	struct stat sst;
	srv_err_t perr = {0};
	if (e2b_ws_path(dir, rel, sizeof(rel), &perr) == 0 &&
	    srv_ws_stat(v->dirfd, rel, &sst, &perr) < 0) {
		json_decref(argv);
		json_decref(env);
		return srv_fail(err, 400, "invalid_argument", "cwd '%.200s' does not exist", dir), NULL;
	}
	/* Connect-Timeout-Ms is the process's lifetime; none: the policy's
	 * longest. */
	const char *tm = rq->header(rq->conn, "Connect-Timeout-Ms");
	double limit = e2b_state_service(st)->policy->maximums.timeout_s;
	double t = tm ? strtod(tm, NULL) / 1000.0 : limit;
	if (!(t > 0) || t > limit)
		t = limit;
	*meta = json_pack("{s:O,s:o,s:o,s:s}", "cmd", cmd, "args",
			  args ? json_incref(args) : json_array(), "envs",
			  envs ? json_incref(envs) : json_object(), "cwd", dir);
	return json_pack("{s:o,s:o,s:s,s:f,s:b}", "argv", argv, "env", env, "cwd", dir, "timeout", t,
			 "stdin_open", !in || json_is_true(in));
}

static void process_start(e2b_state_t *st, e2b_sandbox_t *sb, e2b_request_t *rq, e2b_reply_t *r)
{
	json_t *req = stream_request(rq, r);
	if (!req)
		return;
	srv_err_t err = {0};
	srv_session_view_t v = srv_session_view(e2b_sandbox_session(sb));
	json_t *meta = NULL;
	json_t *preq = start_request(st, sb, &v, req, rq, &meta, &err);
	json_t *d = NULL;
	srv_proc_t *p = NULL;
	if (preq) {
		srv_exec_call_t call = {.req = preq, .who = rq->who, .client_fd = -1,
					.audit = rq->audit};
		d = srv_proc_start(e2b_state_service(st), &v, preq, &call, &err);
	}
	if (d)
		p = srv_proc_find(v.procs, json_string_value(json_object_get(d, "id")), &err);
	if (p) {
		srv_proc_set_meta(p, meta);
		meta = NULL;
		reply_stream(st, p, false, rq, r);
	} else {
		stream_error(r, err.status == 501 ? "unimplemented" : e2b_rpc_code(&err), err.message);
	}
	json_decref(meta);
	json_decref(d);
	json_decref(preq);
	json_decref(req);
}

/* The running process a request selects, in the sandbox. */
static srv_proc_t *selected_in(e2b_sandbox_t *sb, json_t *req, srv_err_t *err)
{
	return selected(srv_session_view(e2b_sandbox_session(sb)).procs, req, true, err);
}

static void process_connect(e2b_state_t *st, e2b_sandbox_t *sb, e2b_request_t *rq,
			    e2b_reply_t *r)
{
	json_t *req = stream_request(rq, r);
	srv_err_t err = {0};
	srv_proc_t *p = req ? selected_in(sb, req, &err) : NULL;
	if (!req)
		return;
	if (p)
		reply_stream(st, p, true, rq, r);
	else
		stream_error(r, e2b_rpc_code(&err), err.message);
	json_decref(req);
}

static void process_list(e2b_sandbox_t *sb, e2b_reply_t *r)
{
	srv_session_view_t v = srv_session_view(e2b_sandbox_session(sb));
	json_t *l = srv_proc_list(v.procs), *out = json_array(), *p;
	size_t i;
	json_array_foreach(json_object_get(l, "processes"), i, p) {
		json_t *meta = json_object_get(p, "meta");
		if (strcmp(json_string_value(json_object_get(p, "state")), "running") != 0 || !meta)
			continue;
		json_array_append_new(out, json_pack("{s:O,s:O}", "config", meta, "pid",
						     json_object_get(p, "pid")));
	}
	json_decref(l);
	e2b_reply_json(r, 200, json_pack("{s:o}", "processes", out));
}

/* SendInput, CloseStdin, SendSignal: one call on a running process. */
static void process_unary(e2b_sandbox_t *sb, const char *method, e2b_request_t *rq,
			  e2b_reply_t *r)
{
	json_t *req = unary_request(rq, r), *body = NULL, *out = NULL;
	srv_err_t err = {0};
	srv_proc_t *p = req ? selected_in(sb, req, &err) : NULL;
	if (!req)
		return;
	if (!p)
		goto done;
	if (strcmp(method, "SendInput") == 0) {
		json_t *input = json_object_get(req, "input");
		json_t *data = json_object_get(input, "stdin");
		if (json_object_get(input, "pty")) {
			srv_fail(&err, 501, "unimplemented", "PTYs are not supported by this server");
			goto done;
		}
		if (!json_is_string(data)) {
			srv_fail(&err, 400, "invalid_request", "input.stdin (base64) is required");
			goto done;
		}
		body = json_pack("{s:O,s:s}", "data", data, "encoding", "base64");
		out = srv_proc_stdin(p, body, rq->audit, &err);
	} else if (strcmp(method, "CloseStdin") == 0) {
		body = json_pack("{s:b}", "eof", 1);
		out = srv_proc_stdin(p, body, rq->audit, &err);
	} else {
		json_t *sig = json_object_get(req, "signal");
		long long num = 0;
		const char *name = json_is_string(sig) ? json_string_value(sig) : "";
		if (int_field(sig, &num) && (num == 9 || num == 15))
			name = num == 9 ? "KILL" : "TERM";
		else if (strncmp(name, "SIGNAL_SIG", 10) == 0)
			name += 10;
		if (strcmp(name, "KILL") != 0 && strcmp(name, "TERM") != 0) {
			srv_fail(&err, 400, "invalid_request",
				 "signal is SIGNAL_SIGKILL or SIGNAL_SIGTERM (9 or 15)");
			goto done;
		}
		body = json_pack("{s:s}", "signal", name);
		out = srv_proc_signal(p, body, rq->audit, &err);
		if (!out && err.status == 409) /* it ended meanwhile */
			srv_fail(&err, 404, "not_found", "the process has ended");
	}
done:
	if (out)
		e2b_reply_json(r, 200, json_object());
	else
		e2b_rpc_error(r, err.status == 501 ? "unimplemented" : e2b_rpc_code(&err), "%s",
			      err.message);
	json_decref(out);
	json_decref(body);
	srv_proc_put(p);
	json_decref(req);
}

void e2b_rpc_process(e2b_state_t *st, e2b_sandbox_t *sb, const char *method, e2b_request_t *rq,
		     e2b_reply_t *r)
{
	if (strcmp(method, "Start") == 0)
		process_start(st, sb, rq, r);
	else if (strcmp(method, "Connect") == 0)
		process_connect(st, sb, rq, r);
	else if (strcmp(method, "List") == 0) {
		json_t *req = unary_request(rq, r);
		if (req)
			process_list(sb, r);
		json_decref(req);
	} else if (strcmp(method, "SendInput") == 0 || strcmp(method, "SendSignal") == 0 ||
		   strcmp(method, "CloseStdin") == 0)
		process_unary(sb, method, rq, r);
	else
		e2b_rpc_error(r, "unimplemented", "process.Process/%.64s is not supported by this "
			      "server", method);
}

void e2b_envd(e2b_state_t *st, e2b_sandbox_t *sb, e2b_request_t *rq, e2b_reply_t *r)
{
	const char *url = rq->url;
	bool post = strcmp(rq->method, "POST") == 0;
	if (strcmp(url, "/health") == 0 && strcmp(rq->method, "GET") == 0)
		r->status = 204;
	else if (post && strncmp(url, "/process.Process/", 17) == 0)
		e2b_rpc_process(st, sb, url + 17, rq, r);
	else if (post && strncmp(url, "/filesystem.Filesystem/", 23) == 0)
		e2b_rpc_filesystem(st, sb, url + 23, rq, r);
	else if (strcmp(url, "/files") == 0)
		e2b_files(st, sb, rq, r);
	else
		e2b_reply_error(r, 404, "no route %.8s %.200s", rq->method, url);
}
