/* The processes of a live docker or gvisor sandbox (docker_live.c has the
 * container): each is an exec through the Engine API under a /bin/sh
 * wrapper that prints its pid in the container first; a pump thread per
 * process carries its hijacked stream to and from the supervision
 * (src/core/supervise.c) and, at the stream's end, reads its exit code.
 * Signals and timeouts are other execs (signal_exec). */
#include "docker_live.h"
#include "../core/error.h"
#include "../core/classify.h"
#include "../core/live_proc.h"
#include "../core/result.h"
#include "../core/supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void proc_release(docker_proc_t *p);


/* The wrapper: its pid first, then the program. */
static const char wrapper[] = "echo $$; exec \"$@\"";

/* Signals a process (tree: and every descendant, each stopped as it is
 * found, so that none escapes by forking or being reparented) by an exec
 * of /bin/sh in the container, as its user. The tree is found from
 * /proc/PID/stat's parent field, which gVisor has too (it has no
 * /proc/PID/task/TID/children). */
static const char signal_script[] =
	"s=$1; q=$2; all=; [ \"$3\" = tree ] || { kill -\"$s\" \"$q\"; exit; }; "
	"while [ -n \"$q\" ]; do set -- $q; p=$1; shift; q=\"$*\"; "
	"kill -STOP \"$p\" 2>/dev/null; all=\"$all $p\"; "
	"for f in /proc/[0-9]*/stat; do read -r l < \"$f\" 2>/dev/null || continue; "
	"r=${l##*) }; set -- $r; [ \"$2\" = \"$p\" ] || continue; "
	"c=${f#/proc/}; q=\"$q ${c%/stat}\"; done; done; "
	"kill -\"$s\" $all 2>/dev/null; kill -CONT $all 2>/dev/null; true";

/* Creates an exec; its id in id. */
static int exec_create(docker_live_t *lv, json_t *body, char *id, size_t size, symbi_error_t *err)
{
	char path[256];
	snprintf(path, sizeof(path), "/containers/%s/exec", lv->id);
	json_t *reply;
	long status = symbi_engine_request(&lv->engine, "POST", path, body, &reply, err);
	json_decref(body);
	if (status < 0) {
		json_decref(reply);
		return -1;
	}
	const char *got = json_string_value(json_object_get(reply, "Id"));
	int rc = 0;
	if (status != 201 || !got || strlen(got) >= size) {
		const char *why = docker_live_ended(lv);
		rc = why ? symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "the live sandbox has ended: %s", why)
			 : symbi_fail(err, SYMBI_E_UNAVAILABLE, 0,
				      "the Docker daemon refused the exec (HTTP %ld): %s", status,
				      symbi_engine_message(reply));
	} else {
		snprintf(id, size, "%s", got);
	}
	json_decref(reply);
	return rc;
}

static int start_stream(docker_live_t *lv, const char *exec_id, symbi_error_t *err)
{
	char path[256];
	snprintf(path, sizeof(path), "/exec/%s/start", exec_id);
	json_t *body = json_pack("{s:b, s:b}", "Detach", 0, "Tty", 0);
	if (!body)
		return symbi_fail_nomem(err);
	int fd = symbi_engine_hijack(&lv->engine, path, body, err);
	json_decref(body);
	return fd;
}

