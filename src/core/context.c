/* Stateful code contexts over the public live-sandbox API, whatever the
 * backend: a context is one long-running interpreter process started with
 * its stdin open (context_drivers.c); a thread waits for it, which streams
 * its output into the cell that runs. A cell ends when the end marker has
 * come on both stdout (with the result as JSON after it) and stderr; the
 * marker is cut out of what the caller sees, even split across reads. */
#include "context.h"
#include "error.h"
#include "result.h"
#include "stream.h"
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SECRET_BYTES 16
#define MARK_MAX (2 + 2 * SECRET_BYTES + 1 + 20)
/* How often a cancellable cell's wait looks at its cancel_fd. */
#define CANCEL_POLL_MS 50
/* How long a cell that ignores its interrupt gets before the context goes. */
#define INTERRUPT_GRACE_MS 2000
#define RESULT_LINE_MAX (1 << 20)

typedef void (*output_fn)(void *ctx, int which, const char *data, size_t len);

/* One of the interpreter's output streams, as the cells see it. */
struct cell_stream {
	symbi_stream_t cap;  /* the running cell's capture (and what came between cells) */
	char hold[MARK_MAX]; /* bytes that may begin the marker */
	size_t hold_len;
	bool marked;         /* the marker came: the cell's output is complete */
	bool in_result;      /* stdout: reading the result line after the marker */
	char *result;        /* stdout: that line */
	size_t result_len;
};

struct symbi_context {
	symbi_process_t *proc;
	bool python;
	size_t max_output;
	uint64_t default_timeout_ms;
	char secret[2 * SECRET_BYTES + 1];
	uint64_t seq;        /* the running cell's number, from 1 */
	char mark[MARK_MAX + 1]; /* its end marker */
	size_t mark_len;
	pthread_t waiter;
	pthread_mutex_t run_lock; /* one cell at a time */
	pthread_mutex_t lock;     /* guards what follows */
	pthread_cond_t cond;
	struct cell_stream out, err;
	output_fn on_output;
	void *output_ctx;
	bool dead;
	char why_dead[1024];
};

/* ---- the output parser (under lock, from the waiter thread) ------------- */

static void emit(symbi_context_t *cx, int which, const char *data, size_t len)
{
	if (!len)
		return;
	struct cell_stream *s = which == 1 ? &cx->out : &cx->err;
	symbi_stream_append(&s->cap, data, len); /* out of memory: less is kept */
	if (cx->on_output)
		cx->on_output(cx->output_ctx, which, data, len);
}

/* The longest end of buf[0..len) that begins the marker. */
static size_t marker_prefix(const symbi_context_t *cx, const char *buf, size_t len)
{
	size_t max = len < cx->mark_len - 1 ? len : cx->mark_len - 1;
	for (size_t k = max; k > 0; k--)
		if (memcmp(buf + len - k, cx->mark, k) == 0)
			return k;
	return 0;
}

static void take_result(struct cell_stream *s, const char *data, size_t len, size_t *used)
{
	const char *nl = memchr(data, '\n', len);
	size_t n = nl ? (size_t)(nl - data) : len;
	if (s->result_len + n <= RESULT_LINE_MAX) {
		char *grown = realloc(s->result, s->result_len + n + 1);
		if (grown) {
			memcpy(grown + s->result_len, data, n);
			s->result_len += n;
			grown[s->result_len] = '\0';
			s->result = grown;
		}
	}
	*used = nl ? n + 1 : n;
	if (nl)
		s->in_result = false;
}

