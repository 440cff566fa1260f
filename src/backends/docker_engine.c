/* The Docker Engine API over the daemon's unix socket, with libcurl: plain
 * requests (create an exec, inspect it), and ExecStart, whose connection
 * the daemon hijacks to carry the process's standard streams. libcurl has
 * no API for a hijacked connection, so ExecStart connects to the socket
 * itself and speaks HTTP/1.1 on it; the reply headers are peeked at and
 * only they are taken, so that none of the stream after them is
 * swallowed. No API version is pinned: the paths are unversioned and the
 * daemon answers in its own. */
#include "docker_engine.h"
#include "../core/error.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define ENGINE_DEFAULT_SOCKET "/var/run/docker.sock"
#define ENGINE_TIMEOUT_MS 30000L
#define ENGINE_REPLY_MAX (4u << 20)
#define ENGINE_HEADER_MAX 8192

int symbi_engine_socket(char *out, size_t size, symbi_error_t *err)
{
	const char *host = getenv("DOCKER_HOST");
	const char *path = ENGINE_DEFAULT_SOCKET;
	if (host && host[0]) {
		if (strncmp(host, "unix://", 7) != 0)
			return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0,
					  "DOCKER_HOST is %.200s: the Engine API client talks to the "
					  "daemon's local unix socket only (unix://PATH)", host);
		path = host + 7;
	}
	if (path[0] != '/' || strlen(path) >= size || strlen(path) >= 108)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0,
				  "the Docker daemon's socket path '%.200s' is not usable", path);
	snprintf(out, size, "%s", path);
	return 0;
}

/* The soname Debian's libcurl4 (and libcurl3-gnutls's libcurl-gnutls.so.4)
 * install. */
static const char *const curl_sonames[] = {"libcurl.so.4", "libcurl-gnutls.so.4", NULL};

int symbi_engine_open(symbi_engine_t *e, symbi_error_t *err)
{
	memset(e, 0, sizeof(*e));
	if (symbi_engine_socket(e->socket, sizeof(e->socket), err) < 0)
		return -1;
	for (size_t i = 0; !e->lib && curl_sonames[i]; i++)
		e->lib = dlopen(curl_sonames[i], RTLD_NOW | RTLD_LOCAL);
	if (!e->lib)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0,
				  "the Engine API client needs libcurl (libcurl.so.4), which is not "
				  "installed: apt-get install libcurl4");
	struct {
		void **slot;
		const char *name;
	} fns[] = {
		{(void **)&e->curl.easy_init, "curl_easy_init"},
		{(void **)&e->curl.easy_setopt, "curl_easy_setopt"},
		{(void **)&e->curl.easy_perform, "curl_easy_perform"},
		{(void **)&e->curl.easy_getinfo, "curl_easy_getinfo"},
		{(void **)&e->curl.easy_cleanup, "curl_easy_cleanup"},
		{(void **)&e->curl.easy_strerror, "curl_easy_strerror"},
		{(void **)&e->curl.slist_append, "curl_slist_append"},
		{(void **)&e->curl.slist_free_all, "curl_slist_free_all"},
	};
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		if (!(*fns[i].slot = dlsym(e->lib, fns[i].name))) {
			symbi_engine_close(e);
			return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0,
					  "the installed libcurl has no %s", fns[i].name);
		}
	return 0;
}

void symbi_engine_close(symbi_engine_t *e)
{
	if (e->lib)
		dlclose(e->lib);
	e->lib = NULL;
}

/* The sockets libcurl opens are close-on-exec, so that no program the
 * caller starts meanwhile inherits a connection to the daemon. */
