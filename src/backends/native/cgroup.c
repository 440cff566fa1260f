/* Parent side: one cgroup per run, on cgroup v1 or v2, created under this
 * process's own cgroup (so that a delegated subtree is enough), removed at
 * the end of the run whatever happened. */
#include "native.h"
#include "../../core/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

int native_cgroup_version(void)
{
	struct statfs sf;
	if (statfs("/sys/fs/cgroup", &sf) < 0)
		return 0;
	if (sf.f_type == CGROUP2_SUPER_MAGIC)
		return 2;
	if (sf.f_type == TMPFS_MAGIC)
		return 1;
	return 0;
}

int native_write_file(const char *dir, const char *file, const char *value)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	int saved = errno;
	close(fd);
	if (n != (ssize_t)len) {
		errno = n < 0 ? saved : EIO;
		return -1;
	}
	return 0;
}

int native_own_cgroup(const char *controller, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -1;
	char line[4096];
	int rc = -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c1 = '\0';
		*c2 = '\0';
		const char *ctrls = c1 + 1, *path = c2 + 1;
		bool match = false;
		if (!*controller) {
			match = strcmp(line, "0") == 0 && !*ctrls;
		} else {
			char copy[256];
			snprintf(copy, sizeof(copy), "%s", ctrls);
			char *save = NULL;
			for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
				match = match || strcmp(t, controller) == 0;
		}
		if (match) {
			if (strcmp(path, "/") == 0)
				path = "";
			rc = snprintf(out, size, "%s", path) < (int)size ? 0 : -1;
			break;
		}
	}
	fclose(f);
	if (rc < 0)
		errno = ENOENT;
	return rc;
}

int native_cgroup_set(const char *dir, const char *file, const char *value, symbi_error_t *err)
{
	if (native_write_file(dir, file, value) < 0)
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot write %s to %s/%s", value, dir, file);
	return 0;
}

void native_cgroup_collect_stale(const char *parent)
{
	DIR *d = opendir(parent);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		int pid;
		if (sscanf(e->d_name, "symbi-sandbox-%d-", &pid) != 1 || pid <= 0)
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		char path[PATH_MAX];
		if (snprintf(path, sizeof(path), "%s/%s", parent, e->d_name) < (int)sizeof(path))
			rmdir(path); /* fails harmlessly while anything is still inside */
	}
	closedir(d);
}

void native_cgroup_collect_leftovers(void)
{
	char own[PATH_MAX / 2], dir[PATH_MAX];
	if (native_cgroup_version() == 1) {
		static const char *const controllers[] = {"memory", "pids", "cpu"};
		for (size_t i = 0; i < sizeof(controllers) / sizeof(controllers[0]); i++)
			if (native_own_cgroup(controllers[i], own, sizeof(own)) == 0) {
				snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s%s", controllers[i], own);
				native_cgroup_collect_stale(dir);
			}
		return;
	}
	/* v2: the places native_cgroup_v2_create may choose (see there). */
	native_cgroup_collect_stale("/sys/fs/cgroup/symbi-sandbox");
	if (native_own_cgroup("", own, sizeof(own)) < 0)
		return;
	snprintf(dir, sizeof(dir), "/sys/fs/cgroup%s", own);
	native_cgroup_collect_stale(dir);
	char *slash = strrchr(dir, '/');
	if (slash && slash > dir + strlen("/sys/fs/cgroup")) {
		*slash = '\0';
		native_cgroup_collect_stale(dir);
	}
}

