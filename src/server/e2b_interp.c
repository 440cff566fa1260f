/* The code interpreter on port 49999 (@e2b/code-interpreter): POST
 * /execute answers NDJSON as the cell runs, over the session's named
 * contexts (contexts_api.c; python, and bash as the sh context), and
 * /contexts creates, lists and deletes them. The lines of a streamed cell
 * (stream.c) are rewritten into the interpreter's: stdout/stderr with a
 * timestamp, the last expression's repr as the main result, an exception
 * as an error line, then end_of_execution. */
#include "e2b.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* E2B's language names and ours. */
static const char *our_language(const char *e2b)
{
	if (!e2b || strcmp(e2b, "python") == 0)
		return "python";
	if (strcmp(e2b, "bash") == 0 || strcmp(e2b, "sh") == 0)
		return "sh";
	return NULL;
}

static const char *e2b_language(const char *ours)
{
	return strcmp(ours, "sh") == 0 ? "bash" : ours;
}

struct exec_stream {
	srv_stream_t *st;
	char *in;    /* what the cell's stream gave, not yet a whole line */
	size_t in_len, in_cap;
	char *out;   /* lines ready for the client */
	size_t out_len, out_cap;
	bool ended;
};

static void emit(struct exec_stream *es, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return;
	/* One JSON object a line, never a blank line (the SDK parses each). */
	if (srv_buf_append(&es->out, &es->out_len, &es->out_cap, text, strlen(text)) == 0)
		srv_buf_append(&es->out, &es->out_len, &es->out_cap, "\n", 1);
	free(text);
}

/* The official server strips one pair of single quotes from a repr. */
static json_t *result_text(const char *v)
{
	size_t n = strlen(v);
	if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'')
		return srv_json_text(v + 1, n - 2);
	return srv_json_text(v, n);
}

static void translate(struct exec_stream *es, json_t *line)
{
	const char *type = json_string_value(json_object_get(line, "type"));
	char ts[32];
	if (!type)
		return;
	if (strcmp(type, "stdout") == 0 || strcmp(type, "stderr") == 0) {
		srv_timestamp(ts);
		emit(es, json_pack("{s:s,s:O,s:s}", "type", type, "text", json_object_get(line, "data"),
				   "timestamp", ts));
	} else if (strcmp(type, "result") == 0) {
		json_t *value = json_object_get(line, "value");
		json_t *exc = json_object_get(line, "exception");
		const char *status = json_string_value(json_object_get(line, "status"));
		if (json_is_string(value))
			emit(es, json_pack("{s:s,s:o,s:b}", "type", "result", "text",
					   result_text(json_string_value(value)), "is_main_result", 1));
		json_t *tb = json_object_get(exc, "traceback");
		/* A cell past its timeout is interrupted (python: KeyboardInterrupt
		 * inside); the client hears why. */
		if (status && strcmp(status, "timeout") == 0)
			emit(es, json_pack("{s:s,s:s,s:s,s:o}", "type", "error", "name", "TimeoutError",
					   "value", "the cell ran past its timeout (the server policy's "
					   "default) and was interrupted; the context keeps its state",
					   "traceback", json_is_string(tb) ? json_incref(tb) : json_string("")));
		else if (json_is_object(exc))
			emit(es, json_pack("{s:s,s:O,s:O,s:O}", "type", "error", "name",
					   json_object_get(exc, "name"), "value",
					   json_object_get(exc, "value"), "traceback", tb));
		else if (status && strcmp(status, "error") == 0)
			emit(es, json_pack("{s:s,s:s,s:O,s:s}", "type", "error", "name", "ContextError",
					   "value", json_is_string(json_object_get(line, "error"))
							    ? json_object_get(line, "error")
							    : json_string("the context has ended"),
					   "traceback", ""));
		emit(es, json_pack("{s:s}", "type", "end_of_execution"));
		es->ended = true;
	}
}

/* The next lines for the client (the stream's next piece), NULL at the end. */
static char *exec_next(void *ctx, size_t *len)
{
	struct exec_stream *es = ctx;
	char chunk[16384];
	while (!es->out_len && !es->ended) {
		size_t n = srv_stream_read(es->st, chunk, sizeof(chunk));
		if (!n) {
			es->ended = true;
			break;
		}
		if (srv_buf_append(&es->in, &es->in_len, &es->in_cap, chunk, n) < 0)
			return NULL;
		char *start = es->in, *nl;
		while ((nl = memchr(start, '\n', es->in_len - (size_t)(start - es->in)))) {
			json_t *line = json_loadb(start, (size_t)(nl - start), JSON_ALLOW_NUL, NULL);
			translate(es, line);
			json_decref(line);
			start = nl + 1;
		}
		es->in_len -= (size_t)(start - es->in);
		memmove(es->in, start, es->in_len);
	}
	char *piece = es->out_len ? es->out : NULL;
	*len = es->out_len;
	if (piece) { /* handed over: the next lines start a new buffer */
		es->out = NULL;
		es->out_len = es->out_cap = 0;
	}
	return piece;
}

