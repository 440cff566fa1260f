/* Named contexts of a session (POST/GET /v1/sessions/{id}/contexts, DELETE
 * and execute of /contexts/{cid}): python or sh interpreters in the
 * session's live sandbox whose state persists between cells, as many as a
 * client makes (up to SRV_CONTEXTS_MAX), besides the implicit one per
 * language that execute's "context" option uses (sessions.c).
 *
 * A context is reference-counted: the table holds one reference, a cell
 * that runs holds one, so that DELETE during a cell frees the interpreter
 * once the cell is over. Cells also hold their session (the caller's
 * reference), so a session never stops its sandbox under a running cell;
 * its end frees what is left in the table, before the sandbox stops (the
 * library's rule). */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctx_entry {
	char id[24];
	char language[8];
	symbi_context_t *cx;
	unsigned refs; /* under the table's lock */
	uint64_t created_ms;
	srv_ctxs_t *table;
};

struct srv_ctxs {
	pthread_mutex_t lock;
	struct ctx_entry *items[SRV_CONTEXTS_MAX];
	size_t n;
	size_t starting;
	unsigned next_id;
};

srv_ctxs_t *srv_ctxs_new(void)
{
	srv_ctxs_t *t = calloc(1, sizeof(*t));
	if (t)
		pthread_mutex_init(&t->lock, NULL);
	return t;
}

static void entry_free(struct ctx_entry *e)
{
	symbi_context_free(e->cx);
	free(e);
}

static void entry_put(struct ctx_entry *e)
{
	pthread_mutex_lock(&e->table->lock);
	bool last = --e->refs == 0;
	pthread_mutex_unlock(&e->table->lock);
	if (last)
		entry_free(e);
}

void srv_ctxs_free(srv_ctxs_t *t)
{
	if (!t)
		return;
	/* The session's last reference is gone: no cell runs. */
	for (size_t i = 0; i < t->n; i++)
		entry_free(t->items[i]);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static json_t *describe(struct ctx_entry *e)
{
	const char *ended = symbi_context_ended(e->cx);
	json_t *o = json_pack("{s:s,s:s,s:s}", "id", e->id, "language", e->language, "state",
			      ended ? "ended" : "running");
	if (ended)
		json_object_set_new(o, "ended", srv_json_text(ended, strlen(ended)));
	return o;
}

/* A reference to context cid (404 if none). */
static struct ctx_entry *find(srv_ctxs_t *t, const char *cid, srv_err_t *err)
{
	struct ctx_entry *e = NULL;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n && !e; i++)
		if (strcmp(t->items[i]->id, cid) == 0)
			e = t->items[i];
	if (e)
		e->refs++;
	pthread_mutex_unlock(&t->lock);
	if (!e)
		srv_fail(err, 404, "not_found", "no context \"%.64s\" in this session", cid);
	return e;
}

