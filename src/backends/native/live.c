/* Parent side of a live native sandbox: the run is set up once as for a
 * one-shot execution (its own host ids, namespaces, root, cgroup), but its
 * init stays (live_init.c) and starts processes on request. Each process
 * gets a status socket of its own, so that threads waiting for different
 * processes never read each other's news; requests share the sync socket,
 * whose messages the kernel keeps whole. */
#include "native.h"
#include "../../core/backend.h"
#include "../../core/error.h"
#include "../../core/classify.h"
#include "../../core/live_proc.h"
#include "../../core/result.h"
#include "../../core/supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct native_proc native_proc_t;

typedef struct native_live {
	native_state_t *st;
	const symbi_config_t *cfg; /* the core's copy; outlives this */
	native_plan_t plan;
	native_cgroup_t cg;
	native_identity_t ident;
	native_run_t run;
	int null_fd; /* /dev/null: the init's stdio, and a detached process's */
	int init_pidfd; /* readable once the init, and so every process, is gone */
	uint64_t started_ms;
	pthread_mutex_t lock; /* guards procs and ended */
	symbi_live_procs_t procs; /* its processes (native_proc_t), for list */
	char ended[sizeof(((native_msg_t *)0)->text)];
} native_live_t;

struct native_proc {
	native_live_t *lv;
	symbi_live_node_t node; /* in lv->procs */
	int status_fd; /* our end of the process's status socket */
	pid_t pid;     /* inside the sandbox; 0 until STARTED */
	bool detached, finished;
	int wait_status;
	bool have_error, sandbox_gone;
	native_msg_t error;      /* the first ERROR */
	char gone[sizeof(((native_msg_t *)0)->text)]; /* why the sandbox ended */
	bool gone_deadline;      /* by a deadline (ENDED), not a stop or a crash */
	long oom_before;
	uint64_t timeout_ms;
	symbi_supervision_t *sup; /* NULL once waited, or when detached */
	int spec_fd, code_fd;     /* sent with the request */
	int stdin_fd;             /* stdin_open: our end of its stdin, -1 */
	char *input;              /* the copy supervise writes to stdin */
};

static void proc_release(void *proc);
static bool proc_ended(void *proc);

/* ---- the sandbox -------------------------------------------------------- */

/* Once the init has said it ends (or its socket closed), returns when it
 * is gone: the kernel kills the pid namespace's processes as its init
 * exits, and a caller told that the sandbox ended may look for them. */
