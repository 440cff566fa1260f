/* Streamed session executions: a thread waits for the process and turns its
 * output into NDJSON lines as it comes; the HTTP layer reads them (blocking,
 * one thread per connection) into a chunked answer. The lines queued at
 * once are bounded by max_output_bytes per stream (later output is dropped
 * from the stream; the result says it was truncated), so that a client that
 * reads slowly costs the server at most that much memory. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct line {
	struct line *next;
	size_t len, off;
	char data[];
};

struct srv_stream {
	srv_service_t *svc;
	symbi_process_t *proc;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct line *head, *tail;
	bool done;
	size_t cap, sent[2];
	unsigned char carry[2][4]; /* an incomplete UTF-8 sequence at a chunk's end */
	size_t carry_len[2];
	void (*release)(void *ctx);
	void *release_ctx;
	int client_fd; /* whose hang-up kills the process; -1: none */
	/* A cell instead of a process: a hang-up interrupts it through the
	 * cancel pipe (the context and its state stay). */
	srv_context_source_t cs;
	symbi_context_t *cx;
	int cancel[2];
	char *code;
	size_t code_len;
	uint64_t timeout_ms;
	bool hung_up;
};

/* ---- lines --------------------------------------------------------------- */

static void push_json(srv_stream_t *st, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return;
	size_t n = strlen(text);
	struct line *l = malloc(sizeof(*l) + n + 1);
	if (l) {
		memcpy(l->data, text, n);
		l->data[n] = '\n';
		l->len = n + 1;
		l->off = 0;
		l->next = NULL;
		if (st->tail)
			st->tail->next = l;
		else
			st->head = l;
		st->tail = l;
		pthread_cond_broadcast(&st->cond);
	}
	free(text);
}

/* Bytes of a UTF-8 sequence that starts with b (0: not a lead byte). */
static size_t utf8_len(unsigned char b)
{
	return b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
}

/* s[0..n) as a JSON string, every invalid sequence as U+FFFD. */
json_t *srv_utf8_lossy(const unsigned char *s, size_t n)
{
	json_t *t = json_stringn((const char *)s, n);
	if (t)
		return t;
	char *out = malloc(3 * n + 1);
	if (!out)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		size_t m = utf8_len(s[i]);
		json_t *one = m && i + m <= n ? json_stringn((const char *)s + i, m) : NULL;
		if (one) {
			memcpy(out + k, s + i, m);
			k += m;
			i += m;
			json_decref(one);
		} else {
			memcpy(out + k, "\xEF\xBF\xBD", 3);
			k += 3;
			i++;
		}
	}
	t = json_stringn(out, k);
	free(out);
	return t;
}

/* Where a chunk can end without cutting a sequence: before an incomplete
 * one at its very end. */
size_t srv_utf8_complete_prefix(const unsigned char *s, size_t n)
{
	for (size_t back = 1; back <= 3 && back <= n; back++) {
		size_t m = utf8_len(s[n - back]);
		if (m > 1)
			return m > back ? n - back : n;
		if (m == 1)
			return n;
	}
	return n;
}

static void push_output(srv_stream_t *st, int which, const char *data, size_t len)
{
	int i = which == 1 ? 0 : 1;
	size_t room = st->cap > st->sent[i] ? st->cap - st->sent[i] : 0;
	if (len > room)
		len = room;
	if (!len && !st->carry_len[i])
		return;
	st->sent[i] += len;
	size_t total = st->carry_len[i] + len;
	unsigned char *buf = malloc(total ? total : 1);
	if (!buf)
		return;
	memcpy(buf, st->carry[i], st->carry_len[i]);
	memcpy(buf + st->carry_len[i], data, len);
	/* Past the cap nothing more comes: no carry then. */
	size_t cut = len && st->sent[i] < st->cap ? srv_utf8_complete_prefix(buf, total) : total;
	st->carry_len[i] = total - cut;
	memcpy(st->carry[i], buf + cut, st->carry_len[i]);
	if (cut)
		push_json(st, json_pack("{s:s,s:o}", "type", which == 1 ? "stdout" : "stderr",
					"data", srv_utf8_lossy(buf, cut)));
	free(buf);
}

static void on_output(void *ctx, int which, const char *data, size_t len)
{
	srv_stream_t *st = ctx;
	pthread_mutex_lock(&st->lock);
	push_output(st, which, data, len);
	pthread_mutex_unlock(&st->lock);
}

/* ---- the waiting thread -------------------------------------------------- */

