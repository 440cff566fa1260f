/* cgroup v1: one directory per controller hierarchy (memory, pids, cpu). */
#include "native.h"
#include "../../core/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFS_PERIOD_US 100000

static int make_dir(native_cgroup_t *cg, const char *controller, const char *name,
		    symbi_error_t *err)
{
	char own[PATH_MAX / 2];
	if (native_own_cgroup(controller, own, sizeof(own)) < 0)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, errno,
				  "the cgroup v1 controller '%s' is not mounted (no line for it in "
				  "/proc/self/cgroup); mount it at /sys/fs/cgroup/%s", controller, controller);
	char *dir = cg->dirs[cg->ndirs];
	snprintf(dir, PATH_MAX, "/sys/fs/cgroup/%s%s", controller, own);
	native_cgroup_collect_stale(dir);
	snprintf(dir, PATH_MAX, "/sys/fs/cgroup/%s%s/%s", controller, own, name);
	if (mkdir(dir, 0755) < 0) {
		int e = errno;
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, e,
				  "cannot create the cgroup %s (%s)", dir,
				  e == EACCES || e == EPERM || e == EROFS
					  ? "cgroups need root or a delegated cgroup (run as root, or "
					    "use a cgroup v2 host with systemd-run --user -p Delegate=yes)"
					  : "check that the controller is mounted and writable");
	}
	cg->ndirs++;
	return 0;
}

int native_cgroup_v1_create(native_cgroup_t *cg, const char *name, const native_limits_t *lim,
			    symbi_error_t *err)
{
	char v[64];
	/* The memory hierarchy always exists so that OOM kills are seen. */
	if (make_dir(cg, "memory", name, err) < 0)
		return -1;
	cg->memory_dir = cg->ndirs - 1;
	const char *mem = cg->dirs[cg->memory_dir];
	if (lim->memory_bytes) {
		snprintf(v, sizeof(v), "%" PRIu64, lim->memory_bytes);
		if (native_cgroup_set(mem, "memory.limit_in_bytes", v, err) < 0)
			return -1;
		/* No swap: memsw exists only with swap accounting. */
		char path[PATH_MAX + 32];
		snprintf(path, sizeof(path), "%s/memory.memsw.limit_in_bytes", mem);
		if (access(path, F_OK) == 0 && native_cgroup_set(mem, "memory.memsw.limit_in_bytes", v, err) < 0)
			return -1;
		native_write_file(mem, "memory.swappiness", "0");
		/* v1 charges socket buffers only once a TCP limit is set, and
		 * then to their own counter: without it a program queues
		 * unbounded loopback TCP buffers (host-wide TCP memory) under
		 * any memory limit. v2 charges them to memory.max. */
		snprintf(path, sizeof(path), "%s/memory.kmem.tcp.limit_in_bytes", mem);
		if (access(path, F_OK) == 0 &&
		    native_cgroup_set(mem, "memory.kmem.tcp.limit_in_bytes", v, err) < 0)
			return -1;
	}
	if (make_dir(cg, "pids", name, err) < 0)
		return -1;
	if (lim->pids) {
		snprintf(v, sizeof(v), "%ld", lim->pids);
		if (native_cgroup_set(cg->dirs[cg->ndirs - 1], "pids.max", v, err) < 0)
			return -1;
	}
	if (lim->cpus > 0) {
		if (make_dir(cg, "cpu", name, err) < 0)
			return -1;
		const char *cpu = cg->dirs[cg->ndirs - 1];
		snprintf(v, sizeof(v), "%d", CFS_PERIOD_US);
		if (native_cgroup_set(cpu, "cpu.cfs_period_us", v, err) < 0)
			return -1;
		long quota = (long)(lim->cpus * CFS_PERIOD_US);
		snprintf(v, sizeof(v), "%ld", quota < 1000 ? 1000 : quota);
		if (native_cgroup_set(cpu, "cpu.cfs_quota_us", v, err) < 0)
			return -1;
	}
	return 0;
}
