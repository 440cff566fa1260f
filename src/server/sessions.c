/* Sessions: a sandbox configuration plus a private host directory bound at
 * /workspace, kept between executions until closed or idle too long. On
 * every backend with live sandboxes (native, docker, gvisor: all but process) a
 * session is a live sandbox: its processes run in one
 * sandbox that stays up (/tmp and background processes persist), and its
 * contexts (python, sh) keep interpreter state between executions.
 * A session is reference-counted: DELETE or expiry unlinks it from the table,
 * and the last user frees its sandbox and removes its directory. */
#include "server.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct srv_session {
	srv_service_t *svc;
	char id[33];
	char who[128];
	uint64_t charge; /* workspace bytes charged to its token and the server */
	srv_exec_spec_t spec;
	symbi_sandbox_t *sb;
	symbi_config_t *cfg;  /* what sb was made of: the live sandbox's too */
	bool live;            /* its executions share one running sandbox */
	pthread_mutex_t live_lock;
	symbi_live_t *lv;     /* that sandbox, started by the first admitted run */
	pthread_mutex_t ctx_lock;
	symbi_context_t *ctx[2]; /* python, sh: made on first use */
	srv_procs_t *procs;      /* background processes (processes.c) */
	srv_ctxs_t *ctxs;        /* named contexts (contexts_api.c) */
	int dirfd;
	uint64_t created_ms, last_used_ms;
	unsigned refs;
	srv_session_t *next;
};

static const char *const context_names[] = {"python", "sh"};

static void session_destroy(srv_service_t *svc, srv_session_t *s)
{
	/* Background processes are killed, the sandbox stopped (which ends
	 * any wait of theirs), then their threads joined. */
	srv_procs_kill_all(s->procs);
	srv_ctxs_free(s->ctxs);
	for (size_t i = 0; i < 2; i++)
		symbi_context_free(s->ctx[i]);
	symbi_live_stop(s->lv);
	srv_procs_free(s->procs);
	symbi_config_free(s->cfg);
	pthread_mutex_destroy(&s->live_lock);
	pthread_mutex_destroy(&s->ctx_lock);
	symbi_sandbox_free(s->sb);
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (srv_workspace_end(svc, true, s->spec.backend, s->id) < 0)
		fprintf(stderr, "symbi-sandbox: cannot remove the workspace of session %s\n", s->id);
	free(s);
}

/* Finds a session by id for `who` and takes a reference. */
static srv_session_t *session_get(srv_service_t *svc, const char *id, const char *who,
				  srv_err_t *err)
{
	pthread_mutex_lock(&svc->lock);
	srv_session_t *s = svc->sessions;
	while (s && strcmp(s->id, id) != 0)
		s = s->next;
	/* Another client's session does not exist as far as this one knows. */
	if (s && strcmp(s->who, who) != 0)
		s = NULL;
	if (s) {
		s->refs++;
		s->last_used_ms = srv_now_ms();
	}
	pthread_mutex_unlock(&svc->lock);
	if (!s)
		srv_fail(err, 404, "not_found", "no session \"%.64s\"", id);
	return s;
}

static void session_put(srv_service_t *svc, srv_session_t *s)
{
	pthread_mutex_lock(&svc->lock);
	s->last_used_ms = srv_now_ms();
	bool last = --s->refs == 0;
	bool linked = false;
	for (srv_session_t *p = svc->sessions; p; p = p->next)
		linked |= p == s;
	pthread_mutex_unlock(&svc->lock);
	if (last && !linked)
		session_destroy(svc, s);
}

static json_t *describe(const srv_session_t *s)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:f,s:s}", "id", s->id, "backend",
			      s->spec.backend, "image", s->spec.image, "shell", s->spec.shell,
			      "limits", srv_limits_json(&s->spec), "idle_ttl", s->spec.idle_ttl_s,
			      "workspace", s->spec.workdir[0] ? s->spec.workdir : "/workspace");
	return o;
}

static const char *const session_keys[] = {NULL};