static int signal_exec(docker_live_t *lv, int pid, int sig, bool tree, symbi_error_t *err)
{
	char s[16], t[16];
	snprintf(s, sizeof(s), "%d", sig);
	snprintf(t, sizeof(t), "%d", pid);
	json_t *body = json_pack("{s:b, s:b, s:b, s:[s, s, s, s, s, s, s]}", "AttachStdin", 0,
				 "AttachStdout", 0, "AttachStderr", 0, "Cmd", "/bin/sh", "-c",
				 signal_script, "sh", s, t, tree ? "tree" : "one");
	if (!body)
		return symbi_fail_nomem(err);
	char id[128];
	if (exec_create(lv, body, id, sizeof(id), err) < 0)
		return -1;
	int fd = start_stream(lv, id, err);
	if (fd < 0)
		return -1;
	/* Done when the daemon closes the stream. */
	char buf[256];
	for (;;) {
		struct pollfd pf = {fd, POLLIN, 0};
		int r = poll(&pf, 1, 10000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || read(fd, buf, sizeof(buf)) <= 0)
			break;
	}
	close(fd);
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A piece of a frame: the wrapper's pid line first, then output. */
static void on_frame(void *ctx, int stream, const char *data, size_t len)
{
	docker_proc_t *p = ctx;
	if (stream == 1 && !p->pid_read) {
		while (len && !p->pid_read) {
			char c = *data++;
			len--;
			if (c == '\n' || p->pidlen + 1 >= sizeof(p->pidline)) {
				p->pidline[p->pidlen] = '\0';
				pthread_mutex_lock(&p->lv->lock);
				p->pid = atoi(p->pidline);
				p->pid_read = true;
				pthread_cond_broadcast(&p->lv->cond);
				pthread_mutex_unlock(&p->lv->lock);
			} else {
				p->pidline[p->pidlen++] = c;
			}
		}
	}
	int *fd = stream == 2 ? &p->err_fd : stream == 1 ? &p->out_fd : NULL;
	if (len && fd && *fd >= 0 && symbi_engine_write_all(*fd, data, len) < 0)
		close_fd(fd); /* nobody reads it any more */
}

/* The exec's exit code, once the daemon has it. */
static void read_exit(docker_proc_t *p)
{
	docker_live_t *lv = p->lv;
	char path[256];
	snprintf(path, sizeof(path), "/exec/%s/json", p->exec_id);
	uint64_t give_up = symbi_monotonic_ms() + LIVE_EXIT_WAIT_MS;
	for (long pause_us = 500;; pause_us = pause_us < 20000 ? pause_us * 2 : pause_us) {
		json_t *reply;
		symbi_error_t ignored;
		long status = symbi_engine_request(&lv->engine, "GET", path, NULL, &reply, &ignored);
		bool running = json_is_true(json_object_get(reply, "Running"));
		json_t *code = json_object_get(reply, "ExitCode");
		if (status == 200 && !running && json_is_integer(code)) {
			p->exit_code = (int)json_integer_value(code);
			p->code_known = true;
		}
		json_decref(reply);
		/* Under gVisor an exec of a dead container stays "running". */
		if (status != 200 || !running || symbi_monotonic_ms() >= give_up || docker_live_ended(lv))
			return;
		struct timespec ts = {0, pause_us * 1000};
		nanosleep(&ts, NULL);
	}
}

static void *pump_main(void *arg)
{
	docker_proc_t *p = arg;
	docker_live_t *lv = p->lv;
	symbi_engine_pump(p->conn, &p->in_fd, on_frame, p);
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	close_fd(&p->in_fd);
	read_exit(p);
	pthread_mutex_lock(&lv->lock);
	if (lv->ended[0] && (!p->code_known || p->exit_code == 128 + SIGKILL)) {
		p->sandbox_gone = true;
		snprintf(p->gone, sizeof(p->gone), "%s", lv->ended);
	}
	p->finished = p->pid_read = true;
	if (!p->detached) {
		lv->busy--;
		lv->active_ms = symbi_monotonic_ms();
	}
	pthread_cond_broadcast(&lv->cond);
	pthread_mutex_unlock(&lv->lock);
	if (write(p->done[1], "x", 1) < 0) {
		/* the pipe is ours and empty: cannot fail */
	}
	return NULL;
}

/* Creates the exec, starts it with its stream and its pump, and waits for
 * its pid. stdio as the supervision gives it (stdin -1: none). */
static int proc_start(docker_proc_t *p, json_t *body, const int stdio[3], symbi_error_t *err)
{
	docker_live_t *lv = p->lv;
	if (exec_create(lv, body, p->exec_id, sizeof(p->exec_id), err) < 0)
		return -1;
	if ((p->conn = start_stream(lv, p->exec_id, err)) < 0)
		return -1;
	/* Our own copies: the supervision closes its ends once we return. */
	if ((stdio[0] >= 0 && (p->in_fd = fcntl(stdio[0], F_DUPFD_CLOEXEC, 3)) < 0) ||
	    (stdio[1] >= 0 && (p->out_fd = fcntl(stdio[1], F_DUPFD_CLOEXEC, 3)) < 0) ||
	    (stdio[2] >= 0 && (p->err_fd = fcntl(stdio[2], F_DUPFD_CLOEXEC, 3)) < 0))
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot keep the process's streams");
	if (stdio[0] < 0)
		shutdown(p->conn, SHUT_WR);
	pthread_mutex_lock(&lv->lock);
	if (!p->detached)
		lv->busy++;
	pthread_mutex_unlock(&lv->lock);
	if (pthread_create(&p->pump, NULL, pump_main, p) != 0) {
		pthread_mutex_lock(&lv->lock);
		if (!p->detached)
			lv->busy--;
		pthread_mutex_unlock(&lv->lock);
		return symbi_fail(err, SYMBI_E_SYSTEM, 0, "cannot start the process's stream thread");
	}
	p->have_pump = true;
	pthread_mutex_lock(&lv->lock);
	while (!p->pid_read)
		pthread_cond_wait(&lv->cond, &lv->lock);
	bool started = p->pid > 0;
	pthread_mutex_unlock(&lv->lock);
	if (started)
		return 0;
	/* The wrapper never ran: the stream ended first. */
	pthread_join(p->pump, NULL);
	p->have_pump = false;
	const char *why = docker_live_ended(lv);
	return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "%s%s",
			  why ? "the live sandbox has ended: " : "the process did not start in the container",
			  why ? why : "");
}

