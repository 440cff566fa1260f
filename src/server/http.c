/* The HTTP/JSON face: libmicrohttpd, one thread per connection; every route
 * calls the service, which calls the library. */
#include "server.h"
#include "e2b.h"
#include "header_deadline.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

/* Every route; `symbi-sandbox serve --print-routes` prints this table and the
 * OpenAPI test compares it with docs/openapi.json. */
static const struct route {
	const char *method, *path;
} routes[] = {
	{"GET", "/v1/health"},
	{"GET", "/metrics"},
	{"POST", "/v1/execute"},
	{"POST", "/v1/sessions"},
	{"GET", "/v1/sessions/{id}"},
	{"DELETE", "/v1/sessions/{id}"},
	{"POST", "/v1/sessions/{id}/execute"},
	{"GET", "/v1/sessions/{id}/files"},
	{"GET", "/v1/sessions/{id}/files/{path}"},
	{"PUT", "/v1/sessions/{id}/files/{path}"},
	{"GET", "/v1/sessions/{id}/processes"},
	{"POST", "/v1/sessions/{id}/processes"},
	{"GET", "/v1/sessions/{id}/processes/{pid}"},
	{"POST", "/v1/sessions/{id}/processes/{pid}/stdin"},
	{"POST", "/v1/sessions/{id}/processes/{pid}/signal"},
	{"GET", "/v1/sessions/{id}/processes/{pid}/output"},
	{"GET", "/v1/sessions/{id}/contexts"},
	{"POST", "/v1/sessions/{id}/contexts"},
	{"DELETE", "/v1/sessions/{id}/contexts/{cid}"},
	{"POST", "/v1/sessions/{id}/contexts/{cid}/execute"},
};

void srv_http_print_routes(void)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		printf("%s %s\n", routes[i].method, routes[i].path);
}

struct http_server {
	srv_service_t *svc;
	const srv_http_options_t *opts;
	volatile int shutting_down;
	/* Requests begun and not yet completely answered (MHD tells us through
	 * the completion callback), so that shutdown delivers every answer. */
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned inflight;
	srv_header_deadline_t *deadline; /* for clients trickling headers */
};

static void inflight_add(struct http_server *hs, int delta)
{
	pthread_mutex_lock(&hs->lock);
	hs->inflight = (unsigned)((int)hs->inflight + delta);
	if (hs->inflight == 0)
		pthread_cond_broadcast(&hs->idle);
	pthread_mutex_unlock(&hs->lock);
}

/* Waits until every request has been answered or the deadline passes. */
static void inflight_wait(struct http_server *hs, uint64_t deadline_ms)
{
	struct timespec ts = {.tv_sec = (time_t)(deadline_ms / 1000),
			      .tv_nsec = (long)(deadline_ms % 1000) * 1000000};
	pthread_mutex_lock(&hs->lock);
	while (hs->inflight > 0 && pthread_cond_timedwait(&hs->idle, &hs->lock, &ts) == 0)
		;
	pthread_mutex_unlock(&hs->lock);
}

#define DRAIN_MAX (16u << 20)

/* Per-request state across the handler's calls. */
struct request {
	char *body;
	size_t len, cap, limit;
	bool too_large;
	bool answered;
	size_t discarded;
	uint64_t t0;
	char who[128]; /* the token's name, once authenticated */
};

/* ---- responses ------------------------------------------------------------- */

struct reply {
	int status;
	srv_stream_t *stream; /* instead of body: NDJSON as it comes (owned) */
	srv_proc_reader_t *reader; /* or a background process's output (owned) */
	char *body; /* owned */
	size_t len;
	const char *content_type;
	const char *error_code;
	unsigned retry_after;
};

static void reply_error(struct reply *r, const srv_err_t *err);

static void reply_json(struct reply *r, int status, json_t *o)
{
	r->status = status;
	r->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	r->len = r->body ? strlen(r->body) : 0;
	r->content_type = "application/json";
	json_decref(o);
	if (!r->body) { /* never an empty answer */
		srv_err_t err = {0};
		srv_fail(&err, 500, "internal", "the answer could not be encoded as JSON");
		reply_error(r, &err);
	}
}

static void reply_text(struct reply *r, int status, char *body, const char *type)
{
	r->status = status;
	r->body = body;
	r->len = body ? strlen(body) : 0;
	r->content_type = type;
}

