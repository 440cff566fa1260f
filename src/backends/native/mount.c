/* Child side: the sandbox's file system. A fresh tmpfs becomes the root
 * (pivot_root, old root detached); it holds read-only binds of what programs
 * need, generated /etc/passwd and /etc/group, a private /proc, a minimal
 * /dev, size- and inode-capped /tmp and working directory, and the caller's
 * binds.
 *
 * Every mount point is created by one walk (make_mount_point) from a
 * descriptor of the new root, one component at a time: never through a
 * symlink or "..", and only through directories of the sandbox's own tmpfs
 * mounts (never a volume, never the host). The caller's paths (working
 * directory, volume targets) are mounted first, before pivot_root, while
 * the new root holds nothing else (but /etc, reserved, which the program's
 * process fills in meanwhile: etc.c) and the host's root is not inside it
 * at all: no configuration can create or change anything on the host. */
#include "native.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel ignores the type (and source) of binds, remounts and
 * propagation changes; "none" keeps valgrind from flagging NULL. */
#define OLD NATIVE_OLD_ROOT

static const char *const system_dirs[] = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
					  "/libx32"};
static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

#define FAIL(step, ...) native_child_fail(sync_fd, step, errno, __VA_ARGS__)


static bool own_dev(const native_root_t *t, dev_t dev)
{
	for (int i = 0; i < t->ndevs; i++)
		if (t->devs[i] == dev)
			return true;
	return false;
}

/* Remembers the file system mounted at `name` (relative to the cwd) as one
 * of ours. */
static int add_dev(native_root_t *t, const char *name)
{
	struct stat st;
	if (t->ndevs == NATIVE_ROOT_MAX_DEVS) {
		errno = EOVERFLOW;
		return -1;
	}
	if (stat(name, &st) < 0)
		return -1;
	t->devs[t->ndevs++] = st.st_dev;
	return 0;
}

/* Opens directory `name` in `dirfd`, creating it when missing: never
 * through a symlink (O_NOFOLLOW), and only on one of our file systems
 * (EXDEV otherwise: a volume, the host). */
