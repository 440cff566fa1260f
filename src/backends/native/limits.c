/* Child side: rlimits of the program, for what cgroups do not cover (file
 * size, open files, core dumps) and, without a cgroup, as a fallback for
 * memory and process count. */
#include "native.h"

#include <errno.h>
#include <sys/resource.h>

static int set_limit(int resource, rlim_t value)
{
	struct rlimit rl = {value, value};
	return setrlimit(resource, &rl);
}

int native_set_rlimits(const native_plan_t *p, bool use_cgroup)
{
	if (set_limit(RLIMIT_CORE, 0) < 0 || set_limit(RLIMIT_FSIZE, NATIVE_FSIZE_LIMIT) < 0)
		return -1;
	if (set_limit(RLIMIT_NOFILE, NATIVE_NOFILE_LIMIT) < 0) {
		/* EPERM: the caller's hard limit is lower and we may not raise
		 * it (no CAP_SYS_RESOURCE: unprivileged, or a container's
		 * bounding set), or higher and valgrind refuses to lower it (it
		 * keeps descriptors of its own up there). Either way the soft
		 * limit becomes ours, within the hard one. */
		struct rlimit rl;
		if (errno != EPERM || getrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -1;
		rl.rlim_cur = rl.rlim_max < NATIVE_NOFILE_LIMIT ? rl.rlim_max : NATIVE_NOFILE_LIMIT;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -1;
	}
	if (!use_cgroup) {
		if (p->limits.memory_bytes && set_limit(RLIMIT_AS, p->limits.memory_bytes) < 0)
			return -1;
		if (p->limits.pids && set_limit(RLIMIT_NPROC, (rlim_t)p->limits.pids) < 0)
			return -1;
	}
	return 0;
}
