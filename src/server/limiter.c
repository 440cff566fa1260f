/* Bounded concurrency: at most max_running executions at once, at most
 * max_queued waiting (first come, first served), the rest refused. */
#include "server.h"

#include <errno.h>
#include <stdlib.h>

/* A request waiting for a slot; the queue is a FIFO list of these. */
struct waiter {
	struct waiter *next;
};

struct srv_limiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t max_running, max_queued;
	size_t running, queued;
	struct waiter *head, **tail;
	bool closed;
};

srv_limiter_t *srv_limiter_new(size_t max_running, size_t max_queued)
{
	srv_limiter_t *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	pthread_mutex_init(&l->lock, NULL);
	srv_cond_init_monotonic(&l->cond);
	l->max_running = max_running;
	l->max_queued = max_queued;
	l->tail = &l->head;
	return l;
}

void srv_limiter_free(srv_limiter_t *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	free(l);
}

static void leave_queue(srv_limiter_t *l, struct waiter *w)
{
	struct waiter **pp = &l->head;
	while (*pp != w)
		pp = &(*pp)->next;
	*pp = w->next;
	if (l->tail == &w->next)
		l->tail = pp;
	l->queued--;
	pthread_cond_broadcast(&l->cond); /* the next one may now be first */
}

int srv_limiter_acquire(srv_limiter_t *l, int client_fd, srv_err_t *err, unsigned retry_after)
{
	pthread_mutex_lock(&l->lock);
	if (l->closed) {
		pthread_mutex_unlock(&l->lock);
		srv_metrics_rejection("shutting_down");
		return srv_fail(err, 503, "shutting_down", "the server is shutting down");
	}
	if (l->running < l->max_running && l->queued == 0) {
		l->running++;
		pthread_mutex_unlock(&l->lock);
		return 0;
	}
	if (l->queued >= l->max_queued) {
		pthread_mutex_unlock(&l->lock);
		srv_metrics_rejection("queue_full");
		return srv_fail(err, 429, "too_many_requests",
				"%zu executions are running and %zu waiting, the most this server "
				"allows; retry in %u s", l->max_running, l->max_queued, retry_after);
	}
	struct waiter w = {0};
	*l->tail = &w;
	l->tail = &w.next;
	l->queued++;
	/* Wakes up at least every 100 ms to see whether its client is still
	 * there: one that went away leaves the queue (its place is not kept). */
	while (!l->closed && (l->head != &w || l->running >= l->max_running)) {
		if (srv_client_gone(client_fd)) {
			leave_queue(l, &w);
			pthread_mutex_unlock(&l->lock);
			srv_metrics_rejection("client_disconnected");
			return srv_fail(err, 400, "client_disconnected",
					"the client went away while its request waited");
		}
		srv_cond_wait_ms(&l->cond, &l->lock, 100);
	}
	leave_queue(l, &w);
	if (l->closed) {
		pthread_mutex_unlock(&l->lock);
		srv_metrics_rejection("shutting_down");
		return srv_fail(err, 503, "shutting_down", "the server is shutting down");
	}
	l->running++;
	pthread_mutex_unlock(&l->lock);
	return 0;
}

void srv_limiter_release(srv_limiter_t *l)
{
	pthread_mutex_lock(&l->lock);
	l->running--;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

void srv_limiter_close(srv_limiter_t *l)
{
	pthread_mutex_lock(&l->lock);
	l->closed = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

int srv_limiter_wait_idle(srv_limiter_t *l, uint64_t deadline_ms)
{
	struct timespec ts = {.tv_sec = (time_t)(deadline_ms / 1000),
			      .tv_nsec = (long)(deadline_ms % 1000) * 1000000};
	pthread_mutex_lock(&l->lock);
	int rc = 0;
	while (l->running > 0 || l->queued > 0) {
		if (pthread_cond_timedwait(&l->cond, &l->lock, &ts) == ETIMEDOUT) {
			rc = (l->running > 0 || l->queued > 0) ? -1 : 0;
			break;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

void srv_limiter_stats(srv_limiter_t *l, size_t *running, size_t *queued)
{
	pthread_mutex_lock(&l->lock);
	*running = l->running;
	*queued = l->queued;
	pthread_mutex_unlock(&l->lock);
}
