/* Child side: the sandbox init. It runs in the new namespaces as a copy of
 * the caller (clone without CLONE_VM), so it uses only system calls and the
 * plan prepared by the parent: no allocation, no locks. */
#include "native.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define SYNC_FD NATIVE_SYNC_FD
/* The program's descriptors before exec (all close-on-exec): the end of the
 * pipe on which the init says the root is ready, then the cgroup's files. */
#define READY_FD NATIVE_VOLUME_FD0
#define CGROUP_FD0 (READY_FD + 1)

static void setup_fds(const int stdio[3], int sync_fd, int lock_fd)
{
	/* Move the sync socket and the lock out of the way of 0-2 first (and
	 * above the fixed descriptors). Until the socket sits at SYNC_FD,
	 * failures are reported on sync_fd itself (EMFILE under a tight
	 * descriptor limit is the likely one). */
	int s = fcntl(sync_fd, F_DUPFD_CLOEXEC, 10);
	int l = lock_fd < 0 ? -1 : fcntl(lock_fd, F_DUPFD_CLOEXEC, 10);
	if (s < 0 || (lock_fd >= 0 && l < 0))
		native_child_fail(sync_fd, "set up descriptors", errno,
				  "cannot move the sync socket (too many open files?)");
	int in = stdio[0] >= 0 ? stdio[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (in < 0 || dup2(in, 0) < 0 || dup2(stdio[1], 1) < 0 || dup2(stdio[2], 2) < 0 ||
	    dup3(s, SYNC_FD, O_CLOEXEC) < 0 || (l >= 0 && dup3(l, NATIVE_LOCK_FD, O_CLOEXEC) < 0))
		native_child_fail(s, "set up descriptors", errno,
				  "cannot install the program's standard descriptors");
	/* Whatever else the caller had open (other threads' descriptors
	 * without CLOEXEC included) stays outside. The lock stays: the run's
	 * host ids are held as long as its init lives, even past the
	 * supervisor (exec closes it in the program). */
	syscall(SYS_close_range, NATIVE_LOCK_FD + 1, ~0U, 0);
	/* Without a lock its number stays taken (by /dev/null): volume mounts
	 * from the parent arrive on the lowest free numbers from
	 * NATIVE_VOLUME_FD0, right above it. */
	if (l < 0) {
		int n = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (n < 0 || (n != NATIVE_LOCK_FD &&
			      (dup3(n, NATIVE_LOCK_FD, O_CLOEXEC) < 0 || close(n) < 0)))
			native_child_fail(SYNC_FD, "set up descriptors", errno,
					  "cannot hold descriptor %d", NATIVE_LOCK_FD);
	}
}

#define INIT_NAME "symbi-init"

/* Writes LEN bytes of SRC (or zeros when SRC is NULL) at ADDR of this
 * process with process_vm_writev. A plain store would do natively, but
 * under valgrind the argv and environment areas the kernel names are the
 * tool's own, and every store there is reported as an invalid write (the
 * library must stay valgrind-clean). /proc/self/mem is no way round it: in
 * the new user namespace, before its maps are written, opening it is
 * EACCES. Falls back to a store if the call fails. */
static void poke_own_memory(unsigned long addr, const void *src, size_t len)
{
	static const char zeros[4096];
	pid_t self = getpid();
	while (len > 0) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);
		struct iovec local = {.iov_base = (void *)(src ? src : zeros), .iov_len = n};
		struct iovec remote = {.iov_base = (void *)addr, .iov_len = n};
		ssize_t w = process_vm_writev(self, &local, 1, &remote, 1, 0);
		if (w <= 0) {
			if (src)
				memcpy((void *)addr, src, len);
			else
				memset((void *)addr, 0, len);
			return;
		}
		addr += (size_t)w;
		len -= (size_t)w;
		if (src)
			src = (const char *)src + w;
	}
}

