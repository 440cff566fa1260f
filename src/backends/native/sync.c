/* The CLOEXEC socketpair between the parent and the sandbox: the parent
 * sends GO once the child is in its cgroup (and has its id maps); the child
 * sends an ERROR naming the failed step, or, from the init, the program's
 * EXIT status. EOF without either means the sandbox was killed. */
#include "native.h"

#include <errno.h>
#include <stdarg.h>
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
	do
		n = recv(fd, m, sizeof(*m), 0);
	while (n < 0 && errno == EINTR);
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