/* ---- quotas --------------------------------------------------------------- */

/* Seconds until the first of the sessions (of `who`, or all if NULL) may
 * expire: an honest Retry-After. Lock held. */
static unsigned soonest_expiry_s(srv_service_t *svc, const char *who)
{
	uint64_t now = srv_now_ms(), best = UINT64_MAX;
	for (srv_session_t *s = svc->sessions; s; s = s->next) {
		if (who && strcmp(s->who, who) != 0)
			continue;
		uint64_t end = s->last_used_ms + (uint64_t)(s->spec.idle_ttl_s * 1000);
		uint64_t left = end > now ? end - now : 0;
		if (left < best)
			best = left;
	}
	if (best == UINT64_MAX)
		return svc->policy->retry_after_s ? svc->policy->retry_after_s : 1;
	return (unsigned)(best / 1000 + 1);
}

/* Checks the quotas for one more session of r->who and reserves its place
 * (lock held). Returns -1 with 429/507 and a Retry-After if over one. */
static int reserve(srv_service_t *svc, struct srv_reservation *r, srv_err_t *err)
{
	const srv_policy_t *p = svc->policy;
	size_t mine = 0;
	uint64_t my_bytes = 0, all_bytes = 0;
	for (srv_session_t *s = svc->sessions; s; s = s->next) {
		all_bytes += s->charge;
		if (strcmp(s->who, r->who) == 0) {
			mine++;
			my_bytes += s->charge;
		}
	}
	for (struct srv_reservation *q = svc->reserved; q; q = q->next) {
		all_bytes += q->charge;
		if (strcmp(q->who, r->who) == 0) {
			mine++;
			my_bytes += q->charge;
		}
	}
	int rc = -1;
	if (svc->n_sessions >= p->max_sessions) {
		srv_metrics_rejection("sessions_full");
		srv_fail(err, 429, "too_many_sessions",
			 "%zu sessions are open, the most this server allows; close one or retry "
			 "later", p->max_sessions);
		err->retry_after = soonest_expiry_s(svc, NULL);
	} else if (mine >= p->max_sessions_per_token) {
		srv_metrics_rejection("token_sessions");
		srv_fail(err, 429, "too_many_sessions",
			 "this token has %zu sessions open, the most one token may have; close one",
			 mine);
		err->retry_after = soonest_expiry_s(svc, r->who);
	} else if (p->max_workspace_bytes_per_token &&
		   my_bytes + r->charge > p->max_workspace_bytes_per_token) {
		srv_metrics_rejection("token_workspace_bytes");
		srv_fail(err, 429, "workspace_quota_exceeded",
			 "this token's sessions hold %llu bytes of workspace; one more (%llu) would "
			 "pass its quota of %llu bytes: close a session",
			 (unsigned long long)my_bytes, (unsigned long long)r->charge,
			 (unsigned long long)p->max_workspace_bytes_per_token);
		err->retry_after = soonest_expiry_s(svc, r->who);
	} else if (p->workspace_budget_bytes && all_bytes + r->charge > p->workspace_budget_bytes) {
		srv_metrics_rejection("workspace_budget");
		srv_fail(err, 507, "insufficient_storage",
			 "the server's workspace budget (%llu bytes) is taken by open sessions; retry "
			 "later", (unsigned long long)p->workspace_budget_bytes);
		err->retry_after = soonest_expiry_s(svc, NULL);
	} else {
		svc->n_sessions++;
		r->next = svc->reserved;
		svc->reserved = r;
		rc = 0;
	}
	return rc;
}

static void unreserve(srv_service_t *svc, struct srv_reservation *r)
{
	for (struct srv_reservation **pp = &svc->reserved; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			return;
		}
	}
}

json_t *srv_session_create(srv_service_t *svc, json_t *req, const char *who, srv_err_t *err)
{
	srv_exec_spec_t spec;
	if (srv_policy_resolve(svc->policy, req, session_keys, true, &spec, err) < 0) {
		if (err->status == 400)
			srv_metrics_rejection("policy");
		return NULL;
	}
	return srv_session_create_spec(svc, &spec, who, err);
}

