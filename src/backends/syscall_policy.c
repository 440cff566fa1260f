/* The allow list and its argument filters (see syscall_policy.h). The list
 * starts from Docker's default profile, keeps the names of the 64-bit ABIs
 * (32-bit ABIs are killed, so their *32 and *_time64 variants would never
 * match) and drops what sandboxed programs do not need and an attacker
 * does: docs/native-backend.md gives each difference and its reason. */
#include "syscall_policy.h"

#include <linux/netlink.h>
#include <linux/sched.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

const char *const symbi_syscall_allowed[] = {
	/* files and directories */
	"access", "chdir", "chmod", "chown", "close", "close_range", "copy_file_range", "creat",
	"dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fallocate", "fchdir",
	"fchmod", "fchmodat", "fchown", "fchownat", "fcntl", "fdatasync", "fgetxattr",
	"flistxattr", "flock", "fremovexattr", "fsetxattr", "fstat", "fstatfs", "fsync",
	"ftruncate", "futimesat", "getcwd", "getdents", "getdents64", "getxattr", "lchown",
	"lgetxattr", "link", "linkat", "listxattr", "llistxattr", "lremovexattr", "lseek",
	"lsetxattr", "lstat", "mkdir", "mkdirat", "mknod", "mknodat", "newfstatat", "open",
	"openat", "openat2", "pipe", "pipe2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2",
	"read", "readahead", "readlink", "readlinkat", "readv", "removexattr", "rename",
	"renameat", "renameat2", "rmdir", "sendfile", "setxattr", "splice", "stat", "statfs",
	"statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate",
	"umask", "unlink", "unlinkat", "utime", "utimensat", "utimes", "vmsplice", "write",
	"writev",
	/* waiting on descriptors, events, timers */
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2",
	"epoll_wait", "eventfd", "eventfd2", "inotify_add_watch", "inotify_init",
	"inotify_init1", "inotify_rm_watch", "poll", "ppoll", "pselect6", "select", "signalfd",
	"signalfd4", "timerfd_create", "timerfd_gettime", "timerfd_settime",
	/* asynchronous I/O (not io_uring) */
	"io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_setup", "io_submit",
	/* memory */
	"brk", "madvise", "membarrier", "memfd_create", "mincore", "mlock", "mlock2",
	"mlockall", "mmap", "mprotect", "mremap", "msync", "munlock", "munlockall", "munmap",
	"pkey_alloc", "pkey_free", "pkey_mprotect", "remap_file_pages",
	/* processes and threads (clone is filtered below; clone3 is absent) */
	"arch_prctl", "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork",
	"get_robust_list", "get_thread_area", "getcpu", "getpgid", "getpgrp", "getpid",
	"getppid", "getpriority", "getrlimit", "getrusage", "getsid", "gettid", "ioprio_get",
	"ioprio_set", "kill", "pidfd_open", "pidfd_send_signal", "prctl", "prlimit64",
	"process_mrelease", "rseq", "sched_get_priority_max", "sched_get_priority_min",
	"sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler",
	"sched_rr_get_interval", "sched_setaffinity", "sched_setattr", "sched_setparam",
	"sched_setscheduler", "sched_yield", "seccomp", "set_robust_list", "set_thread_area",
	"set_tid_address", "setpgid", "setpriority", "setrlimit", "setsid", "tgkill", "tkill",
	"vfork", "wait4", "waitid",
	/* identity (capabilities decide what may change) */
	"getegid", "geteuid", "getgid", "getgroups", "getresgid", "getresuid", "getuid",
	"setfsgid", "setfsuid", "setgid", "setgroups", "setregid", "setresgid", "setresuid",
	"setreuid", "setuid",
	/* signals */
	"pause", "restart_syscall", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
	"rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
	"rt_tgsigqueueinfo", "sigaltstack",
	/* time */
	"alarm", "clock_getres", "clock_gettime", "clock_nanosleep", "getitimer",
	"gettimeofday", "nanosleep", "setitimer", "time", "timer_create", "timer_delete",
	"timer_getoverrun", "timer_gettime", "timer_settime", "times",
	/* futexes */
	"futex", "futex_waitv",
	/* sockets (socket and socketpair are filtered below) */
	"accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
	"listen", "recvfrom", "recvmmsg", "recvmsg", "sendmmsg", "sendmsg", "sendto",
	"setsockopt", "shutdown",
	/* System V and POSIX IPC (private: the sandbox has its own IPC namespace) */
	"mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend",
	"mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop",
	"semtimedop", "shmat", "shmctl", "shmdt", "shmget",
	/* the machine, read-only; sandboxing oneself further */
	"getrandom", "sysinfo", "uname", "landlock_add_rule", "landlock_create_ruleset",
	"landlock_restrict_self",
	NULL,
};

