/* Background processes of a session (the processes API of HTTP and MCP).
 *
 * A process is started in the session's live sandbox and the request answers
 * at once; two threads of its own serve it: the waiter sits in
 * symbi_process_wait (which pumps its output into on_output and enforces
 * its timeout) and keeps the result, and, for stdin_open processes, the
 * writer feeds its stdin from a bounded queue (a write to a process that
 * does not read must not hold a request thread). Neither takes a session's
 * lock. Output is kept up to the session's max_output_bytes per stream
 * (bounded memory), for readers that follow it from its start.
 *
 * Lifetimes: a process is reference-counted. The session's table holds one
 * reference; a request holds one while it works on the process; an output
 * reader holds one for as long as it streams, so that a session that ends
 * under it only ends the stream. The handle (symbi_process_t) is freed by the
 * table alone, when the process is dropped from it (retire), after its
 * threads are joined; signals take the process's lock to use it. Lock order:
 * the table's, then a process's. */
#include "server.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TABLE_SIZE (SRV_PROCS_RUNNING_MAX + SRV_PROCS_KEPT)
#define MAX_ARGV 256
#define COMMAND_SUMMARY 200
#define LINE_DATA_MAX (64u << 10) /* bytes of output in one line of .../output */

struct chunk {
	int which; /* 1 stdout, 2 stderr */
	size_t off, len;
};

struct srv_proc {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* output, end, stdin queue: every change */
	unsigned refs;
	srv_service_t *svc;
	char backend[32]; /* for the metrics */
	char id[24];
	json_t *command; /* a summary for listings */
	json_t *meta;    /* the caller's own description (srv_proc_set_meta), or NULL */
	symbi_process_t *proc; /* NULL once retired */
	int pid;
	bool stdin_open;
	uint64_t started_ms, ended_ms;
	/* Output, in the order it came; a chunk grows while it is the last. */
	unsigned char *buf;
	size_t len, alloc;
	struct chunk *chunks;
	size_t n_chunks, chunks_alloc;
	size_t cap, kept[2];
	bool truncated[2];
	/* The end. */
	bool done;
	json_t *result;
	pthread_t waiter;
	bool waiter_started;
	/* Stdin: in[in_off..in_len) waits for the writer. */
	char *in;
	size_t in_len, in_off;
	bool in_eof, in_closed, stop;
	char in_error[200];
	pthread_t writer;
	bool writer_started;
};

struct srv_procs {
	pthread_mutex_t lock;
	srv_proc_t *items[TABLE_SIZE]; /* in start order */
	size_t n;
	size_t starting; /* slots taken by starts in progress */
	unsigned next_id;
};

/* The server is shutting down: its cancel pipe was written (never read). */
static bool server_stopping(srv_service_t *svc)
{
	struct pollfd pfd = {svc->cancel_fd[0], POLLIN, 0};
	return svc->cancel_fd[0] >= 0 && poll(&pfd, 1, 0) == 1;
}

/* ---- the table --------------------------------------------------------------- */

srv_procs_t *srv_procs_new(void)
{
	srv_procs_t *t = calloc(1, sizeof(*t));
	if (t)
		pthread_mutex_init(&t->lock, NULL);
	return t;
}

void srv_proc_put(srv_proc_t *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	bool last = --p->refs == 0;
	pthread_mutex_unlock(&p->lock);
	if (!last)
		return;
	json_decref(p->command);
	json_decref(p->meta);
	json_decref(p->result);
	free(p->buf);
	free(p->chunks);
	free(p->in);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* Kills it if it runs and shuts its stdin, so that both threads end. */
static void proc_kill(srv_proc_t *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	if (p->proc && !p->done)
		symbi_process_signal(p->proc, SIGKILL, NULL);
	if (p->proc && p->stdin_open)
		symbi_process_close_stdin(p->proc, NULL); /* a blocked write gets EPIPE */
	pthread_mutex_unlock(&p->lock);
}

/* Drops a process from its table: ends it, joins its threads, frees the
 * handle and the table's reference. */
static void proc_retire(srv_proc_t *p)
{
	proc_kill(p);
	if (p->writer_started)
		pthread_join(p->writer, NULL);
	if (p->waiter_started)
		pthread_join(p->waiter, NULL);
	pthread_mutex_lock(&p->lock);
	symbi_process_t *h = p->proc;
	p->proc = NULL;
	pthread_mutex_unlock(&p->lock);
	symbi_process_free(h);
	srv_proc_put(p);
}

void srv_procs_kill_all(srv_procs_t *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n; i++)
		proc_kill(t->items[i]);
	pthread_mutex_unlock(&t->lock);
}