static int proc_wait_fd(void *ctx)
{
	return ((docker_proc_t *)ctx)->done[0];
}

static int proc_reap(void *ctx, int *wait_status)
{
	docker_proc_t *p = ctx;
	pthread_mutex_lock(&p->lv->lock);
	bool done = p->finished;
	pthread_mutex_unlock(&p->lv->lock);
	if (!done)
		return 0;
	/* The daemon reports a death by signal as 128 + the signal. */
	int code = p->code_known ? p->exit_code : 128 + SIGKILL;
	*wait_status = code > 128 && code < 128 + 65 ? code - 128 : (code & 0xff) << 8;
	return 1;
}

static void proc_on_timeout(void *ctx)
{
	docker_proc_t *p = ctx;
	symbi_error_t ignored;
	if (p->pid > 0)
		signal_exec(p->lv, p->pid, SIGKILL, true, &ignored);
}

static void proc_release(docker_proc_t *p)
{
	close_fd(&p->conn);
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	close_fd(&p->in_fd);
	close_fd(&p->done[0]);
	close_fd(&p->done[1]);
	close_fd(&p->stdin_fd);
	free(p->input);
	json_decref(p->body);
	free(p);
}

/* The exec's body: the wrapper around argv, or around lang's interpreter
 * given the code. */
