/* Parent side: the host uid/gid of one run. A root caller hands out an id of
 * native_id_range; an unprivileged caller one of its /etc/subuid and
 * /etc/subgid ranges (mapped by newuidmap/newgidmap); either way the id is
 * one that no account uses and that no other live run holds: a run holds an
 * flock on a file named after its id, in a directory only the caller can
 * write, for its whole life (the files stay between runs). The lock belongs
 * to the open file description,
 * so concurrent runs in one process (threads of a server) exclude each other
 * as runs in different processes do, and the kernel drops it when the
 * supervisor dies. */
#include "native.h"
#include "../../core/error.h"
#include "../../core/supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ROOT_LOCK_PARENT "/run/symbi-sandbox"
#define ROOT_LOCK_DIR ROOT_LOCK_PARENT "/ids"

/* The first line of `file` (subuid or subgid format, NAME:START:COUNT or
 * UID:START:COUNT) that names this user. A three-field line is simpler to
 * read here than through libsubid, which keeps process-wide state. */
static bool subid_range(const char *file, const char *name, uid_t uid, uint32_t *start,
			uint32_t *count)
{
	FILE *f = fopen(file, "re");
	if (!f)
		return false;
	char line[512], uidtext[16];
	snprintf(uidtext, sizeof(uidtext), "%u", (unsigned)uid);
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *save = NULL, *owner = strtok_r(line, ":\n", &save);
		char *s = strtok_r(NULL, ":\n", &save), *c = strtok_r(NULL, ":\n", &save);
		if (!owner || !s || !c || (strcmp(owner, name) != 0 && strcmp(owner, uidtext) != 0))
			continue;
		char *end1, *end2;
		errno = 0;
		unsigned long long st = strtoull(s, &end1, 10), n = strtoull(c, &end2, 10);
		if (errno || *end1 || *end2 || n == 0 || st + n > ((unsigned long long)1 << 31))
			continue;
		*start = (uint32_t)st;
		*count = (uint32_t)n;
		found = true;
	}
	fclose(f);
	return found;
}

static bool owned_dir(const char *path, uid_t uid)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid;
}

/* Whether this process's own user namespace maps ids [base, base+count)
 * (file: /proc/self/uid_map or gid_map). Root in a container's user
 * namespace can only hand out ids that namespace maps. */
static bool own_ns_maps(const char *file, uint32_t base, uint32_t count)
{
	FILE *f = fopen(file, "re");
	if (!f)
		return true; /* no user namespaces at all: the initial one */
	unsigned long inside, outside, n;
	bool ok = false;
	while (!ok && fscanf(f, "%lu %lu %lu", &inside, &outside, &n) == 3)
		ok = inside <= base && (unsigned long long)base + count <= (unsigned long long)inside + n;
	fclose(f);
	return ok;
}

int native_id_source_init(native_id_source_t *src, const symbi_config_t *cfg, symbi_error_t *err)
{
	memset(src, 0, sizeof(*src));
	uid_t me = geteuid();
	if (me == 0) {
		src->mode = NATIVE_ID_RANGE;
		src->uid_base = cfg->id_range_base;
		src->gid_base = cfg->id_range_base;
		src->count = cfg->id_range_count;
		snprintf(src->lock_dir, sizeof(src->lock_dir), "%s", ROOT_LOCK_DIR);
		if (!own_ns_maps("/proc/self/uid_map", src->uid_base, src->count) ||
		    !own_ns_maps("/proc/self/gid_map", src->gid_base, src->count))
			return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0,
					  "native_id_range %u:%u is not mapped in this process's user "
					  "namespace (root of a container?): choose a range that "
					  "/proc/self/uid_map and gid_map cover, with --id-range",
					  (unsigned)src->uid_base, (unsigned)src->count);
		return 0;
	}
	src->mode = NATIVE_ID_SHARED;
	char buf[4096], path[PATH_MAX];
	struct passwd pw, *res = NULL;
	if (getpwuid_r(me, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return 0; /* subordinate ids are listed by user name */
	uint32_t us, uc, gs, gc;
	if (!subid_range("/etc/subuid", res->pw_name, me, &us, &uc) ||
	    !subid_range("/etc/subgid", res->pw_name, me, &gs, &gc) ||
	    symbi_find_executable("newuidmap", path, sizeof(path)) < 0 ||
	    symbi_find_executable("newgidmap", path, sizeof(path)) < 0)
		return 0;
	src->mode = NATIVE_ID_SUBID;
	src->uid_base = us;
	src->gid_base = gs;
	src->count = uc < gc ? uc : gc;
	snprintf(path, sizeof(path), "/run/user/%u", (unsigned)me);
	if (owned_dir(path, me))
		snprintf(src->lock_dir, sizeof(src->lock_dir), "/run/user/%u/symbi-sandbox-ids",
			 (unsigned)me);
	else
		snprintf(src->lock_dir, sizeof(src->lock_dir), "/tmp/symbi-sandbox-ids-%u",
			 (unsigned)me);
	return 0;
}

const char *native_id_mode_warning(native_id_mode_t mode)
{
	return mode == NATIVE_ID_SHARED
		       ? "native backend: runs share your uid (no /etc/subuid and /etc/subgid range "
			 "for you, or newuidmap/newgidmap missing: apt-get install uidmap and add "
			 "ranges with usermod --add-subuids/--add-subgids); other runs and your own "
			 "processes can read this run's memory and files; run as root to give each run "
			 "its own host uid"
		       : NULL;
}

/* The lock directory: created if missing, only the caller may write it. */
static int open_lock_dir(const char *dir, symbi_error_t *err)
{
	if (strcmp(dir, ROOT_LOCK_DIR) == 0 && mkdir(ROOT_LOCK_PARENT, 0755) < 0 && errno != EEXIST)
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot create %s", ROOT_LOCK_PARENT);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot create %s", dir);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot open %s", dir);
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
		close(fd);
		return symbi_fail(err, SYMBI_E_SECURITY, 0,
				  "%s must be a directory that only uid %u can write; remove it", dir,
				  (unsigned)geteuid());
	}
	return fd;
}

