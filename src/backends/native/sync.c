/* The CLOEXEC socketpair between the parent and the sandbox: the parent
 * sends GO once the child is in its cgroup (and has its id maps); the child
 * sends an ERROR naming the failed step, or, from the init, the program's
 * EXIT status. EOF without either means the sandbox was killed. */
#include "native.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int native_msg_send(int fd, const native_msg_t *m)
{
	ssize_t n;
	do
		n = send(fd, m, sizeof(*m), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*m) ? 0 : -1;
}

int native_msg_recv(int fd, native_msg_t *m)
{
	ssize_t n;
	int resets = 0;
	/* A child that failed before reading GO closed its end with GO
	 * unread: the kernel then reports ECONNRESET once, ahead of the ERROR
	 * it queued for us. Read past it. */
	do
		n = recv(fd, m, sizeof(*m), 0);
	while (n < 0 && (errno == EINTR || (errno == ECONNRESET && resets++ == 0)));
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof(*m))
		return -1;
	m->step[sizeof(m->step) - 1] = '\0';
	m->text[sizeof(m->text) - 1] = '\0';
	return 1;
}

void native_child_fail(int fd, const char *step, int err_no, const char *fmt, ...)
{
	native_msg_t m;
	memset(&m, 0, sizeof(m));
	m.kind = NATIVE_MSG_ERROR;
	m.err_no = err_no;
	snprintf(m.step, sizeof(m.step), "%s", step);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m.text, sizeof(m.text), fmt, ap);
	va_end(ap);
	native_msg_send(fd, &m);
	_exit(NATIVE_SETUP_FAILED);
}

int native_msg_send_fds(int fd, const native_msg_t *m, const int *fds, int nfds)
{
	if (nfds == 0)
		return native_msg_send(fd, m);
	struct iovec iov = {(void *)m, sizeof(*m)};
	size_t space = CMSG_SPACE(sizeof(int) * (size_t)nfds);
	char ctl[CMSG_SPACE(sizeof(int) * NATIVE_MAX_FDS)];
	if (nfds < 0 || nfds > NATIVE_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	memset(ctl, 0, sizeof(ctl));
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = space};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*m) ? 0 : -1;
}

/* Receives one message and its descriptors (close-on-exec, in the order
 * sent) into fds, their count into *nfds. Returns recvmsg's count (0: end
 * of file); *cut if control data was lost (the kernel closed what did not
 * fit). */
static ssize_t recv_with_fds(int fd, native_msg_t *m, int fds[NATIVE_MAX_FDS], int *nfds, bool *cut)
{
	struct iovec iov = {m, sizeof(*m)};
	char ctl[CMSG_SPACE(sizeof(int) * NATIVE_MAX_FDS)];
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl)};
	ssize_t n;
	*nfds = 0;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	*cut = n > 0 && (mh.msg_flags & MSG_CTRUNC);
	for (struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && *nfds < NATIVE_MAX_FDS; i++)
			memcpy(&fds[(*nfds)++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	return n;
}

int native_msg_recv_fds(int fd, native_msg_t *m, int first_fd)
{
	int fds[NATIVE_MAX_FDS], count;
	bool cut;
	if (recv_with_fds(fd, m, fds, &count, &cut) != (ssize_t)sizeof(*m) || cut)
		return -1;
	/* The lowest free numbers, in order: callers rely on it. */
	for (int i = 0; i < count; i++)
		if (fds[i] != first_fd + i)
			return -1;
	return count;
}

int native_msg_recv_any(int fd, native_msg_t *m, int *fds, int max, int *nfds)
{
	int got[NATIVE_MAX_FDS], count;
	bool cut;
	*nfds = 0;
	ssize_t n = recv_with_fds(fd, m, got, &count, &cut);
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof(*m) || cut || count > max) {
		for (int i = 0; i < count; i++)
			close(got[i]);
		return -1;
	}
	memcpy(fds, got, sizeof(int) * (size_t)count);
	*nfds = count;
	m->step[sizeof(m->step) - 1] = '\0';
	m->text[sizeof(m->text) - 1] = '\0';
	return 1;
}
