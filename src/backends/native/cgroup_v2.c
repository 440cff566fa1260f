/* cgroup v2: one directory in the unified hierarchy, where the memory, pids
 * and cpu controllers can be enabled: under this process's cgroup, or for
 * root a cgroup of its own, or next to this process's leaf in a subtree
 * delegated to this user (see choose_parent). */
#include "native.h"
#include "../../core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CPU_PERIOD_US 100000
#define NATIVE_V2_PARENT "symbi-sandbox"

static int enable_controllers(const char *parent, const native_limits_t *lim, symbi_error_t *err)
{
	const char *wanted[3] = {"+memory", lim->pids ? "+pids" : NULL, lim->cpus > 0 ? "+cpu" : NULL};
	for (int i = 0; i < 3; i++) {
		if (!wanted[i])
			continue;
		if (native_write_file(parent, "cgroup.subtree_control", wanted[i]) < 0) {
			int e = errno;
			symbi_fail(err, SYMBI_E_UNAVAILABLE, e,
				   "cannot enable the %s controller in %s (%s)", wanted[i] + 1, parent,
				   e == ENOENT ? "the controller is not available in cgroup v2 (bound "
						 "to a v1 hierarchy, or disabled at boot)"
				   : e == EBUSY ? "this process's cgroup holds processes, so it cannot "
						  "delegate controllers: run symbi-sandbox in a leaf cgroup "
						  "of a subtree delegated to this user, or as root"
						: "run as root or in a delegated cgroup (systemd-run --user "
						  "--scope -p Delegate=yes)");
			errno = e; /* the caller decides by it where to go next */
			return -1;
		}
	}
	return 0;
}

/* Whether this user may make cgroups in dir and move processes into them
 * from below dir: what delegating dir to it (systemd's Delegate=yes, or a
 * chown of the directory and of these files) grants. */
static bool delegated_to_us(const char *dir)
{
	static const char *const files[] = {"cgroup.procs", "cgroup.subtree_control"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[PATH_MAX];
		if (snprintf(path, sizeof(path), "%s/%s", dir, files[i]) >= (int)sizeof(path) ||
		    faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) < 0)
			return false;
	}
	return faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == 0;
}

/* Where this run's cgroup goes, its controllers enabled: this process's own
 * cgroup if it can hand them down; else, for root, a cgroup of its own at
 * the top; else, for a user whose process sits in a leaf of a subtree
 * delegated to it (cgroup v2 keeps processes and delegated controllers
 * apart), the leaf's parent, next to the leaf. */
static int choose_parent(char *parent, size_t size, const native_limits_t *lim, symbi_error_t *err)
{
	char own[PATH_MAX / 2];
	if (native_own_cgroup("", own, sizeof(own)) < 0)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, errno, "cannot find this process's cgroup");
	snprintf(parent, size, "/sys/fs/cgroup%s", own);
	if (enable_controllers(parent, lim, err) == 0)
		return 0;
	int own_errno = errno;
	if (geteuid() == 0) {
		/* Our own cgroup usually holds processes (a login session, a
		 * service). Root can use a cgroup of its own next to the
		 * others, as container engines do; it stays, empty, between
		 * runs. */
		snprintf(parent, size, "/sys/fs/cgroup/" NATIVE_V2_PARENT);
		if (enable_controllers("/sys/fs/cgroup", lim, err) < 0)
			return -1;
		if (mkdir(parent, 0755) < 0 && errno != EEXIST)
			return symbi_fail(err, SYMBI_E_UNAVAILABLE, errno, "cannot create %s", parent);
		return enable_controllers(parent, lim, err);
	}
	/* EBUSY: our cgroup is ours (else EACCES) but holds processes. */
	char *slash = strrchr(parent, '/');
	if (own_errno != EBUSY || !*own || !slash)
		return -1;
	*slash = '\0';
	if (!delegated_to_us(parent)) {
		*slash = '/';
		return -1; /* err still says why our own cgroup could not do */
	}
	return enable_controllers(parent, lim, err);
}

int native_cgroup_v2_create(native_cgroup_t *cg, const char *name, const native_limits_t *lim,
			    symbi_error_t *err)
{
	char parent[PATH_MAX];
	if (choose_parent(parent, sizeof(parent), lim, err) < 0)
		return -1;
	native_cgroup_collect_stale(parent);
	char *dir = cg->dirs[0];
	if (snprintf(dir, PATH_MAX, "%.*s/%s", PATH_MAX - 80, parent, name) >= PATH_MAX)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "cgroup path too long");
	if (mkdir(dir, 0755) < 0)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, errno, "cannot create the cgroup %s", dir);
	cg->ndirs = 1;
	cg->memory_dir = 0;
	char v[64];
	if (lim->memory_bytes) {
		snprintf(v, sizeof(v), "%" PRIu64, lim->memory_bytes);
		if (native_cgroup_set(dir, "memory.max", v, err) < 0)
			return -1;
		native_write_file(dir, "memory.swap.max", "0");
		/* One OOM kill ends the whole sandbox, as a container's would. */
		native_write_file(dir, "memory.oom.group", "1");
	}
	if (lim->pids) {
		snprintf(v, sizeof(v), "%ld", lim->pids);
		if (native_cgroup_set(dir, "pids.max", v, err) < 0)
			return -1;
	}
	if (lim->cpus > 0) {
		long quota = (long)(lim->cpus * CPU_PERIOD_US);
		snprintf(v, sizeof(v), "%ld %d", quota < 1000 ? 1000 : quota, CPU_PERIOD_US);
		if (native_cgroup_set(dir, "cpu.max", v, err) < 0)
			return -1;
	}
	return 0;
}
