/* The E2B listener: one HTTP/1.1 port for both of E2B's planes (see e2b.h).
 * It reads whole request bodies (the SDK sends control-plane and /files
 * bodies chunked, which libmicrohttpd de-chunks), authenticates (API keys
 * e2b_<hex> from the token file on the control plane; each sandbox's
 * access tokens on the data plane) and hands the request to its plane.
 * A thread per connection: streamed answers block in their reader. */
#include "e2b.h"
#include "header_deadline.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

struct e2b_listener {
	srv_service_t *svc;
	e2b_state_t *state;
	struct MHD_Daemon *daemon;
	int fd;
	char **keys, **names; /* the e2b_ keys of the token file (borrowed) */
	pthread_t expiry;
	bool expiry_started;
	int stop[2];
	srv_header_deadline_t *deadline; /* for clients trickling headers */
};

struct e2b_conn_req {
	char *body;
	size_t len, cap, limit;
	bool too_large, answered;
	uint64_t t0;
};

/* ---- answers ------------------------------------------------------------------- */

void e2b_reply_bytes(e2b_reply_t *r, int status, char *body, size_t len, const char *type)
{
	free(r->body);
	r->status = status;
	r->body = body;
	r->len = len;
	r->content_type = type;
}

void e2b_reply_json(e2b_reply_t *r, int status, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text) {
		e2b_reply_error(r, 500, "the answer could not be encoded as JSON");
		return;
	}
	e2b_reply_bytes(r, status, text, strlen(text), "application/json");
}

void e2b_reply_error(e2b_reply_t *r, int status, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *o = json_pack("{s:i,s:o}", "code", status, "message",
			      srv_json_text(msg, strlen(msg)));
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	e2b_reply_bytes(r, status, text, text ? strlen(text) : 0, "application/json");
}

/* A streamed answer being sent: its source and the piece in hand. */
struct sending {
	e2b_reply_t r;
	char *piece;
	size_t len, off;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct sending *s = cls;
	while (s->off == s->len) {
		free(s->piece);
		s->off = s->len = 0;
		if (!(s->piece = s->r.next(s->r.ctx, &s->len)))
			return MHD_CONTENT_READER_END_OF_STREAM;
	}
	return (ssize_t)srv_copy_out(s->piece, s->len, &s->off, buf, max);
}

static void stream_free(void *cls)
{
	struct sending *s = cls;
	s->r.free(s->r.ctx);
	free(s->piece);
	free(s);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, e2b_reply_t *r)
{
	struct MHD_Response *resp;
	if (r->next) {
		struct sending *copy = calloc(1, sizeof(*copy));
		if (!copy) {
			r->free(r->ctx);
			return MHD_NO;
		}
		copy->r = *r;
		copy->r.body = NULL;
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32768, stream_read, copy,
							 stream_free);
		if (!resp)
			stream_free(copy);
	} else {
		resp = r->body ? MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE)
			       : MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
		if (!resp)
			free(r->body);
	}
	r->body = NULL;
	if (!resp)
		return MHD_NO;
	if (r->content_type)
		MHD_add_response_header(resp, "Content-Type", r->content_type);
	if (r->next_token[0])
		MHD_add_response_header(resp, "X-Next-Token", r->next_token);
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	srv_metrics_http(r->status);
	return ret;
}

/* ---- requests -------------------------------------------------------------------- */

