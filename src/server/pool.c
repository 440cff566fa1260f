/* Warm sandboxes for one-shot executions: live sandboxes started ahead of
 * time, per configuration that clients ask for, so that a request costs one
 * exec instead of a sandbox's start and stop. A one-shot execution means
 * start + exec + stop with the same results (include/symbi/sandbox.h), so a
 * warm sandbox serves it unchanged.
 *
 * Isolation: a warm sandbox holds nothing of any client before it is taken,
 * and serves exactly one execution: once used it is stopped, never handed
 * out again. Stopping it, and starting its replacement, happen on the
 * pool's own thread, after the request (off its path); a retired sandbox's
 * processes are killed within moments, and under its limits until then.
 *
 * Native, docker and gvisor sandboxes are kept warm (a warm container is
 * one live container: an execution is an exec through the Engine API).
 * Executions with files are not served warm: their workspace is a volume,
 * which a sandbox takes when it starts. The process backend has no live
 * sandboxes. */
#include "server.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Configurations kept warm at once (least recently used goes first), the
 * most sandboxes kept per configuration, and the most waiting to be
 * stopped before a request stops its own (a burst must not pile up
 * sandboxes faster than the thread stops them). */
#define POOL_TEMPLATES 8
#define POOL_MAX_DEPTH 8
#define POOL_MAX_RETIRED 32

typedef struct pool_template {
	bool used;
	bool broken;        /* its sandboxes do not start: requests go the long way */
	srv_exec_spec_t key;
	uint64_t generation; /* a sandbox started for an evicted key is retired */
	uint64_t last_take_ms;
	symbi_live_t *warm[POOL_MAX_DEPTH];
	/* Taken and serving: each holds its place until retired, so that its
	 * replacement starts after the request rather than during it (on 2
	 * CPUs a docker container's start slows the exec it overlaps by half). */
	symbi_live_t *taken[POOL_MAX_DEPTH];
	size_t nwarm, starting, ntaken;
} pool_template_t;

struct srv_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool stopping;
	size_t depth;
	uint64_t generations;
	pool_template_t t[POOL_TEMPLATES];
	symbi_live_t *retired[POOL_MAX_RETIRED];
	size_t nretired;
};

/* What makes two executions' sandboxes the same. The timeout and the
 * output cap are each execution's own (srv_execute_once passes them with
 * the exec), and the idle TTL is a session's. */
static bool same_spec(const srv_exec_spec_t *a, const srv_exec_spec_t *b)
{
	const srv_limits_t *x = &a->limits, *y = &b->limits;
	return strcmp(a->backend, b->backend) == 0 && strcmp(a->image, b->image) == 0 &&
	       strcmp(a->shell, b->shell) == 0 && strcmp(a->network, b->network) == 0 &&
	       x->memory_bytes == y->memory_bytes && x->cpus == y->cpus && x->pids == y->pids;
}

/* Called with the lock held; false if the queue is full. */
static bool queue_retired(srv_pool_t *p, symbi_live_t *lv)
{
	if (p->nretired == POOL_MAX_RETIRED)
		return false;
	p->retired[p->nretired++] = lv;
	pthread_cond_signal(&p->wake);
	return true;
}

/* Called with the lock held, which it drops while it stops lv. */
static void stop_now(srv_pool_t *p, symbi_live_t *lv)
{
	pthread_mutex_unlock(&p->lock);
	symbi_live_stop(lv);
	pthread_mutex_lock(&p->lock);
}

static void retire_template(srv_pool_t *p, pool_template_t *t)
{
	while (t->nwarm > 0) {
		symbi_live_t *lv = t->warm[--t->nwarm];
		if (!queue_retired(p, lv))
			stop_now(p, lv);
	}
}

/* A configuration that wants one more sandbox, or NULL. */
static pool_template_t *wanting(srv_pool_t *p)
{
	for (size_t i = 0; i < POOL_TEMPLATES; i++) {
		pool_template_t *t = &p->t[i];
		if (t->used && !t->broken && t->nwarm + t->starting + t->ntaken < p->depth)
			return t;
	}
	return NULL;
}

static symbi_live_t *start_warm(const srv_exec_spec_t *key)
{
	srv_err_t err = {0};
	symbi_error_t lerr = {0};
	symbi_config_t *cfg = srv_spec_config(key, NULL, &err);
	symbi_live_t *lv = cfg ? symbi_live_start(cfg, &lerr) : NULL;
	symbi_config_free(cfg);
	return lv;
}

/* The pool's thread: stops retired sandboxes first (they may still run a
 * client's leftovers), then starts what configurations lack. */