/* The end: what is left of cut sequences, then the result line: the run's
 * JSON text (freed here), or where there is none, an error with lerr's
 * message. status and ms go to the metrics. */
static void finish(srv_stream_t *st, char *text, const symbi_error_t *lerr, const char *status,
		   uint64_t ms)
{
	json_t *o = text ? json_loads(text, JSON_ALLOW_NUL, NULL) : NULL;
	if (!o)
		o = json_pack("{s:s,s:s}", "status", "error", "error", lerr->message);
	free(text);
	srv_metrics_execution("native", status, ms);
	pthread_mutex_lock(&st->lock);
	push_output(st, 1, "", 0);
	push_output(st, 2, "", 0);
	json_object_set_new(o, "type", json_string("result"));
	push_json(st, o);
	st->done = true;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

static void *wait_main(void *arg)
{
	srv_stream_t *st = arg;
	symbi_result_t *res = NULL;
	symbi_error_t lerr = {0};
	int rc = symbi_process_wait(st->proc, &res, &lerr);
	srv_limiter_release(st->svc->limiter);
	char *text = rc == 0 ? symbi_result_to_json(res, &lerr) : NULL;
	finish(st, text, &lerr, res ? symbi_status_name(res->status) : "error",
	       res ? res->execution_time_ms : 0);
	symbi_result_free(res);
	return NULL;
}

/* A streamed cell: its thread runs it, then gives the context back. */
static void *cell_main(void *arg)
{
	srv_stream_t *st = arg;
	symbi_cell_t *cell = NULL;
	symbi_error_t lerr = {0};
	int rc = symbi_context_run_cancellable(st->cx, st->code, st->code_len, st->timeout_ms,
					       st->cancel[0], on_output, st, &cell, &lerr);
	st->cs.put(st->cs.ctx);
	srv_limiter_release(st->svc->limiter);
	char *text = rc == 0 ? symbi_cell_to_json(cell, &lerr) : NULL;
	finish(st, text, &lerr, cell ? symbi_status_name(cell->status) : "error",
	       cell ? cell->execution_time_ms : 0);
	symbi_cell_free(cell);
	return NULL;
}

/* Frees the queued lines and the stream itself. */
static void stream_release(srv_stream_t *st)
{
	free(st->code);
	for (int i = 0; i < 2; i++)
		if (st->cancel[i] >= 0)
			close(st->cancel[i]);
	while (st->head) {
		struct line *l = st->head;
		st->head = l->next;
		free(l);
	}
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

static srv_stream_t *stream_new(srv_service_t *svc, size_t cap, srv_exec_call_t *call,
				void (*release)(void *ctx), void *release_ctx, srv_err_t *err)
{
	srv_stream_t *st = calloc(1, sizeof(*st));
	if (!st) {
		srv_fail(err, 500, "internal", "out of memory");
		return NULL;
	}
	st->svc = svc;
	st->cap = cap;
	st->release = release;
	st->release_ctx = release_ctx;
	st->client_fd = call->client_fd;
	st->cancel[0] = st->cancel[1] = -1;
	pthread_mutex_init(&st->lock, NULL);
	srv_cond_init_monotonic(&st->cond);
	return st;
}

/* Queues the start line and starts the thread, which owns st from then on.
 * If the thread cannot start, what st holds goes back (its process,
 * killed; its context; its place in the limiter) and st is freed. */
static srv_stream_t *stream_launch(srv_stream_t *st, json_t *start, void *(*thread_main)(void *),
				   srv_exec_call_t *call, srv_err_t *err)
{
	push_json(st, start);
	if (pthread_create(&st->thread, NULL, thread_main, st) == 0) {
		json_object_set_new(call->audit, "stream", json_true());
		return st;
	}
	if (st->proc)
		symbi_process_free(st->proc);
	if (st->cx)
		st->cs.put(st->cs.ctx);
	srv_limiter_release(st->svc->limiter);
	srv_fail(err, 500, "internal", "cannot start the stream's thread");
	stream_release(st);
	return NULL;
}

srv_stream_t *srv_stream_start_cell(srv_service_t *svc, const srv_context_source_t *cs,
				    const char *code, size_t code_len, uint64_t timeout_ms,
				    size_t max_output_bytes, srv_exec_call_t *call,
				    void (*release)(void *ctx), void *release_ctx, srv_err_t *err)
{
	srv_stream_t *st = stream_new(svc, max_output_bytes, call, release, release_ctx, err);
	if (!st)
		return NULL;
	st->cs = *cs;
	st->timeout_ms = timeout_ms;
	st->code_len = code_len;
	if (!(st->code = malloc(code_len + 1))) {
		srv_fail(err, 500, "internal", "out of memory");
		goto fail;
	}
	memcpy(st->code, code, code_len);
	st->code[code_len] = '\0';
	if (pipe2(st->cancel, O_CLOEXEC) < 0) {
		srv_fail(err, 500, "internal", "cannot make the cell's cancel pipe: %s",
			 strerror(errno));
		goto fail;
	}
	if (srv_limiter_acquire(svc->limiter, call->client_fd, err, svc->policy->retry_after_s) < 0)
		goto fail;
	if (!(st->cx = cs->get(cs->ctx, err))) {
		srv_limiter_release(svc->limiter);
		goto fail;
	}
	return stream_launch(st, json_pack("{s:s}", "type", "start"), cell_main, call, err);
fail:
	stream_release(st);
	return NULL;
}

srv_stream_t *srv_stream_start(srv_service_t *svc, const srv_live_source_t *live,
			       const symbi_exec_options_t *opts, srv_exec_call_t *call,
			       void (*release)(void *ctx), void *release_ctx, srv_err_t *err)
{
	srv_stream_t *st = stream_new(svc, opts->max_output_bytes, call, release, release_ctx, err);
	if (!st)
		return NULL;
	if (srv_limiter_acquire(svc->limiter, call->client_fd, err, svc->policy->retry_after_s) < 0)
		goto fail;
	symbi_exec_options_t o = *opts;
	o.on_output = on_output;
	o.output_ctx = st;
	/* The server's shutdown deadline cancels it, as it does a plain
	 * execution (the result line then says "cancelled"). */
	if (o.cancel_fd < 0)
		o.cancel_fd = svc->cancel_fd[0];
	symbi_error_t lerr = {0};
	symbi_live_t *lv = live->get(live->ctx, &lerr);
	if (!lv || symbi_live_spawn(lv, &o, &st->proc, &lerr) < 0) {
		srv_limiter_release(svc->limiter);
		srv_fail_lib(err, &lerr);
		goto fail;
	}
	return stream_launch(st, json_pack("{s:s,s:i}", "type", "start", "pid", symbi_process_id(st->proc)),
			     wait_main, call, err);
fail:
	stream_release(st);
	return NULL;
}

/* The server's shutdown deadline passed: a process stream sees it through
 * its cancel_fd, a cell's stream here. */
static bool cell_shut_down(const srv_stream_t *st)
{
	struct pollfd p = {.fd = st->svc->cancel_fd[0], .events = POLLIN};
	return st->cancel[1] >= 0 && poll(&p, 1, 0) > 0;
}

/* A client that went away: its process is killed, its cell interrupted
 * (the context keeps its state, as after a timeout). */
static void stop_running(srv_stream_t *st)
{
	if (st->proc)
		symbi_process_signal(st->proc, SIGKILL, NULL);
	if (st->cancel[1] >= 0) {
		ssize_t w = write(st->cancel[1], "x", 1);
		(void)w;
	}
}

size_t srv_stream_read(srv_stream_t *st, char *buf, size_t max)
{
	pthread_mutex_lock(&st->lock);
	while (!st->head && !st->done) {
		if (srv_cond_wait_ms(&st->cond, &st->lock, 250) == ETIMEDOUT && !st->hung_up &&
		    (srv_client_gone(st->client_fd) || cell_shut_down(st))) {
			/* Stopped now; its result line ends the answer, which
			 * MHD then fails to send and frees the stream. */
			st->hung_up = true;
			stop_running(st);
		}
	}
	size_t n = 0;
	while (st->head && n < max) {
		struct line *l = st->head;
		size_t k = l->len - l->off < max - n ? l->len - l->off : max - n;
		memcpy(buf + n, l->data + l->off, k);
		n += k;
		l->off += k;
		if (l->off == l->len) {
			st->head = l->next;
			if (!st->head)
				st->tail = NULL;
			free(l);
		}
	}
	pthread_mutex_unlock(&st->lock);
	return n;
}

void srv_stream_free(srv_stream_t *st)
{
	if (!st)
		return;
	/* A client that went away does not leave its process running. */
	pthread_mutex_lock(&st->lock);
	bool running = !st->done;
	pthread_mutex_unlock(&st->lock);
	if (running)
		stop_running(st);
	pthread_join(st->thread, NULL);
	symbi_process_free(st->proc);
	if (st->release)
		st->release(st->release_ctx);
	stream_release(st);
}