json_t *srv_session_create_spec(srv_service_t *svc, const srv_exec_spec_t *spec_in,
				const char *who, srv_err_t *err)
{
	srv_exec_spec_t spec = *spec_in;
	struct srv_reservation r = {.charge = svc->policy->max_workspace_bytes};
	snprintf(r.who, sizeof(r.who), "%s", who);
	pthread_mutex_lock(&svc->lock);
	int refused = reserve(svc, &r, err);
	pthread_mutex_unlock(&svc->lock);
	if (refused)
		return NULL;
	srv_session_t *s = calloc(1, sizeof(*s));
	symbi_config_t *cfg = NULL;
	char path[4200];
	if (!s) {
		srv_fail(err, 500, "internal", "out of memory");
		goto fail;
	}
	s->dirfd = -1;
	if (!(s->procs = srv_procs_new()) || !(s->ctxs = srv_ctxs_new())) {
		srv_fail(err, 500, "internal", "out of memory");
		goto fail;
	}
	pthread_mutex_init(&s->ctx_lock, NULL);
	pthread_mutex_init(&s->live_lock, NULL);
	s->spec = spec;
	s->svc = svc;
	snprintf(s->who, sizeof(s->who), "%s", who);
	if ((s->dirfd = srv_workspace_new(svc, true, spec.backend, s->id, path, sizeof(path),
					  err)) < 0)
		goto fail;
	if (!(cfg = srv_spec_config(&spec, path, err)))
		goto fail;
	symbi_error_t lerr = {0};
	if (!(s->sb = symbi_sandbox_new(cfg, &lerr))) {
		srv_fail_lib(err, &lerr);
		goto fail;
	}
	/* The process backend is the one without live sandboxes. */
	s->live = strcmp(spec.backend, "process") != 0;
	s->cfg = cfg;
	cfg = NULL;
	s->created_ms = s->last_used_ms = srv_now_ms();
	s->charge = r.charge;
	json_t *d = describe(s);
	pthread_mutex_lock(&svc->lock);
	unreserve(svc, &r);
	s->next = svc->sessions;
	svc->sessions = s;
	pthread_mutex_unlock(&svc->lock);
	return d;
fail:
	symbi_config_free(cfg);
	if (s) {
		if (s->dirfd >= 0) {
			session_destroy(svc, s);
		} else {
			srv_procs_free(s->procs);
			srv_ctxs_free(s->ctxs);
			free(s);
		}
	}
	pthread_mutex_lock(&svc->lock);
	unreserve(svc, &r);
	svc->n_sessions--;
	pthread_mutex_unlock(&svc->lock);
	return NULL;
}

json_t *srv_session_describe(srv_service_t *svc, const char *id, const char *who, srv_err_t *err)
{
	srv_session_t *s = session_get(svc, id, who, err);
	if (!s)
		return NULL;
	json_t *d = describe(s);
	session_put(svc, s);
	return d;
}

srv_session_t *srv_session_acquire(srv_service_t *svc, const char *id, const char *who,
				   srv_err_t *err)
{
	return session_get(svc, id, who, err);
}

void srv_session_release(srv_service_t *svc, srv_session_t *s)
{
	session_put(svc, s);
}

static symbi_live_t *session_live(void *ctx, symbi_error_t *err);

srv_session_view_t srv_session_view(srv_session_t *s)
{
	return (srv_session_view_t){.procs = s->procs, .ctxs = s->ctxs, .spec = &s->spec, .id = s->id,
				    .live = {s->live ? session_live : NULL, s}, .dirfd = s->dirfd};
}

static const char *const session_exec_keys[] = {"code", "env", "stdin", "files", "context",
						 "stream", NULL};

/* The session's running sandbox, started by the first run the limiter
 * admits (a session that only holds files costs no sandbox). */
