/* The server's private mount namespace.
 *
 * As root, workspaces are tmpfs mounts. The server makes them in a mount
 * namespace of its own, so that they disappear with the process, however it
 * ends (even SIGKILL). Sandboxes of the native and process backends are the
 * server's children and inherit the namespace. A Docker daemon lives in the
 * host's namespace and would see only the empty directory beneath such a
 * mount, so the workspaces of docker and gvisor sessions are mounted in the
 * host's namespace by a short-lived child that joins it (setns needs a
 * single-threaded caller); the child hands back a descriptor of the mount,
 * through which the server reads and writes it. Those mounts survive a
 * SIGKILL and are removed by the next start on the same state directory
 * (statedir.c). Their executions run on a worker thread that joins the
 * host's namespace for the time of the run (srv_mountns_thread_join), so
 * that what the docker backend mounts for the daemon (its pinned volumes)
 * is where the daemon looks. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int srv_mountns_enter(int *host_ns_fd, srv_err_t *err)
{
	*host_ns_fd = -1;
	if (geteuid() != 0)
		return 0; /* no tmpfs workspaces without root: nothing to contain */
	int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return srv_fail(err, 500, "internal", "opening /proc/self/ns/mnt: %s",
				strerror(errno));
	/* Fails with EINVAL once threads exist: callers enter it first thing. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		int e = errno;
		close(fd);
		return srv_fail(err, 500, "internal",
				"cannot enter a private mount namespace for the workspaces: %s",
				strerror(e));
	}
	*host_ns_fd = fd;
	return 0;
}

int srv_mountns_thread_join(int ns_fd)
{
	/* setns(CLONE_NEWNS) refuses a thread that shares its fs_struct. */
	if (unshare(CLONE_FS) < 0 || setns(ns_fd, CLONE_NEWNS) < 0)
		return -1;
	return 0;
}

/* Runs in the child: only system calls (we may have been forked from a
 * multi-threaded process). Returns 0 or an errno. */
static int host_child(int host_ns_fd, const char *path, const char *opts, int sock)
{
	if (setns(host_ns_fd, CLONE_NEWNS) < 0)
		return errno;
	if (!opts)
		return umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 ? errno : 0;
	if (mount("symbi-workspace", path, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return errno;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		umount2(path, MNT_DETACH);
		return e;
	}
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	char byte = 'w';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : errno;
}

/* Mounts (opts given) or detaches (opts NULL) in the host's namespace.
 * Returns the mount's descriptor, 0 after a detach, or -errno. */
static int host_op(int host_ns_fd, const char *path, const char *opts)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return -e;
	}
	if (pid == 0)
		_exit(host_child(host_ns_fd, path, opts, sv[1]));
	close(sv[1]);
	int fd = -1;
	if (opts) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		char byte;
		struct iovec iov = {.iov_base = &byte, .iov_len = 1};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf)};
		ssize_t r;
		do
			r = recvmsg(sv[0], &msg, MSG_CMSG_CLOEXEC);
		while (r < 0 && errno == EINTR);
		struct cmsghdr *cm = r == 1 ? CMSG_FIRSTHDR(&msg) : NULL;
		if (cm && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	}
	close(sv[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	int e = WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
	if (e) {
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return opts ? (fd >= 0 ? fd : -EIO) : 0;
}

int srv_host_mount_tmpfs(int host_ns_fd, const char *path, const char *opts, srv_err_t *err)
{
	int fd = host_op(host_ns_fd, path, opts);
	if (fd < 0)
		return srv_fail(err, 500, "internal",
				"cannot mount a workspace's tmpfs in the host's namespace: %s",
				strerror(-fd));
	return fd;
}

void srv_host_umount(int host_ns_fd, const char *path)
{
	int rc = host_op(host_ns_fd, path, NULL);
	if (rc < 0 && rc != -EINVAL && rc != -ENOENT)
		fprintf(stderr, "symbi-sandbox: cannot unmount %s in the host's namespace: %s\n",
			path, strerror(-rc));
}