static void reply_error(struct reply *r, const srv_err_t *err)
{
	r->status = err->status ? err->status : 500;
	r->body = srv_err_json(err);
	r->len = r->body ? strlen(r->body) : 0;
	r->content_type = "application/json";
	r->error_code = err->code;
	r->retry_after = err->retry_after;
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	size_t n = srv_stream_read(cls, buf, max);
	return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void stream_free(void *cls)
{
	srv_stream_free(cls);
}

static ssize_t reader_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	size_t n = srv_proc_reader_read(cls, buf, max);
	return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void reader_free(void *cls)
{
	srv_proc_reader_free(cls);
}

/* A chunked answer that read_fn gives as it comes, from obj, which free_fn
 * frees when the answer ends or the client goes away (or here, if no
 * response can be made). */
static struct MHD_Response *callback_response(MHD_ContentReaderCallback read_fn,
					      MHD_ContentReaderFreeCallback free_fn, void *obj)
{
	struct MHD_Response *resp =
		MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, read_fn, obj, free_fn);
	if (!resp)
		free_fn(obj);
	return resp;
}

static enum MHD_Result send_reply(struct http_server *hs, struct MHD_Connection *c,
				  struct reply *r)
{
	struct MHD_Response *resp;
	if (r->stream) {
		/* The connection's thread blocks in the reader until a line
		 * comes; the stream is freed (its process killed if it still
		 * runs) when the answer ends or the client goes away. */
		resp = callback_response(stream_reader, stream_free, r->stream);
		r->stream = NULL;
	} else if (r->reader) {
		resp = callback_response(reader_read, reader_free, r->reader);
		r->reader = NULL;
	} else {
		resp = r->body ? MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE)
			       : MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
	}
	r->body = NULL; /* owned by the response now */
	if (!resp)
		return MHD_NO;
	if (r->content_type)
		MHD_add_response_header(resp, "Content-Type", r->content_type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (r->status == 429 || r->status == 503 || (r->status == 507 && r->retry_after)) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%u", r->retry_after ? r->retry_after
							      : hs->svc->policy->retry_after_s);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	if (r->status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"symbi-sandbox\"");
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	srv_metrics_http(r->status);
	return ret;
}

/* ---- authentication ---------------------------------------------------------- */

/* Sets *who; returns false if the request must be refused with 401. */
static bool authenticate(struct http_server *hs, struct MHD_Connection *c, char *who,
			 size_t wholen, srv_err_t *err)
{
	if (!hs->opts->tokens) {
		snprintf(who, wholen, "anonymous");
		return true;
	}
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
		srv_fail(err, 401, "unauthorized",
			 "this server requires an 'Authorization: Bearer TOKEN' header");
		return false;
	}
	const char *tok = h + 7;
	while (*tok == ' ')
		tok++;
	int match = -1;
	/* Compare with every token, without stopping early. */
	for (size_t i = 0; hs->opts->tokens[i]; i++)
		if (srv_secret_equal(tok, hs->opts->tokens[i]) && match < 0)
			match = (int)i;
	if (match < 0) {
		srv_fail(err, 401, "unauthorized", "the bearer token is not valid");
		return false;
	}
	snprintf(who, wholen, "%s", hs->opts->token_names[match]);
	return true;
}

/* ---- routing ------------------------------------------------------------------ */

/* Splits "/v1/sessions/ID/REST": returns ID's length, *rest points after it. */
static bool session_path(const char *url, char id[40], const char **rest)
{
	return srv_path_id(url + strlen("/v1/sessions/"), id, 40, rest);
}

static json_t *parse_body(struct request *rq, srv_err_t *err)
{
	if (!rq->len) {
		srv_fail(err, 400, "invalid_request", "a JSON object body is required");
		return NULL;
	}
	json_error_t jerr;
	json_t *o = json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!o) {
		srv_fail(err, 400, "invalid_json", "the body is not valid JSON: %s (at byte %d)",
			 jerr.text, jerr.position);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		srv_fail(err, 400, "invalid_request", "the request body must be a JSON object");
		return NULL;
	}
	return o;
}

static int connection_fd(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	return ci ? ci->connect_fd : -1;
}

static void remote_addr(struct MHD_Connection *c, char *out, size_t outlen)
{
	snprintf(out, outlen, "unknown");
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)outlen);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)outlen);
}