static const char *get_header(void *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static const char *get_query(void *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

static int connection_fd(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	return ci ? ci->connect_fd : -1;
}

/* The API key's name, or NULL (every key compared, none stopping early). */
static const char *api_key_owner(struct e2b_listener *l, const char *key)
{
	int match = -1;
	for (size_t i = 0; key && l->keys[i]; i++)
		if (srv_secret_equal(key, l->keys[i]) && match < 0)
			match = (int)i;
	return match < 0 ? NULL : l->names[match];
}

/* Who may make this request, from its head alone: the sandbox it is for
 * (data plane; a reference the caller puts) with rq->who its owner, or the
 * API key's owner (control plane; *sbp NULL). false with the refusal in r. */
static bool admit(struct e2b_listener *l, e2b_request_t *rq, e2b_reply_t *r, e2b_sandbox_t **sbp)
{
	const char *id = get_header(rq->conn, "E2b-Sandbox-Id");
	*sbp = NULL;
	if (!id) {
		if (!(rq->who = api_key_owner(l, get_header(rq->conn, "X-API-KEY")))) {
			srv_metrics_rejection("unauthorized");
			e2b_reply_error(r, 401, "Invalid API key");
			return false;
		}
		return true;
	}
	json_object_set_new(rq->audit, "sandbox", srv_json_text(id, strnlen(id, 64)));
	e2b_sandbox_t *sb = e2b_sandbox_get(l->state, id);
	if (!sb) {
		/* E2B's edge answers a dead sandbox so: the SDK reads 502 as
		 * "not running any more" (a 404 would break isRunning). */
		json_t *o = json_pack("{s:o,s:s,s:i}", "sandboxId", srv_json_text(id, strnlen(id, 64)),
				      "message", "The sandbox was not found", "code", 502);
		e2b_reply_json(r, 502, o);
		return false;
	}
	const char *port = get_header(rq->conn, "E2b-Sandbox-Port");
	const char *token = get_header(rq->conn, "X-Access-Token");
	const char *traffic = get_header(rq->conn, "E2B-Traffic-Access-Token");
	bool envd = port && strcmp(port, "49983") == 0;
	bool interp = port && strcmp(port, "49999") == 0;
	if (!envd && !interp) {
		e2b_reply_error(r, 502, "port %.8s of sandbox %.32s is not served here (envd: 49983, "
				"code interpreter: 49999)", port ? port : "(none)", id);
	} else if (envd && !(strcmp(rq->url, "/health") == 0) &&
		   !(token && e2b_sandbox_token_ok(sb, token, false))) {
		e2b_reply_error(r, 401, "unauthorized access, please provide a valid access token or "
				"method signing if supported");
	} else if (interp && !(token && e2b_sandbox_token_ok(sb, token, false)) &&
		   !(traffic && e2b_sandbox_token_ok(sb, traffic, true))) {
		e2b_reply_error(r, 401, "unauthorized access, please provide a valid access token");
	} else {
		rq->who = e2b_sandbox_owner(sb);
		*sbp = sb;
		return true;
	}
	srv_metrics_rejection("unauthorized");
	e2b_sandbox_put(l->state, sb);
	return false;
}

/* Admits the whole request again (the sandbox may have ended while its
 * body came) and hands it to its plane. */
static void route(struct e2b_listener *l, e2b_request_t *rq, e2b_reply_t *r)
{
	e2b_sandbox_t *sb;
	if (!admit(l, rq, r, &sb))
		return;
	if (!sb) {
		e2b_control(l->state, rq, r);
		return;
	}
	const char *port = get_header(rq->conn, "E2b-Sandbox-Port");
	if (strcmp(port, "49983") == 0)
		e2b_envd(l->state, sb, rq, r);
	else
		e2b_interp(l->state, sb, rq, r);
	e2b_sandbox_put(l->state, sb);
}

static void audit(struct e2b_listener *l, struct MHD_Connection *c, e2b_request_t *rq,
		  const e2b_reply_t *r, uint64_t t0)
{
	(void)c;
	json_t *a = rq->audit;
	json_object_set_new(a, "event", json_string("e2b_request"));
	json_object_set_new(a, "who", json_string(rq->who ? rq->who : "anonymous"));
	json_object_set_new(a, "method", srv_json_text(rq->method, strnlen(rq->method, 32)));
	json_object_set_new(a, "path", srv_json_text(rq->url, strnlen(rq->url, 512)));
	json_object_set_new(a, "status", json_integer(r->status));
	json_object_set_new(a, "duration_ms", json_integer((json_int_t)(srv_now_ms() - t0)));
	srv_audit_append(l->svc->audit, json_incref(a));
}

/* A request's head: its state, and its admission (refused from the head
 * alone, MHD answers and closes the connection without reading the body,
 * so that nobody makes us hold a body without credentials). */
static enum MHD_Result begin(struct e2b_listener *l, struct MHD_Connection *c, const char *url,
			     const char *method, void **con_cls)
{
	struct e2b_conn_req *q = calloc(1, sizeof(*q));
	if (!q)
		return MHD_NO;
	q->t0 = srv_now_ms();
	*con_cls = q;
	srv_header_deadline_mark(l->deadline, c, true);
	const srv_policy_t *p = l->svc->policy;
	/* /files carries a whole file, multipart-wrapped. */
	q->limit = strcmp(url, "/files") == 0 ? p->max_file_bytes + 65536 : p->max_body_bytes;
	e2b_reply_t r = {0};
	e2b_sandbox_t *sb = NULL;
	e2b_request_t rq = {.method = method, .url = url, .body = "", .audit = json_object(),
			    .header = get_header, .query = get_query, .conn = c};
	const char *cl = get_header(c, "Content-Length");
	if (admit(l, &rq, &r, &sb) && cl && strtoull(cl, NULL, 10) > q->limit)
		e2b_reply_error(&r, 413, "the request body is larger than this server's limit of "
				"%zu bytes", q->limit);
	e2b_sandbox_put(l->state, sb);
	enum MHD_Result ret = MHD_YES;
	if (r.status) {
		q->answered = true;
		audit(l, c, &rq, &r, q->t0);
		ret = send_reply(c, &r);
	}
	json_decref(rq.audit);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **con_cls)
{
	struct e2b_conn_req *q = *con_cls;
	struct e2b_listener *l = cls;
	(void)version;
	if (!q)
		return begin(l, c, url, method, con_cls);
	if (q->answered) {
		*upload_data_size = 0; /* the rest of a refused body */
		return MHD_YES;
	}
	if (*upload_data_size && q->len + *upload_data_size <= q->limit) {
		if (srv_buf_append(&q->body, &q->len, &q->cap, upload_data, *upload_data_size) < 0)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* The whole body, or a chunked one past the limit: answered now
	 * (the rest of such a body is not read; the connection closes). */
	q->too_large = *upload_data_size != 0;
	*upload_data_size = 0;
	q->answered = true;
	e2b_reply_t r = {0};
	e2b_request_t rq = {.method = method, .url = url, .body = q->body ? q->body : "",
			    .len = q->len, .client_fd = connection_fd(c), .audit = json_object(),
			    .header = get_header, .query = get_query, .conn = c};
	if (q->too_large)
		e2b_reply_error(&r, 413, "the request body is larger than this server's limit of %zu "
				"bytes", q->limit);
	else
		route(l, &rq, &r);
	if (!r.status)
		e2b_reply_error(&r, 500, "no answer");
	audit(l, c, &rq, &r, q->t0);
	json_decref(rq.audit);
	return send_reply(c, &r);
}

static void request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	(void)toe;
	struct e2b_listener *l = cls;
	struct e2b_conn_req *q = *con_cls;
	if (q) {
		srv_header_deadline_mark(l->deadline, c, false);
		free(q->body);
		free(q);
	}
	*con_cls = NULL;
}

/* ---- the listener ------------------------------------------------------------------- */

/* Sandboxes end at their end time, to the quarter second. */
static void *expiry_main(void *arg)
{
	struct e2b_listener *l = arg;
	struct pollfd pfd = {l->stop[0], POLLIN, 0};
	while (poll(&pfd, 1, 250) == 0)
		e2b_expire(l->state, srv_now_ms());
	return NULL;
}

/* An E2B API key: e2b_ and hex digits (the SDK 2.39 checks that form). */
static bool is_api_key(const char *t)
{
	if (strncmp(t, "e2b_", 4) != 0 || !t[4])
		return false;
	for (const char *p = t + 4; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

void e2b_listener_stop(e2b_listener_t *l)
{
	if (!l)
		return;
	if (l->expiry_started)
		srv_thread_stop(l->stop[1], l->expiry);
	if (l->stop[0] >= 0) {
		close(l->stop[0]);
		close(l->stop[1]);
	}
	if (l->daemon) {
		int fd = MHD_quiesce_daemon(l->daemon);
		MHD_stop_daemon(l->daemon);
		if (fd >= 0)
			close(fd);
	} else if (l->fd >= 0) {
		close(l->fd);
	}
	srv_header_deadline_stop(l->deadline);
	e2b_state_free(l->state);
	free(l->keys);
	free(l->names);
	free(l);
}

e2b_listener_t *e2b_listen(srv_service_t *svc, const char *addr, char **tokens,
			   char **names, const char *ready_file, unsigned max_connections,
			   unsigned max_connections_per_ip, unsigned header_timeout_s, srv_err_t *err)
{
	size_t n = 0;
	for (size_t i = 0; tokens && tokens[i]; i++)
		n += is_api_key(tokens[i]);
	if (!n)
		return srv_fail(err, 400, "invalid_request",
				"--e2b-listen needs API keys: lines \"NAME e2b_<hex>\" in --token-file "
				"(e.g. e2b_$(openssl rand -hex 20))"), NULL;
	struct sockaddr_storage ss;
	socklen_t sl;
	bool loopback;
	if (srv_parse_listen(addr, &ss, &sl, &loopback, err) < 0)
		return NULL;
	struct e2b_listener *l = calloc(1, sizeof(*l));
	if (!l)
		return srv_fail(err, 500, "internal", "out of memory"), NULL;
	l->svc = svc;
	l->fd = -1;
	l->stop[0] = l->stop[1] = -1;
	l->keys = calloc(n + 1, sizeof(char *));
	l->names = calloc(n + 1, sizeof(char *));
	if (!l->keys || !l->names) {
		srv_fail(err, 500, "internal", "out of memory");
		goto fail;
	}
	for (size_t i = 0, k = 0; tokens[i]; i++) {
		if (is_api_key(tokens[i])) {
			l->keys[k] = tokens[i];
			l->names[k++] = names[i];
		}
	}
	if (!(l->state = e2b_state_new(svc, err)))
		goto fail;
	int one = 1;
	l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(l->fd, (struct sockaddr *)&ss, sl) < 0 || listen(l->fd, 128) < 0) {
		srv_fail(err, 500, "internal", "cannot listen on %s: %s", addr, strerror(errno));
		goto fail;
	}
	getsockname(l->fd, (struct sockaddr *)&ss, &sl);
	unsigned port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The same header deadline as the API's listener: streams are
	 * requests, so only the time to a complete head counts. */
	if (!(l->deadline = srv_header_deadline_start(header_timeout_s, err)))
		goto fail;
	/* Idle connections end after 310 s: longer than the SDK's own
	 * 300 s between body chunks, and streams send keepalives. */
	l->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handler, l, MHD_OPTION_LISTEN_SOCKET,
				     l->fd, MHD_OPTION_NOTIFY_COMPLETED, request_completed, l,
				     MHD_OPTION_UNESCAPE_CALLBACK, srv_http_unescape, NULL,
				     MHD_OPTION_CONNECTION_LIMIT, max_connections,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT, max_connections_per_ip,
				     MHD_OPTION_NOTIFY_CONNECTION, srv_header_deadline_notify, l->deadline,
				     MHD_OPTION_CONNECTION_TIMEOUT, 310u, MHD_OPTION_END);
	if (!l->daemon) {
		srv_fail(err, 500, "internal", "cannot start the E2B listener on %s", addr);
		goto fail;
	}
	if (pipe2(l->stop, O_CLOEXEC) < 0 || pthread_create(&l->expiry, NULL, expiry_main, l) != 0) {
		srv_fail(err, 500, "internal", "cannot start the E2B expiry thread");
		goto fail;
	}
	l->expiry_started = true;
	fprintf(stderr, "symbi-sandbox serve: E2B API on port %u (E2B_API_URL and E2B_SANDBOX_URL: "
		"http://HOST:%u; %zu API key%s)\n", port, port, n, n == 1 ? "" : "s");
	srv_write_ready_file(ready_file, port);
	return l;
fail:
	e2b_listener_stop(l);
	return NULL;
}
