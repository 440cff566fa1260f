#include "supervise.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK 65536
/* Output still open after the child exited belongs to a descendant that
 * escaped; it gets this long to finish before we stop reading. */
#define LINGER_AFTER_EXIT_MS 2000

int symbi_find_executable(const char *name, char *out, size_t size)
{
	if (strchr(name, '/')) {
		if (strlen(name) >= size) {
			errno = ENAMETOOLONG;
			return -1;
		}
		strcpy(out, name);
		return access(out, X_OK);
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *colon = strchrnul(path, ':');
		size_t dlen = (size_t)(colon - path);
		int n = snprintf(out, size, "%.*s/%s", (int)dlen, dlen ? path : ".", name);
		if (n > 0 && (size_t)n < size && access(out, X_OK) == 0)
			return 0;
		path = *colon ? colon + 1 : colon;
	}
	errno = ENOENT;
	return -1;
}

uint64_t symbi_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

struct child_fds {
	int out[2];
	int err[2];
	int in[2]; /* socketpair: send(MSG_NOSIGNAL) spares us SIGPIPE */
};

static void child_fds_close(struct child_fds *f)
{
	for (int i = 0; i < 2; i++) {
		close_fd(&f->out[i]);
		close_fd(&f->err[i]);
		close_fd(&f->in[i]);
	}
}

static int spawn_child(const symbi_supervise_opts_t *o, struct child_fds *f, pid_t *pid,
		       symbi_error_t *err)
{
	if (o->spawn) {
		int stdio[3] = {f->in[0], f->out[1], f->err[1]};
		return o->spawn(o->ctx, stdio, pid, err);
	}
	/* Resolved here rather than by posix_spawnp: a missing program is then
	 * a clear error everywhere, even where spawn cannot report a failed
	 * exec (valgrind turns vfork into fork). */
	char resolved[PATH_MAX];
	if (symbi_find_executable(o->path, resolved, sizeof(resolved)) < 0)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, errno, "cannot run '%s'", o->path);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	if (f->in[0] >= 0)
		posix_spawn_file_actions_adddup2(&fa, f->in[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, f->out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, f->err[1], 2);
	/* fd3 goes through a copy above 3: the dup2s above cannot overwrite
	 * it, and dup2 onto 3 always clears close-on-exec. */
	int fd3 = o->fd3 > 0 ? fcntl(o->fd3, F_DUPFD_CLOEXEC, 4) : -1;
	if (o->fd3 > 0 && fd3 < 0) {
		int e = errno;
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&attr);
		return symbi_fail(err, SYMBI_E_SYSTEM, e, "cannot pass a descriptor to '%s'", o->path);
	}
	if (fd3 >= 0)
		posix_spawn_file_actions_adddup2(&fa, fd3, 3);
	posix_spawn_file_actions_addclosefrom_np(&fa, fd3 >= 0 ? 4 : 3);

	/* The child starts with default signal handling and an empty mask,
	 * whatever the embedding program did, and in its own process group so
	 * that a terminal's Ctrl-C reaches only the caller, which cleans up. */
	sigset_t all, none;
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_USEVFORK);

	int rc = posix_spawn(pid, resolved, &fa, &attr, o->argv, o->envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (fd3 >= 0)
		close(fd3);
	if (rc != 0)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, rc, "cannot run '%s'", o->path);
	return 0;
}

static int make_fds(const symbi_supervise_opts_t *o, struct child_fds *f, symbi_error_t *err)
{
	if (pipe2(f->out, O_CLOEXEC) < 0 || pipe2(f->err, O_CLOEXEC) < 0 ||
	    ((o->input || o->stdin_open) && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->in) < 0))
		return symbi_fail(err, SYMBI_E_SYSTEM, errno,
				  "cannot create the program's standard streams%s",
				  errno == EMFILE || errno == ENFILE
					  ? " (too many open files: raise the limit, e.g. ulimit -n)" : "");
	return 0;
}

/* Reads what is available; returns 1 at EOF, 0 otherwise, -1 on OOM. Every
 * chunk goes to the caller's on_output first, uncapped. */
static int drain_once(const symbi_supervise_opts_t *o, int which, int fd, symbi_stream_t *s)
{
	char buf[READ_CHUNK];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n == 0)
		return 1;
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : 1;
	if (o->on_output)
		o->on_output(o->output_ctx, which, buf, (size_t)n);
	return symbi_stream_append(s, buf, (size_t)n) < 0 ? -1 : 0;
}

struct symbi_supervision {
	symbi_supervise_opts_t o;
	pid_t pid; /* 0: not our child (o.wait_fd and o.reap tell its end) */
	int out_fd, err_fd, in_fd, pidfd;
	uint64_t start;
};

