/* The state directory.
 *
 * `--state-dir DIR` may be any directory, the operator's home included, so
 * the server touches only one subdirectory of it, DIR/symbi-sandbox, marked
 * as its own by the file MARKER inside. A DIR/symbi-sandbox without that
 * marker and not empty belongs to someone else and is refused.
 *
 *   DIR/symbi-sandbox/.symbi-sandbox-state   the marker (start-up lock too)
 *   DIR/symbi-sandbox/<32 hex>/               one per running server
 *   DIR/symbi-sandbox/<32 hex>/lock           flock(LOCK_EX) while it runs
 *   DIR/symbi-sandbox/<32 hex>/sessions/<id>  session workspaces
 *   DIR/symbi-sandbox/<32 hex>/tmp/<id>       one-shot workspaces
 *
 * Several servers can share DIR. At start, under the marker's lock, a server
 * removes every instance directory whose lock nobody holds (its server died,
 * even by SIGKILL): first the host mounts beneath it, then the tree. Nothing
 * else in DIR is ever removed. Without --state-dir, DIR is a fresh private
 * temporary directory, removed at exit. */
#include "server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define OWN_DIR "symbi-sandbox"
#define MARKER ".symbi-sandbox-state"

static bool instance_name(const char *n)
{
	if (strlen(n) != 32)
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* Detaches every mount at or beneath `prefix` (deepest first: mountinfo
 * lists parents before children, so walk it backwards). */
static void unmount_under(const char *prefix)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	char *targets[256];
	size_t n = 0, plen = strlen(prefix);
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0 && n < 256) {
		char target[PATH_MAX];
		/* "ID PARENT MAJ:MIN ROOT TARGET ..."; spaces in paths are \040,
		 * and our paths have none. */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", target) == 1 &&
		    strncmp(target, prefix, plen) == 0 &&
		    (target[plen] == '/' || target[plen] == '\0'))
			targets[n++] = strdup(target);
	}
	free(line);
	fclose(f);
	while (n > 0) {
		char *t = targets[--n];
		if (t && umount2(t, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL)
			fprintf(stderr, "symbi-sandbox: cannot unmount %s: %s\n", t, strerror(errno));
		free(t);
	}
}

/* Removes the instance directories of servers that are gone. */
static void collect_crashed(int own_fd, const char *own_path)
{
	int scan = dup(own_fd);
	DIR *d = scan >= 0 ? fdopendir(scan) : NULL;
	if (!d) {
		if (scan >= 0)
			close(scan);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!instance_name(de->d_name))
			continue;
		char lock[300];
		snprintf(lock, sizeof(lock), "%s/lock", de->d_name);
		int lfd = openat(own_fd, lock, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) < 0) {
			close(lfd); /* a live server */
			continue;
		}
		char path[PATH_MAX + 300];
		snprintf(path, sizeof(path), "%s/%s", own_path, de->d_name);
		unmount_under(path);
		if (srv_ws_remove_tree(own_fd, de->d_name) < 0)
			fprintf(stderr, "symbi-sandbox: cannot remove %s, left by a server that "
				"stopped\n", path);
		else
			fprintf(stderr, "symbi-sandbox: removed %s, left by a server that stopped\n",
				path);
		if (lfd >= 0)
			close(lfd);
	}
	closedir(d);
}

/* Opens DIR/symbi-sandbox, creating and marking it if absent or empty;
 * refuses one that is someone else's. Returns its fd and the marker's
 * (locked exclusively) in *marker_fd. */
