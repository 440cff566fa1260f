/* E2B sandboxes and the control plane (E2B_API_URL): create, connect, get,
 * set timeout, kill, list. An E2B sandbox holds a reference to its session
 * (so the session's idle expiry never takes it: it ends at its own end
 * time, see e2b_expire) and adds E2B's id, tokens, metadata, create-time
 * environment and end time. */
#include "e2b.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct e2b_sandbox {
	char id[21];         /* 20 of [a-z0-9]: the SDK builds <port>-<id>.<domain> */
	char session_id[40];
	char owner[128];     /* the API key's name */
	char template_id[64];
	char client_id[9];
	char envd_token[65], traffic_token[65];
	json_t *metadata, *env;
	int cpu_count, memory_mb;
	uint64_t started_wall_ms, end_wall_ms; /* under the state's lock */
	srv_session_t *session;                /* our reference */
	unsigned refs;                         /* under the state's lock */
	pthread_mutex_t ctx_lock;
	char ctx_python[24], ctx_bash[24];     /* default code contexts (ctx_lock) */
	e2b_sandbox_t *next;
};

struct e2b_state {
	srv_service_t *svc;
	pthread_mutex_t lock;
	e2b_sandbox_t *list;
};

e2b_state_t *e2b_state_new(srv_service_t *svc, srv_err_t *err)
{
	e2b_state_t *st = calloc(1, sizeof(*st));
	if (!st)
		return srv_fail(err, 500, "internal", "out of memory"), NULL;
	st->svc = svc;
	pthread_mutex_init(&st->lock, NULL);
	return st;
}

srv_service_t *e2b_state_service(e2b_state_t *st)
{
	return st->svc;
}

static void sandbox_free(e2b_state_t *st, e2b_sandbox_t *sb)
{
	if (sb->session)
		srv_session_release(st->svc, sb->session);
	json_decref(sb->metadata);
	json_decref(sb->env);
	explicit_bzero(sb->envd_token, sizeof(sb->envd_token));
	explicit_bzero(sb->traffic_token, sizeof(sb->traffic_token));
	pthread_mutex_destroy(&sb->ctx_lock);
	free(sb);
}

void e2b_sandbox_put(e2b_state_t *st, e2b_sandbox_t *sb)
{
	if (!sb)
		return;
	pthread_mutex_lock(&st->lock);
	bool last = --sb->refs == 0;
	pthread_mutex_unlock(&st->lock);
	if (last)
		sandbox_free(st, sb);
}

/* Finds a sandbox (of `owner`, unless NULL) and takes a reference. */
static e2b_sandbox_t *find(e2b_state_t *st, const char *id, const char *owner)
{
	pthread_mutex_lock(&st->lock);
	e2b_sandbox_t *sb = st->list;
	while (sb && strcmp(sb->id, id) != 0)
		sb = sb->next;
	/* Another key's sandbox does not exist for this one. */
	if (sb && owner && strcmp(sb->owner, owner) != 0)
		sb = NULL;
	if (sb)
		sb->refs++;
	pthread_mutex_unlock(&st->lock);
	return sb;
}

e2b_sandbox_t *e2b_sandbox_get(e2b_state_t *st, const char *id)
{
	return find(st, id, NULL);
}

bool e2b_sandbox_token_ok(const e2b_sandbox_t *sb, const char *token, bool traffic)
{
	return srv_secret_equal(token, traffic ? sb->traffic_token : sb->envd_token);
}

srv_session_t *e2b_sandbox_session(e2b_sandbox_t *sb)
{
	return sb->session;
}

const char *e2b_sandbox_session_id(const e2b_sandbox_t *sb)
{
	return sb->session_id;
}

const char *e2b_sandbox_owner(const e2b_sandbox_t *sb)
{
	return sb->owner;
}

json_t *e2b_sandbox_env(const e2b_sandbox_t *sb)
{
	return sb->env;
}

void e2b_sandbox_default_ctx(e2b_sandbox_t *sb, const char *language, char *id, size_t idlen)
{
	bool py = strcmp(language, "python") == 0;
	pthread_mutex_lock(&sb->ctx_lock);
	snprintf(id, idlen, "%s", py ? sb->ctx_python : sb->ctx_bash);
	pthread_mutex_unlock(&sb->ctx_lock);
}

