/* A small client of the Docker Engine API over the daemon's unix socket
 * (libcurl), for what the CLI is too slow for: one-shot runs (docker_api.c)
 * and the exec calls of live sandboxes (docker_live.c). libcurl is loaded
 * when a docker backend starts, not linked: with its dependencies (TLS, LDAP, Kerberos...) it
 * would more than double the start-up of every process that links the
 * library, the native backend's included. */
#ifndef SYMBI_BACKENDS_DOCKER_ENGINE_H
#define SYMBI_BACKENDS_DOCKER_ENGINE_H

#include <symbi/sandbox.h>

#include <jansson.h>
#include <stddef.h>

/* The daemon's socket: DOCKER_HOST's unix:// path, or
 * /var/run/docker.sock. Any other DOCKER_HOST (tcp://, ssh://) is refused
 * with a message: the Engine API client speaks only to a local socket. */
int symbi_engine_socket(char *out, size_t size, symbi_error_t *err);

/* The libcurl functions the client calls, loaded by symbi_engine_open. */
typedef struct symbi_curl_fns {
	void *(*easy_init)(void);
	int (*easy_setopt)(void *c, int option, ...);
	int (*easy_perform)(void *c);
	int (*easy_getinfo)(void *c, int info, ...);
	void (*easy_cleanup)(void *c);
	const char *(*easy_strerror)(int code);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
} symbi_curl_fns_t;

/* A connection to the daemon: its socket and libcurl. */
typedef struct symbi_engine {
	char socket[108];
	void *lib; /* libcurl's handle; NULL when closed */
	symbi_curl_fns_t curl;
} symbi_engine_t;

/* Finds the socket (symbi_engine_socket) and loads libcurl. Returns 0, or
 * -1 with err (libcurl missing: how to install it). Close with
 * symbi_engine_close (also after a failure; closing twice is a no-op). */
int symbi_engine_open(symbi_engine_t *e, symbi_error_t *err);
void symbi_engine_close(symbi_engine_t *e);

/* One request: METHOD path with body (a JSON document, or NULL). Returns
 * the HTTP status with the reply parsed in *reply (NULL when it is empty
 * or not JSON; the caller frees it), or -1 with err when the daemon could
 * not be reached. Each request has a connection of its own,
 * close-on-exec. */
long symbi_engine_request(const symbi_engine_t *e, const char *method, const char *path,
			  json_t *body, json_t **reply, symbi_error_t *err);

/* The same with its own time limit (0: none, for a request that waits,
 * like ContainerWait). */
long symbi_engine_request_timed(const symbi_engine_t *e, const char *method, const char *path,
				json_t *body, long timeout_ms, json_t **reply, symbi_error_t *err);

/* The daemon's message in a reply ("message"), or a fallback. */
const char *symbi_engine_message(const json_t *reply);

/* POST path with body, the connection then hijacked (ExecStart): the
 * returned descriptor is the raw stream, connected, close-on-exec; the
 * caller closes it. -1 with err on failure. Also for a request whose
 * reply comes late (ContainerWait): it returns once the headers came, the
 * descriptor then carries the body. */
int symbi_engine_hijack(const symbi_engine_t *e, const char *path, json_t *body,
			symbi_error_t *err);

/* Writes all of data to fd: a socket without raising SIGPIPE, or else (a
 * pipe) with write(). Returns 0, or -1 with errno. */
int symbi_engine_write_all(int fd, const char *data, size_t len);

/* Reading the multiplexed stream of a non-tty exec: frames of an 8-byte
 * header (stream 1 stdout, 2 stderr; 4-byte big-endian length) and the
 * payload. Fed bytes as they come, it calls out for each piece of payload. */
typedef struct symbi_engine_demux {
	unsigned char header[8];
	size_t have;      /* bytes of the header read */
	size_t remaining; /* payload bytes left in this frame */
	int stream;
} symbi_engine_demux_t;

/* Returns 0, or -1 if the stream is malformed (an unknown stream type). */
int symbi_engine_demux_feed(symbi_engine_demux_t *d, const char *data, size_t len,
			    void (*out)(void *ctx, int stream, const char *data, size_t len),
			    void *ctx);

/* Carries a hijacked stream until it ends or breaks: what *in_fd gives
 * goes to the stream, and at its end the stream's write side is shut down
 * (the process's stdin ends) and *in_fd is closed and set to -1 (-1 from
 * the start: no stdin; the caller shuts the write side itself). What comes
 * back is demultiplexed to out(ctx, ...). Meant for a thread of its own:
 * it blocks SIGPIPE in the calling thread. */
void symbi_engine_pump(int conn, int *in_fd,
		       void (*out)(void *ctx, int stream, const char *data, size_t len), void *ctx);

#endif
