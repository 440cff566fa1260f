/* The seccomp filter: compiled once by the parent with libseccomp (which
 * allocates, so it cannot run in the child), exported as classic BPF, and
 * installed by the child as its last step before exec. Default allow, and
 * a list of what sandboxed code never needs refused with EPERM; foreign
 * ABIs (i386 through int 0x80, x32) kill the process. */
#include "native.h"
#include "../../core/error.h"

#include <errno.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

static const char *const refused_syscalls[] = {
	/* mounts and roots */
	"mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",
	"fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	/* other processes' memory */
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
	/* kernel and machine */
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"reboot", "swapon", "swapoff", "acct", "syslog", "quotactl", "quotactl_fd",
	"iopl", "ioperm", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"lookup_dcookie", "vhangup", "nfsservctl", "uselib", "_sysctl",
	/* attack surface */
	"bpf", "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd",
	"io_uring_setup", "io_uring_enter", "io_uring_register", "open_by_handle_at",
	"name_to_handle_at", "fanotify_init",
	/* namespaces */
	"unshare", "setns",
};

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
		  CLONE_NEWNET | CLONE_NEWCGROUP)

static int add_rules(scmp_filter_ctx ctx)
{
	int rc;
	for (size_t i = 0; i < sizeof(refused_syscalls) / sizeof(refused_syscalls[0]); i++) {
		int nr = seccomp_syscall_resolve_name(refused_syscalls[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0)) < 0)
			return rc;
	}
	/* clone with a namespace flag; clone3 hides its flags behind a
	 * pointer, so it answers ENOSYS and libc falls back to clone. */
	static const unsigned long ns_flags[] = {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC,
						 CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
						 CLONE_NEWCGROUP};
	for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++)
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
					   SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]))) < 0)
			return rc;
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) < 0)
		return rc;
	/* personality: querying only (0xffffffff); libseccomp cannot test
	 * one argument twice, so even re-setting PER_LINUX is refused. */
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
				   SCMP_A0(SCMP_CMP_NE, 0xffffffffUL))) < 0)
		return rc;
	/* Typing into a terminal that is not ours. */
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				   SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, TIOCSTI))) < 0)
		return rc;
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				   SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, TIOCLINUX))) < 0)
		return rc;
	return 0;
}

int native_seccomp_compile(native_filter_t *f, symbi_error_t *err)
{
	memset(f, 0, sizeof(*f));
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return symbi_fail(err, SYMBI_E_SYSTEM, 0, "seccomp_init failed");
	/* Kernels before 4.14 (or libseccomp unable to ask, as under
	 * valgrind) lack KILL_PROCESS; killing the thread is next best. */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc < 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0); /* set by the child itself */
	if (rc == 0)
		rc = add_rules(ctx);
	int fd = -1;
	if (rc == 0) {
		fd = memfd_create("symbi-seccomp", MFD_CLOEXEC);
		if (fd < 0)
			rc = -errno;
	}
	if (rc == 0)
		rc = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return symbi_fail(err, SYMBI_E_SYSTEM, -rc, "cannot compile the seccomp filter");
	}
	off_t size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
	    size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
		close(fd);
		return symbi_fail(err, SYMBI_E_SYSTEM, 0, "the exported seccomp filter is malformed");
	}
	f->insns = malloc((size_t)size);
	if (!f->insns) {
		close(fd);
		return symbi_fail_nomem(err);
	}
	ssize_t n = pread(fd, f->insns, (size_t)size, 0);
	close(fd);
	if (n != size) {
		native_seccomp_free(f);
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot read the seccomp filter back");
	}
	f->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
	return 0;
}

void native_seccomp_free(native_filter_t *f)
{
	free(f->insns);
	f->insns = NULL;
	f->len = 0;
}

int native_seccomp_install(const native_filter_t *f)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	struct sock_fprog prog = {.len = f->len, .filter = f->insns};
	/* prctl rather than seccomp(2): same effect, and valgrind knows it. */
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}