/* The init is a copy of the caller: its /proc/PID/cmdline and environ
 * would show the caller's argv and environment (state directories, volume
 * host paths, secrets) to the sandbox. Both areas are overwritten in this
 * copy; the end of argv made non-NUL tells the kernel (setproctitle rule)
 * to stop at the first NUL, so cmdline reads exactly INIT_NAME. The areas'
 * bounds are fields 48-51 of /proc/self/stat. */
static void hide_caller_argv(void)
{
	prctl(PR_SET_NAME, INIT_NAME, 0, 0, 0);
	char buf[2048];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	char *s = strrchr(buf, ')'); /* the name (field 2) may hold spaces */
	unsigned long v[4] = {0};
	for (int field = 2; s && field < 51;) {
		s = strchr(s + 1, ' ');
		if (s && ++field >= 48)
			v[field - 48] = strtoul(s + 1, NULL, 10);
	}
	unsigned long arg_start = v[0], arg_end = v[1], env_start = v[2], env_end = v[3];
	if (!arg_start || arg_end <= arg_start + 1 || env_end < env_start)
		return;
	size_t len = arg_end - arg_start, name = sizeof(INIT_NAME) - 1;
	poke_own_memory(env_start, NULL, env_end - env_start);
	poke_own_memory(arg_start, NULL, len);
	poke_own_memory(arg_start, INIT_NAME, name < len - 1 ? name : len - 2);
	poke_own_memory(arg_end - 1, ".", 1);
}

/* GO, with the volumes' mounts when the parent makes them (idmap.c). */
static void wait_for_go(const native_plan_t *p)
{
	native_msg_t m;
	int want = native_volumes_from_parent(p) ? (int)p->nbinds : 0;
	if (native_msg_recv_fds(SYNC_FD, &m, NATIVE_VOLUME_FD0) != want || m.kind != NATIVE_MSG_GO)
		_exit(NATIVE_SETUP_FAILED); /* the parent gave up on us */
}

/* The program, before it drops its privileges: the run's cgroup, made by
 * the parent meanwhile, which it joins by writing 0 to the files sent along
 * (opened by the parent: the kernel checks the opener's credentials), then
 * a cgroup namespace that hides the host's hierarchy. Returns whether there
 * is one (else rlimits stand in). */
static bool enter_cgroup(void)
{
	native_msg_t m;
	int n = native_msg_recv_fds(SYNC_FD, &m, CGROUP_FD0);
	if (n < 0 || m.kind != NATIVE_MSG_CGROUP)
		_exit(NATIVE_SETUP_FAILED); /* the parent gave up on us */
	native_join_cgroup(CGROUP_FD0, n, m.status != 0, SYNC_FD);
	for (int i = 0; i < n; i++)
		close(CGROUP_FD0 + i);
	return m.status != 0;
}

void native_join_cgroup(int fd0, int n, bool use_cgroup, int report_fd)
{
	for (int i = 0; i < n; i++)
		if (write(fd0 + i, "0", 1) != 1)
			native_child_fail(report_fd, "enter the cgroup", errno,
					  "cannot join the run's cgroup");
	if (use_cgroup && unshare(CLONE_NEWCGROUP) < 0)
		native_child_fail(report_fd, "create the cgroup namespace", errno, "unshare failed");
}

/* What the init sends on the ready pipe once the root is built: the
 * identity of that root, which the program checks is its own. */
struct root_id {
	dev_t dev;
	ino_t ino;
};

static int root_id(struct root_id *id)
{
	struct stat st;
	if (stat("/", &st) < 0)
		return -1;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return 0;
}

/* The program waits here, confined, for the init to finish the root: the
 * init's pivot_root moved this process's root too (pivot_root moves every
 * process of the mount namespace whose root was the old one), which it
 * checks before it enters the working directory. EOF: the init failed and
 * reported why. */