static void handle_execute_result(struct reply *r, char *out, srv_err_t *err)
{
	if (out)
		reply_text(r, 200, out, "application/json");
	else
		reply_error(r, err);
}

/* The wait of GET .../processes/{pid}?wait=SECONDS, in ms (0: none). */
static int wait_param(struct http_server *hs, struct MHD_Connection *c, uint64_t *ms,
		      srv_err_t *err)
{
	const char *w = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "wait");
	double max = hs->svc->policy->maximums.timeout_s + 5;
	char *end = NULL;
	double v = w ? strtod(w, &end) : 0;
	*ms = 0;
	if (w && (end == w || *end || !(v >= 0) || v > max))
		return srv_fail(err, 400, "invalid_request",
				"wait is a number of seconds from 0 to %g", max);
	*ms = (uint64_t)(v * 1000);
	return 0;
}

/* /v1/sessions/{id}/processes[/{pid}[/stdin|/signal|/output]]; `sub` is
 * what follows "/processes". */
static void route_processes(struct http_server *hs, struct MHD_Connection *c, const char *id,
			    const char *sub, const char *method, struct request *rq,
			    srv_exec_call_t *call, struct reply *r)
{
	srv_service_t *svc = hs->svc;
	srv_err_t err = {0};
	bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
	json_t *req = NULL, *out = NULL;
	srv_proc_t *p = NULL;
	char pid[40] = "";
	const char *what = "";
	if (*sub) {
		sub++;
		size_t n = strcspn(sub, "/");
		what = sub + n;
		if (n == 0 || n >= sizeof(pid) ||
		    (*what && strcmp(what, "/stdin") && strcmp(what, "/signal") && strcmp(what, "/output"))) {
			srv_fail(&err, 404, "not_found", "no such endpoint: %s /v1/sessions/%s/processes/%.100s",
				 method, id, sub);
			goto error;
		}
		memcpy(pid, sub, n);
		pid[n] = '\0';
		json_object_set_new(call->audit, "process", srv_json_text(pid, n));
	}
	bool want_post = (!*pid && !get) || !strcmp(what, "/stdin") || !strcmp(what, "/signal");
	if (want_post ? !post : !get) {
		srv_fail(&err, 405, "method_not_allowed", "%s is not allowed here", method);
		goto error;
	}
	if (post && !(req = parse_body(rq, &err)))
		goto error;
	uint64_t wait_ms = 0;
	if (*pid && !*what && wait_param(hs, c, &wait_ms, &err) < 0)
		goto error;
	srv_session_t *s = srv_session_acquire(svc, id, call->who, &err);
	if (!s)
		goto error;
	srv_session_view_t ps = srv_session_view(s);
	if (!*pid) {
		out = post ? srv_proc_start(svc, &ps, req, call, &err) : srv_proc_list(ps.procs);
		srv_session_release(svc, s);
		if (!out)
			goto error;
		reply_json(r, post ? 201 : 200, out);
		json_decref(req);
		return;
	}
	p = srv_proc_find(ps.procs, pid, &err);
	/* Waits and readers hold the process alone: a session that ends
	 * under them ends them. */
	srv_session_release(svc, s);
	if (!p)
		goto error;
	if (!*what) {
		out = srv_proc_describe(svc, p, wait_ms, call->client_fd);
	} else if (!strcmp(what, "/stdin")) {
		out = srv_proc_stdin(p, req, call->audit, &err);
	} else if (!strcmp(what, "/signal")) {
		out = srv_proc_signal(p, req, call->audit, &err);
	} else {
		if (!(r->reader = srv_proc_reader_new(svc, p, call->client_fd))) {
			srv_fail(&err, 500, "internal", "out of memory");
			goto error;
		}
		r->status = 200;
		r->content_type = "application/x-ndjson";
		srv_proc_put(p);
		return;
	}
	srv_proc_put(p);
	json_decref(req);
	if (!out) {
		reply_error(r, &err);
		return;
	}
	reply_json(r, 200, out);
	return;
error:
	srv_proc_put(p);
	json_decref(req);
	reply_error(r, &err);
}

