/* The shared syscall policy (src/backends/syscall_policy.c) evaluated in
 * plain C: every name is one libseccomp knows, and the argument filters
 * decide every value exactly once (libseccomp's order among overlapping
 * rules is not ours to choose), with the intended answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/netlink.h>
#include <signal.h>
#include <stdbool.h>
#include <linux/sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "backends/native/native.h"
#include "backends/syscall_policy.h"

#define MAX_RULES 1024
struct rules {
	symbi_syscall_rule_t r[MAX_RULES];
	size_t n;
};

static int collect(const symbi_syscall_rule_t *rule, void *ctx)
{
	struct rules *rs = ctx;
	if (rs->n == MAX_RULES)
		return -1;
	rs->r[rs->n++] = *rule;
	return 0;
}

static bool cmp_holds(const struct scmp_arg_cmp *c, const uint64_t args[6])
{
	uint64_t a = args[c->arg];
	switch (c->op) {
	case SCMP_CMP_EQ: return a == c->datum_a;
	case SCMP_CMP_NE: return a != c->datum_a;
	case SCMP_CMP_GE: return a >= c->datum_a;
	case SCMP_CMP_MASKED_EQ: return (a & c->datum_a) == c->datum_b;
	default: fail_msg("unexpected comparison %d", c->op); return false;
	}
}

/* The answer to `name` with `args`: 0 allowed, an errno, or
 * SYMBI_SYSCALL_DEFAULT_ERRNO when no rule matches. Fails the test when
 * two matching rules disagree. */
static int decide(const struct rules *rs, const char *name, const uint64_t args[6])
{
	int answer = -1;
	for (size_t i = 0; i < rs->n; i++) {
		const symbi_syscall_rule_t *r = &rs->r[i];
		if (strcmp(r->name, name) != 0)
			continue;
		bool all = true;
		for (unsigned j = 0; j < r->nargs; j++)
			all = all && cmp_holds(&r->args[j], args);
		if (!all)
			continue;
		if (answer >= 0 && answer != r->errno_ret)
			fail_msg("%s(%#llx, %#llx, %#llx): rules disagree (%d, %d)", name,
				 (unsigned long long)args[0], (unsigned long long)args[1],
				 (unsigned long long)args[2], answer, r->errno_ret);
		answer = r->errno_ret;
	}
	return answer < 0 ? SYMBI_SYSCALL_DEFAULT_ERRNO : answer;
}

static struct rules rules;

static int setup(void **state)
{
	(void)state;
	return symbi_syscall_policy_walk(collect, &rules);
}

static void test_names_known_to_libseccomp(void **state)
{
	(void)state;
	for (size_t i = 0; i < rules.n; i++) {
		const char *name = rules.r[i].name;
		/* A typo would silently refuse the syscall. */
		if (seccomp_syscall_resolve_name(name) == __NR_SCMP_ERROR)
			fail_msg("libseccomp does not know '%s'", name);
		/* The same name twice in the unconditional list is harmless
		 * but says the table is not what its author thought. */
		for (size_t j = 0; j < i && rules.r[i].nargs == 0; j++)
			if (rules.r[j].nargs == 0 && strcmp(rules.r[j].name, name) == 0)
				fail_msg("'%s' is listed twice", name);
	}
}

/* Values around every boundary, with and without garbage in the upper
 * half. */
static const uint64_t highs[] = {0, 0x100000000ULL, 0xffffffff00000000ULL};

static void test_socket_families(void **state)
{
	(void)state;
	for (size_t h = 0; h < 3; h++) {
		for (uint64_t fam = 0; fam < 300; fam++) {
			for (uint64_t proto = 0; proto < 40; proto += 15) {
				uint64_t args[6] = {highs[h] | fam, SOCK_STREAM, proto};
				bool ok = fam == AF_UNIX || fam == AF_INET || fam == AF_INET6 ||
					  (fam == AF_NETLINK && proto == NETLINK_ROUTE);
				assert_int_equal(decide(&rules, "socket", args), ok ? 0 : EAFNOSUPPORT);
			}
		}
		uint64_t top[6] = {highs[h] | 0xffffffffULL};
		assert_int_equal(decide(&rules, "socket", top), EAFNOSUPPORT);
		uint64_t pair[6] = {highs[h] | AF_UNIX};
		assert_int_equal(decide(&rules, "socketpair", pair), highs[h] ? EAFNOSUPPORT : 0);
		uint64_t inet_pair[6] = {highs[h] | AF_INET};
		assert_int_equal(decide(&rules, "socketpair", inet_pair), EAFNOSUPPORT);
	}
	/* NETLINK_ROUTE with garbage above the protocol: refused. */
	uint64_t args[6] = {AF_NETLINK, SOCK_RAW, 0x100000000ULL};
	assert_int_equal(decide(&rules, "socket", args), EAFNOSUPPORT);
}