static json_t *exec_body(docker_live_t *lv, const symbi_exec_options_t *o, bool attach_stdin,
			 bool attach_stderr, symbi_error_t *err)
{
	json_t *cmd = json_pack("[s, s, s, s]", "/bin/sh", "-c", wrapper, "sh");
	json_t *env = json_array();
	json_t *body = NULL;
	if (!cmd || !env)
		goto nomem;
	if (o->argv) {
		for (size_t i = 0; o->argv[i]; i++) {
			json_t *a = json_string(o->argv[i]);
			if (!a) {
				symbi_fail(err, SYMBI_E_INVALID, 0,
					   "argv[%zu] must be UTF-8 in a live docker sandbox", i);
				goto fail;
			}
			if (json_array_append_new(cmd, a) < 0)
				goto nomem;
		}
	} else {
		const symbi_config_t *cfg = lv->cfg;
		json_t *code = o->code_len <= LIVE_CODE_MAX && !memchr(o->code ? o->code : "", '\0', o->code_len)
				       ? json_stringn(o->code ? o->code : "", o->code_len) : NULL;
		if (!code) {
			symbi_fail(err, SYMBI_E_INVALID, 0,
				   "code of %zu bytes, or not UTF-8, or with a NUL byte, cannot run in a "
				   "live %s sandbox yet (at most %d bytes of UTF-8): write it to a file in "
				   "the sandbox and run that", o->code_len,
				   cfg->backend == SYMBI_BACKEND_GVISOR ? "gvisor" : "docker", LIVE_CODE_MAX);
			goto fail;
		}
		if (json_array_append_new(cmd, json_string(symbi_config_interpreter(cfg))) < 0 ||
		    json_array_append_new(cmd, json_string(symbi_config_code_flag(cfg))) < 0 ||
		    json_array_append_new(cmd, code) < 0)
			goto nomem;
	}
	for (size_t i = 0; i < symbi_env_count(o->env); i++) {
		char *kv;
		if (asprintf(&kv, "%s=%s", symbi_env_key(o->env, i), symbi_env_value(o->env, i)) < 0)
			goto nomem;
		json_t *s = json_string(kv);
		free(kv);
		if (!s) {
			symbi_fail(err, SYMBI_E_INVALID, 0,
				   "environment variable %.100s: its value must be UTF-8 in a live docker "
				   "sandbox", symbi_env_key(o->env, i));
			goto fail;
		}
		if (json_array_append_new(env, s) < 0)
			goto nomem;
	}
	if (o->cwd && o->cwd[0] != '/') {
		symbi_fail(err, SYMBI_E_INVALID, 0, "cwd must be an absolute path in the sandbox");
		goto fail;
	}
	body = json_pack("{s:b, s:b, s:b, s:b, s:O, s:O}", "AttachStdin", attach_stdin,
			 "AttachStdout", 1, "AttachStderr", attach_stderr, "Tty", 0, "Cmd", cmd,
			 "Env", env);
	if (!body)
		goto nomem;
	if (o->cwd && json_object_set_new(body, "WorkingDir", json_string(o->cwd)) < 0)
		goto nomem;
	json_decref(cmd);
	json_decref(env);
	return body;
nomem:
	symbi_fail_nomem(err);
fail:
	json_decref(cmd);
	json_decref(env);
	json_decref(body);
	return NULL;
}

static int proc_spawn_hook(void *ctx, const int stdio[3], pid_t *pid, symbi_error_t *err)
{
	docker_proc_t *p = ctx;
	*pid = 0;
	json_t *body = p->body;
	p->body = NULL;
	return proc_start(p, body, stdio, err);
}

int docker_live_spawn(void *live, const symbi_exec_options_t *o, void **out, symbi_error_t *err)
{
	docker_live_t *lv = live;
	*out = NULL;
	pthread_mutex_lock(&lv->lock);
	symbi_live_procs_prune_locked(&lv->procs);
	pthread_mutex_unlock(&lv->lock);
	const char *why = docker_live_ended(lv);
	if (why)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "the live sandbox has ended: %s", why);
	if (symbi_docker_env_check(o->env, err) < 0)
		return -1;
	docker_proc_t *p = calloc(1, sizeof(*p));
	if (!p)
		return symbi_fail_nomem(err);
	p->lv = lv;
	p->node.proc = p;
	p->conn = p->out_fd = p->err_fd = p->in_fd = p->stdin_fd = -1;
	p->done[0] = p->done[1] = -1;
	p->detached = o->detached;
	p->timeout_ms = o->timeout_ms;
	if (pipe2(p->done, O_CLOEXEC) < 0) {
		int e = errno;
		proc_release(p);
		return symbi_fail(err, SYMBI_E_SYSTEM, e, "cannot create the process's pipe");
	}
	bool with_stdin = !p->detached && (o->stdin_open || o->stdin_data);
	if (!(p->body = exec_body(lv, o, with_stdin, !p->detached, err)))
		goto fail;
	if (symbi_live_copy_input(o, &p->input, err) < 0)
		goto fail;
	p->oom_before = docker_live_oom_kills(lv);
	symbi_live_hooks_t hooks = {.spawn = proc_spawn_hook, .wait_fd = proc_wait_fd,
				    .reap = proc_reap, .on_timeout = proc_on_timeout, .ctx = p};
	/* A detached process's streams: none */
	if (symbi_live_proc_start(o, p->input, &hooks, (int[3]){-1, -1, -1}, &p->sup,
				  &p->stdin_fd, err) < 0)
		goto fail;
	symbi_live_procs_add(&lv->procs, &p->node);
	*out = p;
	return 0;