/* Syscalls whose callers expect EPERM when refused (a program probing for
 * namespaces treats ENOSYS as a broken kernel). */
static const char *const refused_eperm[] = {"unshare", "setns", NULL};

#define NS_FLAGS                                                                          \
	((uint64_t)(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
		    CLONE_NEWNET | CLONE_NEWCGROUP))

/* The socket families allowed unconditionally (AF_NETLINK is allowed for
 * NETLINK_ROUTE only), in increasing order. */
static const uint64_t socket_families[] = {AF_UNIX, AF_INET, AF_INET6};

typedef int (*rule_fn)(const symbi_syscall_rule_t *rule, void *ctx);

static int emit(rule_fn fn, void *ctx, const char *name, int errno_ret, unsigned nargs,
		struct scmp_arg_cmp a0, struct scmp_arg_cmp a1)
{
	symbi_syscall_rule_t r = {.name = name, .errno_ret = errno_ret, .nargs = nargs,
				  .args = {a0, a1}};
	return fn(&r, ctx);
}

#define CMP(i, cmp, a, b) ((struct scmp_arg_cmp){.arg = (i), .op = (cmp), .datum_a = (a), .datum_b = (b)})
#define NONE CMP(0, SCMP_CMP_EQ, 0, 0)

/* `name` gets `errno_ret` when argument `arg` is in [lo, hi]: one rule per
 * aligned power-of-two block (MASKED_EQ; EQ for one value on 64 bits), or
 * one GE rule for a range that runs to the end of 64 bits. `width` is the
 * argument's width as the kernel reads it: 32 for an int, whose upper half
 * the kernel ignores (the masks ignore it too), or 64. */
static int emit_range(rule_fn fn, void *ctx, const char *name, int errno_ret, unsigned arg,
		      int width, uint64_t lo, uint64_t hi)
{
	uint64_t all = width == 32 ? 0xffffffffULL : ~0ULL;
	if (width == 64 && hi == all && lo > 0)
		return emit(fn, ctx, name, errno_ret, 1, CMP(arg, SCMP_CMP_GE, lo, 0), NONE);
	for (;;) {
		/* The largest block that starts at lo, is aligned and fits. */
		uint64_t size = lo ? lo & -lo : (uint64_t)1 << (width - 1);
		while (size > 1 && hi - lo < size - 1)
			size >>= 1;
		struct scmp_arg_cmp c = size == 1 && width == 64
						? CMP(arg, SCMP_CMP_EQ, lo, 0)
						: CMP(arg, SCMP_CMP_MASKED_EQ, all & ~(size - 1), lo);
		int rc = emit(fn, ctx, name, errno_ret, 1, c, NONE);
		if (rc < 0 || hi - lo == size - 1)
			return rc; /* (lo + size may wrap) */
		lo += size;
	}
}

/* Splits [lo, hi] of argument `arg`: `values` (sorted, inside it) get
 * `in_errno`, every other value `out_errno`. */
static int emit_partition(rule_fn fn, void *ctx, const char *name, unsigned arg, int width,
			  const uint64_t *values, size_t n, int in_errno, int out_errno,
			  uint64_t lo, uint64_t hi)
{
	int rc;
	for (size_t i = 0; i < n; i++) {
		if (values[i] > lo &&
		    (rc = emit_range(fn, ctx, name, out_errno, arg, width, lo, values[i] - 1)) < 0)
			return rc;
		if ((rc = emit_range(fn, ctx, name, in_errno, arg, width, values[i], values[i])) < 0)
			return rc;
		if (values[i] == hi)
			return 0;
		lo = values[i] + 1;
	}
	return emit_range(fn, ctx, name, out_errno, arg, width, lo, hi);
}

