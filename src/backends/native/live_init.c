/* Child side: a live sandbox's init. Once the root is built it waits for
 * requests on the sync socket and starts each process as its own child,
 * confined as a one-shot program is (the run's cgroup, a new session,
 * rlimits, no privileges, seccomp), reports each one's start and end on
 * the status socket that came with the request, and ends the sandbox when
 * the parent hangs up or a deadline passes: its exit makes the kernel kill
 * every process left in the pid namespace. Like the rest of the init, it
 * makes system calls only (it is a copy of a possibly threaded caller). */
#include "native.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SYNC_FD NATIVE_SYNC_FD
/* Where the cgroup's files land (the lowest free numbers then). */
#define CGROUP_FD0 NATIVE_VOLUME_FD0
/* Where a starting process keeps its status socket until exec closes it. */
#define CHILD_STATUS_FD 100

typedef struct live_proc {
	pid_t pid;
	int status_fd;
	bool detached;
} live_proc_t;

typedef struct live_init {
	const native_plan_t *p;
	int ncg;
	bool use_cgroup;
	live_proc_t procs[NATIVE_LIVE_MAX_PROCS];
	int nprocs;
	uint64_t born_ms, active_ms; /* start; the last request or attached end */
	sigset_t changed_signals;    /* not at their default here: reset in each process */
} live_init_t;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void send_msg(int fd, int kind, int status, const char *text)
{
	native_msg_t m;
	memset(&m, 0, sizeof(m));
	m.kind = kind;
	m.status = status;
	if (text)
		snprintf(m.text, sizeof(m.text), "%s", text);
	native_msg_send(fd, &m);
}

/* A request's program, read by the init from its spec (a sealed memfd)
 * into mappings of its own (no malloc here), unmapped once the process has
 * exec'd. */
typedef struct live_spec {
	char *base;
	size_t size;
	char **ptrs;
	size_t ptrs_size;
	char **argv, **envp;
	const char *cwd;
} live_spec_t;

static void spec_unmap(live_spec_t *sp)
{
	if (sp->base && sp->base != MAP_FAILED)
		munmap(sp->base, sp->size);
	if (sp->ptrs && sp->ptrs != MAP_FAILED)
		munmap(sp->ptrs, sp->ptrs_size);
	memset(sp, 0, sizeof(*sp));
}