static json_t *create(srv_service_t *svc, const srv_session_view_t *v, json_t *req,
		      srv_exec_call_t *call, srv_err_t *err)
{
	json_t *lang = json_object_get(req, "language");
	if (json_object_size(req) != 1 || !json_is_string(lang) ||
	    (strcmp(json_string_value(lang), "python") != 0 &&
	     strcmp(json_string_value(lang), "sh") != 0))
		return srv_fail(err, 400, "invalid_request",
				"the body is {\"language\": \"python\"} or {\"language\": \"sh\"}"), NULL;
	if (!v->live.get)
		return srv_fail(err, 400, "invalid_request",
				"contexts need a live sandbox: create the session on the native, docker "
				"or gvisor backend (this one is %s)", v->spec->backend), NULL;
	srv_ctxs_t *t = v->ctxs;
	pthread_mutex_lock(&t->lock);
	bool full = t->n + t->starting >= SRV_CONTEXTS_MAX;
	if (!full)
		t->starting++;
	pthread_mutex_unlock(&t->lock);
	if (full) {
		srv_metrics_rejection("session_contexts");
		return srv_fail(err, 409, "too_many_contexts",
				"this session has %d contexts, the most one may have; delete one",
				SRV_CONTEXTS_MAX), NULL;
	}
	struct ctx_entry *e = calloc(1, sizeof(*e));
	symbi_error_t lerr = {0};
	json_t *out = NULL;
	if (!e) {
		srv_fail(err, 500, "internal", "out of memory");
		goto done;
	}
	snprintf(e->language, sizeof(e->language), "%s", json_string_value(lang));
	e->table = t;
	e->refs = 1;
	e->created_ms = srv_now_ms();
	/* Starting an interpreter costs like an execution: it waits its turn. */
	if (srv_limiter_acquire(svc->limiter, call->client_fd, err, svc->policy->retry_after_s) < 0)
		goto done;
	symbi_live_t *lv = v->live.get(v->live.ctx, &lerr);
	e->cx = lv ? symbi_context_new(lv, e->language, &lerr) : NULL;
	srv_limiter_release(svc->limiter);
	if (!e->cx) {
		srv_fail_lib(err, &lerr);
		goto done;
	}
	pthread_mutex_lock(&t->lock);
	snprintf(e->id, sizeof(e->id), "c%u", ++t->next_id);
	t->items[t->n++] = e;
	t->starting--;
	pthread_mutex_unlock(&t->lock);
	json_object_set_new(call->audit, "context", json_string(e->id));
	json_object_set_new(call->audit, "language", json_string(e->language));
	return describe(e);
done:
	pthread_mutex_lock(&t->lock);
	t->starting--;
	pthread_mutex_unlock(&t->lock);
	free(e);
	return out;
}

json_t *srv_ctx_create(srv_service_t *svc, const char *sid, srv_exec_call_t *call,
		       srv_err_t *err)
{
	srv_session_t *s = srv_session_acquire(svc, sid, call->who, err);
	if (!s)
		return NULL;
	srv_session_view_t v = srv_session_view(s);
	json_t *out = create(svc, &v, call->req, call, err);
	srv_session_release(svc, s);
	return out;
}

json_t *srv_ctx_list(srv_service_t *svc, const char *sid, const char *who, srv_err_t *err)
{
	srv_session_t *s = srv_session_acquire(svc, sid, who, err);
	if (!s)
		return NULL;
	srv_ctxs_t *t = srv_session_view(s).ctxs;
	json_t *a = json_array();
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n; i++)
		json_array_append_new(a, describe(t->items[i]));
	pthread_mutex_unlock(&t->lock);
	srv_session_release(svc, s);
	return json_pack("{s:o}", "contexts", a);
}