static curl_socket_t open_cloexec(void *ctx, curlsocktype purpose, struct curl_sockaddr *a)
{
	(void)ctx;
	(void)purpose;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

typedef struct reply_buf {
	char *data;
	size_t len;
	bool too_big;
} reply_buf_t;

static size_t collect(char *data, size_t size, size_t n, void *ctx)
{
	reply_buf_t *b = ctx;
	size_t len = size * n;
	if (b->len + len > ENGINE_REPLY_MAX) {
		b->too_big = true;
		return 0;
	}
	char *grown = realloc(b->data, b->len + len + 1);
	if (!grown)
		return 0;
	memcpy(grown + b->len, data, len);
	b->len += len;
	grown[b->len] = '\0';
	b->data = grown;
	return len;
}

long symbi_engine_request(const symbi_engine_t *e, const char *method, const char *path,
			  json_t *body, json_t **reply, symbi_error_t *err)
{
	return symbi_engine_request_timed(e, method, path, body, ENGINE_TIMEOUT_MS, reply, err);
}

/* A new handle and connection per request. Keeping either between
 * requests was measured to save ~0.1 ms a request, and costs with
 * libcurl 7.88: a kept handle keeps a socket pair of libcurl's that is not
 * close-on-exec, and a connection of ours handed in for reuse
 * (CURL_SOCKOPT_ALREADY_CONNECTED) is connected again (EISCONN), which
 * fails the request. */
long symbi_engine_request_timed(const symbi_engine_t *e, const char *method, const char *path,
				json_t *body, long timeout_ms, json_t **reply, symbi_error_t *err)
{
	const symbi_curl_fns_t *f = &e->curl;
	*reply = NULL;
	char url[1024];
	snprintf(url, sizeof(url), "http://docker%s", path);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	void *c = f->easy_init();
	struct curl_slist *headers = f->slist_append(NULL, "Content-Type: application/json");
	reply_buf_t buf = {0};
	long status = -1;
	if (!c || !headers || (body && !text)) {
		symbi_fail_nomem(err);
		goto out;
	}
	f->easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, e->socket);
	f->easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_cloexec);
	f->easy_setopt(c, CURLOPT_URL, url);
	f->easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	f->easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	f->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	f->easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	f->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	f->easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	f->easy_setopt(c, CURLOPT_WRITEDATA, &buf);
	if (text)
		f->easy_setopt(c, CURLOPT_POSTFIELDS, text);
	else if (strcmp(method, "POST") == 0)
		f->easy_setopt(c, CURLOPT_POSTFIELDS, "");
	int rc = f->easy_perform(c);
	if (rc != CURLE_OK) {
		symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "the Docker daemon (%s) did not answer %s %.200s: %s%s",
			   e->socket, method, path, f->easy_strerror(rc),
			   buf.too_big ? " (the reply was too big)" : "");
		goto out;
	}
	f->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (buf.data)
		*reply = json_loadb(buf.data, buf.len, 0, NULL);
out:
	free(buf.data);
	free(text);
	f->slist_free_all(headers);
	if (c)
		f->easy_cleanup(c);
	return status;
}

const char *symbi_engine_message(const json_t *reply)
{
	const char *m = json_string_value(json_object_get(reply, "message"));
	return m ? m : "no message from the daemon";
}

/* Reads the reply's status line and headers, and nothing after them;
 * returns the status, or -1. What has come is peeked at (MSG_PEEK), and
 * taken up to the blank line that ends the headers: reading a byte at a
 * time cost a poll and a recv per byte. */