static symbi_live_t *session_live(void *ctx, symbi_error_t *err)
{
	srv_session_t *s = ctx;
	pthread_mutex_lock(&s->live_lock);
	if (!s->lv)
		s->lv = srv_live_start(s->svc, s->spec.backend, s->cfg, err);
	symbi_live_t *lv = s->lv;
	pthread_mutex_unlock(&s->live_lock);
	return lv;
}

struct context_ref {
	srv_session_t *s;
	size_t i;
};

/* The session's context i, made on first use; returns with ctx_lock held
 * (context_put releases it after the cell): a context that ended is
 * replaced here, never while a cell of it runs. */
static symbi_context_t *context_get(void *ctx, srv_err_t *err)
{
	struct context_ref *ref = ctx;
	srv_session_t *s = ref->s;
	size_t i = ref->i;
	const char *name = context_names[i];
	symbi_error_t lerr = {0};
	symbi_live_t *lv = session_live(s, &lerr);
	if (!lv) {
		srv_fail_lib(err, &lerr);
		return NULL;
	}
	pthread_mutex_lock(&s->ctx_lock);
	/* One whose interpreter ended (a cell exited it, or ignored its
	 * timeout) is replaced: its state is gone anyway. */
	if (s->ctx[i] && symbi_context_ended(s->ctx[i])) {
		symbi_context_free(s->ctx[i]);
		s->ctx[i] = NULL;
	}
	if (!s->ctx[i] && !(s->ctx[i] = symbi_context_new(lv, name, &lerr)))
		srv_fail_lib(err, &lerr);
	symbi_context_t *cx = s->ctx[i];
	if (!cx)
		pthread_mutex_unlock(&s->ctx_lock);
	return cx;
}

static void context_put(void *ctx)
{
	pthread_mutex_unlock(&((struct context_ref *)ctx)->s->ctx_lock);
}

char *srv_session_execute(srv_service_t *svc, const char *id, srv_exec_call_t *call,
			  srv_err_t *err)
{
	if (!json_is_object(call->req)) {
		srv_fail(err, 400, "invalid_request", "the request body must be a JSON object");
		return NULL;
	}
	const char *k;
	json_t *v;
	json_object_foreach(call->req, k, v) {
		bool known = false;
		for (size_t i = 0; session_exec_keys[i]; i++)
			known |= strcmp(k, session_exec_keys[i]) == 0;
		if (!known) {
			srv_fail(err, 400, "invalid_request",
				 "unknown field \"%.100s\" (a session's backend and limits are set "
				 "when it is created)", k);
			return NULL;
		}
	}
	json_t *code = json_object_get(call->req, "code");
	if (!json_is_string(code)) {
		srv_fail(err, 400, "invalid_request", "\"code\" (a string) is required");
		return NULL;
	}
	if (memchr(json_string_value(code), '\0', json_string_length(code))) {
		srv_fail(err, 400, "invalid_request", "\"code\" contains a NUL byte");
		return NULL;
	}
	if (json_is_true(json_object_get(call->req, "stream"))) {
		srv_fail(err, 400, "invalid_request",
			 "\"stream\": true is for the HTTP API (POST /v1/sessions/{id}/execute "
			 "answers NDJSON lines as the output comes)");
		return NULL;
	}
	json_t *context = json_object_get(call->req, "context");
	if (context && !json_is_null(context) &&
	    (!json_is_string(context) || json_object_get(call->req, "env") ||
	     json_object_get(call->req, "stdin"))) {
		srv_fail(err, 400, "invalid_request",
			 "\"context\" is \"python\" or \"sh\", and a context's cell takes no "
			 "env or stdin (set variables in the context itself)");
		return NULL;
	}
	srv_session_t *s = session_get(svc, id, call->who, err);
	if (!s)
		return NULL;
	json_object_set_new(call->audit, "session", json_string(s->id));
	json_object_set_new(call->audit, "image", json_string(s->spec.image));
	json_object_set_new(call->audit, "limits", srv_limits_json(&s->spec));
	char *out = NULL;
	struct context_ref ref = {s, 0};
	if (json_is_string(context)) {
		json_object_set_new(call->audit, "context", json_incref(context));
		const char *name = json_string_value(context);
		while (ref.i < 2 && strcmp(name, context_names[ref.i]) != 0)
			ref.i++;
		if (ref.i == 2) {
			srv_fail(err, 400, "invalid_request",
				 "\"context\" must be \"python\" or \"sh\" (got \"%.40s\")", name);
			goto done;
		}
		if (!s->live) {
			srv_fail(err, 400, "invalid_request",
				 "contexts need a live sandbox: create the session on the native, "
				 "docker or gvisor backend (this one is %s)", s->spec.backend);
			goto done;
		}
	}
	if (srv_ws_put_files(s->dirfd, json_object_get(call->req, "files"),
			     svc->policy->max_file_bytes, err) < 0)
		goto done;
	srv_live_source_t live = {session_live, s};
	srv_context_source_t cs = {context_get, context_put, &ref};
	if (json_is_string(context))
		out = srv_run_cell(svc, &cs, s->spec.backend, json_string_value(code),
				   json_string_length(code), (uint64_t)(s->spec.limits.timeout_s * 1000), call,
				   err);
	else
		out = srv_run(svc, s->sb, s->live ? &live : NULL, json_string_value(code),
			      json_string_length(code), json_object_get(call->req, "env"),
			      json_object_get(call->req, "stdin"), call, NULL, err);
done:
	session_put(svc, s);
	return out;
}