int symbi_syscall_policy_walk(rule_fn fn, void *ctx)
{
	int rc;
	for (size_t i = 0; symbi_syscall_allowed[i]; i++)
		if ((rc = emit(fn, ctx, symbi_syscall_allowed[i], 0, 0, NONE, NONE)) < 0)
			return rc;
	for (size_t i = 0; refused_eperm[i]; i++)
		if ((rc = emit(fn, ctx, refused_eperm[i], EPERM, 0, NONE, NONE)) < 0)
			return rc;

	/* clone without namespace flags (the kernel reads the low 32 bits,
	 * as does a mask whose upper half is zero). clone3 hides its flags
	 * behind a pointer: it is absent, and libc falls back to clone. */
	if ((rc = emit(fn, ctx, "clone", 0, 1, CMP(0, SCMP_CMP_MASKED_EQ, NS_FLAGS, 0), NONE)) < 0)
		return rc;
	for (uint64_t bit = 1; bit <= NS_FLAGS; bit <<= 1)
		if ((NS_FLAGS & bit) &&
		    (rc = emit(fn, ctx, "clone", EPERM, 1, CMP(0, SCMP_CMP_MASKED_EQ, bit, bit),
			       NONE)) < 0)
			return rc;

	/* socket: the families in socket_families, and AF_NETLINK for
	 * NETLINK_ROUTE (addresses and routes: what getaddrinfo and `ip`
	 * ask); every other family (vsock, packet, alg, ...) and netlink
	 * protocol (uevents, audit, ...) EAFNOSUPPORT. The kernel reads the
	 * family as an int: only its low half counts. The protocol is
	 * compared on 64 bits (garbage in its upper half is refused). */
	const struct scmp_arg_cmp netlink = CMP(0, SCMP_CMP_MASKED_EQ, 0xffffffffULL, AF_NETLINK);
	if ((rc = emit_partition(fn, ctx, "socket", 0, 32, socket_families,
				 sizeof(socket_families) / sizeof(socket_families[0]), 0,
				 EAFNOSUPPORT, 0, AF_NETLINK - 1)) < 0 ||
	    (rc = emit(fn, ctx, "socket", 0, 2, netlink, CMP(2, SCMP_CMP_EQ, NETLINK_ROUTE, 0))) < 0 ||
	    (rc = emit(fn, ctx, "socket", EAFNOSUPPORT, 2, netlink,
		       CMP(2, SCMP_CMP_NE, NETLINK_ROUTE, 0))) < 0 ||
	    (rc = emit_range(fn, ctx, "socket", EAFNOSUPPORT, 0, 32, AF_NETLINK + 1,
			     0xffffffffULL)) < 0)
		return rc;
	/* socketpair: AF_UNIX only (the only family that has pairs). */
	static const uint64_t unix_only[] = {AF_UNIX};
	if ((rc = emit_partition(fn, ctx, "socketpair", 0, 64, unix_only, 1, 0, EAFNOSUPPORT, 0,
				 ~0ULL)) < 0)
		return rc;

	/* personality: the query (0xffffffff) and the default persona;
	 * changing it (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, ...) is refused.
	 * The kernel reads an unsigned int. */
	static const uint64_t personas[] = {0 /* PER_LINUX */, 0xffffffffULL};
	if ((rc = emit_partition(fn, ctx, "personality", 0, 32, personas, 2, 0, EPERM, 0,
				 0xffffffffULL)) < 0)
		return rc;

	/* ioctl, except typing into a terminal (TIOCSTI) and the virtual
	 * console's TIOCLINUX. The kernel reads the request as an unsigned
	 * int and programs pass sign-extended ones: only the low half counts. */
	static const uint64_t tty_injection[] = {TIOCSTI, TIOCLINUX};
	return emit_partition(fn, ctx, "ioctl", 1, 32, tty_injection, 2, EPERM, 0, 0,
			      0xffffffffULL);
}
