/* Workspace files, touched on behalf of clients inside a directory that
 * sandboxed code also writes to. Sandboxed code can plant symlinks, FIFOs and
 * devices there, so every path is walked one component at a time with
 * openat(O_NOFOLLOW) from the workspace's descriptor: no symlink is ever
 * followed, no ".." exists, and only regular files are read or written. */
#include "server.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int srv_path_check(const char *path, srv_err_t *err)
{
	if (!path || !*path)
		return srv_fail(err, 400, "invalid_path", "the file path is empty");
	size_t len = strlen(path);
	if (len > SRV_MAX_PATH_BYTES)
		return srv_fail(err, 400, "invalid_path",
				"the file path is %zu bytes long; at most %d are allowed", len,
				SRV_MAX_PATH_BYTES);
	/* C0 80 is how the HTTP face spells a NUL from %00 (see http.c). */
	if (memmem(path, len, "\xC0\x80", 2))
		return srv_fail(err, 400, "invalid_path", "the file path contains a NUL byte");
	if (!srv_utf8_valid(path, len))
		return srv_fail(err, 400, "invalid_path", "the file path is not valid UTF-8");
	if (path[0] == '/')
		return srv_fail(err, 400, "invalid_path",
				"\"%.200s\": absolute paths are not allowed; paths are relative to "
				"the workspace", path);
	const char *p = path;
	int depth = 0;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return srv_fail(err, 400, "invalid_path",
					"\"%.200s\": empty, \".\" and \"..\" path components are not "
					"allowed", path);
		if (n > NAME_MAX)
			return srv_fail(err, 400, "invalid_path",
					"a path component is %zu bytes long; at most %d are allowed", n,
					NAME_MAX);
		if (++depth > SRV_MAX_PATH_DEPTH)
			return srv_fail(err, 400, "invalid_path",
					"the file path has more than %d components", SRV_MAX_PATH_DEPTH);
		if (!slash)
			break;
		p = slash + 1;
		if (!*p)
			return srv_fail(err, 400, "invalid_path", "\"%.200s\": trailing slash", path);
	}
	return 0;
}

static int walk_error(srv_err_t *err, const char *path, int e)
{
	if (e == ENOSPC || e == EDQUOT)
		return srv_fail(err, 507, "insufficient_storage",
				"\"%.200s\": the workspace is full (its size is capped)", path);
	if (e == ENAMETOOLONG)
		return srv_fail(err, 400, "invalid_path", "\"%.200s\": a name is too long", path);
	if (e == EMFILE || e == ENFILE || e == ENOMEM)
		return srv_fail(err, 503, "busy", "\"%.200s\": the server is out of resources (%s)",
				path, strerror(e));
	if (e == ELOOP || e == ENOTDIR)
		return srv_fail(err, 400, "invalid_path",
				"\"%.200s\": a component is a symbolic link or not a directory; "
				"links are never followed", path);
	if (e == ENOENT)
		return srv_fail(err, 404, "not_found", "\"%.200s\": no such file or directory", path);
	return srv_fail(err, 500, "internal", "\"%.200s\": %s", path, strerror(e));
}

/* What we create in a workspace belongs to the workspace's owner (the
 * sandbox's unprivileged user on the native backend), so that the sandboxed
 * code can change it. Only root can give files away; others own what the
 * sandbox sees as its own files anyway (user namespace mapping). */
static bool ws_owner(int dirfd, uid_t *uid, gid_t *gid)
{
	struct stat st;
	if (geteuid() != 0 || fstat(dirfd, &st) < 0 || (st.st_uid == 0 && st.st_gid == 0))
		return false;
	*uid = st.st_uid;
	*gid = st.st_gid;
	return true;
}

/* Opens the directory holding the last component of `path`; *last points to
 * that component inside `path`. With `create`, missing directories are made. */
static int open_parent(int dirfd, const char *path, bool create, const char **last,
		       srv_err_t *err)
{
	uid_t uid = 0;
	gid_t gid = 0;
	bool chown_new = create && ws_owner(dirfd, &uid, &gid);
	int fd = dup(dirfd);
	if (fd < 0)
		return walk_error(err, path, errno);
	const char *p = path;
	for (;;) {
		const char *slash = strchr(p, '/');
		if (!slash) {
			*last = p;
			return fd;
		}
		char comp[NAME_MAX + 1];
		size_t n = (size_t)(slash - p);
		if (n > NAME_MAX) {
			close(fd);
			return srv_fail(err, 400, "invalid_path", "a path component is too long");
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
				int e = errno;
				close(fd);
				return walk_error(err, path, e);
			}
			next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next >= 0 && chown_new && fchown(next, uid, gid) < 0) {
				int e = errno;
				close(next);
				close(fd);
				return walk_error(err, path, e);
			}
		}
		int e = errno;
		close(fd);
		if (next < 0)
			return walk_error(err, path, e);
		fd = next;
		p = slash + 1;
	}
}