int symbi_supervise_start(const symbi_supervise_opts_t *o, symbi_supervision_t **out,
			  symbi_error_t *err)
{
	*out = NULL;
	symbi_supervision_t *s = calloc(1, sizeof(*s));
	if (!s)
		return symbi_fail_nomem(err);
	s->o = *o;
	struct child_fds f = {{-1, -1}, {-1, -1}, {-1, -1}};
	if (make_fds(o, &f, err) < 0) {
		child_fds_close(&f);
		free(s);
		return -1;
	}
	s->start = symbi_monotonic_ms();
	if (spawn_child(o, &f, &s->pid, err) < 0) {
		child_fds_close(&f);
		free(s);
		return -1;
	}
	close_fd(&f.out[1]);
	close_fd(&f.err[1]);
	close_fd(&f.in[0]);
	if (o->on_spawn)
		o->on_spawn(s->pid, o->ctx);
	s->out_fd = f.out[0];
	s->err_fd = f.err[0];
	s->in_fd = f.in[1];
	s->pidfd = s->pid > 0 ? pidfd_open(s->pid, 0) : -1;
	if (s->in_fd >= 0 && o->input_len == 0 && !o->stdin_open)
		shutdown(s->in_fd, SHUT_WR);
	if (s->in_fd >= 0 && !o->stdin_open)
		fcntl(s->in_fd, F_SETFL, O_NONBLOCK);
	*out = s;
	return 0;
}

int symbi_supervision_take_stdin(symbi_supervision_t *s)
{
	int fd = s->o.stdin_open ? s->in_fd : -1;
	if (fd >= 0)
		s->in_fd = -1;
	return fd;
}

/* Whether the program has ended (its wait status in *status). */
static bool check_ended(symbi_supervision_t *s, int *status)
{
	if (s->pid == 0)
		return s->o.reap(s->o.ctx, status) == 1;
	return waitpid(s->pid, status, WNOHANG) == s->pid;
}

static void kill_program(symbi_supervision_t *s)
{
	/* A program that is not our child is killed by on_timeout alone:
	 * kill(0) would signal our own process group. */
	if (s->pid > 0)
		kill(s->pid, SIGKILL);
	else if (s->o.on_timeout)
		s->o.on_timeout(s->o.ctx);
}

/* After the last read: the program is killed if still running, then its
 * end awaited. */
static void reap_for_good(symbi_supervision_t *s, int *status)
{
	kill_program(s);
	if (s->pid > 0) {
		while (waitpid(s->pid, status, 0) < 0 && errno == EINTR)
			;
		return;
	}
	/* The wait descriptor says when; the reap hook gives up (returns 1
	 * with a status of its own) when the sandbox is gone. */
	for (;;) {
		if (check_ended(s, status))
			return;
		struct pollfd p = {s->o.wait_fd(s->o.ctx), POLLIN, 0};
		if (poll(&p, 1, 1000) < 0 && errno != EINTR)
			return;
	}
}