static void exec_free(void *ctx)
{
	struct exec_stream *es = ctx;
	srv_stream_free(es->st);
	free(es->in);
	free(es->out);
	free(es);
}

/* The sandbox's create-time envVars, set in a new context by a first cell
 * (E2B gives them to code executions too): python takes them as a JSON
 * string literal, which is a valid Python one; sh as single-quoted
 * exports. */
static int set_context_env(e2b_state_t *st, e2b_sandbox_t *sb, const char *id,
			   const char *language, e2b_request_t *rq, srv_err_t *err)
{
	json_t *env = e2b_sandbox_env(sb);
	if (!json_object_size(env))
		return 0;
	char *code = NULL, *text = json_dumps(env, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_t *lit = text ? json_string(text) : NULL;
	char *quoted = lit ? json_dumps(lit, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
	size_t len = 0, cap = 0;
	if (quoted && strcmp(language, "python") == 0) {
		const char *pre = "import os as _os, json as _json\n_os.environ.update(_json.loads(";
		srv_buf_append(&code, &len, &cap, pre, strlen(pre));
		srv_buf_append(&code, &len, &cap, quoted, strlen(quoted));
		srv_buf_append(&code, &len, &cap, "))\ndel _os, _json\n", 19);
	} else if (quoted) {
		const char *k;
		json_t *v;
		json_object_foreach(env, k, v) {
			srv_buf_append(&code, &len, &cap, "export ", 7);
			srv_buf_append(&code, &len, &cap, k, strlen(k));
			srv_buf_append(&code, &len, &cap, "='", 2);
			for (const char *c = json_string_value(v); *c; c++)
				*c == '\'' ? srv_buf_append(&code, &len, &cap, "'\\''", 4)
					   : srv_buf_append(&code, &len, &cap, c, 1);
			srv_buf_append(&code, &len, &cap, "'\n", 2);
		}
	}
	free(text);
	free(quoted);
	json_decref(lit);
	if (!code)
		return srv_fail(err, 500, "internal", "out of memory");
	json_t *req = json_pack("{s:s}", "code", code);
	free(code);
	srv_exec_call_t call = {.req = req, .who = rq->who, .client_fd = rq->client_fd,
				.audit = rq->audit};
	char *out = srv_ctx_execute(e2b_state_service(st), e2b_sandbox_session_id(sb), id, &call, err);
	json_decref(req);
	free(out);
	return out ? 0 : -1;
}

/* A new context of `language` (ours) in the sandbox, with the sandbox's
 * envVars: its id into id[]. */
static int new_context(e2b_state_t *st, e2b_sandbox_t *sb, const char *language,
		       e2b_request_t *rq, char *id, size_t idlen, srv_err_t *err)
{
	json_t *req = json_pack("{s:s}", "language", language);
	srv_exec_call_t call = {.req = req, .who = rq->who, .client_fd = rq->client_fd,
				.audit = rq->audit};
	json_t *d = srv_ctx_create(e2b_state_service(st), e2b_sandbox_session_id(sb), &call, err);
	json_decref(req);
	if (!d)
		return -1;
	snprintf(id, idlen, "%s", json_string_value(json_object_get(d, "id")));
	json_decref(d);
	return set_context_env(st, sb, id, language, rq, err);
}

/* Whether context id of the sandbox is there and its interpreter runs. */
static bool context_running(e2b_state_t *st, e2b_sandbox_t *sb, const char *id, e2b_request_t *rq)
{
	srv_err_t err = {0};
	json_t *l = srv_ctx_list(e2b_state_service(st), e2b_sandbox_session_id(sb), rq->who, &err);
	json_t *c;
	size_t i;
	bool running = false;
	json_array_foreach(json_object_get(l, "contexts"), i, c)
		running |= strcmp(json_string_value(json_object_get(c, "id")), id) == 0 &&
			   strcmp(json_string_value(json_object_get(c, "state")), "running") == 0;
	json_decref(l);
	return running;
}

static void execute(e2b_state_t *st, e2b_sandbox_t *sb, e2b_request_t *rq, e2b_reply_t *r)
{
	json_t *body = json_loadb(rq->body, rq->len, 0, NULL);
	json_t *code = json_object_get(body, "code"), *cid = json_object_get(body, "context_id");
	json_t *lang = json_object_get(body, "language"), *env = json_object_get(body, "env_vars");
	srv_err_t err = {0};
	char id[24] = "";
	if (!json_is_object(body) || !json_is_string(code) || (cid && !json_is_null(cid) &&
							       !json_is_string(cid))) {
		e2b_reply_error(r, 400, "the body is {\"code\": ..., \"context_id\" or \"language\"}");
		goto out;
	}
	if (env && !json_is_null(env) && json_object_size(env)) {
		e2b_reply_error(r, 400, "env_vars are not supported by this server: set variables in "
				"the code, or at sandbox creation (envVars)");
		goto out;
	}
	if (json_is_string(cid)) {
		snprintf(id, sizeof(id), "%.23s", json_string_value(cid));
	} else {
		const char *ours = our_language(json_is_string(lang) ? json_string_value(lang) : NULL);
		if (!ours) {
			e2b_reply_error(r, 400, "language \"%.40s\" is not offered here: python or bash",
					json_string_value(lang));
			goto out;
		}
		e2b_sandbox_default_ctx(sb, ours, id, sizeof(id));
		if (*id && !context_running(st, sb, id, rq)) {
			/* Its interpreter ended (a cell exited it, or ignored an
			 * interrupt): its state is gone, a new one takes its place,
			 * as a session's implicit contexts are replaced. */
			srv_ctx_delete(e2b_state_service(st), e2b_sandbox_session_id(sb), rq->who, id, &err);
			*id = '\0';
		}
		if (!*id) {
			if (new_context(st, sb, ours, rq, id, sizeof(id), &err) < 0) {
				e2b_reply_error(r, err.status, "%s", err.message);
				goto out;
			}
			e2b_sandbox_set_default_ctx(sb, ours, id);
		}
	}
	json_t *req = json_pack("{s:O}", "code", code);
	srv_exec_call_t call = {.req = req, .who = rq->who, .client_fd = rq->client_fd,
				.audit = rq->audit};
	srv_stream_t *s = srv_ctx_stream(e2b_state_service(st), e2b_sandbox_session_id(sb), id,
					 &call, &err);
	json_decref(req);
	struct exec_stream *es = s ? calloc(1, sizeof(*es)) : NULL;
	if (!es) {
		srv_stream_free(s);
		if (!s && err.status == 404)
			e2b_reply_error(r, 404, "context %.40s not found", id);
		else
			e2b_reply_error(r, err.status ? err.status : 500, "%s",
					s ? "out of memory" : err.message);
		goto out;
	}
	es->st = s;
	r->status = 200;
	r->content_type = "application/x-ndjson";
	r->next = exec_next;
	r->free = exec_free;
	r->ctx = es;
out:
	json_decref(body);
}

static void contexts(e2b_state_t *st, e2b_sandbox_t *sb, e2b_request_t *rq, e2b_reply_t *r)
{
	srv_err_t err = {0};
	srv_service_t *svc = e2b_state_service(st);
	const char *sid = e2b_sandbox_session_id(sb);
	if (strcmp(rq->method, "POST") == 0) {
		json_t *body = rq->len ? json_loadb(rq->body, rq->len, 0, NULL) : json_object();
		json_t *lang = json_object_get(body, "language"), *cwd = json_object_get(body, "cwd");
		const char *ours = our_language(json_is_string(lang) ? json_string_value(lang) : NULL);
		char id[24];
		if (!json_is_object(body) || !ours ||
		    (cwd && !json_is_null(cwd) && !(json_is_string(cwd) &&
						    strcmp(json_string_value(cwd), E2B_HOME) == 0)))
			e2b_reply_error(r, 400, "a context is {\"language\": \"python\"|\"bash\"} with cwd "
					E2B_HOME " (the only one offered)");
		else if (new_context(st, sb, ours, rq, id, sizeof(id), &err) < 0)
			e2b_reply_error(r, err.status, "%s", err.message);
		else
			e2b_reply_json(r, 200, json_pack("{s:s,s:s,s:s}", "id", id, "language",
							 e2b_language(ours), "cwd", E2B_HOME));
		json_decref(body);
		return;
	}
	if (strcmp(rq->method, "GET") == 0) {
		json_t *l = srv_ctx_list(svc, sid, rq->who, &err), *out = json_array(), *c;
		size_t i;
		json_array_foreach(json_object_get(l, "contexts"), i, c)
			json_array_append_new(out, json_pack("{s:O,s:s,s:s}", "id", json_object_get(c, "id"),
							     "language",
							     e2b_language(json_string_value(
								     json_object_get(c, "language"))),
							     "cwd", E2B_HOME));
		json_decref(l);
		e2b_reply_json(r, 200, out);
		return;
	}
	e2b_reply_error(r, 405, "/contexts takes GET and POST");
}

void e2b_interp(e2b_state_t *st, e2b_sandbox_t *sb, e2b_request_t *rq, e2b_reply_t *r)
{
	const char *url = rq->url;
	srv_err_t err = {0};
	if (strcmp(url, "/execute") == 0 && strcmp(rq->method, "POST") == 0) {
		execute(st, sb, rq, r);
	} else if (strcmp(url, "/contexts") == 0) {
		contexts(st, sb, rq, r);
	} else if (strncmp(url, "/contexts/", 10) == 0 && strcmp(rq->method, "DELETE") == 0 &&
		   !strchr(url + 10, '/')) {
		if (srv_ctx_delete(e2b_state_service(st), e2b_sandbox_session_id(sb), rq->who, url + 10,
				   &err) < 0)
			e2b_reply_error(r, err.status, "%s", err.message);
		else
			r->status = 200;
	} else if (strcmp(url, "/health") == 0) {
		e2b_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
	} else {
		e2b_reply_error(r, 404, "no route %.8s %.200s (restarting contexts is not supported)",
				rq->method, url);
	}
}