fail:
	if (p->have_pump) {
		/* It runs, but we cannot hand it out: it goes. */
		symbi_error_t ignored;
		signal_exec(lv, p->pid, SIGKILL, true, &ignored);
	}
	docker_proc_join_release(p);
	return -1;
}

static int classify(void *proc, const symbi_supervise_outcome_t *oc, symbi_result_t *res,
		    symbi_error_t *err)
{
	docker_proc_t *p = proc;
	char gone[512] = "";
	if (p->sandbox_gone)
		snprintf(gone, sizeof(gone), "the process was killed: %s", p->gone);
	bool deadline = strstr(p->gone, "max_lifetime") || strstr(p->gone, "idle_timeout");
	bool gone_oom = strstr(p->gone, "memory limit") != NULL;
	/* The OOM killer struck in the container while it ran, and it (or the
	 * child it waited for last, as a shell reports it) died of SIGKILL:
	 * the container's cgroup counts OOM kills (memory.events), docker's
	 * OOMKilled is the container's main process only. Processes killed side
	 * by side cannot be told apart. */
	int ws = oc->wait_status;
	bool killed = WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL;
	long ooms = p->sandbox_gone ? -1 : docker_live_oom_kills(p->lv);
	symbi_run_facts_t f = {
		.failure = gone[0] && !deadline && !gone_oom ? gone : NULL,
		.deadline = gone[0] && deadline ? gone : NULL,
		.oom = (gone[0] && gone_oom) ||
		       (killed && !oc->timed_out && ooms >= 0 && ooms > p->oom_before),
		.timeout_ms = p->timeout_ms, .have_status = p->code_known, .wait_status = ws,
		.no_status = "the Docker daemon did not report the process's exit",
	};
	return symbi_classify(oc, &f, res, err);
}

int docker_proc_wait(void *proc, symbi_result_t **out, symbi_error_t *err)
{
	docker_proc_t *p = proc;
	return symbi_live_proc_wait(&p->sup, p->detached, &p->lv->procs, &p->node, classify, out, err);
}

int docker_proc_signal(void *proc, int sig, symbi_error_t *err)
{
	docker_proc_t *p = proc;
	if (sig <= 0 || sig >= 65)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "signal %d is not a signal", sig);
	pthread_mutex_lock(&p->lv->lock);
	bool done = p->finished;
	pthread_mutex_unlock(&p->lv->lock);
	if (done || p->pid <= 0)
		return 0;
	return signal_exec(p->lv, p->pid, sig, false, err);
}

int docker_proc_write_stdin(void *proc, const void *data, size_t len, symbi_error_t *err)
{
	return symbi_live_stdin_write(((docker_proc_t *)proc)->stdin_fd, data, len, err);
}

int docker_proc_close_stdin(void *proc, symbi_error_t *err)
{
	return symbi_live_stdin_close(((docker_proc_t *)proc)->stdin_fd, err);
}

int docker_proc_id(const void *proc)
{
	return ((const docker_proc_t *)proc)->pid;
}

void docker_proc_free(void *proc)
{
	docker_proc_t *p = proc;
	/* A detached one runs on: the sandbox frees its record once it has
	 * ended, or at the stop. */
	if (p && !symbi_live_proc_let_go(&p->lv->procs, &p->node, p->detached, &p->sup))
		docker_proc_join_release(p);
}

/* Whether its pump is done; called with lv->lock held. */
bool docker_proc_ended(void *proc)
{
	return ((docker_proc_t *)proc)->finished;
}

/* Waits for a process's pump to be done (its stream ends when the
 * container is gone) and frees it. */
void docker_proc_join_release(void *proc)
{
	docker_proc_t *p = proc;
	if (p->have_pump)
		pthread_join(p->pump, NULL);
	p->have_pump = false;
	proc_release(p);
}