void e2b_sandbox_set_default_ctx(e2b_sandbox_t *sb, const char *language, const char *id)
{
	bool py = strcmp(language, "python") == 0;
	pthread_mutex_lock(&sb->ctx_lock);
	snprintf(py ? sb->ctx_python : sb->ctx_bash, sizeof(sb->ctx_python), "%s", id);
	pthread_mutex_unlock(&sb->ctx_lock);
}

/* Unlinks a sandbox, ends its session and drops the list's reference. */
static void kill_sandbox(e2b_state_t *st, e2b_sandbox_t *sb)
{
	srv_err_t err = {0};
	srv_session_delete(st->svc, sb->session_id, sb->owner, &err);
	e2b_sandbox_put(st, sb);
}

/* Takes sb out of the list (lock held); false if it was not there. */
static bool unlink_locked(e2b_state_t *st, e2b_sandbox_t *sb)
{
	for (e2b_sandbox_t **pp = &st->list; *pp; pp = &(*pp)->next) {
		if (*pp == sb) {
			*pp = sb->next;
			return true;
		}
	}
	return false;
}

size_t e2b_expire(e2b_state_t *st, uint64_t now_ms)
{
	(void)now_ms; /* end times are wall-clock times, as E2B's endAt */
	size_t n = 0;
	for (;;) {
		/* One at a time: killing one takes its session down, outside the
		 * lock. */
		uint64_t wall = srv_wall_ms();
		pthread_mutex_lock(&st->lock);
		e2b_sandbox_t *sb = st->list;
		while (sb && sb->end_wall_ms > wall)
			sb = sb->next;
		if (sb)
			unlink_locked(st, sb);
		pthread_mutex_unlock(&st->lock);
		if (!sb)
			return n;
		kill_sandbox(st, sb);
		n++;
	}
}

void e2b_state_free(e2b_state_t *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	e2b_sandbox_t *all = st->list;
	st->list = NULL;
	pthread_mutex_unlock(&st->lock);
	while (all) {
		e2b_sandbox_t *next = all->next;
		kill_sandbox(st, all);
		all = next;
	}
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* ---- answers ----------------------------------------------------------------------- */

static json_t *sandbox_json(e2b_state_t *st, const e2b_sandbox_t *sb)
{
	(void)st;
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:n}", "templateID", sb->template_id, "sandboxID",
			 sb->id, "clientID", sb->client_id, "envdVersion", E2B_ENVD_VERSION,
			 "envdAccessToken", sb->envd_token, "trafficAccessToken", sb->traffic_token,
			 "domain");
}

static json_t *detail_json(e2b_state_t *st, const e2b_sandbox_t *sb, bool detail)
{
	char started[32], end[32];
	pthread_mutex_lock(&st->lock);
	srv_timestamp_at(sb->started_wall_ms, started);
	srv_timestamp_at(sb->end_wall_ms, end);
	pthread_mutex_unlock(&st->lock);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:s,s:s,s:O}", "templateID",
			      sb->template_id, "sandboxID", sb->id, "clientID", sb->client_id,
			      "startedAt", started, "endAt", end, "cpuCount", sb->cpu_count,
			      "memoryMB", sb->memory_mb, "diskSizeMB", 0, "state", "running",
			      "envdVersion", E2B_ENVD_VERSION, "metadata", sb->metadata);
	if (detail) {
		json_object_set_new(o, "envdAccessToken", json_string(sb->envd_token));
		json_object_set_new(o, "domain", json_null());
		json_object_set_new(o, "allowInternetAccess", json_false());
	}
	return o;
}

/* ---- create ------------------------------------------------------------------------ */