/* Returns 0, or -1 with errno. */
static int read_spec(int spec_fd, live_spec_t *sp)
{
	memset(sp, 0, sizeof(*sp));
	struct stat st;
	if (fstat(spec_fd, &st) < 0)
		return -1;
	if (st.st_size < (off_t)sizeof(native_exec_spec_t)) {
		errno = EINVAL;
		return -1;
	}
	sp->size = (size_t)st.st_size;
	sp->base = mmap(NULL, sp->size, PROT_READ, MAP_PRIVATE, spec_fd, 0);
	if (sp->base == MAP_FAILED) {
		sp->base = NULL;
		return -1;
	}
	native_exec_spec_t h;
	memcpy(&h, sp->base, sizeof(h));
	if (h.magic != NATIVE_EXEC_SPEC_MAGIC || h.size != sp->size || h.argc == 0 ||
	    h.argc > sp->size || h.envc > sp->size || sp->base[sp->size - 1] != '\0') {
		spec_unmap(sp);
		errno = EINVAL;
		return -1;
	}
	size_t slots = (size_t)h.argc + h.envc + 2;
	sp->ptrs_size = slots * sizeof(char *);
	sp->ptrs = mmap(NULL, sp->ptrs_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	if (sp->ptrs == MAP_FAILED) {
		sp->ptrs = NULL;
		spec_unmap(sp);
		return -1;
	}
	char *s = sp->base + sizeof(h), *end = sp->base + sp->size;
	sp->cwd = s;
	for (size_t i = 0; i < (size_t)h.argc + h.envc; i++) {
		s += strlen(s) + 1;
		if (s >= end) {
			spec_unmap(sp);
			errno = EINVAL;
			return -1;
		}
		sp->ptrs[i + (i >= h.argc)] = s;
	}
	sp->ptrs[h.argc] = NULL;
	sp->ptrs[slots - 1] = NULL;
	sp->argv = sp->ptrs;
	sp->envp = sp->ptrs + h.argc + 1;
	return 0;
}

/* What the new process gets from the init. */
struct start_args {
	const live_init_t *li;
	const int *fds;
	int nfds;
	const live_spec_t *spec;
};

/* The new process, between fork and exec: confined like a one-shot
 * program. fds are the request's, in NATIVE_EXEC_* order. */
static int start_process(void *arg)
{
	const struct start_args *a = arg;
	const live_init_t *li = a->li;
	const int *fds = a->fds;
	int nfds = a->nfds;
	const native_plan_t *p = li->p;
	int report = fcntl(fds[NATIVE_EXEC_STATUS], F_DUPFD_CLOEXEC, CHILD_STATUS_FD);
	if (report < 0)
		_exit(NATIVE_SETUP_FAILED);
	/* The init blocks SIGCHLD and ignores SIGPIPE, and its caller may
	 * ignore more; a program starts with none of that. */
	native_default_signals(&li->changed_signals);
	/* The init made the cgroup namespace and installed the filter: both
	 * are inherited. */
	native_join_cgroup(CGROUP_FD0, li->ncg, false, report);
	if (setsid() < 0)
		native_child_fail(report, "setsid", errno, "setsid failed");
	char **argv = a->spec->argv, **envp = a->spec->envp;
	const char *cwd = a->spec->cwd;
	/* 0-2 the process's streams, 3 its code if it has some; all else
	 * (the sync socket, the cgroup's files, the init's other processes'
	 * sockets) is closed by exec. */
	if (dup2(fds[NATIVE_EXEC_STDIN], 0) < 0 || dup2(fds[NATIVE_EXEC_STDOUT], 1) < 0 ||
	    dup2(fds[NATIVE_EXEC_STDERR], 2) < 0 ||
	    (nfds > NATIVE_EXEC_CODE && dup2(fds[NATIVE_EXEC_CODE], 3) < 0))
		native_child_fail(report, "set up descriptors", errno, "dup2 failed");
	syscall(SYS_close_range, nfds > NATIVE_EXEC_CODE ? 4 : 3, ~0U, CLOSE_RANGE_CLOEXEC);
	/* The init emptied the bounding set: the process has it so from the
	 * start. Its exec as the sandbox uid would clear its capabilities
	 * anyway (no ambient or bounding set left, no_new_privs against file
	 * capabilities); they go here too, so that nothing depends on that.
	 * No allocation: the init is a copy of a possibly threaded caller. */
	const char *step = "start the process";
	if (native_set_rlimits(p, li->use_cgroup) < 0)
		native_child_fail(report, "set rlimits", errno, "setrlimit failed");
	if (native_drop_capabilities(p, &step) < 0)
		native_child_fail(report, step, errno, "cannot %s", step);
	if (chdir(cwd) < 0)
		native_child_fail(report, "enter the working directory", errno, "cannot chdir to %s",
				  cwd);
	native_exec_in_path(argv, envp);
	native_child_fail(report, "exec", errno, "cannot execute %s: %s", argv[0], strerror(errno));
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static void on_exec(live_init_t *li, const native_msg_t *m, int *fds, int nfds)
{
	if (nfds <= NATIVE_EXEC_SPEC) {
		close_all(fds, nfds); /* not from our parent: ignored */
		return;
	}
	int status_fd = fds[NATIVE_EXEC_STATUS];
	if (li->nprocs == NATIVE_LIVE_MAX_PROCS) {
		send_msg(status_fd, NATIVE_MSG_ERROR, 0,
			 "the sandbox already runs its maximum of processes started on request");
		close_all(fds, nfds);
		return;
	}
	live_spec_t spec;
	const char *what = "read the process's spec";
	pid_t pid = -1;
	if (read_spec(fds[NATIVE_EXEC_SPEC], &spec) == 0) {
		/* A plain fork, not vfork: until it execs, the process runs as
		 * the sandbox uid, and a program could stop it (SIGSTOP); a
		 * vfork'ing init would wait for it for ever, deaf to its
		 * parent and its deadlines. A stopped one is only itself
		 * stuck: its exec's timeout kills it. */
		struct start_args a = {li, fds, nfds, &spec};
		what = "start the process";
		pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
		if (pid == 0)
			_exit(start_process(&a));
		spec_unmap(&spec);
	}
	if (pid < 0) {
		native_msg_t e;
		memset(&e, 0, sizeof(e));
		e.kind = NATIVE_MSG_ERROR;
		e.err_no = errno;
		snprintf(e.step, sizeof(e.step), "%s", what);
		snprintf(e.text, sizeof(e.text), "%s",
			 e.err_no == EAGAIN ? "fork failed (the pids limit?)" : "failed");
		native_msg_send(status_fd, &e);
		close_all(fds, nfds);
		return;
	}
	send_msg(status_fd, NATIVE_MSG_STARTED, pid, NULL);
	fds[NATIVE_EXEC_STATUS] = -1;
	for (int i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	li->procs[li->nprocs++] = (live_proc_t){pid, status_fd, (m->status & NATIVE_EXEC_DETACHED) != 0};
}

/* Signals a process started on request: its group (it leads a session),
 * else the process alone. Other pids are not the parent's to signal. */
static void on_signal(const live_init_t *li, const native_msg_t *m)
{
	for (int i = 0; i < li->nprocs; i++)
		if (li->procs[i].pid == m->status) {
			if (kill(-m->status, m->err_no) < 0)
				kill(m->status, m->err_no);
			return;
		}
}

static void on_child_exit(live_init_t *li, pid_t pid, int status)
{
	for (int i = 0; i < li->nprocs; i++)
		if (li->procs[i].pid == pid) {
			send_msg(li->procs[i].status_fd, NATIVE_MSG_EXIT, status, NULL);
			close(li->procs[i].status_fd);
			if (!li->procs[i].detached)
				li->active_ms = now_ms();
			li->procs[i] = li->procs[--li->nprocs];
			return;
		}
}

static bool busy(const live_init_t *li)
{
	for (int i = 0; i < li->nprocs; i++)
		if (!li->procs[i].detached)
			return true;
	return false;
}

/* The deadline that comes first, as an absolute time (UINT64_MAX: none),
 * and which one in *why. */
static uint64_t next_deadline(const live_init_t *li, const char **why)
{
	uint64_t at = UINT64_MAX;
	if (li->p->lifetime_ms) {
		at = li->born_ms + li->p->lifetime_ms;
		*why = "the sandbox's max_lifetime passed";
	}
	if (li->p->idle_ms && !busy(li) && li->active_ms + li->p->idle_ms < at) {
		at = li->active_ms + li->p->idle_ms;
		*why = "the sandbox was idle for its idle_timeout";
	}
	return at;
}

__attribute__((noreturn)) static void end_sandbox(live_init_t *li, const char *why)
{
	for (int i = 0; i < li->nprocs; i++)
		send_msg(li->procs[i].status_fd, NATIVE_MSG_ENDED, 0, why);
	send_msg(SYNC_FD, NATIVE_MSG_ENDED, 0, why);
	_exit(0);
}

/* The cgroup namespace the processes inherit, rooted at the run's cgroup,
 * where each process sees its own at "/", as a one-shot program does. A
 * namespace made where the init is (the caller's cgroup) would show them
 * the run's name below it on v1 (/symbi-sandbox-PID-...), and on v2, where
 * the run's cgroup is not below the caller's, the way up and across
 * ("/../../.."). So the init enters the run's cgroup, makes the namespace
 * there and goes back home (through the files the parent opened: the
 * kernel checks the opener), before any process runs. */
static void enter_cgroup_namespace(const live_init_t *li, int home0)
{
	native_join_cgroup(CGROUP_FD0, li->ncg, false, SYNC_FD);
	if (unshare(CLONE_NEWCGROUP) < 0)
		native_child_fail(SYNC_FD, "create the cgroup namespace", errno, "unshare failed");
	for (int i = 0; i < li->ncg; i++) {
		if (write(home0 + i, "0", 1) != 1)
			native_child_fail(SYNC_FD, "leave the run's cgroup", errno,
					  "cannot go back to the caller's cgroup");
		close(home0 + i);
	}
}

void native_live_init(const native_plan_t *p)
{
	static const char died[] = "the sandbox's init failed";
	live_init_t li;
	memset(&li, 0, sizeof(li));
	li.p = p;
	/* The cgroup's files (from the parent, made while the root was
	 * built): each process joins it as it starts, the init stays out. */
	native_msg_t m;
	li.ncg = native_msg_recv_fds(SYNC_FD, &m, CGROUP_FD0);
	if (li.ncg < 0 || m.kind != NATIVE_MSG_CGROUP)
		_exit(NATIVE_SETUP_FAILED); /* the parent gave up on us */
	li.use_cgroup = m.status != 0;
	if (li.use_cgroup && (m.err_no != NATIVE_CGROUP_HOME || li.ncg % 2))
		_exit(NATIVE_SETUP_FAILED); /* no way back: the parent is not ours */
	li.ncg /= 2;
	/* What every process would do first, done once here and inherited:
	 * no capability to gain, a cgroup namespace (rooted at the run's
	 * cgroup: it hides the host's hierarchy), and, below, the
	 * seccomp filter, which the kernel would otherwise compile again for
	 * each process (a fifth of an exec's time). The init itself stays out
	 * of the run's cgroup: as a copy of the caller, its resident set is
	 * the caller's, and the OOM killer would pick it before a program's
	 * allocation. Each process joins the cgroup as it starts. */
	const char *step;
	if (native_drop_bounding_set(p, &step) < 0)
		native_child_fail(SYNC_FD, step, errno, "cannot %s", step);
	if (li.use_cgroup)
		enter_cgroup_namespace(&li, CGROUP_FD0 + li.ncg);
	native_changed_signals(&li.changed_signals);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	int sfd = sigprocmask(SIG_BLOCK, &chld, NULL) < 0
			  ? -1 : signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		native_child_fail(SYNC_FD, "start the sandbox", errno, "signalfd failed");
	/* From here the sandbox outlives the thread that started it (the
	 * parent-death signal follows a thread): it ends when the parent
	 * process closes the socket, even by dying. */
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	/* From here on the init makes only the system calls its programs may
	 * (fork, signals, messages, waits), and their filter binds it too. */
	if (native_seccomp_install(p->filter) < 0)
		native_child_fail(SYNC_FD, "install seccomp", errno, "cannot install the seccomp filter");
	send_msg(SYNC_FD, NATIVE_MSG_READY, 0, NULL);
	li.born_ms = li.active_ms = now_ms();
	for (;;) {
		const char *why = NULL;
		uint64_t at = next_deadline(&li, &why), now = now_ms();
		if (at <= now)
			end_sandbox(&li, why);
		uint64_t wait = at == UINT64_MAX ? 60000 : at - now;
		struct pollfd pf[2] = {{SYNC_FD, POLLIN, 0}, {sfd, POLLIN, 0}};
		int r = poll(pf, 2, wait > 60000 ? 60000 : (int)wait);
		if (r < 0 && errno != EINTR)
			end_sandbox(&li, died);
		if (r <= 0)
			continue;
		if (pf[1].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				;
			int status;
			pid_t w;
			while ((w = waitpid(-1, &status, WNOHANG)) > 0)
				on_child_exit(&li, w, status);
		}
		if (pf[0].revents) {
			int fds[NATIVE_EXEC_MAX_FDS], nfds;
			int got = native_msg_recv_any(SYNC_FD, &m, fds, NATIVE_EXEC_MAX_FDS, &nfds);
			if (got == 0)
				_exit(0); /* the parent stopped the sandbox, or died */
			if (got < 0)
				continue;
			li.active_ms = now_ms();
			if (m.kind == NATIVE_MSG_EXEC)
				on_exec(&li, &m, fds, nfds);
			else if (m.kind == NATIVE_MSG_SIGNAL)
				on_signal(&li, &m);
			else
				close_all(fds, nfds);
		}
	}
}