int srv_ws_write(int dirfd, const char *path, const void *data, size_t len, srv_err_t *err)
{
	if (srv_path_check(path, err) < 0)
		return -1;
	const char *last;
	int parent = open_parent(dirfd, path, true, &last, err);
	if (parent < 0)
		return -1;
	/* O_NONBLOCK: a FIFO planted by the sandbox must not hang us. */
	int fd = openat(parent, last, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
			0644);
	int e = errno;
	close(parent);
	if (fd < 0) {
		if (e == ENXIO || e == EISDIR)
			return srv_fail(err, 400, "invalid_path", "\"%.200s\" is not a regular file",
					path);
		return walk_error(err, path, e);
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return srv_fail(err, 400, "invalid_path", "\"%.200s\" is not a regular file", path);
	}
	uid_t uid;
	gid_t gid;
	if (ftruncate(fd, 0) < 0 || fcntl(fd, F_SETFL, 0) < 0 ||
	    (ws_owner(dirfd, &uid, &gid) && fchown(fd, uid, gid) < 0)) {
		e = errno;
		close(fd);
		return walk_error(err, path, e);
	}
	const char *b = data;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, b + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? errno : EIO;
			close(fd);
			return walk_error(err, path, e);
		}
		off += (size_t)w;
	}
	if (close(fd) < 0)
		return walk_error(err, path, errno);
	return 0;
}

char *srv_ws_read(int dirfd, const char *path, size_t max, size_t *len, srv_err_t *err)
{
	if (srv_path_check(path, err) < 0)
		return NULL;
	const char *last;
	int parent = open_parent(dirfd, path, false, &last, err);
	if (parent < 0)
		return NULL;
	int fd = openat(parent, last, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int e = errno;
	close(parent);
	if (fd < 0) {
		walk_error(err, path, e);
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		srv_fail(err, 400, "invalid_path", "\"%.200s\" is not a regular file", path);
		return NULL;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		srv_fail(err, 413, "payload_too_large",
			 "\"%.200s\" is %lld bytes, more than the %zu bytes this server returns",
			 path, (long long)st.st_size, max);
		return NULL;
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == cap) { /* grew while we read it */
			free(buf);
			buf = NULL;
			close(fd);
			srv_fail(err, 413, "payload_too_large", "\"%.200s\" is growing", path);
			return NULL;
		}
	}
	close(fd);
	if (!buf) {
		srv_fail(err, 500, "internal", "out of memory");
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static const char *type_name(mode_t m)
{
	if (S_ISREG(m))
		return "file";
	if (S_ISDIR(m))
		return "directory";
	if (S_ISLNK(m))
		return "symlink";
	return "other";
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "name")),
		      json_string_value(json_object_get(*(json_t *const *)b, "name")));
}

json_t *srv_ws_list(int wsfd, const char *path, srv_err_t *err)
{
	int fd;
	if (!path || !*path) {
		fd = openat(wsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			walk_error(err, ".", errno);
			return NULL;
		}
	} else {
		if (srv_path_check(path, err) < 0)
			return NULL;
		const char *last;
		int parent = open_parent(wsfd, path, false, &last, err);
		if (parent < 0)
			return NULL;
		fd = openat(parent, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(parent);
		if (fd < 0) {
			walk_error(err, path, e);
			return NULL;
		}
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		srv_fail(err, 500, "internal", "listing: %s", strerror(errno));
		return NULL;
	}
	json_t *entries = json_array();
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		/* A name that is not UTF-8 (sandboxed code can make any) is
		 * shown %XX-escaped and flagged, not dropped. */
		size_t nl = strlen(de->d_name);
		json_t *e = json_pack("{s:o,s:s,s:I}", "name", srv_json_text(de->d_name, nl), "type",
				      type_name(st.st_mode), "size", (json_int_t)st.st_size);
		if (e && !srv_utf8_valid(de->d_name, nl))
			json_object_set_new(e, "escaped", json_true());
		json_array_append_new(entries, e);
	}
	closedir(d);
	/* Stable order for clients and tests. */
	size_t n = json_array_size(entries);
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	json_t *sorted = json_array();
	if (v && sorted) {
		for (size_t i = 0; i < n; i++)
			v[i] = json_array_get(entries, i);
		qsort(v, n, sizeof(*v), cmp_names);
		for (size_t i = 0; i < n; i++)
			json_array_append(sorted, v[i]);
	}
	free(v);
	json_decref(entries);
	return json_pack("{s:s,s:o}", "path", path ? path : "", "entries", sorted);
}