static void wait_for_root(const native_plan_t *p)
{
	struct root_id want, got;
	ssize_t n;
	do
		n = read(READY_FD, &want, sizeof(want));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(want))
		_exit(NATIVE_SETUP_FAILED);
	close(READY_FD);
	if (root_id(&got) < 0 || got.dev != want.dev || got.ino != want.ino)
		native_child_fail(SYNC_FD, "enter the new root", EXDEV,
				  "the program's root is not the sandbox's");
	if (chdir(p->workdir) < 0)
		native_child_fail(SYNC_FD, "enter the working directory", errno,
				  "cannot chdir to %s", p->workdir);
}

void native_changed_signals(sigset_t *changed)
{
	sigemptyset(changed);
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL)
			sigaddset(changed, sig);
	}
}

void native_default_signals(const sigset_t *changed)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	/* The C library refuses its own two (32, 33) and the kernel SIGKILL
	 * and SIGSTOP: those keep their defaults anyway. */
	for (int sig = 1; sig < NSIG; sig++)
		if (!changed || sigismember(changed, sig) == 1)
			sigaction(sig, &dfl, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

void native_exec_in_path(char *const argv[], char *const envp[])
{
	const char *name = argv[0];
	if (strchr(name, '/')) {
		execve(name, argv, envp);
		return;
	}
	char path[PATH_MAX];
	const char *dirs = NATIVE_PATH;
	int first_errno = ENOENT;
	while (*dirs) {
		size_t n = strcspn(dirs, ":");
		if (n + 1 + strlen(name) < sizeof(path)) {
			memcpy(path, dirs, n);
			path[n] = '/';
			strcpy(path + n + 1, name);
			execve(path, argv, envp);
			if (errno != ENOENT && errno != ENOTDIR)
				first_errno = errno;
		}
		dirs += n;
		if (*dirs == ':')
			dirs++;
	}
	errno = first_errno;
}

/* The program's process, forked as soon as the root's tmpfs exists, works
 * while the init builds the rest of the root (the two run side by side):
 * it fills /etc in and says so on etc_done, then confines itself
 * (the cgroup, a new session, limits, unprivileged identity, seccomp
 * last), waits for the root and execs. Errors go to the parent
 * through the sync socket, which exec closes. */
__attribute__((noreturn)) static void program_main(const native_plan_t *p, native_etc_t *etc,
						   int etc_done, int ready)
{
	native_etc_copy(etc, !p->netns, SYNC_FD);
	if (write(etc_done, "1", 1) != 1)
		_exit(NATIVE_SETUP_FAILED); /* the init is gone, and said why */
	close(etc_done);
	if (p->live)
		_exit(0); /* a live sandbox's processes come later, on request */
	/* Only the ready pipe's end, at READY_FD, above the fixed descriptors;
	 * the volumes and the new root are the init's. */
	if (ready != READY_FD && dup3(ready, READY_FD, O_CLOEXEC) < 0)
		native_child_fail(SYNC_FD, "start the program", errno, "dup3 failed");
	syscall(SYS_close_range, READY_FD + 1, ~0U, 0);
	const char *step = "start the program";
	native_default_signals(NULL);
	if (setsid() < 0)
		native_child_fail(SYNC_FD, "setsid", errno, "setsid failed");
	bool use_cgroup = enter_cgroup();
	if (native_set_rlimits(p, use_cgroup) < 0)
		native_child_fail(SYNC_FD, "set rlimits", errno, "setrlimit failed");
	if (native_drop_privileges(p, &step) < 0)
		native_child_fail(SYNC_FD, step, errno, "cannot %s", step);
	if (native_seccomp_install(p->filter) < 0)
		native_child_fail(SYNC_FD, "install seccomp", errno, "cannot install the seccomp filter");
	wait_for_root(p);
	native_exec_in_path(p->argv.items, p->envp.items);
	native_child_fail(SYNC_FD, "exec", errno, "cannot execute %s: %s", p->argv.items[0],
			  strerror(errno));
}

/* Reaps everything; when the program ends, reports its status and exits,
 * which makes the kernel kill whatever is left in the pid namespace. */
__attribute__((noreturn)) static void init_loop(pid_t program)
{
	for (;;) {
		int status;
		pid_t w = waitpid(-1, &status, 0);
		if (w == program) {
			native_msg_t m;
			memset(&m, 0, sizeof(m));
			m.kind = NATIVE_MSG_EXIT;
			m.status = status;
			native_msg_send(SYNC_FD, &m);
			_exit(0);
		}
		if (w < 0 && errno != EINTR)
			_exit(NATIVE_SETUP_FAILED);
	}
}

void native_child_main(const native_plan_t *p, const int stdio[3], int sync_fd)
{
	/* The isolation steps, in order. Namespaces (pid, mount, ipc, uts,
	 * net, user) were created by clone. */
	setup_fds(stdio, sync_fd, p->lock_fd);
	hide_caller_argv();
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		native_child_fail(SYNC_FD, "set the parent-death signal", errno, "prctl failed");
	wait_for_go(p); /* parent: id maps, volumes */
	/* The run's own ids from here on, for the init too: the file systems
	 * it mounts belong to its user namespace, where only those are
	 * mapped, and no process of the run is the caller's uid. */
	const char *step;
	if (native_become_sandbox_user(p, &step) < 0)
		native_child_fail(SYNC_FD, step, errno, "cannot %s", step);
	/* A credential change clears the parent-death signal: set it again,
	 * then make sure the parent did not die in between (its end of the
	 * sync socket would be closed: POLLHUP, which poll reports unasked;
	 * a queued CGROUP message is no reason to stop). */
	struct pollfd pf = {.fd = SYNC_FD, .events = 0};
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || poll(&pf, 1, 0) != 0)
		_exit(NATIVE_SETUP_FAILED);
	if (sethostname("sandbox", 7) < 0)
		native_child_fail(SYNC_FD, "set the hostname", errno, "sethostname failed");
	/* Not to be ptraced by the program, which has the same ids. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	native_root_t root;
	native_etc_t etc;
	native_root_begin(&root, &etc, p, SYNC_FD);
	int ready[2], etc_done[2];
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(etc_done, O_CLOEXEC) < 0)
		native_child_fail(SYNC_FD, "start the program", errno, "pipe failed");
	pid_t program = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (program < 0)
		native_child_fail(SYNC_FD, "start the program", errno, "fork failed");
	if (program == 0) {
		close(ready[1]);
		close(etc_done[0]);
		program_main(p, &etc, etc_done[1], ready[0]);
	}
	close(ready[0]);
	close(etc_done[1]);
	native_etc_close(&etc);
	signal(SIGPIPE, SIG_IGN); /* a program that failed early closed its end */
	/* Loopback is the init's to bring up, not the program's: the program
	 * has /etc to copy, its cgroup to join and seccomp to install before
	 * it can exec, and was the longer of the two paths to a ready root
	 * (by the 0.25 ms this takes). */
	if (p->netns && native_loopback_up() < 0)
		native_child_fail(SYNC_FD, "bring up loopback", errno, "cannot bring up lo");
	native_root_finish(&root, p, etc_done[0], SYNC_FD);
	if (p->live) {
		syscall(SYS_close_range, NATIVE_VOLUME_FD0, ~0U, 0); /* attached; the pipes */
		native_live_init(p);
	}
	struct root_id id;
	if (root_id(&id) < 0)
		native_child_fail(SYNC_FD, "enter the new root", errno, "cannot stat /");
	if (write(ready[1], &id, sizeof(id)) != (ssize_t)sizeof(id))
		_exit(NATIVE_SETUP_FAILED); /* the program is gone: it reported why */
	syscall(SYS_close_range, NATIVE_VOLUME_FD0, ~0U, 0); /* attached; the pipe */
	/* The init keeps no descriptor the program's output could wait on. */
	close(0);
	close(1);
	close(2);
	init_loop(program);
}
