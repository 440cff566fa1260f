/* A watchdog that outlives us: if the process running a container dies
 * (SIGKILL, crash) before saying it is done, the watchdog removes the
 * container and kills the orphaned docker client. Without it a killed caller
 * leaves a container running until the program inside ends, if ever.
 *
 * It is a forked copy of us that runs no shell and execs nothing but
 * `docker rm`, with the fixed control environment: the program's variables
 * never reach it. After fork() a threaded process may only make
 * async-signal-safe calls, so everything it needs (argv, envp, the resolved
 * docker path) is prepared before the fork, and the child uses only read,
 * fork, execve, waitpid, kill, nanosleep, sigaction and the like.
 *
 * It reads a socket whose only other end is ours: "done" means release, EOF
 * means we died. It runs in its own session so that a signal to our process
 * group does not take it down with us (the container's deadline label and
 * the start-up sweep cover the case where it is killed too). */
#include "docker.h"
#include "../core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pause_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* fork + execve `docker rm -fv NAME`, output to /dev/null; async-signal-safe. */
static void remove_container(const char *docker_path, char *const *argv, char *const *envp)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		close_range(3, ~0U, 0);
		execve(docker_path, argv, envp);
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

static _Noreturn void watchdog(int fd, const char *docker_path, char *const *rm_argv,
			       char *const *envp, pid_t client_pid)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL}, ign = {.sa_handler = SIG_IGN};
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	const int ignored[] = {SIGINT, SIGHUP, SIGTERM, SIGQUIT, SIGPIPE};
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		sigaction(ignored[i], &ign, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	prctl(PR_SET_NAME, "symbi-watchdog", 0, 0, 0);
	char buf[8];
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got >= 5 && memcmp(buf, "done\n", 5) == 0)
			_exit(0);
		if (got == sizeof(buf))
			break;
	}
	remove_container(docker_path, rm_argv, envp);
	if (client_pid <= 0) /* a live sandbox's container: no client runs */
		_exit(0);
	kill(client_pid, SIGKILL);
	for (int i = 0; i < 50 && kill(client_pid, 0) == 0; i++)
		pause_ms(100);
	/* Catches a container whose creation was still in flight. */
	pause_ms(1000);
	remove_container(docker_path, rm_argv, envp);
	_exit(0);
}

int symbi_docker_reaper_start(symbi_docker_reaper_t *r, const char *docker_path,
			      const char *name, pid_t client_pid, char *const *envp,
			      symbi_error_t *err)
{
	r->done_fd = -1;
	r->pid = -1;
	int fds[2];
	/* A socket rather than a pipe: send(MSG_NOSIGNAL) spares us SIGPIPE
	 * if the watchdog is already gone. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "socketpair");
	char *rm_argv[] = {(char *)docker_path, "rm", "-fv", (char *)name, NULL};
	pid_t pid = fork();
	if (pid == 0) {
		/* Nothing of ours but the socket stays open in the watchdog
		 * (close_range is a plain syscall). */
		int fd = fds[0];
		if (fd != 3 && (dup2(fd, 3) < 0))
			_exit(1);
		close_range(4, ~0U, 0);
		for (int i = 0; i < 3; i++) {
			int null = open("/dev/null", O_RDWR);
			if (null >= 0 && null != i) {
				dup2(null, i);
				close(null);
			}
		}
		watchdog(3, docker_path, rm_argv, envp, client_pid);
	}
	int saved = errno;
	close(fds[0]);
	if (pid < 0) {
		close(fds[1]);
		return symbi_fail(err, SYMBI_E_SYSTEM, saved, "cannot start the container watchdog");
	}
	r->pid = pid;
	r->done_fd = fds[1];
	return 0;
}

void symbi_docker_reaper_release(symbi_docker_reaper_t *r)
{
	if (r->done_fd >= 0) {
		ssize_t n = send(r->done_fd, "done\n", 5, MSG_NOSIGNAL);
		(void)n; /* if the watchdog is gone there is nobody to tell */
		close(r->done_fd);
		r->done_fd = -1;
	}
	if (r->pid > 0) {
		while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
			;
		r->pid = -1;
	}
}