static bool is_account(uid_t uid, gid_t gid)
{
	char buf[4096];
	struct passwd pw, *pres = NULL;
	struct group gr, *gres = NULL;
	/* An error (ERANGE on a huge group) counts as taken. */
	return getpwuid_r(uid, &pw, buf, sizeof(buf), &pres) != 0 || pres ||
	       getgrgid_r(gid, &gr, buf, sizeof(buf), &gres) != 0 || gres;
}

/* Locks `name` in dir; 1 when held, 0 when another run holds it, -1 on
 * error. A file that is no longer the one under that name (someone
 * removed it between our open and our lock) does not count. */
static int try_lock(int dir, const char *name, int *out)
{
	int fd = openat(dir, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	struct stat mine, now;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		return e == EWOULDBLOCK ? 0 : (errno = e, -1);
	}
	if (fstat(fd, &mine) < 0 || fstatat(dir, name, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
	    mine.st_ino != now.st_ino || mine.st_dev != now.st_dev) {
		close(fd);
		return 0;
	}
	*out = fd;
	return 1;
}

/* Whether an account uses the id of the lock file fd (held). The answer
 * of the account database (which may load NSS modules and ask several
 * sources: about a millisecond) is kept in the file, one byte, 'a' or 'f',
 * and asked again once it is an hour old. */
#define ACCOUNT_CHECK_MAX_AGE 3600

static bool id_has_account(int fd, uid_t uid, gid_t gid)
{
	struct stat st;
	char verdict = 0;
	if (fstat(fd, &st) == 0 && st.st_size == 1 && time(NULL) - st.st_mtime < ACCOUNT_CHECK_MAX_AGE &&
	    time(NULL) >= st.st_mtime && pread(fd, &verdict, 1, 0) == 1 &&
	    (verdict == 'a' || verdict == 'f'))
		return verdict == 'a';
	verdict = is_account(uid, gid) ? 'a' : 'f';
	if (ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, &verdict, 1, 0);
	return verdict == 'a';
}

int native_identity_acquire(native_identity_t *id, const native_id_source_t *src,
			    symbi_error_t *err)
{
	id->lock_fd = -1;
	id->uid = geteuid();
	id->gid = getegid();
	if (src->mode == NATIVE_ID_SHARED)
		return 0;
	int dir = open_lock_dir(src->lock_dir, err);
	if (dir < 0)
		return -1;
	/* Lowest free id first: ids are reused, and so are their lock files
	 * and the account answers kept there. Reuse is safe: nothing of a
	 * run outlives it as its host id (its files are in its own tmpfs, or
	 * in volumes as the sandbox user). */
	for (uint32_t off = 0; off < src->count; off++) {
		uid_t uid = src->uid_base + off;
		gid_t gid = src->gid_base + off;
		char name[16];
		snprintf(name, sizeof(name), "%u", (unsigned)uid);
		int fd = -1, rc = try_lock(dir, name, &fd);
		if (rc < 0) {
			int e = errno;
			close(dir);
			return symbi_fail(err, SYMBI_E_SYSTEM, e, "cannot lock %s/%s", src->lock_dir,
					  name);
		}
		if (rc == 0)
			continue;
		if (id_has_account(fd, uid, gid)) {
			close(fd);
			continue;
		}
		close(dir);
		id->lock_fd = fd;
		id->uid = uid;
		id->gid = gid;
		return 0;
	}
	close(dir);
	return symbi_fail(err, SYMBI_E_UNAVAILABLE, EAGAIN,
			  "every host id of %u:%u is held by a live run or used by an account; "
			  "widen native_id_range (or the caller's /etc/subuid range)",
			  (unsigned)src->uid_base, (unsigned)src->count);
}

void native_identity_release(native_identity_t *id)
{
	/* The file stays, for the next run of this id. */
	if (id->lock_fd >= 0)
		close(id->lock_fd);
	id->lock_fd = -1;
}