static void *pool_main(void *arg)
{
	srv_pool_t *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		pool_template_t *t;
		if (p->nretired > 0) {
			stop_now(p, p->retired[--p->nretired]);
			continue;
		}
		if (!(t = wanting(p))) {
			pthread_cond_wait(&p->wake, &p->lock);
			continue;
		}
		srv_exec_spec_t key = t->key;
		uint64_t generation = t->generation;
		t->starting++;
		pthread_mutex_unlock(&p->lock);
		symbi_live_t *lv = start_warm(&key);
		pthread_mutex_lock(&p->lock);
		t->starting--;
		bool current = t->used && t->generation == generation;
		if (!lv)
			t->broken |= current; /* requests will say why, the long way */
		else if (current && !p->stopping)
			t->warm[t->nwarm++] = lv;
		else
			stop_now(p, lv);
	}
	for (size_t i = 0; i < POOL_TEMPLATES; i++)
		while (p->t[i].nwarm > 0)
			stop_now(p, p->t[i].warm[--p->t[i].nwarm]);
	while (p->nretired > 0)
		stop_now(p, p->retired[--p->nretired]);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

srv_pool_t *srv_pool_new(size_t depth, srv_err_t *err)
{
	srv_pool_t *p = calloc(1, sizeof(*p));
	if (!p) {
		srv_fail(err, 500, "internal", "out of memory");
		return NULL;
	}
	p->depth = depth < POOL_MAX_DEPTH ? depth : POOL_MAX_DEPTH;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	if (p->depth && pthread_create(&p->thread, NULL, pool_main, p) != 0) {
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		free(p);
		srv_fail(err, 500, "internal", "cannot start the warm pool's thread");
		return NULL;
	}
	return p;
}

void srv_pool_free(srv_pool_t *p)
{
	if (!p)
		return;
	if (p->depth) {
		pthread_mutex_lock(&p->lock);
		p->stopping = true;
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static pool_template_t *template_for(srv_pool_t *p, const srv_exec_spec_t *spec)
{
	pool_template_t *lru = &p->t[0];
	for (size_t i = 0; i < POOL_TEMPLATES; i++) {
		pool_template_t *t = &p->t[i];
		if (t->used && same_spec(&t->key, spec))
			return t;
		if (!t->used || (lru->used && t->last_take_ms < lru->last_take_ms))
			lru = t;
	}
	/* A new configuration takes the place of the one least recently
	 * asked for; what was warm for that one is stopped. */
	retire_template(p, lru);
	lru->ntaken = 0; /* retired by their requests, for the old key */
	lru->used = true;
	lru->broken = false;
	lru->key = *spec;
	lru->generation = ++p->generations;
	return lru;
}

symbi_live_t *srv_pool_take(srv_pool_t *p, const srv_exec_spec_t *spec)
{
	if (!p || !p->depth || strcmp(spec->backend, "process") == 0)
		return NULL;
	symbi_live_t *lv = NULL;
	pthread_mutex_lock(&p->lock);
	pool_template_t *t = template_for(p, spec);
	t->last_take_ms = srv_now_ms();
	while (!lv && t->nwarm > 0) {
		lv = t->warm[t->nwarm - 1];
		t->nwarm--; /* taken: never handed out again */
		/* Killed while it waited (its init by the OOM killer, say). */
		if (symbi_live_ended(lv)) {
			if (!queue_retired(p, lv))
				stop_now(p, lv);
			lv = NULL;
		}
	}
	if (lv && t->ntaken < POOL_MAX_DEPTH)
		t->taken[t->ntaken++] = lv; /* replaced once retired */
	else
		pthread_cond_signal(&p->wake); /* a first one, or a replacement now */
	pthread_mutex_unlock(&p->lock);
	return lv;
}

/* Its place in its configuration is free again. */
static void release_taken(srv_pool_t *p, const symbi_live_t *lv)
{
	for (size_t i = 0; i < POOL_TEMPLATES; i++) {
		pool_template_t *t = &p->t[i];
		for (size_t k = 0; k < t->ntaken; k++)
			if (t->taken[k] == lv) {
				t->taken[k] = t->taken[--t->ntaken];
				return;
			}
	}
}

void srv_pool_retire(srv_pool_t *p, symbi_live_t *lv)
{
	pthread_mutex_lock(&p->lock);
	release_taken(p, lv);
	pthread_cond_signal(&p->wake); /* its replacement */
	bool queued = !p->stopping && queue_retired(p, lv);
	pthread_mutex_unlock(&p->lock);
	if (!queued)
		symbi_live_stop(lv);
}
