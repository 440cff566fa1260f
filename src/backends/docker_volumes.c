/* Volumes mount what was checked. A host path handed to docker as a string
 * is resolved again by the runtime, so a tenant who can rename things
 * inside it could swap a checked directory for a symlink to /etc or /run
 * between our check and the mount. Instead each checked host path is opened
 * with RESOLVE_NO_SYMLINKS (a symlink anywhere on the way fails the open),
 * its dev:inode recorded, and that very inode bind-mounted onto a
 * root-only staging directory, /run/symbi-sandbox/volumes/NAME/N; docker
 * gets the staging path, which nobody else can change.
 *
 * Also refused here: named volumes not on allowed_named_volumes (two
 * tenants naming the same volume would share it), and host paths with a
 * component that someone other than root can write (such a user can swap
 * it), unless allow_writable_volume_paths says so.
 *
 * Pinning needs root (mount). Without it, a path whose every component
 * only root can write is handed to docker as checked: nobody who could
 * swap it is untrusted. A path that needed allow_writable_volume_paths is
 * then refused. */
#include "docker.h"
#include "path_open.h"
#include "../core/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define STAGE_ROOT "/run/symbi-sandbox"
#define STAGE_VOLUMES STAGE_ROOT "/volumes"

/* Refuses a path if a directory on the way to it (or it) can be written by
 * someone other than root. A sticky directory (/tmp) is fine: others can
 * add entries to it but not rename or remove root's, and the next
 * component is checked to be root's. */
static int check_writers(const char *spec, const char *path, symbi_error_t *err)
{
	char prefix[PATH_MAX];
	size_t len = strlen(path);
	for (size_t end = 0; end <= len; end++) {
		if (end > 0 && end < len && path[end] != '/')
			continue;
		/* "/" first, then each prefix ending before a '/', then path. */
		size_t n = end == 0 ? 1 : end;
		memcpy(prefix, end == 0 ? "/" : path, n);
		prefix[n] = '\0';
		struct stat st;
		if (lstat(prefix, &st) < 0)
			return symbi_fail(err, SYMBI_E_INVALID, errno, "volume mount \"%s\": %s", spec,
					  prefix);
		if (S_ISLNK(st.st_mode))
			return symbi_fail(err, SYMBI_E_SECURITY, 0,
					  "volume mount \"%s\": \"%s\" is a symlink: it changed since it "
					  "was checked; refusing", spec, prefix);
		bool sticky_dir = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX);
		if (st.st_uid != 0 || ((st.st_mode & 0022) && !sticky_dir))
			return symbi_fail(err, SYMBI_E_SECURITY, 0,
					  "volume mount \"%s\": \"%s\" can be written by users other than "
					  "root, who could swap what is mounted; refusing (set "
					  "allow_writable_volume_paths to accept it)", spec, prefix);
	}
	return 0;
}

/* Creates (or accepts) a directory of ours that nobody else can write to;
 * `unreadable` also shuts others out of listing and traversing it. */
static int make_private_dir(const char *path, bool unreadable, symbi_error_t *err)
{
	if (mkdir(path, unreadable ? 0700 : 0755) < 0 && errno != EEXIST)
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot create %s", path);
	struct stat st;
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & (unreadable ? 0077 : 0022)))
		return symbi_fail(err, SYMBI_E_SECURITY, 0,
				  "%s is not a directory private to this user; refusing to stage "
				  "volumes there", path);
	return 0;
}

static bool is_allowed_name(const symbi_config_t *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->allowed_named_volumes.len; i++)
		if (strcmp(cfg->allowed_named_volumes.items[i], name) == 0)
			return true;
	return false;
}

/* A directory or an empty file to bind the pinned path onto. */
static int make_mount_point(const char *path, bool dir)
{
	if (dir)
		return mkdir(path, 0700);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	return fd < 0 ? -1 : close(fd);
}

static int push_mount(symbi_docker_volumes_t *v, const symbi_volume_t *vol, const char *source,
		      symbi_error_t *err)
{
	char *copy = strdup(source);
	symbi_docker_mount_t *grown = copy ? realloc(v->mounts, (v->nmounts + 1) * sizeof(*grown)) : NULL;
	if (!grown) {
		free(copy);
		return symbi_fail_nomem(err);
	}
	v->mounts = grown;
	v->mounts[v->nmounts++] = (symbi_docker_mount_t){copy, vol->target, vol->mode};
	return 0;
}

/* Pins one volume's host path (as checked: `host`) onto stage/N and adds
 * the mount docker gets. */