static int enter_dir(const native_root_t *t, int dirfd, const char *name)
{
	if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
		return -1;
	int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	int e = fstat(fd, &st) < 0 ? errno : !own_dev(t, st.st_dev) ? EXDEV : 0;
	if (e) {
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Opens the directory that holds the last component of `path` (absolute,
 * normalised by the plan) beneath t->root, creating missing directories.
 * *last points to that component inside `path`. */
static int open_parent(const native_root_t *t, const char *path, const char **last)
{
	const char *c = path;
	while (*c == '/')
		c++;
	int fd = fcntl(t->root, F_DUPFD_CLOEXEC, 0);
	while (fd >= 0) {
		size_t n = strcspn(c, "/");
		const char *next = c + n;
		while (*next == '/')
			next++;
		if (n == 0 || n > NAME_MAX || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.')) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
		if (!*next) {
			*last = c;
			return fd;
		}
		char name[NAME_MAX + 1];
		memcpy(name, c, n);
		name[n] = '\0';
		int sub = enter_dir(t, fd, name);
		int saved = errno;
		close(fd);
		errno = saved;
		fd = sub;
		c = next;
	}
	return -1;
}

/* Creates the mount point `path` beneath the new root (a directory, or an
 * empty file when !dir) and makes its parent the working directory, so
 * that mount() names it by *last alone. */
static int make_mount_point(const native_root_t *t, const char *path, bool dir, const char **last)
{
	int fd = open_parent(t, path, last);
	if (fd < 0)
		return -1;
	int rc = 0;
	if (dir) {
		if (mkdirat(fd, *last, 0755) < 0 && errno != EEXIST)
			rc = -1;
	} else {
		int f = openat(fd, *last, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (f < 0)
			rc = -1;
		else
			close(f);
	}
	struct stat st;
	if (rc == 0 && fstatat(fd, *last, &st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -1;
	if (rc == 0 && (S_ISDIR(st.st_mode) != dir || (!dir && !S_ISREG(st.st_mode)))) {
		errno = dir ? ENOTDIR : EISDIR;
		rc = -1;
	}
	if (rc == 0 && fchdir(fd) < 0)
		rc = -1;
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

static int write_whole(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -1;
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, mode) < 0 || close(fd) < 0)
		return -1;
	return 0;
}

/* The flags a read-only remount must keep: in a user namespace the kernel
 * refuses to clear nosuid/nodev/noexec or atime flags it locked. */
static unsigned long kept_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(path, &sv) < 0)
		return f;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/* Binds `source` (a host path, under the old root once pivoted) onto
 * `target` in the new root, creating the target as a directory or file
 * like the source. */
static int bind(const native_root_t *t, const char *source, const char *target, bool read_only,
		bool dev_ok)
{
	struct stat st;
	const char *last;
	if (stat(source, &st) < 0 || make_mount_point(t, target, S_ISDIR(st.st_mode), &last) < 0)
		return -1;
	if (mount(source, last, "none", MS_BIND, NULL) < 0)
		return -1;
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_NOSUID | (dev_ok ? 0 : MS_NODEV) |
			      (read_only ? MS_RDONLY : 0) | kept_flags(last);
	return mount("none", last, "none", flags, NULL);
}

/* Attaches a mount the parent made (idmap.c), flags already set, onto
 * `target` in the new root, created by the walk as a directory or file
 * like the mount's root. */
static int attach(const native_root_t *t, int fd, const char *target)
{
	struct stat st;
	const char *last;
	if (fstat(fd, &st) < 0 || make_mount_point(t, target, S_ISDIR(st.st_mode), &last) < 0)
		return -1;
	return (int)syscall(SYS_move_mount, fd, "", AT_FDCWD, last, MOVE_MOUNT_F_EMPTY_PATH);
}

/* Copies a symlink of the host (such as /bin -> usr/bin) as is. */
static int copy_link(const char *source, const char *target)
{
	char dest[PATH_MAX];
	ssize_t n = readlink(source, dest, sizeof(dest) - 1);
	if (n < 0)
		return -1;
	dest[n] = '\0';
	return symlink(dest, target);
}

/* A system path: a symlink is copied, anything else bound read-only, a
 * missing one skipped. */
static int bind_system(const native_root_t *t, const char *path)
{
	char source[PATH_MAX];
	snprintf(source, sizeof(source), OLD "%s", path);
	struct stat st;
	if (lstat(source, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISLNK(st.st_mode))
		return copy_link(source, path);
	return bind(t, source, path, true, false);
}

/* The /etc entries that are not the program's process's to copy. */
static int bind_etc(const native_root_t *t, const native_plan_t *p)
{
	int etc = open(OLD "/etc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (etc < 0)
		return -1;
	const char *name;
	int rc = 0;
	for (size_t i = 0; rc == 0 && (name = native_etc_entry(i, !p->netns)); i++) {
		native_etc_how_t how = native_etc_how(etc, name);
		if (how == NATIVE_ETC_BIND) {
			char source[PATH_MAX], target[PATH_MAX];
			snprintf(source, sizeof(source), OLD "/etc/%s", name);
			snprintf(target, sizeof(target), "/etc/%s", name);
			rc = bind(t, source, target, true, false);
		} else if (how == NATIVE_ETC_ERROR) {
			rc = -1;
		}
	}
	int saved = errno;
	close(etc);
	errno = saved;
	return rc;
}

/* Options of every tmpfs: capped in size and in inodes (see
 * NATIVE_TMPFS_BYTES_PER_INODE), owned by the sandbox user when `p` is
 * given. */
static void tmpfs_options(char *opts, size_t size, uint64_t bytes, const char *mode,
			  const native_plan_t *p)
{
	uint64_t inodes = bytes / NATIVE_TMPFS_BYTES_PER_INODE;
	if (inodes < NATIVE_TMPFS_MIN_INODES)
		inodes = NATIVE_TMPFS_MIN_INODES;
	int n = snprintf(opts, size, "size=%llu,nr_inodes=%llu,mode=%s", (unsigned long long)bytes,
			 (unsigned long long)inodes, mode);
	if (p && n > 0 && (size_t)n < size)
		snprintf(opts + n, size - (size_t)n, ",uid=%u,gid=%u", (unsigned)p->uid,
			 (unsigned)p->gid);
}

/* A tmpfs on `target`, created beneath the new root; it joins the file
 * systems walks may pass through. */
static int mount_tmpfs(native_root_t *t, const char *target, const char *name, uint64_t size,
		       const char *mode, unsigned long flags, const native_plan_t *p)
{
	const char *last;
	char opts[160];
	tmpfs_options(opts, sizeof(opts), size, mode, p);
	if (make_mount_point(t, target, true, &last) < 0 || mount(name, last, "tmpfs", flags, opts) < 0)
		return -1;
	return add_dev(t, last);
}

static int make_dev(native_root_t *t, int sync_fd)
{
	if (mount_tmpfs(t, "/dev", "symbi-dev", 1 << 20, "0755", MS_NOSUID | MS_NOEXEC, NULL) < 0)
		FAIL("mount /dev", "cannot mount a tmpfs on /dev");
	for (size_t i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
		char source[64], target[64];
		snprintf(source, sizeof(source), OLD "/dev/%s", dev_nodes[i]);
		snprintf(target, sizeof(target), "/dev/%s", dev_nodes[i]);
		if (bind(t, source, target, false, true) < 0)
			FAIL("bind /dev nodes", "cannot bind %s", target);
	}
	static const char *const links[][2] = {
		{"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"},
		{"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
	};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			FAIL("populate /dev", "cannot create %s", links[i][1]);
	return 0;
}

/* Whether the volume mounted at its target is the object the plan checked
 * (what a host path names can change between the check and the mount). */
static bool is_checked_object(const native_root_t *t, const native_bind_t *b)
{
	struct stat st;
	return fstatat(t->root, b->target + 1, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       st.st_dev == b->dev && st.st_ino == b->ino;
}

/* The caller's paths, into the new root while it is still empty and the
 * host's root is not inside it: /tmp (volumes may go there), the working
 * directory, then the volumes (sources are host paths, as the plan
 * resolved them), each target created by the walk. */
static void mount_callers_paths(native_root_t *t, const native_plan_t *p, int sync_fd)
{
	if (mount_tmpfs(t, "/tmp", "symbi-tmp", p->tmp_size, "1777",
			MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		FAIL("mount /tmp", "cannot mount the /tmp tmpfs");
	if (mount_tmpfs(t, p->workdir, "symbi-work", p->workdir_size, "0755", MS_NOSUID | MS_NODEV,
			p) < 0)
		FAIL("mount the working directory", "cannot mount a tmpfs on %s", p->workdir);
	for (size_t i = 0; i < p->nbinds; i++) {
		const native_bind_t *b = &p->binds[i];
		if (native_volumes_from_parent(p)
			    ? attach(t, NATIVE_VOLUME_FD0 + (int)i, b->target) < 0
			    : bind(t, b->source, b->target, b->read_only, false) < 0)
			FAIL("bind volumes", "cannot bind %s to %s", b->source, b->target);
		if (!is_checked_object(t, b)) {
			errno = EXDEV;
			FAIL("bind volumes", "volume %s changed (a path component swapped for a "
			     "symlink?) between its check and its mount; refusing", b->source);
		}
	}
}

int native_root_begin(native_root_t *t, native_etc_t *etc, const native_plan_t *p, int sync_fd)
{
	/* Nothing we do from here propagates to the host. */
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		FAIL("make mounts private", "cannot make the mount tree private");
	/* The new root is built on /dev, which no volume source can be under
	 * (see NATIVE_NEW_ROOT), so that the sources stay reachable until
	 * they are bound; once pivoted, the host's /dev shows again. */
	memset(t, 0, sizeof(*t));
	t->root = -1;
	char opts[160];
	tmpfs_options(opts, sizeof(opts), p->root_size, "0755", NULL);
	if (mount("symbi-root", NATIVE_NEW_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0 ||
	    (t->root = open(NATIVE_NEW_ROOT, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    add_dev(t, NATIVE_NEW_ROOT) < 0)
		FAIL("mount the new root", "cannot mount the root tmpfs");
	if (native_etc_open(t->root, etc) < 0)
		FAIL("populate /etc", "cannot create /etc");
	return 0;
}

int native_root_finish(native_root_t *t, const native_plan_t *p, int etc_done, int sync_fd)
{
	mount_callers_paths(t, p, sync_fd);
	if (mkdirat(t->root, &OLD[1], 0700) < 0) /* relative: without the leading / */
		FAIL("mount the new root", "cannot create the old root's mount point");
	if (syscall(SYS_pivot_root, NATIVE_NEW_ROOT, NATIVE_NEW_ROOT OLD) < 0)
		FAIL("pivot_root", "pivot_root into the new root failed");
	if (chdir("/") < 0)
		FAIL("pivot_root", "chdir / failed");

	for (size_t i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++)
		if (bind_system(t, system_dirs[i]) < 0)
			FAIL("bind system directories", "cannot bind %s read-only", system_dirs[i]);
	if (bind_etc(t, p) < 0)
		FAIL("populate /etc", "cannot bind a directory of /etc read-only");
	if (write_whole("/etc/passwd", p->passwd, strlen(p->passwd), 0644) < 0 ||
	    write_whole("/etc/group", p->group, strlen(p->group), 0644) < 0 ||
	    write_whole("/etc/hostname", "sandbox\n", 8, 0644) < 0)
		FAIL("populate /etc", "cannot write /etc/passwd and /etc/group");

	/* /proc before the old root goes: the kernel only allows a new proc
	 * when a fully visible one is already mounted in this namespace. */
	const char *last;
	if (make_mount_point(t, "/proc", true, &last) < 0 ||
	    mount("proc", last, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		FAIL("mount /proc", "cannot mount a private /proc");
	make_dev(t, sync_fd);
	if (mount_tmpfs(t, "/dev/shm", "symbi-shm", p->tmp_size, "1777",
			MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		FAIL("mount /dev/shm", "cannot mount /dev/shm");
	if (p->code_file) {
		if (mkdir(NATIVE_CODE_DIR, 0755) < 0 ||
		    write_whole(NATIVE_CODE_PATH, p->code, p->code_len, 0444) < 0)
			FAIL("write the code", "cannot write the code into the sandbox");
	}

	if (chdir("/") < 0 || umount2(OLD, MNT_DETACH) < 0 || rmdir(OLD) < 0)
		FAIL("detach the old root", "cannot detach the host's root");
	close(t->root);
	/* The program's process has filled /etc in (etc.c), or failed and
	 * said why. */
	char done;
	ssize_t n;
	do
		n = read(etc_done, &done, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(NATIVE_SETUP_FAILED);
	close(etc_done);
	if (mount("none", "/", "none", MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		FAIL("make the root read-only", "cannot remount the root read-only");
	/* Its tmpfs belongs to the sandbox user (the init's ids): read-only,
	 * so that the program cannot replace /dev/stdout and the like. */
	if (mount("none", "/dev", "none",
		  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC | kept_flags("/dev"), NULL) < 0)
		FAIL("make /dev read-only", "cannot remount /dev read-only");
	if (chdir(p->workdir) < 0)
		FAIL("enter the working directory", "cannot chdir to %s", p->workdir);
	return 0;
}
