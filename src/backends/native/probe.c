/* What this host offers, for `symbi-sandbox doctor` and for the native
 * backend's start-up check. Each probe runs in a short-lived child so that
 * nothing of it stays in the caller. */
#include "native.h"
#include "../../core/error.h"

#include <errno.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/* Forks a child that calls unshare(flags); returns 0 or the errno. */
static int try_unshare(int flags)
{
	pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid < 0)
		return errno;
	if (pid == 0)
		_exit(unshare(flags) == 0 ? 0 : (errno & 0xff));
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
}

bool native_userns_works(void)
{
	return try_unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET |
			   CLONE_NEWIPC | CLONE_NEWUTS) == 0;
}

static bool seccomp_works(void)
{
	pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid < 0)
		return false;
	if (pid == 0) {
		struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
		struct sock_fprog prog = {1, &allow};
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
			_exit(1);
		_exit(0);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void probe_cgroups(symbi_host_info_t *h)
{
	h->cgroup_version = native_cgroup_version();
	if (h->cgroup_version == 0) {
		snprintf(h->cgroup_detail, sizeof(h->cgroup_detail),
			 "nothing mounted at /sys/fs/cgroup");
		return;
	}
	/* Each controller on its own, so that the report says which one is
	 * missing. */
	native_limits_t one[3] = {{.memory_bytes = 64u << 20}, {.pids = 64}, {.cpus = 1.0}};
	bool *ok[3] = {&h->cgroup_memory, &h->cgroup_pids, &h->cgroup_cpu};
	for (int i = 0; i < 3; i++) {
		native_cgroup_t cg;
		symbi_error_t err = {0};
		*ok[i] = native_cgroup_create(&cg, &one[i], &err) == 0;
		if (*ok[i]) {
			if (i == 0)
				snprintf(h->cgroup_detail, sizeof(h->cgroup_detail),
					 "sandboxes go under %.200s", cg.dirs[0]);
			native_cgroup_destroy(&cg);
		} else if (!h->cgroup_detail[0] || i == 0) {
			snprintf(h->cgroup_detail, sizeof(h->cgroup_detail), "%.255s", err.message);
		}
	}
	if (h->cgroup_memory) {
		char *slash = strrchr(h->cgroup_detail, '/');
		if (slash)
			snprintf(slash, sizeof(h->cgroup_detail) - (size_t)(slash - h->cgroup_detail),
				 "/symbi-sandbox-*");
	}
}

static void probe_identity(symbi_host_info_t *h)
{
	symbi_config_t *cfg = symbi_config_new();
	native_id_source_t src;
	symbi_error_t err = {0};
	if (!cfg || native_id_source_init(&src, cfg, &err) < 0) {
		snprintf(h->run_identity_detail, sizeof(h->run_identity_detail), "%.400s",
			 cfg ? err.message : "out of memory");
		symbi_config_free(cfg);
		return;
	}
	symbi_config_free(cfg);
	h->run_identity = src.mode != NATIVE_ID_SHARED;
	if (src.mode == NATIVE_ID_SHARED)
		snprintf(h->run_identity_detail, sizeof(h->run_identity_detail), "%s",
			 native_id_mode_warning(src.mode));
	else
		snprintf(h->run_identity_detail, sizeof(h->run_identity_detail),
			 "each run gets its own host uid/gid from %u:%u (%s), locked in %.200s",
			 (unsigned)src.uid_base, (unsigned)src.count,
			 src.mode == NATIVE_ID_RANGE ? "native_id_range"
						     : "your /etc/subuid range, via newuidmap",
			 src.lock_dir);
}

int symbi_host_probe(symbi_host_info_t *h, symbi_error_t *err)
{
	if (!h)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "symbi_host_probe: NULL argument");
	memset(h, 0, sizeof(*h));
	h->is_root = geteuid() == 0;
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(h->kernel, sizeof(h->kernel), "%.40s %.80s", u.sysname, u.release);
	int e = try_unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
			    CLONE_NEWCGROUP | (h->is_root ? 0 : CLONE_NEWUSER));
	h->namespaces = e == 0;
	snprintf(h->namespaces_detail, sizeof(h->namespaces_detail), "%s",
		 e == 0 ? "pid, mount, net, ipc, uts, cgroup" : strerror(e));
	e = try_unshare(CLONE_NEWUSER);
	if (h->is_root) {
		/* Root can always; what matters is whether other users can. */
		FILE *f = fopen("/proc/sys/user/max_user_namespaces", "re");
		long max = -1;
		if (f) {
			if (fscanf(f, "%ld", &max) != 1)
				max = -1;
			fclose(f);
		}
		h->user_namespaces = e == 0 && max != 0;
		snprintf(h->user_namespaces_detail, sizeof(h->user_namespaces_detail),
			 "user.max_user_namespaces = %ld%s", max,
			 max == 0 ? " (disabled)" : "");
	} else {
		h->user_namespaces = e == 0;
		snprintf(h->user_namespaces_detail, sizeof(h->user_namespaces_detail), "%s",
			 e == 0 ? "unprivileged user namespaces work" : strerror(e));
	}
	probe_cgroups(h);
	h->seccomp = seccomp_works();
	const struct scmp_version *v = seccomp_version();
	if (v)
		snprintf(h->libseccomp_version, sizeof(h->libseccomp_version), "%u.%u.%u", v->major,
			 v->minor, v->micro);
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	h->landlock_abi = abi > 0 ? (int)abi : 0;
	probe_identity(h);
	return 0;
}