int srv_session_write(srv_service_t *svc, const char *id, const char *who, const char *path,
		      const void *data, size_t len, srv_err_t *err)
{
	srv_session_t *s = session_get(svc, id, who, err);
	if (!s)
		return -1;
	int rc = srv_ws_write(s->dirfd, path, data, len, err);
	session_put(svc, s);
	return rc;
}

char *srv_session_read(srv_service_t *svc, const char *id, const char *who, const char *path,
		       size_t *len, srv_err_t *err)
{
	srv_session_t *s = session_get(svc, id, who, err);
	if (!s)
		return NULL;
	char *data = srv_ws_read(s->dirfd, path, svc->policy->max_file_bytes, len, err);
	session_put(svc, s);
	return data;
}

json_t *srv_session_list(srv_service_t *svc, const char *id, const char *who, const char *path,
			 srv_err_t *err)
{
	srv_session_t *s = session_get(svc, id, who, err);
	if (!s)
		return NULL;
	json_t *l = srv_ws_list(s->dirfd, path, err);
	session_put(svc, s);
	return l;
}

/* Unlinks s (lock held). */
static void unlink_session(srv_service_t *svc, srv_session_t *s)
{
	for (srv_session_t **pp = &svc->sessions; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			svc->n_sessions--;
			return;
		}
	}
}

int srv_session_delete(srv_service_t *svc, const char *id, const char *who, srv_err_t *err)
{
	srv_session_t *s = session_get(svc, id, who, err);
	if (!s)
		return -1;
	pthread_mutex_lock(&svc->lock);
	unlink_session(svc, s);
	pthread_mutex_unlock(&svc->lock);
	/* Its background processes end now, not when a cell or a wait that
	 * still holds the session is over: they are no longer counted in any
	 * quota. */
	srv_procs_kill_all(s->procs);
	session_put(svc, s); /* frees it unless an execution still holds it */
	return 0;
}

size_t srv_session_count(srv_service_t *svc)
{
	pthread_mutex_lock(&svc->lock);
	size_t n = svc->n_sessions;
	pthread_mutex_unlock(&svc->lock);
	return n;
}