/* Detaches a workspace's own tmpfs (see srv_ws_create), if it has one. */
static void unmount_beneath(int parentfd, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", parentfd, name);
	if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != EPERM &&
	    errno != ENOENT)
		fprintf(stderr, "symbi-sandbox: cannot unmount a workspace: %s\n", strerror(errno));
}

/* One pass over the directory `fd`: removes its files and empty
 * directories; names a directory that is not empty in next (else ""). */
static int remove_pass(int fd, char next[NAME_MAX + 1])
{
	next[0] = '\0';
	(void)fchmod(fd, 0700); /* code in the sandbox may have taken our write bit */
	int scan = dup(fd);
	DIR *d = scan >= 0 ? fdopendir(scan) : NULL;
	if (!d) {
		if (scan >= 0)
			close(scan);
		return -1;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			rc = -1;
			break;
		}
		if (unlinkat(fd, de->d_name, AT_REMOVEDIR) == 0)
			continue;
		if (errno == ENOTEMPTY || errno == EEXIST) {
			snprintf(next, NAME_MAX + 1, "%s", de->d_name);
			break;
		}
		rc = -1;
		break;
	}
	closedir(d);
	return rc;
}

/* Empties the directory `fd` (taken) however deep its tree is: no recursion
 * and at most three descriptors at once. It goes down into the first
 * directory that is not empty, and back up through ".." once a directory
 * is empty. It never follows a symbolic link, never leaves the tree's file
 * system, and gives up (-1) at the first thing it cannot remove, rather
 * than loop. */