void srv_procs_free(srv_procs_t *t)
{
	if (!t)
		return;
	/* The session's last reference is gone: nothing else uses the table. */
	for (size_t i = 0; i < t->n; i++)
		proc_retire(t->items[i]);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

srv_proc_t *srv_proc_find(srv_procs_t *t, const char *pid, srv_err_t *err)
{
	srv_proc_t *p = NULL;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n && !p; i++) {
		if (strcmp(t->items[i]->id, pid) == 0) {
			p = t->items[i];
			pthread_mutex_lock(&p->lock);
			p->refs++;
			pthread_mutex_unlock(&p->lock);
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (!p)
		srv_fail(err, 404, "not_found", "no process \"%.64s\" in this session", pid);
	return p;
}

srv_proc_t *srv_proc_find_pid(srv_procs_t *t, int pid, bool running_only, srv_err_t *err)
{
	srv_proc_t *p = NULL;
	pthread_mutex_lock(&t->lock);
	/* The newest first: an id inside the sandbox may have been reused. */
	for (size_t i = t->n; i-- > 0 && !p;) {
		srv_proc_t *q = t->items[i];
		pthread_mutex_lock(&q->lock);
		if (q->pid == pid && !(running_only && q->done)) {
			p = q;
			p->refs++;
		}
		pthread_mutex_unlock(&q->lock);
	}
	pthread_mutex_unlock(&t->lock);
	if (!p)
		srv_fail(err, 404, "not_found", "no %sprocess with pid %d", running_only ? "running " : "",
			 pid);
	return p;
}

void srv_proc_set_meta(srv_proc_t *p, json_t *meta)
{
	pthread_mutex_lock(&p->lock);
	json_decref(p->meta);
	p->meta = meta;
	pthread_mutex_unlock(&p->lock);
}

int srv_proc_pid(srv_proc_t *p)
{
	return p->pid;
}

/* ---- the two threads ----------------------------------------------------------- */

static bool grow(void **ptr, size_t *alloc, size_t need, size_t size)
{
	if (need <= *alloc)
		return true;
	size_t n = *alloc ? *alloc : 16;
	while (n < need)
		n *= 2;
	void *q = realloc(*ptr, n * size);
	if (!q)
		return false;
	*ptr = q;
	*alloc = n;
	return true;
}

static void on_output(void *ctx, int which, const char *data, size_t len)
{
	srv_proc_t *p = ctx;
	int i = which == 1 ? 0 : 1;
	pthread_mutex_lock(&p->lock);
	size_t room = p->cap - p->kept[i];
	if (len > room) {
		p->truncated[i] = true;
		len = room;
	}
	struct chunk *last = p->n_chunks ? &p->chunks[p->n_chunks - 1] : NULL;
	bool extend = last && last->which == which;
	/* A process that switches streams at every byte would make a chunk
	 * per byte, 24 times the bytes kept: the chunks may take no more
	 * memory than the cap, and what would need more is dropped as over
	 * it. */
	if (len && !extend && p->n_chunks >= p->cap / sizeof(*p->chunks) + 1) {
		p->truncated[i] = true;
		len = 0;
	}
	if (len && grow((void **)&p->buf, &p->alloc, p->len + len, 1) &&
	    (extend || grow((void **)&p->chunks, &p->chunks_alloc, p->n_chunks + 1,
			    sizeof(*p->chunks)))) {
		memcpy(p->buf + p->len, data, len);
		if (extend)
			last->len += len;
		else
			p->chunks[p->n_chunks++] = (struct chunk){which, p->len, len};
		p->len += len;
		p->kept[i] += len;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
}

static void *waiter_main(void *arg)
{
	srv_proc_t *p = arg;
	symbi_result_t *res = NULL;
	symbi_error_t lerr = {0};
	int rc = symbi_process_wait(p->proc, &res, &lerr);
	char *text = rc == 0 ? symbi_result_to_json(res, &lerr) : NULL;
	json_t *o = text ? json_loads(text, JSON_ALLOW_NUL, NULL) : NULL;
	if (!o) /* the result object's shape all the same */
		o = json_pack("{s:i,s:s,s:s,s:i,s:b,s:b,s:b,s:s,s:n,s:o}", "exit_code", -1, "stdout", "",
			      "stderr", "", "execution_time_ms", 0, "success", 0, "stdout_truncated", 0,
			      "stderr_truncated", 0, "status", "error", "signal", "error",
			      srv_json_text(lerr.message, strlen(lerr.message)));
	srv_metrics_execution(p->backend, res ? symbi_status_name(res->status) : "error",
			      res ? res->execution_time_ms : 0);
	free(text);
	symbi_result_free(res);
	pthread_mutex_lock(&p->lock);
	p->result = o;
	p->done = true;
	p->ended_ms = srv_now_ms();
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void *writer_main(void *arg)
{
	srv_proc_t *p = arg;
	char *piece = malloc(65536);
	pthread_mutex_lock(&p->lock);
	while (piece) {
		while (!p->stop && p->in_off == p->in_len && !p->in_eof)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stop)
			break;
		symbi_error_t lerr = {0};
		if (p->in_off < p->in_len) {
			size_t n = p->in_len - p->in_off < 65536 ? p->in_len - p->in_off : 65536;
			memcpy(piece, p->in + p->in_off, n);
			pthread_mutex_unlock(&p->lock);
			int rc = symbi_process_write_stdin(p->proc, piece, n, &lerr);
			pthread_mutex_lock(&p->lock);
			p->in_off += n;
			if (rc < 0) {
				snprintf(p->in_error, sizeof(p->in_error), "%.190s", lerr.message);
				break;
			}
			pthread_cond_broadcast(&p->cond);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		symbi_process_close_stdin(p->proc, NULL);
		pthread_mutex_lock(&p->lock);
		break;
	}
	/* Nothing more is written: what waits is dropped. */
	p->in_closed = true;
	p->in_off = p->in_len = 0;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	free(piece);
	return NULL;
}

/* ---- starting one ---------------------------------------------------------------- */

static const char *const start_keys[] = {"code", "argv", "language", "env", "cwd",
					 "timeout", "stdin_open", NULL};

static bool nul_free_string(json_t *v)
{
	return json_is_string(v) && !memchr(json_string_value(v), '\0', json_string_length(v));
}

/* "code" (with an optional language) or "argv" as the argv to run (NULL:
 * the code with the session's interpreter). Fills *summary. */
static int parse_command(json_t *req, char ***argv_out, json_t **summary, srv_err_t *err)
{
	json_t *code = json_object_get(req, "code"), *argv = json_object_get(req, "argv");
	json_t *lang = json_object_get(req, "language");
	*argv_out = NULL;
	if (!code == !argv)
		return srv_fail(err, 400, "invalid_request",
				"give \"code\" (a string) or \"argv\" (an array of strings), one of them");
	if (code && !nul_free_string(code))
		return srv_fail(err, 400, "invalid_request", "\"code\" must be a string without NUL bytes");
	if (lang && (!code || !json_is_string(lang) ||
		     (strcmp(json_string_value(lang), "python") != 0 &&
		      strcmp(json_string_value(lang), "sh") != 0)))
		return srv_fail(err, 400, "invalid_request",
				"\"language\" goes with \"code\" and is \"python\" or \"sh\" (without it, "
				"the code runs with the session's interpreter)");
	size_t n = argv ? json_array_size(argv) : 0;
	if (argv && (!json_is_array(argv) || n == 0 || n > MAX_ARGV))
		return srv_fail(err, 400, "invalid_request",
				"\"argv\" must be an array of 1 to %d strings", MAX_ARGV);
	for (size_t i = 0; i < n; i++)
		if (!nul_free_string(json_array_get(argv, i)))
			return srv_fail(err, 400, "invalid_request",
					"argv[%zu] must be a string without NUL bytes", i);
	if (code && !lang) {
		const char *c = json_string_value(code);
		size_t len = json_string_length(code);
		*summary = srv_json_text(c, len < COMMAND_SUMMARY ? len : COMMAND_SUMMARY);
		return 0;
	}
	if (code)
		n = 3;
	char **v = calloc(n + 1, sizeof(*v));
	if (!v)
		return srv_fail(err, 500, "internal", "out of memory");
	if (code) {
		bool py = strcmp(json_string_value(lang), "python") == 0;
		v[0] = strdup(py ? "python3" : "sh");
		v[1] = strdup("-c");
		v[2] = strdup(json_string_value(code));
	} else {
		for (size_t i = 0; i < n; i++)
			v[i] = strdup(json_string_value(json_array_get(argv, i)));
	}
	bool ok = true;
	char line[COMMAND_SUMMARY + 1] = "";
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		ok &= v[i] != NULL;
		if (v[i] && k < COMMAND_SUMMARY)
			k += (size_t)snprintf(line + k, sizeof(line) - k, "%s%s", i ? " " : "", v[i]);
	}
	if (!ok) {
		for (size_t i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return srv_fail(err, 500, "internal", "out of memory");
	}
	k = k < COMMAND_SUMMARY ? k : COMMAND_SUMMARY;
	*summary = srv_json_text(line, k);
	*argv_out = v;
	return 0;
}

static void free_argv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int parse_options(srv_service_t *svc, const srv_exec_spec_t *spec, json_t *req,
			 symbi_exec_options_t *o, srv_err_t *err)
{
	const char *k;
	json_t *v;
	json_object_foreach(req, k, v) {
		bool known = false;
		for (size_t i = 0; start_keys[i]; i++)
			known |= strcmp(k, start_keys[i]) == 0;
		if (!known)
			return srv_fail(err, 400, "invalid_request",
					"unknown field \"%.100s\" (a process takes %s)", k,
					"code or argv, language, env, cwd, timeout, stdin_open");
	}
	json_t *cwd = json_object_get(req, "cwd"), *timeout = json_object_get(req, "timeout");
	json_t *in = json_object_get(req, "stdin_open");
	if (cwd && (!nul_free_string(cwd) || json_string_value(cwd)[0] != '/' ||
		    json_string_length(cwd) >= 4096))
		return srv_fail(err, 400, "invalid_request",
				"\"cwd\" must be an absolute path inside the sandbox");
	double max = svc->policy->maximums.timeout_s;
	if (timeout && (!json_is_number(timeout) || !(json_number_value(timeout) > 0) ||
			json_number_value(timeout) > max))
		return srv_fail(err, 400, "invalid_request",
				"\"timeout\" must be a number of seconds above 0, at most %g", max);
	if (in && !json_is_boolean(in))
		return srv_fail(err, 400, "invalid_request", "\"stdin_open\" must be a boolean");
	o->cwd = cwd ? json_string_value(cwd) : NULL;
	o->timeout_ms = (uint64_t)((timeout ? json_number_value(timeout) : spec->limits.timeout_s) *
				   1000);
	if (!o->timeout_ms)
		o->timeout_ms = 1;
	o->stdin_open = json_is_true(in);
	o->max_output_bytes = spec->limits.max_output_bytes;
	return 0;
}

/* Takes a start slot, or says why not (table lock held). */
static int reserve_slot(srv_procs_t *t, srv_err_t *err)
{
	size_t running = t->starting;
	for (size_t i = 0; i < t->n; i++) {
		pthread_mutex_lock(&t->items[i]->lock);
		running += !t->items[i]->done;
		pthread_mutex_unlock(&t->items[i]->lock);
	}
	if (running >= SRV_PROCS_RUNNING_MAX) {
		srv_metrics_rejection("session_processes");
		srv_fail(err, 429, "too_many_processes",
			 "this session already runs %zu processes, the most one session may run; "
			 "signal or wait for one", running);
		err->retry_after = 1;
		return -1;
	}
	t->starting++;
	return 0;
}

/* Puts p in the table, dropping the oldest ended process if it is full;
 * returns that one (to be retired outside the lock), or NULL. */
static srv_proc_t *insert(srv_procs_t *t, srv_proc_t *p)
{
	srv_proc_t *old = NULL;
	pthread_mutex_lock(&t->lock);
	t->starting--;
	if (t->n == TABLE_SIZE) {
		for (size_t i = 0; i < t->n && !old; i++) {
			pthread_mutex_lock(&t->items[i]->lock);
			bool done = t->items[i]->done;
			pthread_mutex_unlock(&t->items[i]->lock);
			if (done) {
				old = t->items[i];
				memmove(&t->items[i], &t->items[i + 1], (t->n - i - 1) * sizeof(*t->items));
				t->n--;
			}
		}
	}
	/* At most RUNNING_MAX run, so a full table always has an ended one. */
	t->items[t->n++] = p;
	pthread_mutex_unlock(&t->lock);
	return old;
}

json_t *srv_proc_start(srv_service_t *svc, const srv_session_view_t *ps, json_t *req,
		       srv_exec_call_t *call, srv_err_t *err)
{
	if (!json_is_object(req))
		return srv_fail(err, 400, "invalid_request", "the request body must be a JSON object"),
		       NULL;
	symbi_exec_options_t o = {.cancel_fd = svc->cancel_fd[0]};
	if (parse_options(svc, ps->spec, req, &o, err) < 0)
		return NULL;
	if (!ps->live.get)
		return srv_fail(err, 400, "invalid_request",
				"background processes need a live sandbox: create the session on the "
				"native, docker or gvisor backend (this one is %s)", ps->spec->backend), NULL;
	json_t *summary = NULL, *keys = json_array();
	char **argv = NULL;
	json_object_set(call->audit, "env_keys", keys);
	symbi_env_t *env = srv_env_from_json(json_object_get(req, "env"), keys, err);
	json_decref(keys);
	if (!env)
		return NULL;
	if (parse_command(req, &argv, &summary, err) < 0) {
		symbi_env_free(env);
		return NULL;
	}
	json_t *code = json_object_get(req, "code");
	if (json_is_string(code)) {
		char sha[65];
		srv_sha256_hex(json_string_value(code), json_string_length(code), sha);
		json_object_set_new(call->audit, "code_sha256", json_string(sha));
	}
	json_object_set(call->audit, "command", summary);
	o.env = env;
	o.argv = argv;
	if (!argv) {
		o.code = json_string_value(code);
		o.code_len = json_string_length(code);
	}
	srv_proc_t *p = calloc(1, sizeof(*p));
	if (!p) {
		srv_fail(err, 500, "internal", "out of memory");
		goto fail;
	}
	pthread_mutex_init(&p->lock, NULL);
	srv_cond_init_monotonic(&p->cond);
	p->refs = 1; /* the table's */
	p->svc = svc;
	snprintf(p->backend, sizeof(p->backend), "%s", ps->spec->backend);
	p->command = summary;
	summary = NULL;
	p->cap = o.max_output_bytes;
	p->stdin_open = o.stdin_open;
	o.on_output = on_output;
	o.output_ctx = p;
	srv_procs_t *t = ps->procs;
	pthread_mutex_lock(&t->lock);
	int refused = reserve_slot(t, err);
	snprintf(p->id, sizeof(p->id), "p%u", ++t->next_id);
	pthread_mutex_unlock(&t->lock);
	if (refused)
		goto fail;
	/* Starting costs like an execution: it waits its turn. */
	symbi_error_t lerr = {0};
	if (srv_limiter_acquire(svc->limiter, call->client_fd, err, svc->policy->retry_after_s) < 0)
		goto unreserve;
	symbi_live_t *lv = ps->live.get(ps->live.ctx, &lerr);
	int rc = lv ? symbi_live_spawn(lv, &o, &p->proc, &lerr) : -1;
	srv_limiter_release(svc->limiter);
	if (rc < 0) {
		srv_fail_lib(err, &lerr);
		goto unreserve;
	}
	p->pid = symbi_process_id(p->proc);
	p->started_ms = srv_now_ms();
	if (pthread_create(&p->waiter, NULL, waiter_main, p) != 0) {
		srv_fail(err, 500, "internal", "cannot start the process's thread");
		goto unreserve; /* freeing the handle kills it */
	}
	p->waiter_started = true;
	if (p->stdin_open) {
		if (pthread_create(&p->writer, NULL, writer_main, p) == 0) {
			p->writer_started = true;
		} else {
			pthread_mutex_lock(&p->lock);
			p->in_closed = true;
			snprintf(p->in_error, sizeof(p->in_error), "no thread to write stdin");
			pthread_mutex_unlock(&p->lock);
		}
	}
	srv_proc_t *old = insert(t, p);
	if (old)
		proc_retire(old);
	json_object_set_new(call->audit, "process", json_string(p->id));
	json_object_set_new(call->audit, "pid", json_integer(p->pid));
	symbi_env_free(env);
	free_argv(argv);
	return srv_proc_describe(svc, p, 0, -1);
unreserve:
	pthread_mutex_lock(&t->lock);
	t->starting--;
	pthread_mutex_unlock(&t->lock);
	if (p->proc) {
		proc_retire(p); /* kills it, frees the handle and p */
		p = NULL;
	}
fail:
	srv_proc_put(p);
	json_decref(summary);
	symbi_env_free(env);
	free_argv(argv);
	return NULL;
}

/* ---- describing ------------------------------------------------------------------ */

/* The listing's fields (lock held). */
static json_t *summary_locked(srv_proc_t *p)
{
	uint64_t end = p->done ? p->ended_ms : srv_now_ms();
	json_t *o = json_pack("{s:s,s:i,s:O,s:s,s:I}", "id", p->id, "pid", p->pid, "command",
			      p->command, "state", p->done ? "exited" : "running", "runtime_ms",
			      (json_int_t)(end - p->started_ms));
	if (p->done) {
		json_object_set(o, "status", json_object_get(p->result, "status"));
		json_object_set(o, "exit_code", json_object_get(p->result, "exit_code"));
		json_object_set(o, "signal", json_object_get(p->result, "signal"));
	}
	if (p->meta)
		json_object_set(o, "meta", p->meta);
	return o;
}

json_t *srv_proc_list(srv_procs_t *t)
{
	json_t *a = json_array();
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n; i++) {
		pthread_mutex_lock(&t->items[i]->lock);
		json_array_append_new(a, summary_locked(t->items[i]));
		pthread_mutex_unlock(&t->items[i]->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return json_pack("{s:o}", "processes", a);
}

/* Waits (lock held) for the end, at most wait_ms, less if the client
 * leaves or the server stops. */
static void wait_locked(srv_service_t *svc, srv_proc_t *p, uint64_t wait_ms, int client_fd)
{
	uint64_t deadline = srv_now_ms() + wait_ms;
	while (wait_ms && !p->done) {
		uint64_t now = srv_now_ms();
		if (now >= deadline)
			break;
		srv_cond_wait_ms(&p->cond, &p->lock, deadline - now < 250 ? deadline - now : 250);
		if (!p->done && (srv_client_gone(client_fd) || server_stopping(svc)))
			break;
	}
}

void srv_proc_wait(srv_service_t *svc, srv_proc_t *p, uint64_t wait_ms, int client_fd)
{
	pthread_mutex_lock(&p->lock);
	wait_locked(svc, p, wait_ms, client_fd);
	pthread_mutex_unlock(&p->lock);
}

json_t *srv_proc_describe(srv_service_t *svc, srv_proc_t *p, uint64_t wait_ms, int client_fd)
{
	pthread_mutex_lock(&p->lock);
	wait_locked(svc, p, wait_ms, client_fd);
	json_t *o = summary_locked(p);
	json_object_set_new(o, "stdin",
			    json_string(!p->stdin_open ? "none"
					: p->in_closed || p->in_eof ? "closed" : "open"));
	if (p->in_error[0])
		json_object_set_new(o, "stdin_error", json_string(p->in_error));
	json_object_set_new(o, "output_bytes", json_pack("{s:I,s:I}", "stdout",
							 (json_int_t)p->kept[0], "stderr",
							 (json_int_t)p->kept[1]));
	json_object_set_new(o, "output_truncated", json_boolean(p->truncated[0] || p->truncated[1]));
	if (p->done)
		json_object_set(o, "result", p->result);
	pthread_mutex_unlock(&p->lock);
	return o;
}

/* ---- stdin and signals -------------------------------------------------------------- */

json_t *srv_proc_stdin(srv_proc_t *p, json_t *req, json_t *audit, srv_err_t *err)
{
	const char *k;
	json_t *v;
	json_object_foreach(req, k, v) {
		if (strcmp(k, "data") != 0 && strcmp(k, "encoding") != 0 && strcmp(k, "eof") != 0)
			return srv_fail(err, 400, "invalid_request",
					"unknown field \"%.100s\" (stdin takes data, encoding, eof)", k),
			       NULL;
	}
	json_t *data = json_object_get(req, "data"), *enc = json_object_get(req, "encoding");
	json_t *eof = json_object_get(req, "eof");
	if ((data && !json_is_string(data)) || (eof && !json_is_boolean(eof)) ||
	    (!data && !json_is_true(eof)))
		return srv_fail(err, 400, "invalid_request",
				"give \"data\" (a string) and/or \"eof\": true"), NULL;
	bool b64 = false;
	if (enc && !(json_is_string(enc) && ((b64 = strcmp(json_string_value(enc), "base64") == 0) ||
					      strcmp(json_string_value(enc), "utf-8") == 0)))
		return srv_fail(err, 400, "invalid_request",
				"\"encoding\" is \"utf-8\" (the default) or \"base64\""), NULL;
	const char *bytes = data ? json_string_value(data) : "";
	size_t len = data ? json_string_length(data) : 0;
	char *decoded = NULL;
	if (b64) {
		if (srv_base64_decode(bytes, len, &decoded, &len) < 0)
			return srv_fail(err, 400, "invalid_request", "\"data\" is not valid base64"),
			       NULL;
		bytes = decoded;
	}
	json_t *out = NULL;
	pthread_mutex_lock(&p->lock);
	size_t pending = p->in_len - p->in_off;
	if (!p->stdin_open) {
		srv_fail(err, 409, "stdin_not_open",
			 "process %s was started without \"stdin_open\": true", p->id);
	} else if (p->done) {
		srv_fail(err, 409, "process_ended", "process %s has ended", p->id);
	} else if (p->in_eof || p->in_closed) {
		srv_fail(err, 409, "stdin_closed", "the stdin of process %s is closed%s%s", p->id,
			 p->in_error[0] ? ": " : "", p->in_error);
	} else if (len > SRV_PROC_STDIN_PENDING_MAX - pending) {
		srv_fail(err, 429, "stdin_full",
			 "%zu bytes wait to be read by process %s; at most %u may wait: retry once it "
			 "has read some", pending, p->id, SRV_PROC_STDIN_PENDING_MAX);
		err->retry_after = 1;
	} else {
		if (p->in_off) { /* what was written goes */
			memmove(p->in, p->in + p->in_off, pending);
			p->in_len = pending;
			p->in_off = 0;
		}
		bool ok = true;
		if (len) {
			char *q = realloc(p->in, p->in_len + len);
			ok = q != NULL;
			if (ok) {
				p->in = q;
				memcpy(p->in + p->in_len, bytes, len);
				p->in_len += len;
			}
		}
		if (!ok) {
			srv_fail(err, 500, "internal", "out of memory");
		} else {
			p->in_eof |= json_is_true(eof);
			pthread_cond_broadcast(&p->cond);
			out = json_pack("{s:s,s:I,s:I,s:b}", "id", p->id, "accepted", (json_int_t)len,
					"pending", (json_int_t)(p->in_len - p->in_off), "eof",
					p->in_eof);
		}
	}
	pthread_mutex_unlock(&p->lock);
	free(decoded);
	json_object_set_new(audit, "process", json_string(p->id));
	json_object_set_new(audit, "stdin_bytes", json_integer((json_int_t)len));
	if (json_is_true(eof))
		json_object_set_new(audit, "stdin_eof", json_true());
	return out;
}

static const struct {
	const char *name;
	int sig;
} allowed_signals[] = {
	{"TERM", SIGTERM}, {"KILL", SIGKILL}, {"INT", SIGINT},   {"HUP", SIGHUP},   {"QUIT", SIGQUIT},
	{"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"STOP", SIGSTOP}, {"CONT", SIGCONT},
};

json_t *srv_proc_signal(srv_proc_t *p, json_t *req, json_t *audit, srv_err_t *err)
{
	json_t *s = json_object_get(req, "signal");
	if (json_object_size(req) != 1 || !json_is_string(s))
		return srv_fail(err, 400, "invalid_request",
				"the body is {\"signal\": NAME}, NAME one of TERM KILL INT HUP QUIT USR1 "
				"USR2 STOP CONT"), NULL;
	const char *name = json_string_value(s);
	if (strncmp(name, "SIG", 3) == 0)
		name += 3;
	/* "KILL\u0000..." is not KILL: the whole string must match. */
	bool whole = strlen(json_string_value(s)) == json_string_length(s);
	int sig = 0;
	for (size_t i = 0; whole && i < sizeof(allowed_signals) / sizeof(allowed_signals[0]); i++)
		if (strcmp(name, allowed_signals[i].name) == 0)
			sig = allowed_signals[i].sig;
	json_object_set_new(audit, "process", json_string(p->id));
	/* The audit keeps what a name may be, not the client's megabyte, and
	 * never a NUL (the log's lines are JSON without \u0000). */
	json_object_set_new(audit, "signal",
			    srv_json_text(json_string_value(s), strnlen(json_string_value(s), 40)));
	if (!sig)
		return srv_fail(err, 400, "invalid_signal",
				"signal \"%.40s\" is not allowed: one of TERM KILL INT HUP QUIT USR1 USR2 "
				"STOP CONT", json_string_value(s)), NULL;
	json_t *out = NULL;
	symbi_error_t lerr = {0};
	pthread_mutex_lock(&p->lock);
	if (p->done || !p->proc)
		srv_fail(err, 409, "process_ended", "process %s has ended", p->id);
	else if (symbi_process_signal(p->proc, sig, &lerr) < 0)
		srv_fail_lib(err, &lerr);
	else
		out = json_pack("{s:s,s:s,s:b}", "id", p->id, "signal", name, "sent", 1);
	pthread_mutex_unlock(&p->lock);
	return out;
}

/* ---- output --------------------------------------------------------------------------- */

/* A copy of the result (lock held, process ended) without stdout and
 * stderr, for answers that give the output apart. */
static json_t *result_without_output(srv_proc_t *p)
{
	json_t *o = json_copy(p->result);
	json_object_del(o, "stdout");
	json_object_del(o, "stderr");
	return o;
}

json_t *srv_proc_output(srv_proc_t *p)
{
	pthread_mutex_lock(&p->lock);
	unsigned char *part[2] = {malloc(p->kept[0] + 1), malloc(p->kept[1] + 1)};
	size_t n[2] = {0, 0};
	for (size_t i = 0; part[0] && part[1] && i < p->n_chunks; i++) {
		int w = p->chunks[i].which == 1 ? 0 : 1;
		memcpy(part[w] + n[w], p->buf + p->chunks[i].off, p->chunks[i].len);
		n[w] += p->chunks[i].len;
	}
	json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:b,s:b}", "id", p->id, "state",
			      p->done ? "exited" : "running", "stdout",
			      srv_utf8_lossy(part[0] ? part[0] : (const unsigned char *)"", n[0]),
			      "stderr", srv_utf8_lossy(part[1] ? part[1] : (const unsigned char *)"", n[1]),
			      "stdout_truncated", p->truncated[0], "stderr_truncated", p->truncated[1]);
	if (o && p->done) {
		/* Without its stdout and stderr, which are the ones above: a
		 * second copy would double an answer that JSON's escapes
		 * already make up to six times the bytes kept. */
		json_object_set_new(o, "result", result_without_output(p));
	}
	pthread_mutex_unlock(&p->lock);
	free(part[0]);
	free(part[1]);
	return o;
}

struct srv_proc_reader {
	srv_service_t *svc;
	srv_proc_t *p;
	int client_fd;
	size_t ci, co;   /* the next byte to send: chunk ci, offset co */
	bool ended;      /* the result line was queued, or the client left */
	char *line;      /* the line being sent */
	size_t len, off;
};

srv_proc_reader_t *srv_proc_reader_new(srv_service_t *svc, srv_proc_t *p, int client_fd)
{
	return srv_proc_reader_new_at(svc, p, client_fd, false);
}

srv_proc_reader_t *srv_proc_reader_new_at(srv_service_t *svc, srv_proc_t *p, int client_fd,
					  bool from_now)
{
	srv_proc_reader_t *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	pthread_mutex_lock(&p->lock);
	p->refs++;
	if (from_now && p->n_chunks) { /* the last chunk may still grow */
		r->ci = p->n_chunks - 1;
		r->co = p->chunks[r->ci].len;
	}
	pthread_mutex_unlock(&p->lock);
	r->svc = svc;
	r->p = p;
	r->client_fd = client_fd;
	return r;
}

static void set_line(srv_proc_reader_t *r, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	size_t n = text ? strlen(text) : 0;
	free(r->line);
	r->line = text ? realloc(text, n + 2) : NULL;
	if (!r->line) {
		free(text);
		r->len = r->off = 0;
		return;
	}
	r->line[n] = '\n';
	r->len = n + 1;
	r->off = 0;
}

/* The next output bytes after the cursor (lock held; the pointer is valid
 * while it is), at most max, a growing or cut chunk never cut inside a
 * UTF-8 sequence: returns their count (0: none yet, or none left once the
 * process is done) with *which and *s, and moves the cursor past them. */
static size_t take_locked(srv_proc_reader_t *r, size_t max, int *which,
			  const unsigned char **s)
{
	srv_proc_t *p = r->p;
	while (r->ci < p->n_chunks) {
		struct chunk *c = &p->chunks[r->ci];
		bool last = r->ci + 1 == p->n_chunks;
		const unsigned char *q = p->buf + c->off + r->co;
		size_t avail = c->len - r->co;
		bool cut = avail > max;
		if (cut)
			avail = max;
		size_t n = cut || (last && !p->done) ? srv_utf8_complete_prefix(q, avail) : avail;
		if (n) {
			*which = c->which;
			*s = q;
			r->co += n;
			return n;
		}
		if (last && !p->done)
			return 0;
		r->ci++;
		r->co = 0;
	}
	return 0;
}

/* Makes the next line (lock held): true if there is one, or the end. */
static bool next_line(srv_proc_reader_t *r)
{
	srv_proc_t *p = r->p;
	int which;
	const unsigned char *s;
	/* A line carries at most LINE_DATA_MAX bytes: a reader holds one
	 * line, and a whole chunk (up to the cap) would cost each of many
	 * readers up to six times the cap once escaped. */
	size_t n = take_locked(r, LINE_DATA_MAX, &which, &s);
	if (n) {
		set_line(r, json_pack("{s:s,s:o}", "type", which == 1 ? "stdout" : "stderr", "data",
				      srv_utf8_lossy(s, n)));
		return true;
	}
	if (!p->done)
		return false;
	/* The result's fields but stdout and stderr, which came as the lines
	 * before: every reader builds this line, and with them it would be up
	 * to twelve times the cap each. */
	json_t *o = result_without_output(p);
	json_object_set_new(o, "type", json_string("result"));
	set_line(r, o);
	r->ended = true;
	return true;
}

int srv_proc_reader_next(srv_proc_reader_t *r, uint64_t wait_ms, size_t max, int *which,
			 char **data, size_t *len, json_t **result)
{
	srv_proc_t *p = r->p;
	uint64_t deadline = srv_now_ms() + wait_ms;
	int rc = 0;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		const unsigned char *s;
		size_t n = r->ended ? 0 : take_locked(r, max, which, &s);
		if (n) {
			*data = malloc(n);
			if (*data) {
				memcpy(*data, s, n);
				*len = n;
				rc = 1;
			} else {
				rc = -1;
			}
			break;
		}
		if (p->done && !r->ended) {
			r->ended = true;
			*result = result_without_output(p);
			rc = 2;
			break;
		}
		uint64_t now = srv_now_ms();
		if (r->ended || srv_client_gone(r->client_fd) || server_stopping(r->svc)) {
			rc = -1;
			break;
		}
		if (now >= deadline)
			break;
		srv_cond_wait_ms(&p->cond, &p->lock, deadline - now < 250 ? deadline - now : 250);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

size_t srv_proc_reader_read(srv_proc_reader_t *r, char *buf, size_t max)
{
	srv_proc_t *p = r->p;
	size_t n = 0;
	while (n < max) {
		if (r->off < r->len) {
			size_t k = r->len - r->off < max - n ? r->len - r->off : max - n;
			memcpy(buf + n, r->line + r->off, k);
			r->off += k;
			n += k;
			continue;
		}
		if (r->ended || n)
			break; /* what we have goes now */
		pthread_mutex_lock(&p->lock);
		while (!next_line(r)) {
			srv_cond_wait_ms(&p->cond, &p->lock, 250);
			/* A reader whose client left, or a server that stops, ends
			 * here (the process runs on). */
			if (srv_client_gone(r->client_fd) || server_stopping(r->svc)) {
				r->ended = true;
				break;
			}
		}
		pthread_mutex_unlock(&p->lock);
	}
	return n;
}

void srv_proc_reader_free(srv_proc_reader_t *r)
{
	if (!r)
		return;
	srv_proc_put(r->p);
	free(r->line);
	free(r);
}