static int open_own_dir(int dir_fd, const char *dir, int *marker_fd, srv_err_t *err)
{
	if (mkdirat(dir_fd, OWN_DIR, 0700) < 0 && errno != EEXIST)
		return srv_fail(err, 500, "internal", "%s/%s: %s", dir, OWN_DIR, strerror(errno));
	int fd = openat(dir_fd, OWN_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return srv_fail(err, 500, "internal", "%s/%s: %s (it must be a directory, not a "
				"symbolic link)", dir, OWN_DIR, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid()) {
		close(fd);
		return srv_fail(err, 500, "internal", "%s/%s belongs to another user; refusing to "
				"use it", dir, OWN_DIR);
	}
	int m = openat(fd, MARKER, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (m < 0 && errno == ENOENT) {
		/* Empty: ours to mark. Not empty: someone else's. */
		int scan = dup(fd);
		DIR *d = scan >= 0 ? fdopendir(scan) : NULL;
		bool empty = d != NULL;
		struct dirent *de;
		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				empty = false;
		if (d)
			closedir(d);
		else if (scan >= 0)
			close(scan);
		if (!empty) {
			close(fd);
			return srv_fail(err, 500, "internal",
					"%s/%s exists, is not empty and was not made by symbi-sandbox "
					"(no %s in it); refusing to touch it: choose another "
					"--state-dir", dir, OWN_DIR, MARKER);
		}
		m = openat(fd, MARKER, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		static const char text[] = "symbi-sandbox state directory: see 'symbi-sandbox serve "
					   "--help'. Removing a stopped server's leftovers is safe.\n";
		if (m >= 0 && write(m, text, sizeof(text) - 1) < 0) {
			close(m);
			m = -1;
		}
	}
	if (m < 0 || flock(m, LOCK_EX) < 0) {
		int e = errno;
		if (m >= 0)
			close(m);
		close(fd);
		return srv_fail(err, 500, "internal", "%s/%s/%s: %s", dir, OWN_DIR, MARKER,
				strerror(e));
	}
	*marker_fd = m;
	return fd;
}

int srv_state_open(srv_state_t *st, const char *state_dir, srv_err_t *err)
{
	memset(st, 0, sizeof(*st));
	st->own_fd = st->inst_fd = st->lock_fd = st->sessions_fd = st->tmp_fd = -1;
	if (state_dir) {
		if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
			return srv_fail(err, 500, "internal", "state directory %s: %s", state_dir,
					strerror(errno));
		st->dir = realpath(state_dir, NULL);
	} else {
		const char *tmp = getenv("TMPDIR");
		char templ[4096];
		snprintf(templ, sizeof(templ), "%s/symbi-sandbox-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (mkdtemp(templ)) {
			st->dir = realpath(templ, NULL);
			st->own_dir = true;
		}
	}
	if (!st->dir)
		return srv_fail(err, 500, "internal", "cannot create the state directory: %s",
				strerror(errno));
	int dir_fd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return srv_fail(err, 500, "internal", "state directory %s: %s", st->dir,
				strerror(errno));
	int marker = -1;
	st->own_fd = open_own_dir(dir_fd, st->dir, &marker, err);
	close(dir_fd);
	if (st->own_fd < 0)
		return -1;
	char own_path[PATH_MAX];
	snprintf(own_path, sizeof(own_path), "%s/%s", st->dir, OWN_DIR);
	collect_crashed(st->own_fd, own_path);

	char id[33];
	int rc = -1;
	if (srv_random_hex(id, 16) < 0 || mkdirat(st->own_fd, id, 0700) < 0) {
		srv_fail(err, 500, "internal", "%s: %s", own_path, strerror(errno));
		goto out;
	}
	st->inst_fd = openat(st->own_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	st->lock_fd = st->inst_fd < 0 ? -1
				       : openat(st->inst_fd, "lock",
						O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (st->lock_fd < 0 || flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0 ||
	    mkdirat(st->inst_fd, "sessions", 0700) < 0 || mkdirat(st->inst_fd, "tmp", 0700) < 0 ||
	    (st->sessions_fd = openat(st->inst_fd, "sessions",
				      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    (st->tmp_fd = openat(st->inst_fd, "tmp",
				 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		srv_fail(err, 500, "internal", "%s/%s: %s", own_path, id, strerror(errno));
		goto out;
	}
	snprintf(st->inst_name, sizeof(st->inst_name), "%s", id);
	if (asprintf(&st->inst_path, "%s/%s", own_path, id) < 0) {
		st->inst_path = NULL;
		srv_fail(err, 500, "internal", "out of memory");
		goto out;
	}
	rc = 0;
out:
	close(marker); /* the start-up lock: our instance is locked now */
	if (rc < 0 && st->inst_fd >= 0)
		srv_ws_remove_tree(st->own_fd, id);
	return rc;
}

/* Descriptors opened in another mount namespace cannot be mounted on (the
 * kernel refuses mounts beneath a mount of a foreign namespace): after
 * entering ours, open the directories again and check they are the same. */
int srv_state_reopen(srv_state_t *st, srv_err_t *err)
{
	char path[PATH_MAX + 64];
	int *fds[] = {&st->inst_fd, &st->sessions_fd, &st->tmp_fd};
	const char *subs[] = {"", "/sessions", "/tmp"};
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", st->inst_path, subs[i]);
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat a, b;
		if (fd < 0 || fstat(fd, &a) < 0 || fstat(*fds[i], &b) < 0 || a.st_dev != b.st_dev ||
		    a.st_ino != b.st_ino) {
			if (fd >= 0)
				close(fd);
			return srv_fail(err, 500, "internal", "%s changed while the server started",
					path);
		}
		close(*fds[i]);
		*fds[i] = fd;
	}
	return 0;
}

void srv_state_close(srv_state_t *st)
{
	if (st->sessions_fd >= 0)
		close(st->sessions_fd);
	if (st->tmp_fd >= 0)
		close(st->tmp_fd);
	if (st->inst_fd >= 0)
		close(st->inst_fd);
	if (st->own_fd >= 0 && st->inst_name[0] &&
	    srv_ws_remove_tree(st->own_fd, st->inst_name) < 0)
		fprintf(stderr, "symbi-sandbox: cannot remove %s\n", st->inst_path);
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	if (st->own_dir && st->own_fd >= 0) {
		unlinkat(st->own_fd, MARKER, 0);
		char own_path[PATH_MAX];
		snprintf(own_path, sizeof(own_path), "%s/%s", st->dir, OWN_DIR);
		if (rmdir(own_path) < 0 || rmdir(st->dir) < 0)
			fprintf(stderr, "symbi-sandbox: cannot remove %s: %s\n", st->dir,
				strerror(errno));
	}
	if (st->own_fd >= 0)
		close(st->own_fd);
	free(st->inst_path);
	free(st->dir);
	memset(st, 0, sizeof(*st));
	st->own_fd = st->inst_fd = st->lock_fd = st->sessions_fd = st->tmp_fd = -1;
}