int symbi_supervise_finish(symbi_supervision_t *s, symbi_supervise_outcome_t *oc,
			   symbi_error_t *err)
{
	const symbi_supervise_opts_t *o = &s->o;
	memset(oc, 0, sizeof(*oc));
	symbi_stream_init(&oc->out, o->max_output_bytes);
	symbi_stream_init(&oc->err, o->max_output_bytes);
	int wait_fd = s->pid > 0 ? s->pidfd : o->wait_fd(o->ctx);
	size_t in_off = 0;
	bool exited = false;
	uint64_t exited_at = 0;
	uint64_t deadline = s->start + o->timeout_ms;
	uint64_t kill_at = UINT64_MAX;
	bool oom = false;

	while (s->out_fd >= 0 || s->err_fd >= 0 || !exited) {
		uint64_t now = symbi_monotonic_ms();
		if (!oc->timed_out && !oc->cancelled && now >= deadline) {
			oc->timed_out = true;
			if (o->on_timeout)
				o->on_timeout(o->ctx);
			kill_at = symbi_monotonic_ms() + o->kill_grace_ms;
		}
		if (now >= kill_at && !exited) {
			if (s->pid > 0)
				kill(s->pid, SIGKILL);
			kill_at = UINT64_MAX;
		}
		if (exited && now >= exited_at + LINGER_AFTER_EXIT_MS)
			break;

		struct pollfd p[5];
		int np = 0, i_out = -1, i_err = -1, i_in = -1, i_pid = -1, i_cancel = -1;
		if (s->out_fd >= 0) { i_out = np; p[np++] = (struct pollfd){s->out_fd, POLLIN, 0}; }
		if (s->err_fd >= 0) { i_err = np; p[np++] = (struct pollfd){s->err_fd, POLLIN, 0}; }
		if (s->in_fd >= 0 && !o->stdin_open && in_off < o->input_len) {
			i_in = np;
			p[np++] = (struct pollfd){s->in_fd, POLLOUT, 0};
		}
		if (!exited && wait_fd >= 0) { i_pid = np; p[np++] = (struct pollfd){wait_fd, POLLIN, 0}; }
		if (o->cancel_fd >= 0 && !oc->cancelled && !oc->timed_out) {
			i_cancel = np;
			p[np++] = (struct pollfd){o->cancel_fd, POLLIN, 0};
		}
		uint64_t wake = oc->timed_out || oc->cancelled ? kill_at : deadline;
		if (exited)
			wake = exited_at + LINGER_AFTER_EXIT_MS;
		int wait_ms = wait_fd < 0 && !exited ? 50 : (wake == UINT64_MAX ? 1000 : (int)(wake > now ? wake - now : 0));
		if (wait_ms > 1000)
			wait_ms = 1000;
		int r = poll(p, (nfds_t)np, wait_ms);
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0 && wait_fd >= 0)
			continue;

		if (i_out >= 0 && p[i_out].revents) {
			int d = drain_once(o, 1, s->out_fd, &oc->out);
			oom = oom || d < 0;
			if (d != 0)
				close_fd(&s->out_fd);
		}
		if (i_err >= 0 && p[i_err].revents) {
			int d = drain_once(o, 2, s->err_fd, &oc->err);
			oom = oom || d < 0;
			if (d != 0)
				close_fd(&s->err_fd);
		}
		if (i_in >= 0 && p[i_in].revents) {
			ssize_t n = send(s->in_fd, o->input + in_off, o->input_len - in_off,
					 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				in_off += (size_t)n;
			if ((n < 0 && errno != EAGAIN && errno != EINTR) || in_off == o->input_len)
				close_fd(&s->in_fd);
		}
		if (i_cancel >= 0 && p[i_cancel].revents) {
			oc->cancelled = true;
			if (o->on_timeout)
				o->on_timeout(o->ctx);
			kill_at = symbi_monotonic_ms() + o->kill_grace_ms;
		}
		bool check_exit = i_pid >= 0 ? p[i_pid].revents != 0 : (wait_fd < 0 && !exited);
		if (check_exit && check_ended(s, &oc->wait_status)) {
			exited = true;
			exited_at = symbi_monotonic_ms();
		}
		if (oom) {
			kill_program(s);
			break;
		}
	}
	close_fd(&s->out_fd);
	close_fd(&s->err_fd);
	close_fd(&s->in_fd);
	if (!exited)
		reap_for_good(s, &oc->wait_status);
	close_fd(&s->pidfd);
	oc->elapsed_ms = symbi_monotonic_ms() - s->start;
	free(s);
	if (oom) {
		symbi_stream_free(&oc->out);
		symbi_stream_free(&oc->err);
		return symbi_fail_nomem(err);
	}
	return 0;
}

void symbi_supervise_abandon(symbi_supervision_t *s)
{
	if (!s)
		return;
	close_fd(&s->out_fd);
	close_fd(&s->err_fd);
	close_fd(&s->in_fd);
	int status;
	reap_for_good(s, &status);
	close_fd(&s->pidfd);
	free(s);
}

int symbi_supervise(const symbi_supervise_opts_t *o, symbi_supervise_outcome_t *oc,
		    symbi_error_t *err)
{
	symbi_supervision_t *s;
	memset(oc, 0, sizeof(*oc));
	if (symbi_supervise_start(o, &s, err) < 0)
		return -1;
	return symbi_supervise_finish(s, oc, err);
}

int symbi_run_quiet(const char *path, char *const *argv, char *const *envp,
		    uint64_t timeout_ms, char *errbuf, size_t errbuf_size, symbi_error_t *err)
{
	symbi_supervise_opts_t o = {
		.path = path, .argv = argv, .envp = envp,
		.max_output_bytes = 4096, .timeout_ms = timeout_ms,
		.kill_grace_ms = 0, .cancel_fd = -1,
	};
	symbi_supervise_outcome_t oc;
	if (symbi_supervise(&o, &oc, err) < 0)
		return -1;
	if (errbuf && errbuf_size > 0) {
		size_t n = oc.err.len < errbuf_size - 1 ? oc.err.len : errbuf_size - 1;
		if (n)
			memcpy(errbuf, oc.err.data, n);
		errbuf[n] = '\0';
	}
	symbi_stream_free(&oc.out);
	symbi_stream_free(&oc.err);
	if (oc.timed_out)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "'%s' did not finish within %llu ms",
				  path, (unsigned long long)timeout_ms);
	return oc.wait_status;
}