int native_cgroup_create(native_cgroup_t *cg, const native_limits_t *lim, symbi_error_t *err)
{
	memset(cg, 0, sizeof(*cg));
	cg->memory_dir = -1;
	uint64_t r;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "getrandom");
	char name[64];
	snprintf(name, sizeof(name), "symbi-sandbox-%d-%016" PRIx64, (int)getpid(), r);
	int version = native_cgroup_version();
	int rc;
	if (version == 1)
		rc = native_cgroup_v1_create(cg, name, lim, err);
	else if (version == 2)
		rc = native_cgroup_v2_create(cg, name, lim, err);
	else
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0,
				  "no cgroup file system is mounted at /sys/fs/cgroup; mount one "
				  "(cgroup2 or the v1 controllers memory, pids, cpu) to enforce limits");
	if (rc < 0) {
		native_cgroup_destroy(cg);
		return -1;
	}
	cg->version = version;
	return 0;
}

int native_cgroup_open_join(const native_cgroup_t *cg, int *fds, symbi_error_t *err)
{
	for (int i = 0; i < cg->ndirs; i++) {
		char path[PATH_MAX + 16];
		snprintf(path, sizeof(path), "%s/%s", cg->dirs[i],
			 cg->version == 1 ? "tasks" : "cgroup.procs");
		fds[i] = open(path, O_WRONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			int e = errno;
			while (i-- > 0)
				close(fds[i]);
			return symbi_fail(err, SYMBI_E_SYSTEM, e, "cannot open %s", path);
		}
	}
	return cg->ndirs;
}

int native_cgroup_open_home(const native_cgroup_t *cg, int *fds, symbi_error_t *err)
{
	char own[PATH_MAX / 2], path[PATH_MAX + 16];
	if (cg->version == 2 && native_own_cgroup("", own, sizeof(own)) < 0)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, errno, "cannot find this process's cgroup");
	for (int i = 0; i < cg->ndirs; i++) {
		if (cg->version == 2) {
			snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cgroup.procs", own);
		} else {
			const char *slash = strrchr(cg->dirs[i], '/');
			snprintf(path, sizeof(path), "%.*s/tasks", (int)(slash - cg->dirs[i]),
				 cg->dirs[i]);
		}
		if ((fds[i] = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
			int e = errno;
			while (i-- > 0)
				close(fds[i]);
			return symbi_fail(err, SYMBI_E_SYSTEM, e, "cannot open %s", path);
		}
	}
	return cg->ndirs;
}

/* Kills the processes listed in dir/cgroup.procs; returns how many. */
static int kill_listed(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	int n = 0, pid;
	while (fscanf(f, "%d", &pid) == 1) {
		kill(pid, SIGKILL);
		n++;
	}
	fclose(f);
	return n;
}

void native_cgroup_kill(const native_cgroup_t *cg)
{
	if (cg->version == 2 && cg->ndirs > 0 && native_write_file(cg->dirs[0], "cgroup.kill", "1") == 0)
		return;
	for (int i = 0; i < cg->ndirs; i++)
		kill_listed(cg->dirs[i]);
}

long native_cgroup_oom_kills(const native_cgroup_t *cg)
{
	if (cg->memory_dir < 0)
		return 0;
	/* Both versions count kills as an "oom_kill N" line of a flat keyed
	 * file; only the file's name differs. */
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s", cg->dirs[cg->memory_dir],
		 cg->version == 2 ? "memory.events" : "memory.oom_control");
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char key[64];
	long value, kills = 0;
	while (fscanf(f, "%63s %ld", key, &value) == 2)
		if (strcmp(key, "oom_kill") == 0)
			kills = value;
	fclose(f);
	return kills;
}

void native_cgroup_destroy(native_cgroup_t *cg)
{
	/* The pid namespace is gone when we get here, so the cgroups are
	 * normally empty; stragglers (a process that was between fork and
	 * exit) get killed and a short while to go. */
	for (int i = cg->ndirs - 1; i >= 0; i--) {
		for (int attempt = 0; attempt < 200; attempt++) {
			if (rmdir(cg->dirs[i]) == 0 || errno == ENOENT)
				break;
			if (errno != EBUSY)
				break;
			kill_listed(cg->dirs[i]);
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	cg->ndirs = 0;
	cg->memory_dir = -1;
}
