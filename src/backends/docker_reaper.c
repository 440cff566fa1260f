/* A watchdog that outlives us: if the process running a container dies
 * (SIGKILL, crash) before saying it is done, the watchdog removes the
 * container and kills the orphaned docker client. Without it a killed caller
 * leaves a container running until the program inside ends, if ever.
 *
 * It is a /bin/sh started with posix_spawn (safe in threaded programs),
 * reading a socket whose only other end is ours: "done" means release, EOF means we
 * died. It runs in its own session so that a signal to our process group
 * does not take it down with us. */
#include "docker.h"
#include "../core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* $1 docker binary, $2 container name, $3 docker client pid. The second
 * removal catches a container whose creation was still in flight. */
static const char reaper_script[] =
	"trap '' INT HUP TERM QUIT PIPE\n"
	"IFS= read -r line\n"
	"[ \"$line\" = done ] && exit 0\n"
	"\"$1\" rm -f \"$2\" >/dev/null 2>&1\n"
	"kill -9 \"$3\" 2>/dev/null\n"
	"i=0; while kill -0 \"$3\" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done\n"
	"sleep 1\n"
	"\"$1\" rm -f \"$2\" >/dev/null 2>&1\n"
	"exit 0\n";

int symbi_docker_reaper_start(symbi_docker_reaper_t *r, const char *docker_binary,
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
	char pid_text[32];
	snprintf(pid_text, sizeof(pid_text), "%d", (int)client_pid);
	char *argv[] = {"/bin/sh", "-c", (char *)reaper_script, "symbi-sandbox-reaper",
			(char *)docker_binary, (char *)name, pid_text, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	sigset_t all, none;
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSID);
	int rc = posix_spawn(&r->pid, "/bin/sh", &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(fds[0]);
	if (rc != 0) {
		close(fds[1]);
		r->pid = -1;
		return symbi_fail(err, SYMBI_E_SYSTEM, rc, "cannot start the container watchdog");
	}
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
