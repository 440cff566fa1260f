/* The header deadline of the HTTP listeners (http.c, e2b_http.c). Between
 * requests (from its accept, then from the end of each answer) a connection
 * has timeout_s to deliver a complete request head; a watchdog thread shuts
 * down the socket of one that does not, so that clients trickling headers
 * (slowloris) cannot hold threads and connection slots. libmicrohttpd's own
 * connection timeout restarts at every byte, so it cannot do this. */
#include "header_deadline.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn {
	int fd;
	uint64_t since_ms;
	bool in_request, cut;
	struct conn *prev, *next;
};

struct srv_header_deadline {
	uint64_t limit_ms;
	pthread_mutex_t lock;
	struct conn *conns;
	int stop[2];
	pthread_t thread;
};

static void *watchdog_main(void *arg)
{
	srv_header_deadline_t *d = arg;
	struct pollfd pfd = {.fd = d->stop[0], .events = POLLIN};
	while (poll(&pfd, 1, 250) <= 0 || !pfd.revents) {
		uint64_t now = srv_now_ms();
		pthread_mutex_lock(&d->lock);
		for (struct conn *k = d->conns; k; k = k->next) {
			if (!k->in_request && !k->cut && k->fd >= 0 && now - k->since_ms > d->limit_ms) {
				shutdown(k->fd, SHUT_RDWR);
				k->cut = true;
				srv_metrics_rejection("header_timeout");
			}
		}
		pthread_mutex_unlock(&d->lock);
	}
	return NULL;
}

srv_header_deadline_t *srv_header_deadline_start(unsigned timeout_s, srv_err_t *err)
{
	srv_header_deadline_t *d = calloc(1, sizeof(*d));
	if (!d)
		return srv_fail(err, 500, "internal", "out of memory"), NULL;
	d->limit_ms = (uint64_t)timeout_s * 1000;
	pthread_mutex_init(&d->lock, NULL);
	if (pipe2(d->stop, O_CLOEXEC) < 0) {
		pthread_mutex_destroy(&d->lock);
		free(d);
		return srv_fail(err, 500, "internal", "cannot start the header watchdog: %s",
				strerror(errno)), NULL;
	}
	if (pthread_create(&d->thread, NULL, watchdog_main, d) != 0) {
		close(d->stop[0]);
		close(d->stop[1]);
		pthread_mutex_destroy(&d->lock);
		free(d);
		return srv_fail(err, 500, "internal", "cannot start the header watchdog"), NULL;
	}
	return d;
}

void srv_header_deadline_stop(srv_header_deadline_t *d)
{
	if (!d)
		return;
	srv_thread_stop(d->stop[1], d->thread);
	close(d->stop[0]);
	close(d->stop[1]);
	/* No connection is left: MHD reports each closed before
	 * MHD_stop_daemon returns. */
	pthread_mutex_destroy(&d->lock);
	free(d);
}

void srv_header_deadline_notify(void *cls, struct MHD_Connection *c, void **socket_context,
				enum MHD_ConnectionNotificationCode code)
{
	srv_header_deadline_t *d = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		struct conn *k = calloc(1, sizeof(*k));
		if (!k)
			return;
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		k->fd = ci ? ci->connect_fd : -1;
		k->since_ms = srv_now_ms();
		pthread_mutex_lock(&d->lock);
		k->next = d->conns;
		if (d->conns)
			d->conns->prev = k;
		d->conns = k;
		pthread_mutex_unlock(&d->lock);
		*socket_context = k;
		return;
	}
	/* MHD_CONNECTION_NOTIFY_CLOSED comes before MHD closes the socket, so
	 * the watchdog never shuts down a descriptor that was reused. */
	struct conn *k = *socket_context;
	if (!k)
		return;
	pthread_mutex_lock(&d->lock);
	if (k->prev)
		k->prev->next = k->next;
	else
		d->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	pthread_mutex_unlock(&d->lock);
	free(k);
	*socket_context = NULL;
}

void srv_header_deadline_mark(srv_header_deadline_t *d, struct MHD_Connection *c,
			      bool in_request)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *k = ci ? ci->socket_context : NULL;
	if (!d || !k)
		return;
	pthread_mutex_lock(&d->lock);
	k->in_request = in_request;
	k->since_ms = srv_now_ms();
	pthread_mutex_unlock(&d->lock);
}
