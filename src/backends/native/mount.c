/* Child side: the sandbox's file system. A fresh tmpfs becomes the root
 * (pivot_root, old root detached); it holds read-only binds of what programs
 * need, generated /etc/passwd and /etc/group, a private /proc, a minimal
 * /dev, size-capped /tmp and working directory, and the caller's binds.
 * Every path created here is inside a tmpfs made by this process a moment
 * ago, which no sandboxed code has touched yet. */
#include "native.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel ignores the type (and source) of binds, remounts and
 * propagation changes; "none" keeps valgrind from flagging NULL. */
#define OLD "/.oldroot"

static const char *const system_dirs[] = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
					  "/libx32"};
/* /etc entries programs need to work; nothing secret. */
static const char *const etc_entries[] = {
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/nsswitch.conf",
	"/etc/host.conf", "/etc/hosts", "/etc/localtime", "/etc/timezone", "/etc/ssl/certs",
	"/etc/ssl/openssl.cnf", "/etc/ca-certificates", "/etc/ca-certificates.conf",
	"/etc/alternatives", "/etc/mime.types", "/etc/protocols", "/etc/services",
	"/etc/os-release", "/etc/debian_version", "/etc/bash.bashrc", "/etc/profile",
	"/etc/inputrc", "/etc/magic", "/etc/gai.conf",
};
static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

#define FAIL(step, ...) native_child_fail(sync_fd, step, errno, __VA_ARGS__)

