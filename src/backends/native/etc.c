/* Child side: the sandbox's /etc, a handful of the host's entries programs
 * need (nothing secret) plus generated passwd, group and hostname.
 *
 * Files and symlinks are copied by the program's process while the init
 * mounts the rest of the root: the two run side by side (child.c), and the
 * copies are the costliest part of the root. Directories, and files too big
 * to copy, are bound read-only by the init (mount.c). */
#include "native.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Relative to /etc. */
static const char *const etc_entries[] = {
	"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "nsswitch.conf", "host.conf", "hosts",
	"localtime", "timezone", "ssl/certs", "ssl/openssl.cnf", "ca-certificates",
	"ca-certificates.conf", "alternatives", "mime.types", "protocols", "services",
	"os-release", "debian_version", "bash.bashrc", "profile", "inputrc", "magic", "gai.conf",
};
#define ETC_COUNT (sizeof(etc_entries) / sizeof(etc_entries[0]))
/* Only with the host's network (network_mode host). */
#define ETC_RESOLV "resolv.conf"
/* Larger regular files are bound rather than copied. */
#define ETC_COPY_MAX ((off_t)1 << 20)

const char *native_etc_entry(size_t i, bool host_network)
{
	if (i < ETC_COUNT)
		return etc_entries[i];
	return i == ETC_COUNT && host_network ? ETC_RESOLV : NULL;
}

native_etc_how_t native_etc_how(int etc_dir, const char *name)
{
	struct stat st;
	if (fstatat(etc_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? NATIVE_ETC_ABSENT : NATIVE_ETC_ERROR;
	if (S_ISLNK(st.st_mode))
		return NATIVE_ETC_LINK;
	if (S_ISREG(st.st_mode) && st.st_size <= ETC_COPY_MAX)
		return NATIVE_ETC_COPY;
	return NATIVE_ETC_BIND;
}

int native_etc_open(int root, native_etc_t *etc)
{
	etc->source = etc->target = -1;
	if (mkdirat(root, "etc", 0755) < 0 || mkdirat(root, "etc/ssl", 0755) < 0)
		return -1;
	etc->target = openat(root, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	etc->source = open("/etc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (etc->target < 0 || etc->source < 0) {
		native_etc_close(etc);
		return -1;
	}
	return 0;
}

void native_etc_close(native_etc_t *etc)
{
	if (etc->source >= 0)
		close(etc->source);
	if (etc->target >= 0)
		close(etc->target);
	etc->source = etc->target = -1;
}

static int copy_link(const native_etc_t *etc, const char *name)
{
	char dest[PATH_MAX];
	ssize_t n = readlinkat(etc->source, name, dest, sizeof(dest) - 1);
	if (n < 0)
		return -1;
	dest[n] = '\0';
	return symlinkat(dest, etc->target, name);
}

static int copy_file(const native_etc_t *etc, const char *name)
{
	int in = openat(etc->source, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = openat(etc->target, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			 0644);
	int rc = out < 0 ? -1 : 0;
	char buf[16384];
	off_t left = ETC_COPY_MAX; /* the file may have grown since it was looked at */
	while (rc == 0 && left > 0) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -1 : 0;
			break;
		}
		for (ssize_t off = 0; rc == 0 && off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno != EINTR)
				rc = -1;
			else if (w > 0)
				off += w;
		}
		left -= n;
	}
	int saved = errno;
	close(in);
	if (out >= 0)
		close(out);
	errno = saved;
	return rc;
}

void native_etc_copy(native_etc_t *etc, bool host_network, int sync_fd)
{
	const char *name;
	for (size_t i = 0; (name = native_etc_entry(i, host_network)); i++) {
		native_etc_how_t how = native_etc_how(etc->source, name);
		int rc = how == NATIVE_ETC_LINK ? copy_link(etc, name)
			 : how == NATIVE_ETC_COPY ? copy_file(etc, name)
			 : how == NATIVE_ETC_ERROR ? -1 : 0;
		if (rc < 0)
			native_child_fail(sync_fd, "populate /etc", errno, "cannot copy /etc/%s", name);
	}
	native_etc_close(etc);
}