static int remove_contents(int fd)
{
	struct stat top, st;
	if (fstat(fd, &top) < 0) {
		close(fd);
		return -1;
	}
	size_t depth = 0;
	char next[NAME_MAX + 1];
	for (;;) {
		if (remove_pass(fd, next) < 0)
			break;
		if (next[0]) {
			int sub = openat(fd, next, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0 && errno == EACCES && fchmodat(fd, next, 0700, 0) == 0)
				sub = openat(fd, next, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0 || fstat(sub, &st) < 0 || st.st_dev != top.st_dev) {
				if (sub >= 0)
					close(sub);
				break;
			}
			close(fd);
			fd = sub;
			depth++;
			continue;
		}
		if (depth == 0) {
			close(fd);
			return 0;
		}
		int up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = up;
		depth--;
		/* Back at the top, it must be the top (nothing was moved). */
		if (fd < 0 || fstat(fd, &st) < 0 || st.st_dev != top.st_dev ||
		    (depth == 0 && st.st_ino != top.st_ino))
			break;
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

int srv_ws_remove_tree(int parentfd, const char *name)
{
	unmount_beneath(parentfd, name);
	int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (remove_contents(fd) < 0)
		return -1;
	return unlinkat(parentfd, name, AT_REMOVEDIR);
}

int srv_ws_create(int parentfd, const char *parent_path, char id[33], uint64_t max_bytes,
		  int host_ns_fd, srv_err_t *err)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		if (srv_random_hex(id, 16) < 0)
			return srv_fail(err, 500, "internal", "no randomness: %s", strerror(errno));
		if (mkdirat(parentfd, id, 0700) < 0) {
			if (errno == EEXIST)
				continue;
			return srv_fail(err, 500, "internal", "creating a workspace: %s",
					strerror(errno));
		}
		/* As root, a workspace is its own size-capped tmpfs, so that
		 * sandboxed code cannot fill the host's disk through it. */
		if (max_bytes && geteuid() == 0) {
			char path[PATH_MAX], opts[128];
			snprintf(opts, sizeof(opts), "size=%llu,nr_inodes=%llu,mode=0700",
				 (unsigned long long)max_bytes,
				 (unsigned long long)(max_bytes / 1024 < 1024 ? 1024 : max_bytes / 1024));
			if (host_ns_fd >= 0) {
				snprintf(path, sizeof(path), "%s/%s", parent_path, id);
				int fd = srv_host_mount_tmpfs(host_ns_fd, path, opts, err);
				if (fd < 0)
					unlinkat(parentfd, id, AT_REMOVEDIR);
				return fd;
			}
			snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", parentfd, id);
			if (mount("symbi-workspace", path, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
				int e = errno;
				unlinkat(parentfd, id, AT_REMOVEDIR);
				return srv_fail(err, 500, "internal",
						"cannot mount the workspace's tmpfs: %s (set the policy's "
						"max_workspace_bytes to 0 to use the state directory's "
						"file system, without a size cap)", strerror(e));
			}
		}
		int fd = openat(parentfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			srv_ws_remove_tree(parentfd, id);
			return srv_fail(err, 500, "internal", "opening a workspace: %s", strerror(e));
		}
		return fd;
	}
	return srv_fail(err, 500, "internal", "cannot pick a workspace name");
}

int srv_ws_put_files(int dirfd, json_t *files, size_t max_file, srv_err_t *err)
{
	if (!files || json_is_null(files))
		return 0;
	if (!json_is_object(files))
		return srv_fail(err, 400, "invalid_request",
				"files must be an object mapping relative paths to contents");
	const char *path;
	json_t *content;
	json_object_foreach(files, path, content) {
		if (!json_is_string(content))
			return srv_fail(err, 400, "invalid_request",
					"files[\"%.200s\"] must be a string", path);
		if (json_string_length(content) > max_file)
			return srv_fail(err, 413, "payload_too_large",
					"files[\"%.200s\"] is larger than %zu bytes", path, max_file);
		if (srv_ws_write(dirfd, path, json_string_value(content), json_string_length(content),
				 err) < 0)
			return -1;
	}
	return 0;
}

/* ---- single entries (the E2B filesystem service) ----------------------------- */

/* Opens the parent of `path` (checked) and sets *last; "" is refused. */
static int parent_of(int dirfd, const char *path, bool create, const char **last,
		     srv_err_t *err)
{
	if (srv_path_check(path, err) < 0)
		return -1;
	return open_parent(dirfd, path, create, last, err);
}

int srv_ws_stat(int dirfd, const char *path, struct stat *st, srv_err_t *err)
{
	if (!path || !*path)
		return fstat(dirfd, st) < 0 ? walk_error(err, ".", errno) : 0;
	const char *last;
	int parent = parent_of(dirfd, path, false, &last, err);
	if (parent < 0)
		return -1;
	int rc = fstatat(parent, last, st, AT_SYMLINK_NOFOLLOW);
	int e = errno;
	close(parent);
	return rc < 0 ? walk_error(err, path, e) : 0;
}

int srv_ws_mkdirs(int dirfd, const char *path, bool *existed, srv_err_t *err)
{
	const char *last;
	*existed = false;
	int parent = parent_of(dirfd, path, true, &last, err);
	if (parent < 0)
		return -1;
	uid_t uid;
	gid_t gid;
	int rc = 0;
	if (mkdirat(parent, last, 0755) == 0) {
		int fd = openat(parent, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && ws_owner(dirfd, &uid, &gid) && fchown(fd, uid, gid) < 0)
			rc = walk_error(err, path, errno);
		if (fd >= 0)
			close(fd);
	} else if (errno == EEXIST) {
		struct stat st;
		if (fstatat(parent, last, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
			*existed = true;
		else
			rc = srv_fail(err, 400, "invalid_path", "\"%.200s\" exists and is not a directory",
				      path);
	} else {
		rc = walk_error(err, path, errno);
	}
	close(parent);
	return rc;
}

int srv_ws_rename(int dirfd, const char *from, const char *to, srv_err_t *err)
{
	const char *last_from, *last_to;
	int pf = parent_of(dirfd, from, false, &last_from, err);
	if (pf < 0)
		return -1;
	int pt = parent_of(dirfd, to, true, &last_to, err);
	if (pt < 0) {
		close(pf);
		return -1;
	}
	int rc = renameat(pf, last_from, pt, last_to) < 0 ? walk_error(err, from, errno) : 0;
	close(pf);
	close(pt);
	return rc;
}

int srv_ws_remove(int dirfd, const char *path, srv_err_t *err)
{
	const char *last;
	int parent = parent_of(dirfd, path, false, &last, err);
	if (parent < 0)
		return err->status == 404 ? 0 : -1; /* nothing to remove */
	struct stat st;
	int rc = 0;
	if (fstatat(parent, last, &st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = errno == ENOENT ? 0 : walk_error(err, path, errno);
	else if (S_ISDIR(st.st_mode) ? srv_ws_remove_tree(parent, last) < 0
				     : unlinkat(parent, last, 0) < 0)
		rc = walk_error(err, path, errno);
	close(parent);
	return rc;
}