/* mkdir -p inside the new root; every component is ours. */
static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int make_file(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
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

/* Binds `source` (a path under the old root) onto `target`, creating the
 * target as a directory or file like the source. */
static int bind(const char *source, const char *target, bool read_only, bool dev_ok)
{
	struct stat st;
	if (stat(source, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode) ? mkdir_p(target, 0755) < 0 : make_file(target, 0644) < 0)
		return -1;
	if (mount(source, target, "none", MS_BIND, NULL) < 0)
		return -1;
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_NOSUID | (dev_ok ? 0 : MS_NODEV) |
			      (read_only ? MS_RDONLY : 0) | kept_flags(target);
	return mount("none", target, "none", flags, NULL);
}

/* Attaches a mount the parent made (idmap.c), flags already set, onto
 * `target`, created as a directory or file like the mount's root. */
static int attach(int fd, const char *target)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode) ? mkdir_p(target, 0755) < 0 : make_file(target, 0644) < 0)
		return -1;
	return (int)syscall(SYS_move_mount, fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
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

/* Copies a small regular file (cheaper than a bind: no mount to make). */
static int copy_file(const char *source, const char *target, off_t size)
{
	int in = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return -1;
	int out = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	int rc = out < 0 ? -1 : 0;
	while (rc == 0 && size > 0) {
		ssize_t n = sendfile(out, in, NULL, (size_t)size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the file shrank: keep what we have */
		size -= n;
	}
	int saved = errno;
	close(in);
	if (out >= 0)
		close(out);
	errno = saved;
	return rc;
}

/* A system path: a symlink is copied, a directory bound read-only, a
 * regular file copied when `copy` (else bound), a missing one skipped. */
static int bind_system(const char *path, bool copy)
{
	char source[PATH_MAX];
	snprintf(source, sizeof(source), OLD "%s", path);
	struct stat st;
	if (lstat(source, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISLNK(st.st_mode))
		return copy_link(source, path);
	if (copy && S_ISREG(st.st_mode) && st.st_size <= (off_t)(1 << 20))
		return copy_file(source, path, st.st_size);
	return bind(source, path, true, false);
}

static int mount_tmpfs(const char *target, const char *name, uint64_t size, const char *mode,
		       unsigned long flags, const native_plan_t *p)
{
	char opts[128];
	snprintf(opts, sizeof(opts), "size=%llu,mode=%s,uid=%u,gid=%u", (unsigned long long)size,
		 mode, (unsigned)(p ? p->uid : 0), (unsigned)(p ? p->gid : 0));
	if (!p)
		snprintf(opts, sizeof(opts), "size=%llu,mode=%s", (unsigned long long)size, mode);
	return mount(name, target, "tmpfs", flags, opts);
}

static int make_dev(int sync_fd)
{
	if (mkdir("/dev", 0755) < 0 ||
	    mount_tmpfs("/dev", "symbi-dev", 1 << 20, "0755", MS_NOSUID | MS_NOEXEC, NULL) < 0)
		FAIL("mount /dev", "cannot mount a tmpfs on /dev");
	for (size_t i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
		char source[64], target[64];
		snprintf(source, sizeof(source), OLD "/dev/%s", dev_nodes[i]);
		snprintf(target, sizeof(target), "/dev/%s", dev_nodes[i]);
		if (bind(source, target, false, true) < 0)
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

int native_mount_root(const native_plan_t *p, int sync_fd)
{
	/* Nothing we do from here propagates to the host. */
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		FAIL("make mounts private", "cannot make the mount tree private");
	/* Any existing directory can carry the new root; it is unreachable
	 * once pivoted. */
	if (mount_tmpfs("/tmp", "symbi-root", p->root_size, "0755", MS_NOSUID | MS_NODEV, NULL) < 0)
		FAIL("mount the new root", "cannot mount the root tmpfs");
	if (mkdir("/tmp" OLD, 0700) < 0)
		FAIL("mount the new root", "cannot create the old root's mount point");
	if (syscall(SYS_pivot_root, "/tmp", "/tmp" OLD) < 0)
		FAIL("pivot_root", "pivot_root into the new root failed");
	if (chdir("/") < 0)
		FAIL("pivot_root", "chdir / failed");

	for (size_t i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++)
		if (bind_system(system_dirs[i], false) < 0)
			FAIL("bind system directories", "cannot bind %s read-only", system_dirs[i]);
	if (mkdir("/etc", 0755) < 0 || mkdir("/etc/ssl", 0755) < 0)
		FAIL("populate /etc", "cannot create /etc");
	for (size_t i = 0; i < sizeof(etc_entries) / sizeof(etc_entries[0]); i++)
		if (bind_system(etc_entries[i], true) < 0)
			FAIL("populate /etc", "cannot bind %s read-only", etc_entries[i]);
	if (!p->netns && bind_system("/etc/resolv.conf", true) < 0)
		FAIL("populate /etc", "cannot bind /etc/resolv.conf read-only");
	if (write_whole("/etc/passwd", p->passwd, strlen(p->passwd), 0644) < 0 ||
	    write_whole("/etc/group", p->group, strlen(p->group), 0644) < 0 ||
	    write_whole("/etc/hostname", "sandbox\n", 8, 0644) < 0)
		FAIL("populate /etc", "cannot write /etc/passwd and /etc/group");

	/* /proc before the old root goes: the kernel only allows a new proc
	 * when a fully visible one is already mounted in this namespace. */
	if (mkdir("/proc", 0555) < 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		FAIL("mount /proc", "cannot mount a private /proc");
	make_dev(sync_fd);
	if (mkdir("/dev/shm", 01777) < 0 ||
	    mount_tmpfs("/dev/shm", "symbi-shm", p->tmp_size, "1777",
			MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		FAIL("mount /dev/shm", "cannot mount /dev/shm");
	if (mkdir("/tmp", 01777) < 0 ||
	    mount_tmpfs("/tmp", "symbi-tmp", p->tmp_size, "1777", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			NULL) < 0)
		FAIL("mount /tmp", "cannot mount the /tmp tmpfs");
	if (mkdir_p(p->workdir, 0755) < 0 ||
	    mount_tmpfs(p->workdir, "symbi-work", p->workdir_size, "0755", MS_NOSUID | MS_NODEV, p) < 0)
		FAIL("mount the working directory", "cannot mount a tmpfs on %s", p->workdir);
	for (size_t i = 0; i < p->nbinds; i++) {
		char source[PATH_MAX];
		snprintf(source, sizeof(source), OLD "%s", p->binds[i].source);
		if (native_volumes_idmapped(p)
			    ? attach(NATIVE_VOLUME_FD0 + (int)i, p->binds[i].target) < 0
			    : bind(source, p->binds[i].target, p->binds[i].read_only, false) < 0)
			FAIL("bind volumes", "cannot bind %s to %s", p->binds[i].source,
			     p->binds[i].target);
	}
	if (p->code_file) {
		if (mkdir(NATIVE_CODE_DIR, 0755) < 0 ||
		    write_whole(NATIVE_CODE_PATH, p->code, p->code_len, 0444) < 0)
			FAIL("write the code", "cannot write the code into the sandbox");
	}

	if (umount2(OLD, MNT_DETACH) < 0 || rmdir(OLD) < 0)
		FAIL("detach the old root", "cannot detach the host's root");
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