static void route(struct http_server *hs, struct MHD_Connection *c, const char *url,
		  const char *method, struct request *rq, const char *who, json_t *audit,
		  struct reply *r)
{
	srv_service_t *svc = hs->svc;
	srv_err_t err = {0};
	bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
	bool put = strcmp(method, "PUT") == 0, del = strcmp(method, "DELETE") == 0;
	srv_exec_call_t call = {.who = who, .client_fd = connection_fd(c), .audit = audit};

	if (strcmp(url, "/v1/health") == 0 || strcmp(url, "/metrics") == 0) {
		if (!get)
			goto method;
		size_t running, queued;
		srv_limiter_stats(svc->limiter, &running, &queued);
		if (url[1] == 'm') {
			reply_text(r, 200, srv_metrics_render(srv_session_count(svc), running, queued),
				   "text/plain; version=0.0.4; charset=utf-8");
			return;
		}
		json_t *backends = json_array();
		for (size_t i = 0; i < svc->policy->n_backends; i++)
			json_array_append_new(backends, json_string(svc->policy->allowed_backends[i]));
		reply_json(r, hs->shutting_down ? 503 : 200,
			   json_pack("{s:s,s:s,s:s,s:o,s:I,s:I,s:I}", "status",
				     hs->shutting_down ? "shutting_down" : "ok", "version",
				     SYMBI_VERSION, "default_backend", svc->policy->default_backend,
				     "backends", backends, "sessions",
				     (json_int_t)srv_session_count(svc), "running", (json_int_t)running,
				     "queued", (json_int_t)queued));
		return;
	}
	if (strcmp(url, "/v1/execute") == 0) {
		if (!post)
			goto method;
		if (!(call.req = parse_body(rq, &err)))
			goto error;
		handle_execute_result(r, srv_execute_once(svc, &call, &err), &err);
		json_decref(call.req);
		return;
	}
	if (strcmp(url, "/v1/sessions") == 0) {
		if (!post)
			goto method;
		json_t *req = parse_body(rq, &err);
		if (!req)
			goto error;
		json_t *d = srv_session_create(svc, req, who, &err);
		json_decref(req);
		if (!d)
			goto error;
		json_object_set_new(audit, "session", json_incref(json_object_get(d, "id")));
		json_object_set_new(audit, "backend",
				    json_incref(json_object_get(d, "backend")));
		reply_json(r, 201, d);
		return;
	}
	char id[40];
	const char *rest;
	if (strncmp(url, "/v1/sessions/", 13) == 0 && session_path(url, id, &rest)) {
		json_object_set_new(audit, "session", srv_json_text(id, strlen(id)));
		if (!*rest) {
			if (get) {
				json_t *d = srv_session_describe(svc, id, who, &err);
				if (!d)
					goto error;
				reply_json(r, 200, d);
			} else if (del) {
				if (srv_session_delete(svc, id, who, &err) < 0)
					goto error;
				reply_json(r, 200, json_pack("{s:s,s:b}", "id", id, "deleted", 1));
			} else {
				goto method;
			}
			return;
		}
		if (strcmp(rest, "/execute") == 0) {
			if (!post)
				goto method;
			if (!(call.req = parse_body(rq, &err)))
				goto error;
			if (json_is_true(json_object_get(call.req, "stream"))) {
				r->stream = srv_session_stream(svc, id, &call, &err);
				json_decref(call.req);
				if (!r->stream)
					goto error;
				r->status = 200;
				r->content_type = "application/x-ndjson";
				return;
			}
			handle_execute_result(r, srv_session_execute(svc, id, &call, &err), &err);
			json_decref(call.req);
			return;
		}
		if (strncmp(rest, "/processes", 10) == 0 && (!rest[10] || rest[10] == '/')) {
			route_processes(hs, c, id, rest + 10, method, rq, &call, r);
			return;
		}
		if (strcmp(rest, "/contexts") == 0) {
			if (get) {
				json_t *l = srv_ctx_list(svc, id, who, &err);
				if (!l)
					goto error;
				reply_json(r, 200, l);
				return;
			}
			if (!post)
				goto method;
			if (!(call.req = parse_body(rq, &err)))
				goto error;
			json_t *d = srv_ctx_create(svc, id, &call, &err);
			json_decref(call.req);
			if (!d)
				goto error;
			reply_json(r, 201, d);
			return;
		}
		if (strncmp(rest, "/contexts/", 10) == 0) {
			char cid[40];
			const char *tail = rest + 10;
			size_t n = strcspn(tail, "/");
			if (n == 0 || n >= sizeof(cid) || (tail[n] && strcmp(tail + n, "/execute")))
				goto not_found;
			memcpy(cid, tail, n);
			cid[n] = '\0';
			json_object_set_new(audit, "context", srv_json_text(cid, n));
			if (!tail[n]) {
				if (!del)
					goto method;
				if (srv_ctx_delete(svc, id, who, cid, &err) < 0)
					goto error;
				reply_json(r, 200, json_pack("{s:s,s:b}", "id", cid, "deleted", 1));
				return;
			}
			if (!post)
				goto method;
			if (!(call.req = parse_body(rq, &err)))
				goto error;
			if (json_is_true(json_object_get(call.req, "stream"))) {
				r->stream = srv_ctx_stream(svc, id, cid, &call, &err);
				json_decref(call.req);
				if (!r->stream)
					goto error;
				r->status = 200;
				r->content_type = "application/x-ndjson";
				return;
			}
			handle_execute_result(r, srv_ctx_execute(svc, id, cid, &call, &err), &err);
			json_decref(call.req);
			return;
		}
		if (strcmp(rest, "/files") == 0) {
			if (!get)
				goto method;
			const char *dir = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "path");
			json_t *l = srv_session_list(svc, id, who, dir, &err);
			if (!l)
				goto error;
			reply_json(r, 200, l);
			return;
		}
		if (strncmp(rest, "/files/", 7) == 0) {
			const char *path = rest + 7;
			json_object_set_new(audit, "file", srv_json_text(path, strlen(path)));
			if (put) {
				if (srv_session_write(svc, id, who, path, rq->body ? rq->body : "",
						      rq->len, &err) < 0)
					goto error;
				reply_json(r, 200, json_pack("{s:s,s:I}", "path", path, "size",
							     (json_int_t)rq->len));
				return;
			}
			if (get) {
				size_t len = 0;
				char *data = srv_session_read(svc, id, who, path, &len, &err);
				if (!data)
					goto error;
				r->status = 200;
				r->body = data;
				r->len = len;
				r->content_type = "application/octet-stream";
				return;
			}
			goto method;
		}
	}
