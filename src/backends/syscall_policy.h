/* The system call policy of the sandboxes: one allow list with argument
 * filters, written once and applied by the native backend (compiled with
 * libseccomp, seccomp.c) and the Docker backend (as a Docker seccomp
 * profile, docker_seccomp.c). Anything not on the list fails with ENOSYS:
 * libc falls back where it can, and a syscall added by a future kernel is
 * refused until someone puts it here. docs/native-backend.md lists the
 * admitted syscalls and compares them with Docker's default profile. */
#ifndef SYMBI_BACKENDS_SYSCALL_POLICY_H
#define SYMBI_BACKENDS_SYSCALL_POLICY_H

#include <errno.h>
#include <seccomp.h>
#include <stddef.h>

/* What a syscall that is not on the list returns. */
#define SYMBI_SYSCALL_DEFAULT_ERRNO ENOSYS

/* One rule: `name` gets `errno_ret` (0: allowed) when every comparison
 * holds. Comparisons use libseccomp's struct (for SCMP_CMP_MASKED_EQ,
 * datum_a is the mask and datum_b the value, as in Docker's profiles); no
 * rule compares one argument twice (libseccomp refuses it), the rules of
 * one syscall never overlap with different outcomes (libseccomp's order
 * among overlapping rules is not ours to choose), and no value reaches
 * 2^63 (Docker's JSON goes through jansson's signed integers). */
typedef struct symbi_syscall_rule {
	const char *name;
	int errno_ret;
	unsigned nargs;
	struct scmp_arg_cmp args[2];
} symbi_syscall_rule_t;

/* The syscalls allowed whatever their arguments (NULL-terminated). Names
 * that this machine's libseccomp does not know or that do not exist on its
 * architecture are not allowed. */
extern const char *const symbi_syscall_allowed[];

/* Calls `fn` for every rule of the policy, the unconditional allow list
 * first; stops at (and returns) the first negative value `fn` returns. */
int symbi_syscall_policy_walk(int (*fn)(const symbi_syscall_rule_t *rule, void *ctx), void *ctx);

#endif