int srv_ctx_delete(srv_service_t *svc, const char *sid, const char *who, const char *cid,
		   srv_err_t *err)
{
	srv_session_t *s = srv_session_acquire(svc, sid, who, err);
	if (!s)
		return -1;
	srv_ctxs_t *t = srv_session_view(s).ctxs;
	struct ctx_entry *e = NULL;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n && !e; i++) {
		if (strcmp(t->items[i]->id, cid) == 0) {
			e = t->items[i];
			memmove(&t->items[i], &t->items[i + 1], (t->n - i - 1) * sizeof(*t->items));
			t->n--;
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (e)
		entry_put(e); /* the table's: the interpreter ends with the last cell */
	srv_session_release(svc, s);
	if (!e)
		return srv_fail(err, 404, "not_found", "no context \"%.64s\" in this session", cid);
	return 0;
}

/* ---- cells ------------------------------------------------------------------------ */

static symbi_context_t *entry_context(void *ctx, srv_err_t *err)
{
	(void)err;
	return ((struct ctx_entry *)ctx)->cx;
}

static void entry_context_put(void *ctx)
{
	(void)ctx; /* the caller holds the entry until the cell is over */
}

static int cell_request(json_t *req, const char **code, size_t *len, srv_err_t *err)
{
	const char *k;
	json_t *v;
	json_object_foreach(req, k, v) {
		if (strcmp(k, "code") != 0 && strcmp(k, "stream") != 0)
			return srv_fail(err, 400, "invalid_request",
					"unknown field \"%.100s\" (a cell takes code and stream)", k);
	}
	json_t *c = json_object_get(req, "code"), *s = json_object_get(req, "stream");
	if (!json_is_string(c) || memchr(json_string_value(c), '\0', json_string_length(c)))
		return srv_fail(err, 400, "invalid_request",
				"\"code\" (a string without NUL bytes) is required");
	if (s && !json_is_boolean(s))
		return srv_fail(err, 400, "invalid_request", "\"stream\" must be a boolean");
	*code = json_string_value(c);
	*len = json_string_length(c);
	return 0;
}

/* A cell's request and what it holds until cell_put: its session and its
 * context's entry. */
struct cell_call {
	srv_service_t *svc;
	srv_session_t *s;
	srv_session_view_t view;
	struct ctx_entry *e;
	srv_context_source_t cs; /* the entry's context */
	const char *code;
	size_t len;
	uint64_t timeout_ms;
};

static int acquire_cell(srv_service_t *svc, const char *sid, const char *cid,
			srv_exec_call_t *call, struct cell_call *cc, srv_err_t *err)
{
	if (cell_request(call->req, &cc->code, &cc->len, err) < 0)
		return -1;
	srv_session_t *s = srv_session_acquire(svc, sid, call->who, err);
	if (!s)
		return -1;
	cc->view = srv_session_view(s);
	struct ctx_entry *e = find(cc->view.ctxs, cid, err);
	if (!e) {
		srv_session_release(svc, s);
		return -1;
	}
	json_object_set_new(call->audit, "context", json_string(e->id));
	cc->svc = svc;
	cc->s = s;
	cc->e = e;
	cc->cs = (srv_context_source_t){entry_context, entry_context_put, e};
	cc->timeout_ms = (uint64_t)(cc->view.spec->limits.timeout_s * 1000);
	return 0;
}

static void cell_put(struct cell_call *cc)
{
	entry_put(cc->e);
	srv_session_release(cc->svc, cc->s);
}

char *srv_ctx_execute(srv_service_t *svc, const char *sid, const char *cid,
		      srv_exec_call_t *call, srv_err_t *err)
{
	struct cell_call cc;
	if (acquire_cell(svc, sid, cid, call, &cc, err) < 0)
		return NULL;
	char *out = srv_run_cell(svc, &cc.cs, cc.view.spec->backend, cc.code, cc.len, cc.timeout_ms,
				 call, err);
	cell_put(&cc);
	return out;
}

/* A streamed cell holds its cell_call (allocated) until its stream is
 * freed. */
static void cell_stream_release(void *ctx)
{
	cell_put(ctx);
	free(ctx);
}

srv_stream_t *srv_ctx_stream(srv_service_t *svc, const char *sid, const char *cid,
			     srv_exec_call_t *call, srv_err_t *err)
{
	struct cell_call *cc = malloc(sizeof(*cc));
	if (!cc)
		return srv_fail(err, 500, "internal", "out of memory"), NULL;
	if (acquire_cell(svc, sid, cid, call, cc, err) < 0) {
		free(cc);
		return NULL;
	}
	char sha[65];
	srv_sha256_hex(cc->code, cc->len, sha);
	json_object_set_new(call->audit, "code_sha256", json_string(sha));
	srv_stream_t *st = srv_stream_start_cell(svc, &cc->cs, cc->code, cc->len, cc->timeout_ms,
						 cc->view.spec->limits.max_output_bytes, call,
						 cell_stream_release, cc, err);
	if (!st)
		cell_stream_release(cc);
	return st;
}