not_found:
	srv_fail(&err, 404, "not_found", "no such endpoint: %s %.200s", method, url);
	goto error;
method:
	srv_fail(&err, 405, "method_not_allowed", "%s is not allowed on %.200s", method, url);
error:
	reply_error(r, &err);
}

static size_t body_limit(struct http_server *hs, const char *method, const char *url)
{
	if (strcmp(method, "PUT") == 0 && strstr(url, "/files/"))
		return hs->svc->policy->max_file_bytes;
	return hs->svc->policy->max_body_bytes;
}

/* ---- the request head: decided before any body byte is read ------------------ */

static bool is_json_route(const char *method, const char *url)
{
	if (strcmp(method, "POST") != 0)
		return false;
	/* Every POST of the API takes a JSON body. */
	return strcmp(url, "/v1/execute") == 0 || strncmp(url, "/v1/sessions", 12) == 0;
}

/* "localhost", "127.x.y.z", "[::1]", each with an optional ":port". */
static bool loopback_host(const char *host)
{
	char name[256];
	size_t n = strlen(host);
	if (n == 0 || n >= sizeof(name))
		return false;
	memcpy(name, host, n + 1);
	if (name[0] == '[') {
		char *close = strchr(name, ']');
		if (!close || (close[1] && close[1] != ':'))
			return false;
		*close = '\0';
		struct in6_addr a6;
		return inet_pton(AF_INET6, name + 1, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	char *colon = strchr(name, ':');
	if (colon)
		*colon = '\0';
	if (strcasecmp(name, "localhost") == 0)
		return true;
	struct in_addr a4;
	return inet_pton(AF_INET, name, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

/* A server without tokens trusts whoever reaches its loopback address, and a
 * web page the user visits can reach it: refuse what only a browser sends. */
static bool browser_checks(struct http_server *hs, struct MHD_Connection *c, const char *url,
			   const char *method, srv_err_t *err)
{
	if (hs->opts->tokens)
		return true;
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	if (host && !loopback_host(host)) {
		srv_metrics_rejection("forbidden_host");
		srv_fail(err, 403, "forbidden_host",
			 "Host \"%.100s\" is not a loopback name or address; a server without tokens "
			 "answers only requests for localhost (DNS rebinding protection)", host);
		return false;
	}
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	if (origin) {
		bool allowed = false;
		for (size_t i = 0; hs->opts->allowed_origins && hs->opts->allowed_origins[i]; i++)
			allowed |= strcmp(origin, hs->opts->allowed_origins[i]) == 0;
		if (!allowed) {
			srv_metrics_rejection("forbidden_origin");
			srv_fail(err, 403, "forbidden_origin",
				 "requests from web pages (Origin \"%.100s\") are refused by a server "
				 "without tokens; allow one with --allow-origin", origin);
			return false;
		}
	}
	if (is_json_route(method, url)) {
		const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
		size_t n = type ? strcspn(type, "; \t") : 0;
		if (!type || n != strlen("application/json") ||
		    strncasecmp(type, "application/json", n) != 0) {
			srv_metrics_rejection("unsupported_media_type");
			srv_fail(err, 415, "unsupported_media_type",
				 "the body must be sent with Content-Type: application/json");
			return false;
		}
	}
	return true;
}

/* Everything that can be decided from the request head: the browser checks,
 * the token, shutdown. Runs in the handler's first call, so that a refused
 * client never gets a body byte buffered. */
static bool admit(struct http_server *hs, struct MHD_Connection *c, const char *url,
		  const char *method, struct request *rq, srv_err_t *err)
{
	bool open_route = strcmp(url, "/v1/health") == 0;
	if (!browser_checks(hs, c, url, method, err))
		return false;
	if (!open_route && !authenticate(hs, c, rq->who, sizeof(rq->who), err)) {
		srv_metrics_rejection("unauthorized");
		return false;
	}
	if (hs->shutting_down && !open_route) {
		srv_metrics_rejection("shutting_down");
		srv_fail(err, 503, "shutting_down", "the server is shutting down");
		return false;
	}
	return true;
}

/* Audits the request and queues its answer. */
static enum MHD_Result answer(struct http_server *hs, struct MHD_Connection *c, const char *url,
			      const char *method, struct request *rq, json_t *audit,
			      struct reply *r)
{
	char remote[64];
	remote_addr(c, remote, sizeof(remote));
	json_object_set_new(audit, "event", json_string("http_request"));
	json_object_set_new(audit, "who", json_string(rq->who));
	json_object_set_new(audit, "remote", json_string(remote));
	json_object_set_new(audit, "method", srv_json_text(method, strnlen(method, 32)));
	json_object_set_new(audit, "path", srv_json_text(url, strnlen(url, 512)));
	json_object_set_new(audit, "status", json_integer(r->status));
	if (r->error_code)
		json_object_set_new(audit, "error", json_string(r->error_code));
	json_object_set_new(audit, "duration_ms", json_integer((json_int_t)(srv_now_ms() - rq->t0)));
	srv_audit_append(hs->svc->audit, audit);
	return send_reply(hs, c, r);
}

static enum MHD_Result refuse(struct http_server *hs, struct MHD_Connection *c, const char *url,
			      const char *method, struct request *rq, const srv_err_t *err)
{
	struct reply r = {0};
	reply_error(&r, err);
	rq->answered = true;
	return answer(hs, c, url, method, rq, json_object(), &r);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct http_server *hs = cls;
	struct request *rq = *con_cls;
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		rq->t0 = srv_now_ms();
		rq->limit = body_limit(hs, method, url);
		snprintf(rq->who, sizeof(rq->who), "anonymous");
		*con_cls = rq;
		inflight_add(hs, 1);
		srv_header_deadline_mark(hs->deadline, c, true);
		srv_err_t err = {0};
		/* Refused from its head alone: MHD sends the answer and closes
		 * the connection without reading the body. */
		if (!admit(hs, c, url, method, rq, &err))
			return refuse(hs, c, url, method, rq, &err);
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Expect");
		unsigned long long announced = cl ? strtoull(cl, NULL, 10) : 0;
		if (announced <= rq->limit)
			return MHD_YES;
		rq->too_large = true;
		/* A client waiting for "100 Continue" hears the refusal before
		 * sending anything; one that sends its body at once would get a
		 * reset if we answered now, so a moderate body is read and
		 * dropped first (see the drain below). */
		if (!(expect && strcasestr(expect, "100-continue")) && announced <= DRAIN_MAX)
			return MHD_YES;
	}
	if (*upload_data_size && rq->too_large && !rq->answered && rq->discarded < DRAIN_MAX) {
		/* A chunked body over the limit: read and drop the rest so that the
		 * client sees the 413 instead of a reset; past DRAIN_MAX, answer
		 * now and let the connection close. */
		rq->discarded += *upload_data_size;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size && !rq->too_large) {
		if (rq->len + *upload_data_size > rq->limit) {
			rq->too_large = true;
			rq->discarded = *upload_data_size;
			*upload_data_size = 0;
			return MHD_YES;
		} else {
			if (srv_buf_append(&rq->body, &rq->len, &rq->cap, upload_data,
					   *upload_data_size) < 0)
				return MHD_NO;
		}
	}
	if (*upload_data_size && !rq->too_large) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rq->answered) {
		*upload_data_size = 0; /* discard the rest of a refused body */
		return MHD_YES;
	}
	rq->answered = true;
	*upload_data_size = 0;
	if (rq->too_large) {
		srv_err_t err = {0};
		srv_metrics_rejection("body_too_large");
		srv_fail(&err, 413, "payload_too_large",
			 "the request body is larger than this server's limit of %zu bytes",
			 rq->limit);
		return refuse(hs, c, url, method, rq, &err);
	}
	struct reply r = {0};
	json_t *audit = json_object();
	route(hs, c, url, method, rq, rq->who, audit, &r);
	return answer(hs, c, url, method, rq, audit, &r);
}

static void request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	(void)toe;
	struct http_server *hs = cls;
	struct request *rq = *con_cls;
	if (rq) {
		srv_header_deadline_mark(hs->deadline, c, false);
		free(rq->body);
		free(rq);
		inflight_add(hs, -1);
	}
	*con_cls = NULL;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decoding of the path and query (MHD's own turns %00 into an end
 * of string, so "x%00.txt" became "x"). A NUL becomes the two bytes C0 80,
 * which are not UTF-8: srv_path_check refuses them by name. */
size_t srv_http_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	char *w = s;
	for (const char *r = s; *r;) {
		int hi, lo;
		if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0) {
			unsigned char b = (unsigned char)(hi << 4 | lo);
			if (b == 0) {
				*w++ = (char)0xC0;
				*w++ = (char)0x80;
			} else {
				*w++ = (char)b;
			}
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* ---- listening --------------------------------------------------------------- */

int srv_parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sl,
		     bool *loopback, srv_err_t *err)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof(host))
		return srv_fail(err, 400, "invalid_request",
				"--listen wants HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), not "
				"\"%s\"", listen);
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535 || end == colon + 1)
		return srv_fail(err, 400, "invalid_request", "invalid port in \"%s\"", listen);
	memset(ss, 0, sizeof(*ss));
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	size_t hl = strlen(host);
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return srv_fail(err, 400, "invalid_request", "invalid IPv6 address in \"%s\"",
					listen);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*s6);
		*loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
			    (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && s6->sin6_addr.s6_addr[12] == 127);
		return 0;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return srv_fail(err, 400, "invalid_request",
				"invalid address \"%s\": give a numeric IPv4 address, [IPv6] or "
				"localhost", host);
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*sl = sizeof(*s4);
	*loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	return 0;
}