static void feed(symbi_context_t *cx, int which, const char *data, size_t len)
{
	struct cell_stream *s = which == 1 ? &cx->out : &cx->err;
	if (!cx->mark_len) {
		/* Before the first cell (an interpreter that complains as it
		 * starts, or cannot start): no marker to look for; the first
		 * cell gets it. An empty marker would match everywhere and
		 * consume nothing. */
		emit(cx, which, data, len);
		return;
	}
	while (len) {
		if (s->in_result) {
			size_t used;
			take_result(s, data, len, &used);
			data += used;
			len -= used;
			continue;
		}
		/* Look for the marker in what was held back plus this chunk. */
		char buf[MARK_MAX * 2];
		size_t head = len < sizeof(buf) - s->hold_len ? len : sizeof(buf) - s->hold_len;
		memcpy(buf, s->hold, s->hold_len);
		memcpy(buf + s->hold_len, data, head);
		size_t blen = s->hold_len + head;
		const char *m = memmem(buf, blen, cx->mark, cx->mark_len);
		if (m) {
			size_t before = (size_t)(m - buf);
			emit(cx, which, buf, before);
			size_t consumed = before + cx->mark_len - s->hold_len; /* of data */
			s->hold_len = 0;
			s->marked = true;
			s->in_result = which == 1;
			data += consumed;
			len -= consumed;
			continue;
		}
		/* No marker across the boundary: the held bytes are output;
		 * then the chunk itself. */
		emit(cx, which, s->hold, s->hold_len);
		s->hold_len = 0;
		const char *in_chunk = memmem(data, len, cx->mark, cx->mark_len);
		size_t upto = in_chunk ? (size_t)(in_chunk - data) : len;
		size_t keep = in_chunk ? 0 : marker_prefix(cx, data, len);
		emit(cx, which, data, upto - keep);
		if (in_chunk) {
			s->marked = true;
			s->in_result = which == 1;
			data += upto + cx->mark_len;
			len -= upto + cx->mark_len;
		} else {
			memcpy(s->hold, data + len - keep, keep);
			s->hold_len = keep;
			len = 0;
		}
	}
}

static void on_interpreter_output(void *ctx, int which, const char *data, size_t len)
{
	symbi_context_t *cx = ctx;
	pthread_mutex_lock(&cx->lock);
	feed(cx, which, data, len);
	if (cx->out.marked && !cx->out.in_result && cx->err.marked)
		pthread_cond_broadcast(&cx->cond);
	pthread_mutex_unlock(&cx->lock);
}

static void *wait_interpreter(void *arg)
{
	symbi_context_t *cx = arg;
	symbi_result_t *res = NULL;
	symbi_error_t err = {0};
	int rc = symbi_process_wait(cx->proc, &res, &err);
	pthread_mutex_lock(&cx->lock);
	cx->dead = true;
	if (rc < 0)
		snprintf(cx->why_dead, sizeof(cx->why_dead), "%s", err.message);
	else if (res->error)
		snprintf(cx->why_dead, sizeof(cx->why_dead), "%s", res->error);
	else if (res->status == SYMBI_STATUS_EXITED)
		snprintf(cx->why_dead, sizeof(cx->why_dead), "the interpreter exited with status %d",
			 res->exit_code);
	else
		snprintf(cx->why_dead, sizeof(cx->why_dead), "the interpreter was killed by signal %d",
			 res->signal);
	pthread_cond_broadcast(&cx->cond);
	pthread_mutex_unlock(&cx->lock);
	symbi_result_free(res);
	return NULL;
}

/* ---- contexts ----------------------------------------------------------- */

static int make_secret(char *hex, symbi_error_t *err)
{
	unsigned char raw[SECRET_BYTES];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, raw, sizeof(raw));
	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)sizeof(raw))
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot read /dev/urandom");
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

/* Frees what a context owns besides its interpreter. */
static void context_release(symbi_context_t *cx)
{
	for (struct cell_stream *st = &cx->out; st; st = st == &cx->out ? &cx->err : NULL) {
		symbi_stream_free(&st->cap);
		free(st->result);
	}
	pthread_cond_destroy(&cx->cond);
	pthread_mutex_destroy(&cx->lock);
	pthread_mutex_destroy(&cx->run_lock);
	free(cx);
}

