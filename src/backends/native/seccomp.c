/* The seccomp filter: compiled once by the parent with libseccomp (which
 * allocates, so it cannot run in the child), exported as classic BPF, and
 * installed by the child as its last step before exec. An allow list with
 * argument filters (the policy in ../syscall_policy.c, shared with the
 * Docker backend): anything else fails with ENOSYS, and foreign ABIs
 * (i386 through int 0x80, x32) kill the process. */
#include "native.h"
#include "../syscall_policy.h"
#include "../../core/error.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

static int add_rule(const symbi_syscall_rule_t *r, void *ctx)
{
	int nr = seccomp_syscall_resolve_name(r->name);
	/* Unknown to this libseccomp (newer than it), or not a syscall of
	 * this architecture: not allowed, which the default action does. */
	if (nr < 0)
		return 0;
	uint32_t action = r->errno_ret ? SCMP_ACT_ERRNO((uint32_t)r->errno_ret) : SCMP_ACT_ALLOW;
	return seccomp_rule_add_array(ctx, action, nr, r->nargs, r->args);
}

int native_seccomp_compile(native_filter_t *f, symbi_error_t *err)
{
	memset(f, 0, sizeof(*f));
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(SYMBI_SYSCALL_DEFAULT_ERRNO));
	if (!ctx)
		return symbi_fail(err, SYMBI_E_SYSTEM, 0, "seccomp_init failed");
	/* Kernels before 4.14 (or libseccomp unable to ask, as under
	 * valgrind) lack KILL_PROCESS; killing the thread is next best. */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc < 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0); /* set by the child itself */
	/* A binary search over syscall numbers rather than a linear scan of
	 * the ~270 allowed ones: every syscall of the program pays for it. */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (rc == 0)
		rc = symbi_syscall_policy_walk(add_rule, ctx);
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