static long read_head(int fd, char *head, size_t size, long *content_length)
{
	size_t len = 0, seen = 0;
	*content_length = 0;
	for (;;) {
		struct pollfd pf = {fd, POLLIN, 0};
		int r = poll(&pf, 1, (int)ENGINE_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		ssize_t n = recv(fd, head + len, size - 1 - len, MSG_PEEK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		/* The blank line, searched for from where it can start. */
		size_t end = 0, have = len + (size_t)n;
		for (size_t i = seen; i + 4 <= have; i++)
			if (memcmp(head + i, "\r\n\r\n", 4) == 0) {
				end = i + 4;
				break;
			}
		seen = have >= 3 ? have - 3 : 0;
		size_t take = end ? end - len : (size_t)n;
		while ((n = recv(fd, head + len, take, 0)) < 0 && errno == EINTR)
			;
		if (n != (ssize_t)take)
			return -1;
		len += take;
		if (end)
			break;
		if (len + 1 >= size)
			return -1;
	}
	head[len] = '\0';
	long status;
	if (sscanf(head, "HTTP/1.%*d %ld", &status) != 1)
		return -1;
	const char *cl = strcasestr(head, "\r\nContent-Length:");
	if (cl)
		*content_length = strtol(cl + 17, NULL, 10);
	return status;
}

int symbi_engine_write_all(int fd, const char *data, size_t len)
{
	bool sock = true;
	while (len) {
		ssize_t n = sock ? send(fd, data, len, MSG_NOSIGNAL) : write(fd, data, len);
		if (n < 0 && errno == ENOTSOCK && sock) {
			sock = false;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* What the daemon said when it refused to hijack (a JSON body). */
static void refusal(int fd, long content_length, long status, const char *path,
		    symbi_error_t *err)
{
	char body[1024] = "";
	size_t want = content_length > 0 && (size_t)content_length < sizeof(body)
			      ? (size_t)content_length : sizeof(body) - 1;
	size_t got = 0;
	while (got < want) {
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, 5000) <= 0)
			break;
		ssize_t n = recv(fd, body + got, want - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	body[got] = '\0';
	json_t *j = json_loads(body, 0, NULL);
	symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "the Docker daemon refused POST %.200s (HTTP %ld): %.500s",
		   path, status, j ? symbi_engine_message(j) : body);
	json_decref(j);
}

int symbi_engine_hijack(const symbi_engine_t *e, const char *path, json_t *body,
			symbi_error_t *err)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : strdup("");
	if (!text)
		return symbi_fail_nomem(err);
	/* A connection of its own, connected here (libcurl's CONNECT_ONLY
	 * took longer and gave nothing but the descriptor). Not an idle one:
	 * should the daemon close that as we take it, the exec would fail. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot create a socket for the Docker daemon");
		goto out;
	}
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", e->socket);
	int rc;
	while ((rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr))) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		symbi_fail(err, SYMBI_E_UNAVAILABLE, errno, "cannot connect to the Docker daemon (%s)",
			   e->socket);
		goto fail;
	}
	char head[ENGINE_HEADER_MAX];
	int n = snprintf(head, sizeof(head),
			 "POST %s HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
			 "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: %zu\r\n\r\n",
			 path, strlen(text));
	long content_length;
	if ((size_t)n >= sizeof(head) || symbi_engine_write_all(fd, head, (size_t)n) < 0 ||
	    symbi_engine_write_all(fd, text, strlen(text)) < 0) {
		symbi_fail(err, SYMBI_E_UNAVAILABLE, errno, "cannot send POST %.200s to the Docker daemon", path);
		goto fail;
	}
	long status = read_head(fd, head, sizeof(head), &content_length);
	if (status == 101 || status == 200)
		goto out;
	if (status < 0)
		symbi_fail(err, SYMBI_E_UNAVAILABLE, 0,
			   "the Docker daemon gave no valid answer to POST %.200s", path);
	else
		refusal(fd, content_length, status, path, err);
fail:
	close(fd);
	fd = -1;
out:
	free(text);
	return fd;
}

int symbi_engine_demux_feed(symbi_engine_demux_t *d, const char *data, size_t len,
			    void (*out)(void *ctx, int stream, const char *data, size_t len),
			    void *ctx)
{
	while (len) {
		if (d->remaining == 0) {
			size_t take = sizeof(d->header) - d->have;
			if (take > len)
				take = len;
			memcpy(d->header + d->have, data, take);
			d->have += take;
			data += take;
			len -= take;
			if (d->have < sizeof(d->header))
				return 0;
			d->have = 0;
			d->stream = d->header[0];
			if (d->stream < 0 || d->stream > 2)
				return -1;
			d->remaining = (size_t)d->header[4] << 24 | (size_t)d->header[5] << 16 |
				       (size_t)d->header[6] << 8 | (size_t)d->header[7];
			continue;
		}
		size_t take = d->remaining < len ? d->remaining : len;
		out(ctx, d->stream, data, take);
		d->remaining -= take;
		data += take;
		len -= take;
	}
	return 0;
}

static void close_in(int *in_fd)
{
	if (*in_fd >= 0)
		close(*in_fd);
	*in_fd = -1;
}

void symbi_engine_pump(int conn, int *in_fd,
		       void (*out)(void *ctx, int stream, const char *data, size_t len), void *ctx)
{
	/* stdin waits in `pending` while the stream cannot take it, so that a
	 * process that writes without reading never blocks us. */
	char buf[65536], pending[65536];
	size_t pend_off = 0, pend_len = 0;
	symbi_engine_demux_t demux = {0};
	/* out may write to a pipe whose reader is gone. */
	sigset_t pipe_set;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
	fcntl(conn, F_SETFL, fcntl(conn, F_GETFL) | O_NONBLOCK);
	for (;;) {
		struct pollfd pf[2] = {{conn, POLLIN | (pend_len ? POLLOUT : 0), 0},
				       {pend_len || *in_fd < 0 ? -1 : *in_fd, POLLIN, 0}};
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents & POLLOUT && pend_len) {
			ssize_t n = send(conn, pending + pend_off, pend_len, MSG_NOSIGNAL);
			if (n > 0) {
				pend_off += (size_t)n;
				pend_len -= (size_t)n;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				pend_len = 0;
				close_in(in_fd);
			}
		}
		if (pf[1].revents) {
			ssize_t n = read(*in_fd, pending, sizeof(pending));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				close_in(in_fd);
				shutdown(conn, SHUT_WR); /* the process's stdin ends */
			} else {
				pend_off = 0;
				pend_len = (size_t)n;
			}
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(conn, buf, sizeof(buf), 0);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0 || symbi_engine_demux_feed(&demux, buf, (size_t)n, out, ctx) < 0)
				break;
		}
	}
	close_in(in_fd);
}
