/* Parent side, root only: the volumes of a run as detached, idmapped
 * mounts. The idmap is the run's own user namespace (sandbox uid/gid <->
 * the run's host ids), so on a volume the program is the sandbox user
 * (65534 by default) as before runs had their own ids: it has that user's
 * rights on the volume's files, and the files it leaves there belong to
 * that user on the host, not to an id a later run may be given. The child
 * only attaches them (move_mount): it never walks a host path. */
#include "native.h"
#include "../../core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

/* File systems that take idmapped mounts, and the kernel that taught each
 * (FS_ALLOW_IDMAP). Asking the kernel itself would need a user namespace
 * per run; the answer is known ahead. */
static const struct {
	unsigned long magic;
	int major, minor;
} idmappable[] = {
	{0xEF53, 5, 12},     /* ext2/3/4 */
	{0x58465342, 5, 12}, /* xfs */
	{0x4d44, 5, 12},     /* vfat */
	{0x9123683E, 5, 15}, /* btrfs */
	{0xF2F52010, 5, 18}, /* f2fs */
	{0x794c7630, 5, 19}, /* overlayfs */
	{0x01021994, 6, 3},  /* tmpfs */
};

bool native_volumes_idmappable(const native_plan_t *p)
{
	struct utsname u;
	int major = 0, minor = 0;
	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	for (size_t i = 0; i < p->nbinds; i++) {
		struct statfs sf;
		if (statfs(p->binds[i].source, &sf) < 0)
			return false;
		bool ok = false;
		for (size_t j = 0; j < sizeof(idmappable) / sizeof(idmappable[0]); j++)
			if ((unsigned long)sf.f_type == idmappable[j].magic)
				ok = major > idmappable[j].major ||
				     (major == idmappable[j].major && minor >= idmappable[j].minor);
		if (!ok)
			return false;
	}
	return true;
}

/* userns < 0: no idmap (the run's host ids are the sandbox user's). */
static int volume_mount(const native_bind_t *b, int userns, symbi_error_t *err)
{
	int fd = (int)syscall(SYS_open_tree, AT_FDCWD, b->source,
			      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "volume %s: cannot clone its mount",
				  b->source);
	struct mount_attr attr = {
		.attr_set = (userns >= 0 ? MOUNT_ATTR_IDMAP : 0) | MOUNT_ATTR_NOSUID |
			    MOUNT_ATTR_NODEV | (b->read_only ? MOUNT_ATTR_RDONLY : 0),
		.userns_fd = userns >= 0 ? (uint64_t)userns : 0,
	};
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
		int e = errno;
		close(fd);
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, e,
				  "volume %s: cannot make an idmapped mount of it%s", b->source,
				  e == EINVAL ? " (its file system does not support idmapped mounts; "
						"use a directory on ext4, xfs, btrfs or tmpfs)" : "");
	}
	return fd;
}

int native_volume_mounts(pid_t child, const native_plan_t *p, int *fds, symbi_error_t *err)
{
	if (p->nbinds == 0)
		return 0;
	if (p->nbinds > NATIVE_MAX_FDS)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "at most %d volumes", NATIVE_MAX_FDS);
	/* Made here in any case: the path lookup is root's, not the run's
	 * (the init has the run's ids by the time it mounts). */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)child);
	int userns = -1;
	if (p->volumes_idmap && (userns = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot open %s", path);
	size_t done = 0;
	for (; done < p->nbinds; done++)
		if ((fds[done] = volume_mount(&p->binds[done], userns, err)) < 0)
			break;
	if (userns >= 0)
		close(userns);
	if (done == p->nbinds)
		return 0;
	while (done > 0)
		close(fds[--done]);
	return -1;
}