symbi_context_t *symbi_context_new(symbi_live_t *lv, const char *language, symbi_error_t *err)
{
	if (!lv || !language) {
		symbi_fail(err, SYMBI_E_INVALID, 0, "symbi_context_new: NULL argument");
		return NULL;
	}
	bool python = strcmp(language, "python") == 0;
	if (!python && strcmp(language, "sh") != 0) {
		symbi_fail(err, SYMBI_E_INVALID, 0,
			   "context language \"%.64s\" is not known (use python or sh)", language);
		return NULL;
	}
	symbi_context_t *cx = calloc(1, sizeof(*cx));
	if (!cx) {
		symbi_fail_nomem(err);
		return NULL;
	}
	if (make_secret(cx->secret, err) < 0) {
		free(cx);
		return NULL;
	}
	cx->python = python;
	symbi_live_limits(lv, &cx->default_timeout_ms, &cx->max_output);
	pthread_mutex_init(&cx->run_lock, NULL);
	pthread_mutex_init(&cx->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cx->cond, &ca);
	pthread_condattr_destroy(&ca);
	symbi_stream_init(&cx->out.cap, cx->max_output);
	symbi_stream_init(&cx->err.cap, cx->max_output);
	char *py[] = {"python3", "-c", (char *)symbi_context_python_driver, NULL};
	char *sh[] = {"sh", "-c", (char *)symbi_context_sh_driver, NULL};
	/* The interpreter lives as long as the context: no timeout of its own
	 * (each cell has one), output seen chunk by chunk, never kept. */
	symbi_exec_options_t o = {
		.argv = python ? py : sh, .cancel_fd = -1, .timeout_ms = UINT64_MAX / 2,
		.max_output_bytes = 1, .on_output = on_interpreter_output, .output_ctx = cx,
		.stdin_open = true,
	};
	if (symbi_live_spawn(lv, &o, &cx->proc, err) < 0)
		goto fail;
	char line[sizeof(cx->secret) + 1];
	int n = snprintf(line, sizeof(line), "%s\n", cx->secret);
	if (symbi_process_write_stdin(cx->proc, line, (size_t)n, err) < 0) {
		symbi_process_free(cx->proc);
		goto fail;
	}
	if (pthread_create(&cx->waiter, NULL, wait_interpreter, cx) != 0) {
		symbi_process_free(cx->proc);
		symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot start the context's thread");
		goto fail;
	}
	return cx;
fail:
	context_release(cx);
	return NULL;
}

void symbi_context_free(symbi_context_t *cx)
{
	if (!cx)
		return;
	/* EOF on its stdin ends the driver; the kill makes sure. */
	symbi_process_close_stdin(cx->proc, NULL);
	symbi_process_signal(cx->proc, SIGKILL, NULL);
	pthread_join(cx->waiter, NULL);
	symbi_process_free(cx->proc);
	context_release(cx);
}

const char *symbi_context_ended(symbi_context_t *cx)
{
	if (!cx)
		return NULL;
	pthread_mutex_lock(&cx->lock);
	const char *why = cx->dead ? cx->why_dead : NULL;
	pthread_mutex_unlock(&cx->lock);
	return why;
}

void symbi_cell_free(symbi_cell_t *c)
{
	if (!c)
		return;
	free(c->stdout_data);
	free(c->stderr_data);
	free(c->value);
	free(c->error_name);
	free(c->error_value);
	free(c->traceback);
	free(c->error);
	free(c);
}

static bool cell_done(const symbi_context_t *cx)
{
	return cx->out.marked && !cx->out.in_result && cx->err.marked;
}

/* Waits until the cell is done, the interpreter died, or `until`
 * (CLOCK_MONOTONIC ms). Under lock. */
static bool readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return fd >= 0 && poll(&p, 1, 0) > 0;
}

/* Waits for the cell's end until `until`; with a cancel_fd, looks at it
 * every CANCEL_POLL_MS and returns true once it is readable. */
