/* The Model Context Protocol face: JSON-RPC 2.0 over stdio, one message per
 * line (MCP "stdio" transport). tools/call runs on its own thread so that a
 * long execution does not block ping or other calls; stdout is written under
 * a lock, one complete message per line. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define MCP_LATEST "2025-06-18"
static const char *const mcp_versions[] = {"2025-06-18", "2025-03-26", "2024-11-05", NULL};
static const char *const mcp_who = "mcp";

/* A tools/call in flight: closing `cancel_w` (notifications/cancelled)
 * hangs up the pipe whose other end the execution watches. */
struct inflight {
	char *id; /* the request id, serialized */
	int cancel_w;
	bool cancelled;
	struct inflight *next;
};

struct mcp {
	srv_service_t *svc;
	pthread_mutex_t out_lock;
	pthread_mutex_t calls_lock; /* also guards `inflight` */
	pthread_cond_t calls_done;
	unsigned calls;
	struct inflight *inflight;
	/* The tools/list result, built once: it depends only on the policy,
	 * which is fixed for the server's life, and is ~7.6 KB of JSON made of
	 * a few hundred objects. Read-only once built (replies hold
	 * references; jansson's reference counts are atomic). */
	json_t *tools;
};

static char *id_key(json_t *id)
{
	return json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* notifications/cancelled: stop the call if it still runs. */
static void cancel_call(struct mcp *m, json_t *request_id)
{
	char *key = request_id ? id_key(request_id) : NULL;
	if (!key)
		return;
	pthread_mutex_lock(&m->calls_lock);
	for (struct inflight *f = m->inflight; f; f = f->next) {
		if (strcmp(f->id, key) == 0 && !f->cancelled) {
			f->cancelled = true;
			close(f->cancel_w);
			f->cancel_w = -1;
		}
	}
	pthread_mutex_unlock(&m->calls_lock);
	free(key);
}

static void send_msg(struct mcp *m, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!text)
		return;
	pthread_mutex_lock(&m->out_lock);
	size_t len = strlen(text);
	text[len] = '\n';
	size_t off = 0;
	while (off < len + 1) {
		ssize_t w = write(STDOUT_FILENO, text + off, len + 1 - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	pthread_mutex_unlock(&m->out_lock);
	free(text);
}

static json_t *rpc_result(json_t *id, json_t *result)
{
	return json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id, "result", result);
}

static json_t *rpc_error(json_t *id, int code, const char *message)
{
	return json_pack("{s:s,s:O,s:{s:i,s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(),
			 "error", "code", code, "message", message);
}

/* ---- tools (their schemas: mcp_schema.c) ------------------------------------ */

static json_t *tool_text(const char *text, json_t *structured, bool is_error)
{
	/* Error messages quote client text cut at a byte count: keep it UTF-8. */
	json_t *r = json_pack("{s:[{s:s,s:o}],s:b}", "content", "type", "text", "text",
			      srv_json_text(text, strlen(text)), "isError", is_error);
	if (structured)
		json_object_set_new(r, "structuredContent", structured);
	return r;
}

static json_t *tool_error(const srv_err_t *err)
{
	char msg[600];
	snprintf(msg, sizeof(msg), "%s: %s", err->code ? err->code : "error", err->message);
	return tool_text(msg, NULL, true);
}

/* The result JSON as both text and structured content; isError when the
 * sandbox could not run the code. */
static json_t *tool_exec_result(char *out)
{
	json_t *res = json_loads(out, 0, NULL);
	const char *status = json_string_value(json_object_get(res, "status"));
	json_t *r = tool_text(out, res, status && strcmp(status, "error") == 0);
	free(out);
	return r;
}

static const char *str_arg(json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

static int need_str(json_t *args, const char *key, srv_err_t *err)
{
	if (!json_is_string(json_object_get(args, key)))
		return srv_fail(err, 400, "invalid_params", "\"%s\" (a string) is required", key);
	return 0;
}

/* Copies args without the listed keys. */
static json_t *without(json_t *args, const char *key)
{
	json_t *c = json_copy(args);
	json_object_del(c, key);
	return c;
}

static json_t *call_tool(struct mcp *m, const char *name, json_t *args, json_t *audit,
			 int cancel_r)
{
	srv_service_t *svc = m->svc;
	srv_err_t err = {0};
	srv_exec_call_t call = {.who = mcp_who, .client_fd = cancel_r, .audit = audit,
				.hangup_reason = "client_cancelled"};
	if (strcmp(name, "execute_code") == 0) {
		call.req = args;
		char *out = srv_execute_once(svc, &call, &err);
		return out ? tool_exec_result(out) : tool_error(&err);
	}
	if (strcmp(name, "session_create") == 0) {
		json_t *d = srv_session_create(svc, args, mcp_who, &err);
		if (!d)
			return tool_error(&err);
		json_object_set_new(audit, "session", json_incref(json_object_get(d, "id")));
		char *text = json_dumps(d, JSON_COMPACT);
		json_t *r = tool_text(text ? text : "", d, false);
		free(text);
		return r;
	}
	if (srv_mcp_is_process_tool(name)) {
		json_t *out = srv_mcp_process_tool(svc, name, args, &call, &err);
		if (!out)
			return tool_error(&err);
		char *text = json_dumps(out, JSON_COMPACT);
		json_t *r = tool_text(text ? text : "", out, false);
		free(text);
		return r;
	}
	static const char *const session_tools[] = {"session_execute", "session_write_file",
						    "session_read_file", "session_list_files",
						    "session_close", NULL};
	bool known = false;
	for (size_t i = 0; session_tools[i]; i++)
		known |= strcmp(name, session_tools[i]) == 0;
	if (!known)
		return NULL;
	if (need_str(args, "session_id", &err) < 0)
		return tool_error(&err);
	const char *sid = str_arg(args, "session_id");
	/* An id is short: a client's megabyte is not copied into the audit log. */
	json_object_set_new(audit, "session", srv_json_text(sid, strnlen(sid, 128)));
	if (strcmp(name, "session_execute") == 0) {
		call.req = without(args, "session_id");
		char *out = srv_session_execute(svc, sid, &call, &err);
		json_decref(call.req);
		return out ? tool_exec_result(out) : tool_error(&err);
	}
	if (strcmp(name, "session_write_file") == 0) {
		if (need_str(args, "path", &err) < 0 || need_str(args, "content", &err) < 0)
			return tool_error(&err);
		json_t *c = json_object_get(args, "content");
		const char *enc = str_arg(args, "encoding");
		const char *data = json_string_value(c);
		size_t len = json_string_length(c);
		char *decoded = NULL;
		if (enc && strcmp(enc, "base64") == 0) {
			if (srv_base64_decode(data, len, &decoded, &len) < 0) {
				srv_fail(&err, 400, "invalid_params", "content is not valid base64");
				return tool_error(&err);
			}
			data = decoded;
		} else if (enc && strcmp(enc, "utf-8") != 0) {
			srv_fail(&err, 400, "invalid_params",
				 "encoding must be \"utf-8\" (the default) or \"base64\"");
			return tool_error(&err);
		}
		int rc = -1;
		if (len > svc->policy->max_file_bytes)
			srv_fail(&err, 413, "payload_too_large", "the file is %zu bytes; at most %zu",
				 len, svc->policy->max_file_bytes);
		else
			rc = srv_session_write(svc, sid, mcp_who, str_arg(args, "path"), data, len,
					       &err);
		free(decoded);
		if (rc < 0)
			return tool_error(&err);
		json_t *s = json_pack("{s:o,s:I}", "path",
				      srv_json_text(str_arg(args, "path"), strlen(str_arg(args, "path"))),
				      "size", (json_int_t)len);
		return tool_text("written", s, false);
	}
	if (strcmp(name, "session_read_file") == 0) {
		if (need_str(args, "path", &err) < 0)
			return tool_error(&err);
		const char *enc = str_arg(args, "encoding") ? str_arg(args, "encoding") : "auto";
		if (strcmp(enc, "auto") != 0 && strcmp(enc, "utf-8") != 0 &&
		    strcmp(enc, "base64") != 0) {
			srv_fail(&err, 400, "invalid_params",
				 "encoding must be \"auto\" (the default), \"utf-8\" or \"base64\"");
			return tool_error(&err);
		}
		size_t len = 0;
		char *data = srv_session_read(svc, sid, mcp_who, str_arg(args, "path"), &len, &err);
		if (!data)
			return tool_error(&err);
		bool text = srv_utf8_valid(data, len);
		if (strcmp(enc, "utf-8") == 0 && !text) {
			free(data);
			srv_fail(&err, 400, "not_text",
				 "the file is not UTF-8 text; read it with encoding \"base64\"");
			return tool_error(&err);
		}
		if (strcmp(enc, "base64") == 0)
			text = false;
		char *b64 = text ? NULL : srv_base64_encode(data, len);
		json_t *content = text ? json_stringn(data, len) : b64 ? json_string(b64) : NULL;
		json_t *r = NULL;
		if (content) {
			json_t *st = json_pack("{s:o,s:o,s:s,s:I}", "path",
					       srv_json_text(str_arg(args, "path"),
							     strlen(str_arg(args, "path"))),
					       "content", content, "encoding", text ? "utf-8" : "base64",
					       "size", (json_int_t)len);
			/* The text block holds the content itself, NUL bytes and all. */
			r = json_pack("{s:[{s:s,s:O}],s:b,s:o}", "content", "type", "text", "text",
				      content, "isError", 0, "structuredContent", st);
		}
		free(b64);
		free(data);
		if (!r) {
			srv_fail(&err, 500, "internal", "out of memory");
			return tool_error(&err);
		}
		return r;
	}
	if (strcmp(name, "session_list_files") == 0) {
		json_t *l = srv_session_list(svc, sid, mcp_who, str_arg(args, "path"), &err);
		if (!l)
			return tool_error(&err);
		char *text = json_dumps(l, JSON_COMPACT);
		json_t *r = tool_text(text ? text : "", l, false);
		free(text);
		return r;
	}
	if (strcmp(name, "session_close") == 0) {
		if (srv_session_delete(svc, sid, mcp_who, &err) < 0)
			return tool_error(&err);
		return tool_text("closed", json_pack("{s:s,s:b}", "id", sid, "deleted", 1), false);
	}
	return NULL;
}

struct call_job {
	struct mcp *m;
	json_t *msg;
	struct inflight *self; /* registered before the thread starts; may be NULL */
	int cancel_r;
};

/* Registers a call before its thread starts, so that a cancellation read
 * right after the call always finds it. */
static struct inflight *register_call(struct mcp *m, json_t *id, int *cancel_r)
{
	int cancel[2] = {-1, -1};
	struct inflight *self = calloc(1, sizeof(*self));
	if (!self || !(self->id = id_key(id)) || pipe2(cancel, O_CLOEXEC) < 0) {
		if (self)
			free(self->id);
		free(self);
		*cancel_r = -1;
		return NULL;
	}
	self->cancel_w = cancel[1];
	*cancel_r = cancel[0];
	pthread_mutex_lock(&m->calls_lock);
	self->next = m->inflight;
	m->inflight = self;
	pthread_mutex_unlock(&m->calls_lock);
	return self;
}

static void *call_thread(void *arg)
{
	struct call_job *job = arg;
	struct mcp *m = job->m;
	json_t *id = json_object_get(job->msg, "id");
	struct inflight *self = job->self;
	int cancel[2] = {job->cancel_r, -1};
	json_t *params = json_object_get(job->msg, "params");
	const char *name = json_string_value(json_object_get(params, "name"));
	json_t *args = json_object_get(params, "arguments");
	json_t *audit = json_object();
	json_t *reply;
	if (!args)
		args = json_object();
	else
		json_incref(args);
	if (!name || !json_is_object(args)) {
		reply = rpc_error(id, -32602, "tools/call needs params.name and an object "
					      "params.arguments");
	} else {
		uint64_t t0 = srv_now_ms();
		json_t *r = call_tool(m, name, args, audit, self ? cancel[0] : -1);
		if (!r) {
			char msg[200];
			snprintf(msg, sizeof(msg), "unknown tool \"%.100s\"", name);
			reply = rpc_error(id, -32602, msg);
		} else {
			json_object_set_new(audit, "tool_error",
					    json_incref(json_object_get(r, "isError")));
			reply = rpc_result(id, r);
		}
		json_object_set_new(audit, "event", json_string("mcp_tool_call"));
		json_object_set_new(audit, "who", json_string(mcp_who));
		json_object_set_new(audit, "tool", json_string(name));
		json_object_set_new(audit, "duration_ms", json_integer((json_int_t)(srv_now_ms() - t0)));
		srv_audit_append(m->svc->audit, audit);
		audit = NULL;
	}
	json_decref(audit);
	json_decref(args);
	bool cancelled = false;
	pthread_mutex_lock(&m->calls_lock);
	if (self) {
		for (struct inflight **pp = &m->inflight; *pp; pp = &(*pp)->next) {
			if (*pp == self) {
				*pp = self->next;
				break;
			}
		}
		cancelled = self->cancelled;
		if (self->cancel_w >= 0)
			close(self->cancel_w);
		close(cancel[0]);
		free(self->id);
		free(self);
	}
	pthread_mutex_unlock(&m->calls_lock);
	/* A cancelled request gets no response (MCP's cancellation rule). */
	if (cancelled)
		json_decref(reply);
	else
		send_msg(m, reply);
	json_decref(job->msg);
	free(job);
	pthread_mutex_lock(&m->calls_lock);
	m->calls--;
	pthread_cond_broadcast(&m->calls_done);
	pthread_mutex_unlock(&m->calls_lock);
	return NULL;
}

/* Handles one message; returns the reply (NULL for notifications and for
 * calls answered later by their thread). */
static json_t *handle(struct mcp *m, json_t *msg)
{
	if (!json_is_object(msg))
		return rpc_error(NULL, -32600, "invalid request: not an object");
	json_t *id = json_object_get(msg, "id");
	/* MCP: an id is a string or an integer, never null (JSON-RPC's null id
	 * is refused); a bad id is answered with id null. */
	bool good_id = json_is_string(id) || json_is_integer(id);
	json_t *reply_id = good_id ? id : NULL;
	const char *method = json_string_value(json_object_get(msg, "method"));
	if (!method) {
		/* A response to us (we send no requests): nothing to answer. */
		if (good_id && (json_object_get(msg, "result") || json_object_get(msg, "error")))
			return NULL;
		return rpc_error(reply_id, -32600, "invalid request: no method");
	}
	if (!json_is_string(json_object_get(msg, "jsonrpc")) ||
	    strcmp(json_string_value(json_object_get(msg, "jsonrpc")), "2.0") != 0)
		return rpc_error(reply_id, -32600, "invalid request: jsonrpc must be \"2.0\"");
	if (id && !good_id)
		return rpc_error(NULL, -32600, "invalid request: id must be a string or an integer "
					       "(MCP forbids null)");
	if (!id) { /* notifications: initialized, cancelled, ... */
		if (strcmp(method, "notifications/cancelled") == 0)
			cancel_call(m, json_object_get(json_object_get(msg, "params"), "requestId"));
		return NULL;
	}
	json_t *params = json_object_get(msg, "params");
	if (strcmp(method, "initialize") == 0) {
		const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
		const char *version = MCP_LATEST;
		for (size_t i = 0; asked && mcp_versions[i]; i++)
			if (strcmp(asked, mcp_versions[i]) == 0)
				version = mcp_versions[i];
		return rpc_result(
			id, json_pack("{s:s,s:{s:{s:b}},s:{s:s,s:s,s:s},s:s}", "protocolVersion",
				      version, "capabilities", "tools", "listChanged", 0, "serverInfo",
				      "name", "symbi-sandbox", "title", "symbi-sandbox",
				      "version", SYMBI_VERSION, "instructions",
				      "Run untrusted code in isolated sandboxes with hard limits. "
				      "Use execute_code for one-off runs, or session_create then "
				      "session_execute to keep files in /workspace between runs; "
				      "process_start runs a program in a session's background."));
	}
	if (strcmp(method, "ping") == 0)
		return rpc_result(id, json_object());
	if (strcmp(method, "tools/list") == 0)
		return m->tools ? rpc_result(id, json_incref(m->tools))
				: rpc_error(id, -32603, "out of memory");
	if (strcmp(method, "tools/call") == 0) {
		struct call_job *job = malloc(sizeof(*job));
		if (!job)
			return rpc_error(id, -32603, "out of memory");
		job->m = m;
		job->msg = json_incref(msg);
		job->self = register_call(m, id, &job->cancel_r);
		pthread_mutex_lock(&m->calls_lock);
		m->calls++;
		pthread_mutex_unlock(&m->calls_lock);
		pthread_t t;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		int rc = pthread_create(&t, &attr, call_thread, job);
		pthread_attr_destroy(&attr);
		if (rc != 0) {
			json_decref(msg);
			if (job->self) {
				pthread_mutex_lock(&m->calls_lock);
				m->inflight = job->self->next; /* it is the head: we just added it */
				pthread_mutex_unlock(&m->calls_lock);
				close(job->self->cancel_w);
				close(job->cancel_r);
				free(job->self->id);
				free(job->self);
			}
			free(job);
			pthread_mutex_lock(&m->calls_lock);
			m->calls--;
			pthread_mutex_unlock(&m->calls_lock);
			return rpc_error(id, -32603, "cannot start the call");
		}
		return NULL;
	}
	char text[200];
	snprintf(text, sizeof(text), "method not found: %.100s", method);
	return rpc_error(id, -32601, text);
}

static void handle_line(struct mcp *m, const char *line, size_t len)
{
	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (!len)
		return;
	json_error_t jerr;
	json_t *msg = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
	if (!msg) {
		send_msg(m, rpc_error(NULL, -32700, "parse error"));
		return;
	}
	if (json_is_array(msg) && json_array_size(msg) == 0) {
		send_msg(m, rpc_error(NULL, -32600, "invalid request: an empty batch"));
	} else if (json_is_array(msg)) { /* batches, for clients of 2025-03-26 */
		json_t *replies = json_array();
		size_t i;
		json_t *e;
		json_array_foreach(msg, i, e) {
			json_t *r = handle(m, e);
			if (r)
				json_array_append_new(replies, r);
		}
		if (json_array_size(replies))
			send_msg(m, replies);
		else
			json_decref(replies);
	} else {
		json_t *r = handle(m, msg);
		if (r)
			send_msg(m, r);
	}
	json_decref(msg);
}

int srv_mcp_serve(srv_service_t *svc)
{
	struct mcp m = {.svc = svc, .tools = srv_mcp_tools_list(svc->policy)};
	pthread_mutex_init(&m.out_lock, NULL);
	pthread_mutex_init(&m.calls_lock, NULL);
	pthread_cond_init(&m.calls_done, NULL);
	sigset_t set;
	srv_block_stop_signals(&set);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	srv_err_t err = {0};
	if (srv_service_start_reaper(svc, &err) < 0)
		fprintf(stderr, "symbi-sandbox mcp: %s\n", err.message);
	/* A message may carry a file of max_file_bytes in base64, plus the rest of
	 * a request: anything longer is refused and skipped to its end. */
	const srv_policy_t *pol = svc->policy;
	size_t max_msg = pol->max_body_bytes + pol->max_file_bytes / 3 * 4 + 4 + 65536;
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	bool stop = false, skipping = false;
	while (buf && !stop) {
		struct pollfd pfd[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
					{.fd = sfd, .events = POLLIN}};
		if (poll(pfd, sfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (sfd >= 0 && pfd[1].revents) {
			fprintf(stderr, "symbi-sandbox mcp: signal received; cancelling executions\n");
			srv_limiter_close(svc->limiter);
			srv_service_cancel_all(svc);
			break;
		}
		if (len == cap) {
			char *b = realloc(buf, cap * 2);
			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
		ssize_t r = read(STDIN_FILENO, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			stop = true;
		else
			len += (size_t)r;
		char *start = buf, *nl;
		while ((nl = memchr(start, '\n', len - (size_t)(start - buf)))) {
			if (!skipping)
				handle_line(&m, start, (size_t)(nl - start));
			skipping = false;
			start = nl + 1;
		}
		len -= (size_t)(start - buf);
		memmove(buf, start, len);
		if (len > max_msg) {
			if (!skipping) {
				char text[160];
				snprintf(text, sizeof(text), "message too large: more than %zu bytes "
					 "(this server's limit)", max_msg);
				send_msg(&m, rpc_error(NULL, -32600, text));
			}
			skipping = true; /* drop it up to its newline */
			len = 0;
		}
		if (stop && len && !skipping)
			handle_line(&m, buf, len);
	}
	free(buf);
	/* At end of input, calls in flight still finish and answer (a client
	 * that does not want them sends SIGTERM, which cancels them above). */
	/* Let running calls answer (or be cancelled) before everything is freed. */
	pthread_mutex_lock(&m.calls_lock);
	while (m.calls > 0)
		pthread_cond_wait(&m.calls_done, &m.calls_lock);
	pthread_mutex_unlock(&m.calls_lock);
	if (sfd >= 0)
		close(sfd);
	pthread_mutex_destroy(&m.out_lock);
	pthread_mutex_destroy(&m.calls_lock);
	pthread_cond_destroy(&m.calls_done);
	json_decref(m.tools);
	return 0;
}