static void await_init_gone(native_live_t *lv)
{
	struct pollfd pf = {lv->init_pidfd, POLLIN, 0};
	if (lv->init_pidfd >= 0) {
		while (poll(&pf, 1, 10000) < 0 && errno == EINTR)
			;
		return;
	}
	/* No pidfd (valgrind knows none): wait without reaping. */
	siginfo_t si;
	while (waitid(P_PID, (id_t)lv->run.init_pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
		;
}

static void set_ended(native_live_t *lv, const char *why)
{
	pthread_mutex_lock(&lv->lock);
	if (!lv->ended[0])
		snprintf(lv->ended, sizeof(lv->ended), "%s", why);
	pthread_mutex_unlock(&lv->lock);
}

/* Reads an ENDED the init left on the sync socket, without blocking. */
static void poll_ended(native_live_t *lv)
{
	native_msg_t m;
	ssize_t n = recv(lv->run.sync_fd, &m, sizeof(m), MSG_DONTWAIT);
	if (n == (ssize_t)sizeof(m) && m.kind == NATIVE_MSG_ENDED) {
		m.text[sizeof(m.text) - 1] = '\0';
		set_ended(lv, m.text);
		await_init_gone(lv);
	} else if (n == 0) {
		set_ended(lv, "the sandbox's init ended");
		await_init_gone(lv);
	}
}

static int live_start(void *state, const symbi_config_t *cfg, void **out, symbi_error_t *err)
{
	*out = NULL;
	native_live_t *lv = calloc(1, sizeof(*lv));
	if (!lv)
		return symbi_fail_nomem(err);
	lv->st = state;
	lv->cfg = cfg;
	lv->ident.lock_fd = -1;
	lv->cg.memory_dir = -1;
	lv->run = (native_run_t){.plan = &lv->plan, .cg = &lv->cg, .sync_fd = -1, .init_pid = -1};
	pthread_mutex_init(&lv->lock, NULL);
	lv->procs = (symbi_live_procs_t){.lock = &lv->lock, .ended = proc_ended,
					 .release = proc_release};
	lv->init_pidfd = -1;
	lv->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (lv->null_fd < 0) {
		symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot open /dev/null");
		goto fail;
	}
	if (native_plan_build(&lv->plan, cfg, &lv->st->filter, "", 0, NULL, err) < 0)
		goto fail;
	native_plan_t *p = &lv->plan;
	p->live = true;
	p->idle_ms = cfg->idle_timeout_ms;
	p->lifetime_ms = cfg->max_lifetime_ms;
	/* The run's own host ids, held for the sandbox's life (see
	 * native_execute for the volumes that cannot be idmapped). */
	bool own_ids = lv->st->ids.mode != NATIVE_ID_RANGE || p->nbinds == 0 ||
		       native_volumes_idmappable(p);
	if (!own_ids) {
		lv->ident.uid = p->uid;
		lv->ident.gid = p->gid;
	} else if (native_identity_acquire(&lv->ident, &lv->st->ids, err) < 0) {
		goto fail;
	}
	p->id_mode = lv->st->ids.mode;
	p->volumes_idmap = lv->st->ids.mode == NATIVE_ID_RANGE && own_ids;
	p->host_uid = lv->ident.uid;
	p->host_gid = lv->ident.gid;
	p->lock_fd = lv->ident.lock_fd;
	lv->run.root = lv->st->root;
	lv->run.fail_closed = lv->st->root ||
			      (native_has_total_limits(&p->limits) && !cfg->weak_limits);
	int stdio[3] = {lv->null_fd, lv->null_fd, lv->null_fd};
	pid_t pid;
	if (native_run_spawn(&lv->run, stdio, &pid, err) < 0)
		goto fail;
	lv->init_pidfd = pidfd_open(pid, 0);
	/* The root is built, or the init says which step failed. */
	native_msg_t m;
	int got = native_msg_recv(lv->run.sync_fd, &m);
	if (got == 1 && m.kind == NATIVE_MSG_READY) {
		lv->started_ms = symbi_monotonic_ms();
		*out = lv;
		return 0;
	}
	if (got == 1 && m.kind == NATIVE_MSG_ERROR)
		symbi_fail(err, SYMBI_E_UNAVAILABLE, m.err_no, "native sandbox: cannot %s: %s (%s)%s",
			   m.step, m.text, strerror(m.err_no), native_step_hint(&m));
	else
		symbi_fail(err, SYMBI_E_UNAVAILABLE, 0,
			   "native sandbox: the sandbox's init ended while it was being set up");
fail:
	*out = lv;
	return -1; /* the caller kills and frees */
}

static void live_kill(void *live)
{
	native_live_t *lv = live;
	set_ended(lv, "the sandbox was stopped");
	/* The init's exit kills every process in the pid namespace. */
	if (lv->run.init_pid > 0)
		kill(lv->run.init_pid, SIGKILL);
	native_cgroup_kill(&lv->cg);
}

static void live_free(void *live)
{
	native_live_t *lv = live;
	if (!lv)
		return;
	if (lv->run.init_pid > 0) {
		kill(lv->run.init_pid, SIGKILL);
		while (waitpid(lv->run.init_pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (lv->run.sync_fd >= 0)
		close(lv->run.sync_fd);
	symbi_live_procs_release_all(&lv->procs);
	native_cgroup_destroy(&lv->cg);
	native_identity_release(&lv->ident);
	native_plan_free(&lv->plan);
	if (lv->null_fd >= 0)
		close(lv->null_fd);
	if (lv->init_pidfd >= 0)
		close(lv->init_pidfd);
	pthread_mutex_destroy(&lv->lock);
	free(lv);
}

static const char *live_ended(void *live)
{
	native_live_t *lv = live;
	poll_ended(lv);
	pthread_mutex_lock(&lv->lock);
	const char *why = lv->ended[0] ? lv->ended : NULL;
	pthread_mutex_unlock(&lv->lock);
	return why;
}

/* A process's pid in the sandbox while it runs, else 0; with lv->lock
 * held. */
static int running_pid(void *proc)
{
	native_proc_t *p = proc;
	return proc_ended(p) ? 0 : p->pid;
}

static size_t live_list(void *live, int *pids, size_t max)
{
	return symbi_live_procs_list(&((native_live_t *)live)->procs, running_pid, pids, max);
}

/* ---- one process -------------------------------------------------------- */

/* Takes one message of the process; returns 1 when it has ended. */
static int take_message(native_proc_t *p, const native_msg_t *m, int got)
{
	if (got == 0 || got < 0) {
		/* The init is gone without a word for this process. */
		p->sandbox_gone = true;
		native_live_t *lv = p->lv;
		poll_ended(lv);
		pthread_mutex_lock(&lv->lock);
		snprintf(p->gone, sizeof(p->gone), "%s",
			 lv->ended[0] ? lv->ended : "the sandbox's init was killed");
		pthread_mutex_unlock(&lv->lock);
		await_init_gone(lv);
		return 1;
	}
	switch (m->kind) {
	case NATIVE_MSG_STARTED:
		p->pid = m->status;
		return 0;
	case NATIVE_MSG_ERROR:
		if (!p->have_error) {
			p->error = *m;
			p->have_error = true;
		}
		return p->pid == 0; /* refused before a process existed */
	case NATIVE_MSG_EXIT:
		p->wait_status = m->status;
		return 1;
	case NATIVE_MSG_ENDED:
		p->sandbox_gone = p->gone_deadline = true;
		snprintf(p->gone, sizeof(p->gone), "%s", m->text);
		set_ended(p->lv, m->text);
		await_init_gone(p->lv);
		return 1;
	default:
		return 0;
	}
}

static int proc_wait_fd(void *ctx)
{
	return ((native_proc_t *)ctx)->status_fd;
}

static int proc_reap(void *ctx, int *wait_status)
{
	native_proc_t *p = ctx;
	while (!p->finished) {
		native_msg_t m;
		ssize_t n = recv(p->status_fd, &m, sizeof(m), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		int got = n == (ssize_t)sizeof(m) ? 1 : n == 0 ? 0 : -1;
		if (got == 1) {
			m.step[sizeof(m.step) - 1] = '\0';
			m.text[sizeof(m.text) - 1] = '\0';
		}
		p->finished = take_message(p, &m, got) == 1;
	}
	*wait_status = p->wait_status;
	return 1;
}

static int send_signal(native_proc_t *p, int sig)
{
	if (p->pid <= 0)
		return 0;
	native_msg_t m;
	memset(&m, 0, sizeof(m));
	m.kind = NATIVE_MSG_SIGNAL;
	m.status = p->pid;
	m.err_no = sig;
	return native_msg_send(p->lv->run.sync_fd, &m);
}

static void proc_on_timeout(void *ctx)
{
	send_signal(ctx, SIGKILL);
}

/* The spec the init reads (native_exec_spec_t and strings), in a sealed
 * memfd. */
static int write_spec(const char *cwd, const symbi_strlist_t *argv, const symbi_strlist_t *envp,
		      symbi_error_t *err)
{
	size_t size = sizeof(native_exec_spec_t) + strlen(cwd) + 1;
	for (size_t i = 0; i < argv->len; i++)
		size += strlen(argv->items[i]) + 1;
	for (size_t i = 0; i < envp->len; i++)
		size += strlen(envp->items[i]) + 1;
	if (size > UINT32_MAX)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "the process's arguments are too big");
	char *buf = malloc(size);
	if (!buf)
		return symbi_fail_nomem(err);
	native_exec_spec_t h = {NATIVE_EXEC_SPEC_MAGIC, (uint32_t)argv->len, (uint32_t)envp->len,
				(uint32_t)size};
	memcpy(buf, &h, sizeof(h));
	char *w = buf + sizeof(h);
	w = stpcpy(w, cwd) + 1;
	for (size_t i = 0; i < argv->len; i++)
		w = stpcpy(w, argv->items[i]) + 1;
	for (size_t i = 0; i < envp->len; i++)
		w = stpcpy(w, envp->items[i]) + 1;
	int fd = memfd_create("symbi-spec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int rc = fd < 0 ? -1 : 0;
	for (size_t off = 0; rc == 0 && off < size;) {
		ssize_t n = write(fd, buf + off, size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = -1;
		else
			off += (size_t)n;
	}
	free(buf);
	if (rc == 0)
		fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	if (rc < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return symbi_fail(err, SYMBI_E_SYSTEM, e, "cannot pass the process's spec");
	}
	return fd;
}

static int code_memfd(const char *code, size_t len, symbi_error_t *err)
{
	int fd = memfd_create("symbi-code", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	size_t off = 0;
	while (fd >= 0 && off < len) {
		ssize_t n = write(fd, code + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (fd < 0 || off < len) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return symbi_fail(err, SYMBI_E_SYSTEM, e, "cannot pass the code");
	}
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	return fd;
}

/* Sends EXEC and reads until the init says it started the process (or why
 * not). stdio: -1 for stdin means /dev/null. */
static int request_start(native_proc_t *p, const int stdio[3], symbi_error_t *err)
{
	native_live_t *lv = p->lv;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot create the process's socket");
	int fds[NATIVE_EXEC_MAX_FDS] = {stdio[0] >= 0 ? stdio[0] : lv->null_fd, stdio[1], stdio[2],
					sv[1], p->spec_fd, p->code_fd};
	native_msg_t m;
	memset(&m, 0, sizeof(m));
	m.kind = NATIVE_MSG_EXEC;
	m.status = p->detached ? NATIVE_EXEC_DETACHED : 0;
	int rc = native_msg_send_fds(lv->run.sync_fd, &m, fds,
				     p->code_fd >= 0 ? NATIVE_EXEC_MAX_FDS : NATIVE_EXEC_CODE);
	close(sv[1]);
	p->status_fd = sv[0];
	if (rc < 0) {
		poll_ended(lv);
		const char *why = live_ended(lv);
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, errno, "the live sandbox has ended: %s",
				  why ? why : "its init is gone");
	}
	/* The init answers at once (it forks and says so); one that does not
	 * within the deadline is broken, and the sandbox goes with it. */
	uint64_t deadline = symbi_monotonic_ms() + NATIVE_LIVE_ANSWER_MS;
	while (p->pid == 0 && !p->finished) {
		struct pollfd pf = {p->status_fd, POLLIN, 0};
		uint64_t now = symbi_monotonic_ms();
		int r = now < deadline ? poll(&pf, 1, (int)(deadline - now)) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			set_ended(lv, "the sandbox's init stopped answering; the sandbox was ended");
			live_kill(lv);
		}
		int got = native_msg_recv(p->status_fd, &m);
		p->finished = take_message(p, &m, got) == 1;
	}
	if (p->pid == 0 && p->sandbox_gone)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "the live sandbox has ended: %s",
				  p->gone);
	if (p->pid == 0)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, p->error.err_no, "cannot %s: %s",
				  p->error.step, p->error.text);
	return 0;
}

static int proc_spawn_hook(void *ctx, const int stdio[3], pid_t *pid, symbi_error_t *err)
{
	*pid = 0;
	return request_start(ctx, stdio, err);
}

/* Whether a process has ended; called with lv->lock held. A detached
 * process's end waits, unread, on its socket. */
static bool proc_ended(void *proc)
{
	native_proc_t *p = proc;
	struct pollfd pf = {p->status_fd, POLLIN, 0};
	return p->finished || (p->detached && poll(&pf, 1, 0) == 1);
}

static void proc_release(void *proc)
{
	native_proc_t *p = proc;
	if (p->status_fd >= 0)
		close(p->status_fd);
	if (p->stdin_fd >= 0)
		close(p->stdin_fd);
	if (p->spec_fd >= 0)
		close(p->spec_fd);
	if (p->code_fd >= 0)
		close(p->code_fd);
	free(p->input);
	free(p);
}

/* The program and its environment: opts->argv, or the code run by lang's
 * interpreter (from descriptor 3 when too big for argv). */
static int build_request(native_proc_t *p, const symbi_exec_options_t *o, symbi_error_t *err)
{
	native_live_t *lv = p->lv;
	symbi_strlist_t argv = {0}, envp = {0};
	char *cwd = NULL;
	int rc = -1;
	if (o->cwd && native_sandbox_path("cwd", o->cwd, &cwd, err) < 0)
		goto out;
	if (o->argv) {
		for (size_t i = 0; o->argv[i]; i++)
			if (symbi_strlist_push(&argv, o->argv[i]) < 0) {
				symbi_fail_nomem(err);
				goto out;
			}
		if (argv.len == 0 || !argv.items[0][0]) {
			symbi_fail(err, SYMBI_E_INVALID, 0, "argv must name a program");
			goto out;
		}
	} else {
		bool code_file;
		if (native_build_command(&argv, lv->cfg, o->code ? o->code : "", o->code_len,
					 "/dev/fd/3", &code_file, err) < 0)
			goto out;
		if (code_file && (p->code_fd = code_memfd(o->code, o->code_len, err)) < 0)
			goto out;
	}
	if (native_build_env(&envp, lv->plan.workdir, o->env, err) < 0)
		goto out;
	p->spec_fd = write_spec(cwd ? cwd : lv->plan.workdir, &argv, &envp, err);
	rc = p->spec_fd < 0 ? -1 : 0;
out:
	free(cwd);
	symbi_strlist_clear(&argv);
	symbi_strlist_clear(&envp);
	return rc;
}

/* Records of detached processes whose handle is gone and which ended. */
static void prune_orphans(native_live_t *lv)
{
	pthread_mutex_lock(&lv->lock);
	symbi_live_procs_prune_locked(&lv->procs);
	pthread_mutex_unlock(&lv->lock);
}

static int live_spawn(void *live, const symbi_exec_options_t *o, void **out, symbi_error_t *err)
{
	native_live_t *lv = live;
	*out = NULL;
	prune_orphans(lv);
	/* The init ends the sandbox at max_lifetime; should it fail to, the
	 * caller does (a second later). */
	if (lv->plan.lifetime_ms &&
	    symbi_monotonic_ms() > lv->started_ms + lv->plan.lifetime_ms + 1000) {
		set_ended(lv, "the sandbox's max_lifetime passed");
		live_kill(lv);
	}
	const char *why = live_ended(lv);
	if (why)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "the live sandbox has ended: %s", why);
	native_proc_t *p = calloc(1, sizeof(*p));
	if (!p)
		return symbi_fail_nomem(err);
	p->lv = lv;
	p->node.proc = p;
	p->status_fd = p->spec_fd = p->code_fd = p->stdin_fd = -1;
	p->detached = o->detached;
	p->timeout_ms = o->timeout_ms;
	if (build_request(p, o, err) < 0)
		goto fail;
	if (symbi_live_copy_input(o, &p->input, err) < 0)
		goto fail;
	p->oom_before = native_cgroup_oom_kills(&lv->cg);
	symbi_live_hooks_t hooks = {.spawn = proc_spawn_hook, .wait_fd = proc_wait_fd,
				    .reap = proc_reap, .on_timeout = proc_on_timeout, .ctx = p};
	/* A detached process's streams: /dev/null's */
	if (symbi_live_proc_start(o, p->input, &hooks, (int[3]){-1, lv->null_fd, lv->null_fd}, &p->sup,
				  &p->stdin_fd, err) < 0)
		goto fail;
	/* Sent: the init has its own copies. */
	close(p->spec_fd);
	p->spec_fd = -1;
	if (p->code_fd >= 0) {
		close(p->code_fd);
		p->code_fd = -1;
	}
	symbi_live_procs_add(&lv->procs, &p->node);
	*out = p;
	return 0;
fail:
	proc_release(p);
	return -1;
}

/* What the init and the cgroup said of a process, for the core's
 * classification. */
static int classify(void *proc, const symbi_supervise_outcome_t *oc, symbi_result_t *res,
		    symbi_error_t *err)
{
	native_proc_t *p = proc;
	int ws = p->wait_status;
	char failure[1024] = "", gone[512] = "";
	if (p->have_error)
		snprintf(failure, sizeof(failure), "native sandbox: cannot %s: %s (%s)%s",
			 p->error.step, p->error.text, strerror(p->error.err_no),
			 native_step_hint(&p->error));
	else if (p->sandbox_gone)
		snprintf(gone, sizeof(gone), "the process was killed: %s", p->gone);
	/* The OOM killer struck while it ran, and it (or the child it
	 * waited for last, as a shell reports it) died of SIGKILL. Processes
	 * killed side by side cannot be told apart. */
	bool killed = (WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL) ||
		      (WIFEXITED(ws) && WEXITSTATUS(ws) == 128 + SIGKILL);
	symbi_run_facts_t f = {
		.failure = failure[0] ? failure : gone[0] && !p->gone_deadline ? gone : NULL,
		.deadline = gone[0] && p->gone_deadline ? gone : NULL,
		.oom = killed && native_cgroup_oom_kills(&p->lv->cg) > p->oom_before,
		.timeout_ms = p->timeout_ms, .have_status = true, .wait_status = ws,
	};
	return symbi_classify(oc, &f, res, err);
}

static int proc_wait(void *proc, symbi_result_t **out, symbi_error_t *err)
{
	native_proc_t *p = proc;
	return symbi_live_proc_wait(&p->sup, p->detached, &p->lv->procs, &p->node, classify, out, err);
}

static int proc_signal(void *proc, int sig, symbi_error_t *err)
{
	native_proc_t *p = proc;
	if (sig <= 0 || sig >= 65)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "signal %d is not a signal", sig);
	if (send_signal(p, sig) < 0)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, errno, "the live sandbox has ended");
	return 0;
}

static int proc_write_stdin(void *proc, const void *data, size_t len, symbi_error_t *err)
{
	return symbi_live_stdin_write(((native_proc_t *)proc)->stdin_fd, data, len, err);
}

static int proc_close_stdin(void *proc, symbi_error_t *err)
{
	return symbi_live_stdin_close(((native_proc_t *)proc)->stdin_fd, err);
}

static int proc_id(const void *proc)
{
	return ((const native_proc_t *)proc)->pid;
}

static void proc_free(void *proc)
{
	native_proc_t *p = proc;
	/* A detached one runs on: the sandbox frees its record once it has
	 * ended, or at the stop. */
	if (p && !symbi_live_proc_let_go(&p->lv->procs, &p->node, p->detached, &p->sup))
		proc_release(p);
}

const symbi_live_ops_t symbi_native_live_ops = {
	.start = live_start,
	.kill = live_kill,
	.free = live_free,
	.ended = live_ended,
	.list = live_list,
	.spawn = live_spawn,
	.wait = proc_wait,
	.signal = proc_signal,
	.write_stdin = proc_write_stdin,
	.close_stdin = proc_close_stdin,
	.id = proc_id,
	.proc_free = proc_free,
};