int srv_http_serve(srv_service_t *svc, const srv_http_options_t *opts)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	bool loopback = false;
	srv_err_t err = {0};
	if (srv_parse_listen(opts->listen, &ss, &sl, &loopback, &err) < 0) {
		fprintf(stderr, "symbi-sandbox serve: %s\n", err.message);
		return 2;
	}
	if (!loopback && !opts->tokens) {
		fprintf(stderr,
			"symbi-sandbox serve: refusing to listen on %s without authentication: "
			"give tokens with --token-file FILE or SYMBI_SANDBOX_TOKENS, or listen on "
			"127.0.0.1\n", opts->listen);
		return 2;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 128) < 0) {
		fprintf(stderr, "symbi-sandbox serve: cannot listen on %s: %s\n", opts->listen,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	unsigned port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						      : ((struct sockaddr_in6 *)&ss)->sin6_port);

	/* SIGTERM and SIGINT are taken by sigwait() below. */
	sigset_t set;
	srv_block_stop_signals(&set);

	struct http_server hs = {.svc = svc, .opts = opts};
	pthread_mutex_init(&hs.lock, NULL);
	srv_cond_init_monotonic(&hs.idle);
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (!(hs.deadline = srv_header_deadline_start(opts->header_timeout_s, &err))) {
		fprintf(stderr, "symbi-sandbox serve: %s\n", err.message);
		close(fd);
		return 1;
	}
	/* Connections beyond the per-address limit are closed at once; an idle
	 * connection (no byte either way) ends after idle_timeout_s. */
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, 0, NULL, NULL, handler, &hs, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_NOTIFY_COMPLETED, request_completed, &hs,
		MHD_OPTION_NOTIFY_CONNECTION, srv_header_deadline_notify, hs.deadline,
		MHD_OPTION_UNESCAPE_CALLBACK, srv_http_unescape, NULL,
		MHD_OPTION_CONNECTION_LIMIT, opts->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, opts->max_connections_per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, opts->idle_timeout_s, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "symbi-sandbox serve: cannot start the HTTP server\n");
		srv_header_deadline_stop(hs.deadline);
		close(fd);
		return 1;
	}
	if (srv_service_start_reaper(svc, &err) < 0) {
		fprintf(stderr, "symbi-sandbox serve: %s\n", err.message);
		MHD_stop_daemon(d);
		srv_header_deadline_stop(hs.deadline);
		close(fd);
		return 1;
	}
	e2b_listener_t *e2b = NULL;
	if (opts->e2b_listen &&
	    !(e2b = e2b_listen(svc, opts->e2b_listen, opts->tokens, opts->token_names,
			       opts->e2b_ready_file, opts->max_connections,
			       opts->max_connections_per_ip, opts->header_timeout_s, &err))) {
		fprintf(stderr, "symbi-sandbox serve: %s\n", err.message);
		MHD_stop_daemon(d);
		srv_header_deadline_stop(hs.deadline);
		close(fd);
		return 2;
	}
	char host[64] = "";
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
	fprintf(stderr, "symbi-sandbox serve: listening on http://%s%s%s:%u (backend %s, %zu at "
		"once, queue %zu, auth %s, state %s)\n", ss.ss_family == AF_INET6 ? "[" : "", host,
		ss.ss_family == AF_INET6 ? "]" : "", port, svc->policy->default_backend,
		svc->policy->max_running, svc->policy->max_queued, opts->tokens ? "on" : "off",
		svc->state.dir);
	srv_write_ready_file(opts->ready_file, port);

	int sig = 0;
	while (sigwait(&set, &sig) != 0)
		;
	fprintf(stderr, "symbi-sandbox serve: %s received; finishing running executions "
		"(deadline %u s)\n", sig == SIGTERM ? "SIGTERM" : "SIGINT", opts->shutdown_grace_s);
	hs.shutting_down = 1;
	if (MHD_quiesce_daemon(d) == fd) /* no new connections */
		close(fd);
	srv_limiter_close(svc->limiter); /* queued requests are answered 503 */
	uint64_t deadline = srv_now_ms() + (uint64_t)opts->shutdown_grace_s * 1000;
	if (srv_limiter_wait_idle(svc->limiter, deadline) < 0) {
		fprintf(stderr, "symbi-sandbox serve: deadline reached; cancelling what still "
			"runs\n");
		srv_service_cancel_all(svc);
		srv_limiter_wait_idle(svc->limiter, srv_now_ms() + 30000);
	}
	/* Background processes and the readers of their output end now (they
	 * hold no limiter slot, so nothing above waited for them). */
	srv_service_cancel_all(svc);
	/* The E2B listener's streams have ended with them; its sandboxes go. */
	e2b_listener_stop(e2b);
	/* Answers still being written (a few seconds at most: the executions are over). */
	inflight_wait(&hs, srv_now_ms() + 5000);
	MHD_stop_daemon(d);
	srv_header_deadline_stop(hs.deadline);
	pthread_mutex_destroy(&hs.lock);
	pthread_cond_destroy(&hs.idle);
	fprintf(stderr, "symbi-sandbox serve: stopped\n");
	return 0;
}