static bool wait_cell(symbi_context_t *cx, uint64_t until, int cancel_fd)
{
	while (!cell_done(cx) && !cx->dead) {
		uint64_t now = symbi_monotonic_ms(), step = until;
		if (now >= until)
			break;
		if (cancel_fd >= 0 && until - now > CANCEL_POLL_MS)
			step = now + CANCEL_POLL_MS;
		struct timespec ts = {.tv_sec = (time_t)(step / 1000),
				      .tv_nsec = (long)(step % 1000) * 1000000};
		pthread_cond_timedwait(&cx->cond, &cx->lock, &ts);
		if (readable(cancel_fd))
			return !cell_done(cx);
	}
	return false;
}

static char *dup_json_string(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));
	return v ? strdup(v) : NULL;
}

/* The driver's result line into the cell. */
static void parse_result(symbi_cell_t *c, const char *line, bool python)
{
	json_t *root = line ? json_loads(line, 0, NULL) : NULL;
	if (!root)
		return;
	if (python) {
		c->value = dup_json_string(root, "value");
		json_t *e = json_object_get(root, "error");
		if (json_is_object(e)) {
			c->error_name = dup_json_string(e, "name");
			c->error_value = dup_json_string(e, "value");
			c->traceback = dup_json_string(e, "traceback");
			c->exit_code = 1;
		}
	} else {
		c->exit_code = (int)json_integer_value(json_object_get(root, "exit_code"));
	}
	json_decref(root);
}

static int send_cell(symbi_context_t *cx, const char *code, size_t len, symbi_error_t *err)
{
	char head[32];
	int n = snprintf(head, sizeof(head), "%zu\n", len);
	if (symbi_process_write_stdin(cx->proc, head, (size_t)n, err) < 0 ||
	    symbi_process_write_stdin(cx->proc, code, len, err) < 0)
		return -1;
	return 0;
}

/* Why a cell was interrupted, if it was. */
enum cell_stop { CELL_RAN, CELL_TIMED_OUT, CELL_CANCELLED };

static int finish_cell(symbi_context_t *cx, symbi_cell_t *c, enum cell_stop stop,
		       uint64_t started, symbi_error_t *err)
{
	bool timed_out = stop == CELL_TIMED_OUT, cancelled = stop == CELL_CANCELLED;
	symbi_status_t interrupted = timed_out ? SYMBI_STATUS_TIMEOUT : SYMBI_STATUS_CANCELLED;
	c->stdout_truncated = symbi_stream_truncated(&cx->out.cap);
	c->stderr_truncated = symbi_stream_truncated(&cx->err.cap);
	c->stdout_data = symbi_stream_finish(&cx->out.cap, &c->stdout_len);
	c->stderr_data = symbi_stream_finish(&cx->err.cap, &c->stderr_len);
	if (!c->stdout_data || !c->stderr_data)
		return symbi_fail_nomem(err);
	c->execution_time_ms = symbi_monotonic_ms() - started;
	if (cell_done(cx)) {
		parse_result(c, cx->out.result, cx->python);
		c->status = stop != CELL_RAN ? interrupted : SYMBI_STATUS_EXITED;
		if (stop != CELL_RAN &&
		    !(c->error = strdup(timed_out ? "the cell timed out and was interrupted"
						  : "the cell was cancelled and interrupted")))
			return symbi_fail_nomem(err);
		return 0;
	}
	c->status = stop != CELL_RAN ? interrupted : SYMBI_STATUS_ERROR;
	char text[1200];
	snprintf(text, sizeof(text), "%s%s",
		 timed_out   ? "the cell timed out and ignored its interrupt: the context was ended; "
		 : cancelled ? "the cell was cancelled and ignored its interrupt: the context was "
			       "ended; "
			     : "the context has ended: ",
		 cx->dead ? cx->why_dead : "the interpreter stopped answering");
	c->exit_code = -1;
	return (c->error = strdup(text)) ? 0 : symbi_fail_nomem(err);
}