static int pin_one(const symbi_config_t *cfg, symbi_docker_volumes_t *v, const symbi_volume_t *vol,
		   const char *host, symbi_error_t *err)
{
	const char *spec = vol->spec;
	if (vol->named) {
		if (!is_allowed_name(cfg, host))
			return symbi_fail(err, SYMBI_E_SECURITY, 0,
					  "volume mount \"%s\": named volume \"%s\" is not in "
					  "allowed_named_volumes", spec, host);
		return push_mount(v, vol, host, err);
	}
	if (!cfg->allow_writable_volume_paths && check_writers(spec, host, err) < 0)
		return -1;
	if (!v->stage_dir) {
		if (cfg->allow_writable_volume_paths)
			return symbi_fail(err, SYMBI_E_SECURITY, 0,
					  "volume mount \"%s\": a path that others than root can write "
					  "must be pinned before it is mounted, which needs root", spec);
		return push_mount(v, vol, host, err);
	}
	int fd = symbi_open_no_symlinks(host);
	if (fd < 0)
		return symbi_fail(err, errno == ELOOP ? SYMBI_E_SECURITY : SYMBI_E_INVALID, errno,
				  "volume mount \"%s\": cannot open \"%s\" without following "
				  "symlinks (it must exist; it may have changed since it was checked)",
				  spec, host);
	int rc = -1;
	struct stat pinned, staged;
	char target[PATH_MAX], source[64];
	if (fstat(fd, &pinned) < 0 || !(S_ISDIR(pinned.st_mode) || S_ISREG(pinned.st_mode))) {
		symbi_fail(err, SYMBI_E_INVALID, 0,
			   "volume mount \"%s\": \"%s\" is not a directory or a regular file", spec, host);
		goto out;
	}
	snprintf(target, sizeof(target), "%s/%zu", v->stage_dir, v->nmounts);
	if (make_mount_point(target, S_ISDIR(pinned.st_mode)) < 0) {
		symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot create %s", target);
		goto out;
	}
	snprintf(source, sizeof(source), "/proc/self/fd/%d", fd);
	if (mount(source, target, NULL, MS_BIND, NULL) < 0) {
		symbi_fail(err, SYMBI_E_SYSTEM, errno,
			   "volume mount \"%s\": cannot bind the checked path onto %s", spec, target);
		S_ISDIR(pinned.st_mode) ? rmdir(target) : unlink(target);
		goto out;
	}
	v->mounted++;
	if (stat(target, &staged) < 0 || staged.st_dev != pinned.st_dev ||
	    staged.st_ino != pinned.st_ino) {
		symbi_fail(err, SYMBI_E_SECURITY, 0,
			   "volume mount \"%s\": the staged mount is not the checked path", spec);
		goto out;
	}
	rc = push_mount(v, vol, target, err);
out:
	close(fd);
	return rc;
}

int symbi_docker_volumes_prepare(const symbi_config_t *cfg, const char *name, const char *owner,
				 symbi_docker_volumes_t *v, symbi_error_t *err)
{
	*v = (symbi_docker_volumes_t){0};
	if (cfg->nvolumes == 0)
		return 0;
	/* Every host path is resolved and checked again before anything is
	 * created: it may have changed since it was set. */
	char (*checked)[PATH_MAX] = calloc(cfg->nvolumes, sizeof(*checked));
	if (!checked)
		return symbi_fail_nomem(err);
	int rc = -1;
	for (size_t i = 0; i < cfg->nvolumes; i++)
		if (symbi_volume_resolve(&cfg->volumes[i], checked[i], sizeof(checked[i]), err) < 0)
			goto out;
	if (geteuid() != 0)
		goto pin; /* no staging: see the top of this file */
	if (asprintf(&v->stage_dir, STAGE_VOLUMES "/%s", name) < 0) {
		v->stage_dir = NULL;
		symbi_fail_nomem(err);
		goto out;
	}
	if (make_private_dir(STAGE_ROOT, false, err) < 0 ||
	    make_private_dir(STAGE_VOLUMES, true, err) < 0 ||
	    make_private_dir(v->stage_dir, true, err) < 0)
		goto out;
	char owner_path[PATH_MAX];
	snprintf(owner_path, sizeof(owner_path), "%s/owner", v->stage_dir);
	FILE *f = fopen(owner_path, "wxe");
	if (!f || fprintf(f, "%s\n", owner) < 0 || fclose(f) != 0) {
		symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot write %s", owner_path);
		goto out;
	}
pin:
	for (size_t i = 0; i < cfg->nvolumes; i++)
		if (pin_one(cfg, v, &cfg->volumes[i], checked[i], err) < 0)
			goto out;
	rc = 0;
out:
	free(checked);
	if (rc < 0)
		symbi_docker_volumes_release(v);
	return rc;
}

/* Detaches and removes everything under one staging directory. */
static void remove_stage(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
			if (rmdir(path) < 0)
				unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

void symbi_docker_volumes_release(symbi_docker_volumes_t *v)
{
	if (v->stage_dir)
		remove_stage(v->stage_dir);
	free(v->stage_dir);
	v->stage_dir = NULL;
	for (size_t i = 0; i < v->nmounts; i++)
		free(v->mounts[i].source);
	free(v->mounts);
	v->mounts = NULL;
	v->nmounts = 0;
	v->mounted = 0;
}

void symbi_docker_volumes_sweep(void)
{
	DIR *d = opendir(STAGE_VOLUMES);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char dir[PATH_MAX], owner_path[PATH_MAX + 8], owner[256] = "";
		snprintf(dir, sizeof(dir), STAGE_VOLUMES "/%s", e->d_name);
		snprintf(owner_path, sizeof(owner_path), "%s/owner", dir);
		FILE *f = fopen(owner_path, "re");
		if (f) {
			if (!fgets(owner, sizeof(owner), f))
				owner[0] = '\0';
			fclose(f);
		}
		owner[strcspn(owner, "\n")] = '\0';
		/* A directory without an owner is one being set up right now,
		 * unless it is older than any set-up takes (its run died in
		 * between, or while removing it). */
		struct stat st;
		bool stale = !owner[0] && stat(dir, &st) == 0 && time(NULL) - st.st_mtime > 60;
		if ((owner[0] && symbi_docker_owner_gone(owner)) || stale)
			remove_stage(dir);
	}
	closedir(d);
}
