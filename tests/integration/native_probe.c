/* A static probe run inside (and, as a control, outside) a sandbox: tries
 * one dangerous operation with harmless arguments and prints "ok" or the
 * errno's name, so that tests assert the exact refusal. Built by the
 * native_*.sh tests with `cc -static`. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int report(long rc)
{
	if (rc < 0) {
		printf("%s\n", strerrorname_np(errno));
		return 1;
	}
	printf("ok\n");
	return 0;
}

static long do_ptrace(void)
{
	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	long rc = ptrace(PTRACE_ATTACH, child, 0, 0);
	int saved = errno;
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	errno = saved;
	return rc;
}

static long do_int80(void)
{
	long ret;
	/* i386 getpid through the 32-bit entry point */
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20) : "memory");
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return 0;
}

static long do_connect(const char *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port))};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	return connect(fd, (struct sockaddr *)&a, sizeof(a));
}

/* socket FAMILY: one of the families the seccomp filter decides on. */
static long do_socket(const char *name)
{
	static const struct {
		const char *name;
		int family, type, protocol;
	} fams[] = {
		{"unix", AF_UNIX, SOCK_STREAM, 0},
		{"inet", AF_INET, SOCK_STREAM, 0},
		{"inet6", AF_INET6, SOCK_DGRAM, 0},
		{"route", AF_NETLINK, SOCK_RAW, NETLINK_ROUTE},
		{"uevent", AF_NETLINK, SOCK_RAW, NETLINK_KOBJECT_UEVENT},
		{"vsock", AF_VSOCK, SOCK_STREAM, 0},
		{"packet", AF_PACKET, SOCK_RAW, 0},
		{"alg", AF_ALG, SOCK_SEQPACKET, 0},
	};
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		if (strcmp(name, fams[i].name) != 0)
			continue;
		int fd = socket(fams[i].family, fams[i].type, fams[i].protocol);
		if (fd < 0 || fams[i].protocol != NETLINK_KOBJECT_UEVENT)
			return fd;
		/* Listening to the kernel's device events (group 1). */
		struct sockaddr_nl a = {.nl_family = AF_NETLINK, .nl_groups = 1};
		return bind(fd, (struct sockaddr *)&a, sizeof(a));
	}
	fprintf(stderr, "probe: unknown socket family %s\n", name);
	exit(2);
}

/* A child in new namespaces through clone3 (flags behind a pointer). */
static long do_clone3(unsigned long long flags)
{
	struct clone_args args;
	memset(&args, 0, sizeof(args));
	args.flags = flags;
	args.exit_signal = SIGCHLD;
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return pid;
}

static long do_clone(unsigned long flags)
{
	long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return pid;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: probe ACTION [ARG]\n");
		return 2;
	}
	const char *a = argv[1], *arg = argc > 2 ? argv[2] : "";
	if (!strcmp(a, "read"))
		return report(open(arg, O_RDONLY));
	if (!strcmp(a, "write"))
		return report(open(arg, O_WRONLY | O_CREAT, 0644));
	if (!strcmp(a, "mount")) {
		/* The target is explicit: a control run on the host must name a
		 * directory of its own (a default of /tmp once hid the host's
		 * /tmp under a tmpfs). */
		if (!*arg) {
			fprintf(stderr, "probe: mount needs a target directory\n");
			return 2;
		}
		return report(mount("none", arg, "tmpfs", 0, NULL));
	}
	if (!strcmp(a, "ptrace"))
		return report(do_ptrace());
	if (!strcmp(a, "unshare"))
		return report(unshare(CLONE_NEWUSER));
	/* With a user namespace, the other namespaces need no capability on
	 * the host: only the seccomp filter refuses these. */
	if (!strcmp(a, "clone-newuser"))
		return report(do_clone(CLONE_NEWUSER | CLONE_NEWNS));
	if (!strcmp(a, "clone3-newuser"))
		return report(do_clone3(CLONE_NEWUSER));
	if (!strcmp(a, "clone3"))
		return report(do_clone3(0));
	if (!strcmp(a, "fork"))
		return report(do_clone(0));
	if (!strcmp(a, "socket"))
		return report(do_socket(arg));
	if (!strcmp(a, "socketpair-inet")) {
		int sv[2];
		return report(socketpair(AF_INET, SOCK_STREAM, 0, sv));
	}
	/* syscall NR: a raw syscall with zero arguments. */
	if (!strcmp(a, "syscall"))
		return report(syscall(atol(arg), 0, 0, 0, 0, 0, 0));
	/* An x32 syscall (getpid with the x32 bit). */
	if (!strcmp(a, "x32"))
		return report(syscall(0x40000000 | SYS_getpid));
	/* TIOCSTI on stdin, as an unsigned int and sign-extended. */
	if (!strcmp(a, "tiocsti"))
		return report(ioctl(0, TIOCSTI, "x"));
	if (!strcmp(a, "tiocsti-high"))
		return report(syscall(SYS_ioctl, 0, 0xffffffff00000000UL | TIOCSTI, "x"));
	if (!strcmp(a, "personality-query"))
		return report(personality(0xffffffff));
	if (!strcmp(a, "keyctl"))
		return report(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
	if (!strcmp(a, "bpf")) {
		union bpf_attr attr;
		memset(&attr, 0, sizeof(attr));
		attr.map_type = BPF_MAP_TYPE_ARRAY;
		attr.key_size = 4;
		attr.value_size = 4;
		attr.max_entries = 1;
		return report(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
	}
	if (!strcmp(a, "io_uring")) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		return report(syscall(SYS_io_uring_setup, 1, &p));
	}
	if (!strcmp(a, "personality"))
		return report(personality(PER_LINUX | ADDR_NO_RANDOMIZE));
	if (!strcmp(a, "int80"))
		return report(do_int80());
	if (!strcmp(a, "kill"))
		return report(kill(atoi(arg), SIGKILL));
	if (!strcmp(a, "connect"))
		return report(do_connect(arg));
	if (!strcmp(a, "setuid0"))
		return report(setuid(0));
	fprintf(stderr, "probe: unknown action %s\n", a);
	return 2;
}