size_t srv_session_expire(srv_service_t *svc, uint64_t now_ms)
{
	srv_session_t *dead = NULL;
	pthread_mutex_lock(&svc->lock);
	srv_session_t **pp = &svc->sessions;
	while (*pp) {
		srv_session_t *s = *pp;
		uint64_t ttl_ms = (uint64_t)(s->spec.idle_ttl_s * 1000);
		if (s->refs == 0 && now_ms > s->last_used_ms && now_ms - s->last_used_ms > ttl_ms) {
			*pp = s->next;
			svc->n_sessions--;
			s->next = dead;
			dead = s;
		} else {
			pp = &s->next;
		}
	}
	pthread_mutex_unlock(&svc->lock);
	size_t n = 0;
	while (dead) {
		srv_session_t *next = dead->next;
		session_destroy(svc, dead);
		dead = next;
		n++;
	}
	return n;
}

struct stream_ref {
	srv_service_t *svc;
	srv_session_t *s;
};

static void stream_release(void *ctx)
{
	struct stream_ref *ref = ctx;
	session_put(ref->svc, ref->s);
	free(ref);
}

srv_stream_t *srv_session_stream(srv_service_t *svc, const char *id, srv_exec_call_t *call,
				 srv_err_t *err)
{
	json_t *req = call->req, *code = json_object_get(req, "code");
	json_t *in = json_object_get(req, "stdin"), *ctx = json_object_get(req, "context");
	const char *k;
	json_t *v;
	json_object_foreach(req, k, v) {
		bool known = false;
		for (size_t i = 0; session_exec_keys[i]; i++)
			known |= strcmp(k, session_exec_keys[i]) == 0;
		if (!known)
			return srv_fail(err, 400, "invalid_request", "unknown field \"%.100s\"", k), NULL;
	}
	if (!json_is_string(code) || memchr(json_string_value(code), '\0', json_string_length(code)))
		return srv_fail(err, 400, "invalid_request",
				"\"code\" (a string without NUL bytes) is required"), NULL;
	if ((in && !json_is_null(in) && !json_is_string(in)) || (ctx && !json_is_null(ctx)))
		return srv_fail(err, 400, "invalid_request",
				"a streamed execution takes stdin as a string, and no context"), NULL;
	srv_session_t *s = session_get(svc, id, call->who, err);
	if (!s)
		return NULL;
	srv_stream_t *st = NULL;
	symbi_env_t *env = NULL;
	struct stream_ref *ref = NULL;
	json_object_set_new(call->audit, "session", json_string(s->id));
	if (!s->live) {
		srv_fail(err, 400, "invalid_request",
			 "streamed output needs a live sandbox: create the session on the native, "
			 "docker or gvisor backend (this one is %s)", s->spec.backend);
		goto out;
	}
	json_t *keys = json_array();
	char sha[65];
	srv_sha256_hex(json_string_value(code), json_string_length(code), sha);
	json_object_set_new(call->audit, "backend", json_string(s->spec.backend));
	json_object_set_new(call->audit, "code_sha256", json_string(sha));
	json_object_set(call->audit, "env_keys", keys);
	env = srv_env_from_json(json_object_get(req, "env"), keys, err);
	json_decref(keys);
	if (!env || srv_ws_put_files(s->dirfd, json_object_get(req, "files"),
				     svc->policy->max_file_bytes, err) < 0)
		goto out;
	if (!(ref = malloc(sizeof(*ref)))) {
		srv_fail(err, 500, "internal", "out of memory");
		goto out;
	}
	*ref = (struct stream_ref){svc, s};
	symbi_exec_options_t o = {
		.code = json_string_value(code), .code_len = json_string_length(code), .env = env,
		.stdin_data = json_is_string(in) ? json_string_value(in) : NULL,
		.stdin_len = json_is_string(in) ? json_string_length(in) : 0, .cancel_fd = -1,
		.timeout_ms = (uint64_t)(s->spec.limits.timeout_s * 1000),
		.max_output_bytes = s->spec.limits.max_output_bytes,
	};
	srv_live_source_t live = {session_live, s};
	st = srv_stream_start(svc, &live, &o, call, stream_release, ref, err);
out:
	symbi_env_free(env);
	if (!st) {
		free(ref);
		session_put(svc, s);
	}
	return st;
}
