/* Identity. Parent side: the clone that creates the run's user namespace
 * (owned by the run's host ids), its uid/gid maps, and the stdio pipes
 * handed to the run; the ids themselves come from identity.c. Child side:
 * taking the sandbox uid/gid, then dropping every capability (effective,
 * permitted, bounding and ambient sets). */
#include "native.h"
#include "../../core/error.h"
#include "../../core/supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int write_proc(pid_t pid, const char *file, const char *text)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* newuidmap/newgidmap PID INSIDE OUTSIDE 1: setuid helpers that check the
 * outside id against the caller's /etc/subuid or /etc/subgid range. */
static int run_map_helper(const char *helper, pid_t pid, unsigned inside, unsigned outside,
			  symbi_error_t *err)
{
	char pidtext[16], in[16], out[16], errbuf[512] = "";
	snprintf(pidtext, sizeof(pidtext), "%d", (int)pid);
	snprintf(in, sizeof(in), "%u", inside);
	snprintf(out, sizeof(out), "%u", outside);
	char *argv[] = {(char *)helper, pidtext, in, out, "1", NULL};
	char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	symbi_error_t run_err = {0};
	int status = symbi_run_quiet(helper, argv, envp, 10000, errbuf, sizeof(errbuf), &run_err);
	if (status == 0)
		return 0;
	errbuf[strcspn(errbuf, "\n")] = '\0';
	return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "%s %s %s %s 1 failed: %s", helper, pidtext,
			  in, out, status < 0 ? run_err.message : errbuf);
}

int native_write_id_maps(pid_t pid, const native_plan_t *p, symbi_error_t *err)
{
	if (p->id_mode == NATIVE_ID_SUBID)
		return run_map_helper("newgidmap", pid, (unsigned)p->gid, (unsigned)p->host_gid, err) <
				       0 ||
			       run_map_helper("newuidmap", pid, (unsigned)p->uid, (unsigned)p->host_uid,
					      err) < 0
			       ? -1
			       : 0;
	char map[64];
	/* Root leaves setgroups allowed, so that the child can drop the
	 * groups it inherited (root's own, which would still count on host
	 * files); an unprivileged caller must deny it to write gid_map. */
	if (p->id_mode == NATIVE_ID_SHARED && write_proc(pid, "setgroups", "deny") < 0 &&
	    errno != ENOENT)
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot write /proc/%d/setgroups", (int)pid);
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)p->uid, (unsigned)p->host_uid);
	if (write_proc(pid, "uid_map", map) < 0)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, errno,
				  "cannot write the user namespace's uid_map");
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)p->gid, (unsigned)p->host_gid);
	if (write_proc(pid, "gid_map", map) < 0)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, errno,
				  "cannot write the user namespace's gid_map");
	return 0;
}

/* The program reopens its standard streams through /proc/self/fd
 * (/dev/stdout): the pipes the supervisor made become the run's. Only
 * pipes: a caller's terminal or file is never handed to the sandbox. */
void native_give_stdio(const int stdio[3], const native_plan_t *p)
{
	for (int i = 0; i < 3; i++) {
		struct stat st;
		if (stdio[i] < 0 || fstat(stdio[i], &st) < 0 || !S_ISFIFO(st.st_mode))
			continue;
		if (p->id_mode == NATIVE_ID_RANGE)
			(void)!fchown(stdio[i], p->host_uid, p->host_gid);
		else if (p->id_mode == NATIVE_ID_SUBID)
			/* Not ours to give away: reachable only through
			 * /proc/PID/fd of this run or of the supervisor. */
			fchmod(stdio[i], 0666);
	}
}

/* Root: the user namespace is created while this thread's effective ids
 * are the run's (raw system calls change this thread only; the saved ids
 * stay 0 and bring root back). A user namespace is owned, and its
 * per-user kernel counts (inotify instances, ...) are charged upwards, to
 * the effective uid of its creator: created as root, every run would
 * share root's quotas; created so, each run has its own. */
pid_t native_clone_as_run(const native_plan_t *p, unsigned long flags)
{
	if (p->id_mode != NATIVE_ID_RANGE)
		return (pid_t)syscall(SYS_clone, flags, 0, 0, 0, 0);
	gid_t egid = getegid();
	if (syscall(SYS_setresgid, -1, p->host_gid, -1) < 0)
		return -1;
	pid_t child = -1;
	if (syscall(SYS_setresuid, -1, p->host_uid, -1) == 0) {
		child = (pid_t)syscall(SYS_clone, flags, 0, 0, 0, 0);
		if (child == 0)
			return 0;
		int e = errno;
		if (syscall(SYS_setresuid, -1, 0, -1) < 0)
			abort(); /* cannot happen: the saved uid is 0 */
		errno = e;
	}
	int e = errno;
	if (syscall(SYS_setresgid, -1, egid, -1) < 0)
		abort();
	errno = e;
	return child;
}

int native_become_sandbox_user(const native_plan_t *p, const char **step)
{
	/* Raw system calls: glibc's wrappers broadcast credential changes to
	 * every thread it knows of, and after a raw clone of a threaded
	 * caller it still "knows" threads that do not exist here and would
	 * wait for them forever. */
	*step = "set supplementary groups";
	/* None: the caller's groups (root's 0, disk, ...) would still count
	 * on host files. A caller without subordinate ids cannot allow
	 * setgroups; its groups are its own. */
	if (p->id_mode != NATIVE_ID_SHARED && syscall(SYS_setgroups, 0, NULL) < 0)
		return -1;
	*step = "set gid";
	if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0)
		return -1;
	*step = "set uid";
	/* uid 0 is not mapped in the namespace, so the kernel does not take
	 * this for root giving up root: the namespace's capabilities stay
	 * until native_drop_privileges clears them. */
	if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0)
		return -1;
	return 0;
}

int native_drop_bounding_set(const native_plan_t *p, const char **step)
{
	*step = "drop the capability bounding set";
	for (int cap = 0; cap <= p->cap_last; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	*step = "clear ambient capabilities";
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -1;
	return 0;
}

int native_drop_privileges(const native_plan_t *p, const char **step)
{
	if (native_drop_bounding_set(p, step) < 0 || native_drop_capabilities(p, step) < 0)
		return -1;
	/* Changing uid made us non-dumpable, which makes /proc/self root's;
	 * ptrace stays refused by seccomp and core dumps by RLIMIT_CORE. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	return 0;
}

int native_drop_capabilities(const native_plan_t *p, const char **step)
{
	if (native_become_sandbox_user(p, step) < 0)
		return -1;
	*step = "clear capabilities";
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -1;
	return 0;
}
