/* The Docker backend's seccomp profile: the policy of syscall_policy.c as
 * Docker's JSON (what `--security-opt seccomp=FILE` reads), in place of
 * the engine's default profile. The docker client reads the file itself,
 * so the profile lives in a memfd handed to the client as its fd 3: no
 * temporary file to leak or to be swapped by another user. */
#include "docker.h"
#include "syscall_policy.h"
#include "../core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const op_names[] = {
	[SCMP_CMP_NE] = "SCMP_CMP_NE",
	[SCMP_CMP_LT] = "SCMP_CMP_LT",
	[SCMP_CMP_LE] = "SCMP_CMP_LE",
	[SCMP_CMP_EQ] = "SCMP_CMP_EQ",
	[SCMP_CMP_GE] = "SCMP_CMP_GE",
	[SCMP_CMP_GT] = "SCMP_CMP_GT",
	[SCMP_CMP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

struct profile {
	json_t *allowed; /* the names of the unconditional allow entry */
	json_t *syscalls;
	json_t *named;   /* every name the policy has a rule for (a set) */
};

static int add_rule(const symbi_syscall_rule_t *r, void *ctx)
{
	struct profile *p = ctx;
	if (json_object_set_new(p->named, r->name, json_true()) < 0)
		return -ENOMEM;
	if (r->nargs == 0 && r->errno_ret == 0)
		return json_array_append_new(p->allowed, json_string(r->name)) < 0 ? -ENOMEM : 0;
	json_t *args = json_array();
	json_t *entry = json_pack("{s:[s],s:s,s:o}", "names", r->name, "action",
				  r->errno_ret ? "SCMP_ACT_ERRNO" : "SCMP_ACT_ALLOW", "args", args);
	if (!entry)
		return -ENOMEM;
	int rc = 0;
	if (r->errno_ret && json_object_set_new(entry, "errnoRet", json_integer(r->errno_ret)) < 0)
		rc = -ENOMEM;
	for (unsigned i = 0; rc == 0 && i < r->nargs; i++) {
		const struct scmp_arg_cmp *c = &r->args[i];
		/* Docker's value and valueTwo are libseccomp's datum_a and
		 * datum_b (for MASKED_EQ: the mask, then the value). */
		/* jansson's integers are signed: the policy keeps its values
		 * below 2^63, and one above is refused, not made negative. */
		if (c->datum_a > INT64_MAX || c->datum_b > INT64_MAX)
			rc = -ERANGE;
		else if (json_array_append_new(args, json_pack("{s:I,s:I,s:I,s:s}", "index",
								(json_int_t)c->arg, "value",
								(json_int_t)c->datum_a, "valueTwo",
								(json_int_t)c->datum_b, "op",
								op_names[c->op])) < 0)
			rc = -ENOMEM;
	}
	if (rc < 0) {
		json_decref(entry);
		return rc;
	}
	return json_array_append_new(p->syscalls, entry) < 0 ? -ENOMEM : 0;
}

/* Engines before Docker 23 ignore defaultErrnoRet and answer EPERM,
 * from which libc does not fall back (clone3 above all: glibc would fail
 * to start threads). So every syscall this libseccomp knows on the
 * profile's architectures and the policy does not name gets ENOSYS by its
 * own rule; those the engine's libseccomp does not know, runc answers
 * ENOSYS itself. */
static int add_enosys_rule(struct profile *p)
{
	static const uint32_t arches[] = {SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64};
	json_t *names = json_array();
	if (!names ||
	    json_array_append_new(p->syscalls,
				  json_pack("{s:O,s:s,s:i}", "names", names, "action",
					    "SCMP_ACT_ERRNO", "errnoRet",
					    SYMBI_SYSCALL_DEFAULT_ERRNO)) < 0) {
		json_decref(names);
		return -ENOMEM;
	}
	int rc = 0;
	for (size_t a = 0; rc == 0 && a < sizeof(arches) / sizeof(arches[0]); a++) {
		for (int nr = 0; rc == 0 && nr < 1024; nr++) {
			char *name = seccomp_syscall_resolve_num_arch(arches[a], nr);
			if (name && !json_object_get(p->named, name) &&
			    (json_object_set_new(p->named, name, json_true()) < 0 ||
			     json_array_append_new(names, json_string(name)) < 0))
				rc = -ENOMEM;
			free(name);
		}
	}
	json_decref(names);
	return rc;
}

/* The profile as JSON, or NULL with err set. */
static json_t *profile_json(symbi_error_t *err)
{
	struct profile p = {json_array(), json_array(), json_object()};
	json_t *root = json_object();
	int rc = -ENOMEM;
	if (p.allowed && p.syscalls && p.named && root &&
	    json_array_append_new(p.syscalls, json_pack("{s:O,s:s}", "names", p.allowed, "action",
							 "SCMP_ACT_ALLOW")) == 0)
		rc = symbi_syscall_policy_walk(add_rule, &p);
	if (rc == 0)
		rc = add_enosys_rule(&p);
	/* 64-bit ABIs only: the 32-bit ones (i386, x32, arm) are left out of
	 * the filter, so the engine's libseccomp kills them, as natively. */
	if (rc == 0 &&
	    (json_object_set_new(root, "defaultAction", json_string("SCMP_ACT_ERRNO")) < 0 ||
	     json_object_set_new(root, "defaultErrnoRet",
				 json_integer(SYMBI_SYSCALL_DEFAULT_ERRNO)) < 0 ||
	     json_object_set_new(root, "archMap",
				 json_pack("[{s:s,s:[]},{s:s,s:[]}]", "architecture",
					   "SCMP_ARCH_X86_64", "subArchitectures", "architecture",
					   "SCMP_ARCH_AARCH64", "subArchitectures")) < 0 ||
	     json_object_set(root, "syscalls", p.syscalls) < 0))
		rc = -ENOMEM;
	json_decref(p.allowed);
	json_decref(p.syscalls);
	json_decref(p.named);
	if (rc == 0)
		return root;
	json_decref(root);
	if (rc == -ERANGE)
		symbi_fail(err, SYMBI_E_SYSTEM, ERANGE,
			   "the seccomp policy has a value Docker's JSON cannot carry");
	else
		symbi_fail_nomem(err);
	return NULL;
}

char *symbi_docker_seccomp_profile(symbi_error_t *err)
{
	json_t *root = profile_json(err);
	char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
	if (root && !text)
		symbi_fail_nomem(err);
	json_decref(root);
	return text;
}

int symbi_docker_seccomp_memfd(symbi_error_t *err)
{
	json_t *root = profile_json(err);
	if (!root)
		return -1;
	int fd = memfd_create("symbi-seccomp.json", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	/* Sealed: whoever gets the descriptor reads this profile or none. */
	if (fd < 0 || json_dumpfd(root, fd, JSON_COMPACT) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		json_decref(root);
		return symbi_fail(err, SYMBI_E_SYSTEM, e, "cannot write the seccomp profile to a memfd");
	}
	json_decref(root);
	return fd;
}