int symbi_context_run(symbi_context_t *cx, const char *code, size_t code_len, uint64_t timeout_ms,
		      output_fn on_output, void *output_ctx, symbi_cell_t **out, symbi_error_t *err)
{
	return symbi_context_run_cancellable(cx, code, code_len, timeout_ms, -1, on_output,
					     output_ctx, out, err);
}

int symbi_context_run_cancellable(symbi_context_t *cx, const char *code, size_t code_len,
				  uint64_t timeout_ms, int cancel_fd, output_fn on_output,
				  void *output_ctx, symbi_cell_t **out, symbi_error_t *err)
{
	if (!out)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "symbi_context_run: NULL argument");
	*out = NULL;
	if (!cx || (!code && code_len))
		return symbi_fail(err, SYMBI_E_INVALID, 0, "symbi_context_run: NULL argument");
	symbi_cell_t *c = calloc(1, sizeof(*c));
	if (!c)
		return symbi_fail_nomem(err);
	pthread_mutex_lock(&cx->run_lock);
	pthread_mutex_lock(&cx->lock);
	uint64_t started = symbi_monotonic_ms();
	/* Output that came between cells (a background thread's) belongs to
	 * this one. */
	cx->out.marked = cx->err.marked = false;
	cx->out.hold_len = cx->err.hold_len = 0; /* held back: not this cell's marker */
	cx->seq++;
	cx->mark_len = (size_t)snprintf(cx->mark, sizeof(cx->mark), "\x1e%s:%llu\x1e", cx->secret,
					(unsigned long long)cx->seq);
	free(cx->out.result);
	cx->out.result = NULL;
	cx->out.result_len = 0;
	cx->on_output = on_output;
	cx->output_ctx = output_ctx;
	bool dead = cx->dead;
	pthread_mutex_unlock(&cx->lock);
	enum cell_stop stop = CELL_RAN;
	symbi_error_t send_err = {0};
	if (!dead && send_cell(cx, code ? code : "", code_len, &send_err) == 0) {
		uint64_t limit = timeout_ms ? timeout_ms : cx->default_timeout_ms;
		pthread_mutex_lock(&cx->lock);
		bool cancelled = wait_cell(cx, started + limit, cancel_fd);
		if (!cell_done(cx) && !cx->dead) {
			/* Interrupt the cell; an interpreter that does not come
			 * back from it is ended. */
			stop = cancelled ? CELL_CANCELLED : CELL_TIMED_OUT;
			pthread_mutex_unlock(&cx->lock);
			symbi_process_signal(cx->proc, SIGINT, NULL);
			pthread_mutex_lock(&cx->lock);
			wait_cell(cx, symbi_monotonic_ms() + INTERRUPT_GRACE_MS, -1);
			if (!cell_done(cx) && !cx->dead) {
				pthread_mutex_unlock(&cx->lock);
				symbi_process_signal(cx->proc, SIGKILL, NULL);
				pthread_mutex_lock(&cx->lock);
				while (!cx->dead)
					pthread_cond_wait(&cx->cond, &cx->lock);
			}
		}
	} else {
		pthread_mutex_lock(&cx->lock);
		/* The write failed: the interpreter is gone, or going. */
		while (!dead && !cx->dead)
			pthread_cond_wait(&cx->cond, &cx->lock);
	}
	int rc = finish_cell(cx, c, stop, started, err);
	cx->on_output = NULL;
	symbi_stream_init(&cx->out.cap, cx->max_output);
	symbi_stream_init(&cx->err.cap, cx->max_output);
	pthread_mutex_unlock(&cx->lock);
	pthread_mutex_unlock(&cx->run_lock);
	if (rc < 0) {
		symbi_cell_free(c);
		return -1;
	}
	*out = c;
	return 0;
}