static void test_ioctl_and_personality(void **state)
{
	(void)state;
	static const uint64_t requests[] = {0, 1, TIOCSTI - 1, TIOCSTI, TIOCSTI + 1, TIOCLINUX,
					    TIOCLINUX - 1, TIOCLINUX + 1, TCGETS, FIONREAD,
					    0x80045430 /* TIOCGPTN */, 0xffffffff};
	for (size_t h = 0; h < 3; h++) {
		for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
			uint64_t args[6] = {1, highs[h] | requests[i]};
			bool inject = requests[i] == TIOCSTI || requests[i] == TIOCLINUX;
			assert_int_equal(decide(&rules, "ioctl", args), inject ? EPERM : 0);
		}
		static const uint64_t personas[] = {0, 1, 8, 0x0040000, 0x20000, 0xfffffffe, 0xffffffff};
		for (size_t i = 0; i < sizeof(personas) / sizeof(personas[0]); i++) {
			uint64_t args[6] = {highs[h] | personas[i]};
			bool ok = personas[i] == 0 || personas[i] == 0xffffffff;
			assert_int_equal(decide(&rules, "personality", args), ok ? 0 : EPERM);
		}
	}
}

static void test_clone_and_absent(void **state)
{
	(void)state;
	uint64_t thread[6] = {CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			      CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |
			      CLONE_CHILD_CLEARTID};
	assert_int_equal(decide(&rules, "clone", thread), 0);
	static const uint64_t ns[] = {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
				      CLONE_NEWPID, CLONE_NEWNET, 0x02000000 /* NEWCGROUP */};
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		uint64_t args[6] = {ns[i] | SIGCHLD};
		assert_int_equal(decide(&rules, "clone", args), EPERM);
	}
	uint64_t none[6] = {0};
	assert_int_equal(decide(&rules, "unshare", none), EPERM);
	assert_int_equal(decide(&rules, "setns", none), EPERM);
	static const char *const absent[] = {"clone3", "mount", "ptrace", "bpf", "keyctl",
					     "io_uring_setup", "memfd_secret", "userfaultfd",
					     "perf_event_open", "process_vm_readv", "name_to_handle_at",
					     "open_by_handle_at", "kexec_load", "init_module",
					     "modify_ldt", "chroot", "pivot_root", "add_key"};
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		assert_int_equal(decide(&rules, absent[i], none), ENOSYS);
	assert_int_equal(decide(&rules, "read", none), 0);
}

/* The BPF built into the library (tools/seccomp_bpf_gen.c) is what
 * libseccomp makes of the policy now: a stale build would run an old list. */
static void test_prebuilt_filter_is_current(void **state)
{
	(void)state;
	native_filter_t built, compiled;
	symbi_error_t err = {0};
	assert_int_equal(native_seccomp_load(&built, &err), 0);
	assert_int_equal(native_seccomp_compile(&compiled, &err), 0);
	assert_int_equal(built.len, compiled.len);
	for (unsigned i = 0; i < built.len; i++) {
		struct sock_filter b = built.insns[i], c = compiled.insns[i];
		/* Where libseccomp cannot ask the kernel (under valgrind) it
		 * kills the thread instead of the process. */
		if (b.k == SCMP_ACT_KILL_PROCESS && c.k == SCMP_ACT_KILL_THREAD)
			c.k = b.k;
		assert_memory_equal(&b, &c, sizeof(b));
	}
	native_seccomp_free(&built);
	native_seccomp_free(&compiled);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_known_to_libseccomp),
		cmocka_unit_test(test_socket_families),
		cmocka_unit_test(test_ioctl_and_personality),
		cmocka_unit_test(test_clone_and_absent),
		cmocka_unit_test(test_prebuilt_filter_is_current),
	};
	return cmocka_run_group_tests_name("syscall_policy", tests, setup, NULL);
}