/* An environment variable's name: [A-Za-z_][A-Za-z0-9_]*. */
static bool env_name(const char *k)
{
	if (!*k || (*k >= '0' && *k <= '9'))
		return false;
	for (; *k; k++)
		if (!(*k == '_' || (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		      (*k >= '0' && *k <= '9')))
			return false;
	return true;
}

/* A {string: string} member (absent: {}); NULL if it is something else, or
 * (names) has a key that is no variable name. */
static json_t *string_map(json_t *v, bool names)
{
	if (!v || json_is_null(v))
		return json_object();
	if (!json_is_object(v))
		return NULL;
	const char *k;
	json_t *x;
	json_object_foreach(v, k, x) {
		if (!json_is_string(x) || memchr(json_string_value(x), '\0', json_string_length(x)) ||
		    strlen(k) > 256 || (names && !env_name(k)))
			return NULL;
	}
	return json_copy(v);
}

/* The session request for a template: its policy language, or the
 * defaults for "base". */
static int template_request(const srv_policy_t *p, const char *tpl, json_t *req, srv_err_t *err)
{
	const char *lang = NULL;
	if (strcmp(tpl, "base") == 0)
		return 0;
	if (strcmp(tpl, "code-interpreter-v1") == 0 || strcmp(tpl, "code-interpreter") == 0)
		lang = "python";
	for (size_t i = 0; !lang && i < p->n_languages; i++)
		if (strcmp(p->languages[i].name, tpl) == 0)
			lang = p->languages[i].name;
	if (!lang)
		return srv_fail(err, 400, "invalid_request",
				"template \"%.64s\" is not offered here: base, code-interpreter-v1 or a "
				"language of the server's policy", tpl);
	json_object_set_new(req, "language", json_string(lang));
	return 0;
}

/* A timeout in seconds from a request member (absent: dflt). */
static int timeout_member(e2b_state_t *st, json_t *body, double dflt, double *out,
			  srv_err_t *err)
{
	json_t *t = json_object_get(body, "timeout");
	double max = st->svc->policy->max_session_idle_ttl_s;
	*out = dflt;
	if (!t || json_is_null(t))
		return 0;
	if (!json_is_number(t) || !(json_number_value(t) >= 0) || json_number_value(t) > max)
		return srv_fail(err, 400, "invalid_request",
				"timeout is a number of seconds from 0 to %g (the policy's "
				"max_session_idle_ttl)", max);
	*out = json_number_value(t);
	return 0;
}

static void create(e2b_state_t *st, e2b_request_t *rq, e2b_reply_t *r)
{
	srv_err_t err = {0};
	json_error_t jerr;
	json_t *body = json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *req = json_object(), *meta = NULL, *env = NULL;
	e2b_sandbox_t *sb = NULL;
	json_t *tpl = json_object_get(body, "templateID");
	double timeout_s = 300;
	if (!json_is_object(body) || (tpl && !json_is_string(tpl))) {
		e2b_reply_error(r, 400, "the body must be a JSON object with a string templateID");
		goto out;
	}
	const char *tpl_name = tpl ? json_string_value(tpl) : "base";
	if (!(meta = string_map(json_object_get(body, "metadata"), false)) ||
	    !(env = string_map(json_object_get(body, "envVars"), true))) {
		e2b_reply_error(r, 400, "metadata and envVars must be objects of strings, envVars' "
				"keys variable names");
		goto out;
	}
	if (json_is_true(json_object_get(body, "allow_internet_access")) ||
	    json_object_get(body, "network") || json_object_get(body, "mcp") ||
	    json_object_get(body, "volumeMounts") ||
	    json_is_true(json_object_get(body, "autoPause"))) {
		e2b_reply_error(r, 400, "internet access, network rules, MCP, volume mounts and "
				"auto-pause are not offered by this server");
		goto out;
	}
	if (timeout_member(st, body, 300, &timeout_s, &err) < 0 ||
	    template_request(st->svc->policy, tpl_name, req, &err) < 0)
		goto fail;
	static const char *const no_keys[] = {NULL};
	srv_exec_spec_t spec;
	if (srv_policy_resolve(st->svc->policy, req, no_keys, true, &spec, &err) < 0)
		goto fail;
	snprintf(spec.workdir, sizeof(spec.workdir), "%s", E2B_HOME);
	spec.idle_ttl_s = st->svc->policy->max_session_idle_ttl_s;
	if (!(sb = calloc(1, sizeof(*sb)))) {
		srv_fail(&err, 500, "internal", "out of memory");
		goto fail;
	}
	pthread_mutex_init(&sb->ctx_lock, NULL);
	json_t *d = srv_session_create_spec(st->svc, &spec, rq->who, &err);
	if (!d)
		goto fail;
	snprintf(sb->session_id, sizeof(sb->session_id), "%s",
		 json_string_value(json_object_get(d, "id")));
	json_decref(d);
	snprintf(sb->owner, sizeof(sb->owner), "%s", rq->who);
	if (!(sb->session = srv_session_acquire(st->svc, sb->session_id, rq->who, &err)))
		goto fail;
	/* The sandbox runs when create answers: the SDK's first call (a
	 * command, a file) comes at once and nothing probes it first. */
	srv_session_view_t v = srv_session_view(sb->session);
	symbi_error_t lerr = {0};
	if (v.live.get && !v.live.get(v.live.ctx, &lerr)) {
		srv_fail_lib(&err, &lerr);
		goto fail;
	}
	/* Ids are 20 of [a-z0-9] (hex is), tokens 64 hex characters. */
	if (srv_random_hex(sb->id, 10) < 0 || srv_random_hex(sb->envd_token, 32) < 0 ||
	    srv_random_hex(sb->traffic_token, 32) < 0 || srv_random_hex(sb->client_id, 4) < 0) {
		srv_fail(&err, 500, "internal", "no randomness");
		goto fail;
	}
	snprintf(sb->template_id, sizeof(sb->template_id), "%s", tpl_name);
	sb->metadata = meta;
	sb->env = env;
	meta = env = NULL;
	sb->cpu_count = spec.limits.cpus >= 1 ? (int)ceil(spec.limits.cpus) : 1;
	sb->memory_mb = (int)(spec.limits.memory_bytes >> 20);
	sb->refs = 1; /* the list's */
	sb->started_wall_ms = srv_wall_ms();
	sb->end_wall_ms = sb->started_wall_ms + (uint64_t)(timeout_s * 1000);
	json_object_set_new(rq->audit, "sandbox", json_string(sb->id));
	json_object_set_new(rq->audit, "session", json_string(sb->session_id));
	json_object_set_new(rq->audit, "template", json_string(sb->template_id));
	e2b_reply_json(r, 201, sandbox_json(st, sb));
	pthread_mutex_lock(&st->lock);
	sb->next = st->list;
	st->list = sb;
	pthread_mutex_unlock(&st->lock);
	sb = NULL;
	goto out;
fail:
	e2b_reply_error(r, err.status ? err.status : 500, "%s", err.message);
out:
	if (sb) {
		if (sb->session_id[0])
			srv_session_delete(st->svc, sb->session_id, rq->who, &err);
		sandbox_free(st, sb);
	}
	json_decref(meta);
	json_decref(env);
	json_decref(req);
	json_decref(body);
}

/* ---- the other routes -------------------------------------------------------------- */

/* Whether the sandbox's metadata holds every pair of the list query's
 * `metadata` (a form string: k=v&k2=v2, each part percent-encoded). */
static bool metadata_matches(const e2b_sandbox_t *sb, const char *filter)
{
	if (!filter || !*filter)
		return true;
	char *copy = strdup(filter), *save = NULL;
	bool all = copy != NULL;
	for (char *pair = copy ? strtok_r(copy, "&", &save) : NULL; pair && all;
	     pair = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(pair, '=');
		if (!eq) {
			all = false;
			break;
		}
		*eq = '\0';
		for (char *p = pair; *p; p++)
			if (*p == '+')
				*p = ' ';
		for (char *p = eq + 1; *p; p++)
			if (*p == '+')
				*p = ' ';
		srv_http_unescape(NULL, NULL, pair);
		srv_http_unescape(NULL, NULL, eq + 1);
		json_t *v = json_object_get(sb->metadata, pair);
		all = json_is_string(v) && strcmp(json_string_value(v), eq + 1) == 0;
	}
	free(copy);
	return all;
}

static void list(e2b_state_t *st, e2b_request_t *rq, e2b_reply_t *r, bool paged)
{
	const char *state = rq->query(rq->conn, "state");
	const char *metadata = rq->query(rq->conn, "metadata");
	const char *limit_s = rq->query(rq->conn, "limit");
	const char *token = rq->query(rq->conn, "nextToken");
	char *end = NULL;
	long limit = limit_s ? strtol(limit_s, &end, 10) : 100;
	long skip = token && *token ? strtol(token, &end, 10) : 0;
	if ((limit_s && (limit < 1 || limit > 1000)) || skip < 0 || (end && *end)) {
		e2b_reply_error(r, 400, "limit is 1 to 1000 and nextToken the one the last page gave");
		return;
	}
	/* Every sandbox here runs: a filter without "running" matches none. */
	bool running = !state || strstr(state, "running");
	json_t *a = json_array();
	long seen = 0;
	bool more = false;
	pthread_mutex_lock(&st->lock);
	e2b_sandbox_t **all = NULL;
	size_t n = 0;
	for (e2b_sandbox_t *sb = st->list; sb; sb = sb->next)
		n++;
	all = calloc(n ? n : 1, sizeof(*all));
	n = 0;
	for (e2b_sandbox_t *sb = st->list; all && sb; sb = sb->next)
		if (running && strcmp(sb->owner, rq->who) == 0 && metadata_matches(sb, metadata)) {
			sb->refs++;
			all[n++] = sb;
		}
	pthread_mutex_unlock(&st->lock);
	/* The list holds the newest first: pages go oldest first. */
	for (size_t i = n; i-- > 0;) {
		if (seen >= skip && (!paged || (long)json_array_size(a) < limit))
			json_array_append_new(a, detail_json(st, all[i], false));
		else if (seen >= skip)
			more = true;
		seen++;
	}
	for (size_t i = 0; i < n; i++)
		e2b_sandbox_put(st, all[i]);
	free(all);
	if (paged && more)
		snprintf(r->next_token, sizeof(r->next_token), "%ld", skip + limit);
	e2b_reply_json(r, 200, a);
}

/* /sandboxes/{id}[/rest] or /v2/sandboxes/{id}[/rest]: the id into id[]. */
static bool split_id(const char *url, char id[32], const char **rest)
{
	const char *p = strncmp(url, "/v2/", 4) == 0 ? url + 3 : url;
	return strncmp(p, "/sandboxes/", 11) == 0 && srv_path_id(p + 11, id, 32, rest);
}

static void set_end(e2b_state_t *st, e2b_sandbox_t *sb, double secs, bool extend_only)
{
	uint64_t end = srv_wall_ms() + (uint64_t)(secs * 1000);
	pthread_mutex_lock(&st->lock);
	if (!extend_only || end > sb->end_wall_ms)
		sb->end_wall_ms = end;
	pthread_mutex_unlock(&st->lock);
}

void e2b_control(e2b_state_t *st, e2b_request_t *rq, e2b_reply_t *r)
{
	const char *m = rq->method, *url = rq->url, *rest = "";
	char id[32];
	bool post = strcmp(m, "POST") == 0, get = strcmp(m, "GET") == 0;
	if (post && (strcmp(url, "/sandboxes") == 0 || strcmp(url, "/v2/sandboxes") == 0)) {
		create(st, rq, r);
		return;
	}
	if (get && (strcmp(url, "/sandboxes") == 0 || strcmp(url, "/v2/sandboxes") == 0)) {
		list(st, rq, r, strcmp(url, "/v2/sandboxes") == 0);
		return;
	}
	if (!split_id(url, id, &rest)) {
		e2b_reply_error(r, 404, "no route %.8s %.200s", m, url);
		return;
	}
	e2b_sandbox_t *sb = find(st, id, rq->who);
	json_object_set_new(rq->audit, "sandbox", srv_json_text(id, strlen(id)));
	if (!sb) {
		e2b_reply_error(r, 404, "sandbox \"%.32s\" not found", id);
		return;
	}
	srv_err_t err = {0};
	json_t *body = NULL;
	double secs;
	if (strcmp(m, "DELETE") == 0 && !*rest) {
		pthread_mutex_lock(&st->lock);
		bool mine = unlink_locked(st, sb);
		pthread_mutex_unlock(&st->lock);
		if (mine)
			kill_sandbox(st, sb);
		r->status = mine ? 204 : 404;
		if (!mine)
			e2b_reply_error(r, 404, "sandbox \"%.32s\" not found", id);
	} else if (get && !*rest) {
		e2b_reply_json(r, 200, detail_json(st, sb, true));
	} else if (post && (strcmp(rest, "/timeout") == 0 || strcmp(rest, "/connect") == 0)) {
		bool connect = strcmp(rest, "/connect") == 0;
		body = rq->len ? json_loadb(rq->body, rq->len, 0, NULL) : json_object();
		if (!json_is_object(body) ||
		    (!connect && !json_is_number(json_object_get(body, "timeout")))) {
			e2b_reply_error(r, 400, "the body is {\"timeout\": SECONDS}");
		} else if (timeout_member(st, body, -1, &secs, &err) < 0) {
			e2b_reply_error(r, err.status, "%s", err.message);
		} else {
			if (secs >= 0)
				set_end(st, sb, secs, connect);
			if (connect)
				e2b_reply_json(r, 200, sandbox_json(st, sb));
			else
				r->status = 204;
		}
	} else if (post && strcmp(rest, "/pause") == 0) {
		e2b_reply_error(r, 501, "pausing sandboxes is not supported by this server");
	} else if (get && strcmp(rest, "/metrics") == 0) {
		e2b_reply_error(r, 501, "sandbox metrics are not supported by this server");
	} else {
		e2b_reply_error(r, 404, "no route %.8s %.200s", m, url);
	}
	json_decref(body);
	e2b_sandbox_put(st, sb);
}
