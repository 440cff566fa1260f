/* Volume specs `host:container[:mode]`: the reference's blocklist, applied to
 * the normalised path and again after resolving symlinks, so that `//etc`,
 * `/./etc/` and a symlink to /etc are all caught. */
#include "config.h"
#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reference's list, plus the whole of /run, /var/run and /dev (control
 * sockets and device nodes have no business inside a sandbox, and
 * /run/symbi-sandbox stages the docker backend's volumes), containerd's
 * state (every container's root filesystem), /usr, /home, /var/spool and
 * the project's state directories. */
static const char *const dangerous_host_paths[] = {
	"/var/run/docker.sock", "/run/docker.sock", "/var/run/containerd",
	"/var/run/crio",        "/proc",            "/sys",
	"/boot",                "/etc",             "/root",
	"/var/lib/docker",      "/var/lib/kubelet", "/var/lib/rancher",
	"/run",                 "/var/run",         "/dev",
	"/var/lib/containerd",
	/* The host's programs (its docker client among them), users' homes,
	 * cron and mail spools, and this project's own state. */
	"/usr",                 "/home",            "/var/spool",
	"/var/lib/symbi-sandbox", "/var/lib/symbi-sandbox-test",
};

static const char *const allowed_mount_options[] = {
	"ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated",
	"private", "rprivate", "slave", "rslave",
};

static bool path_is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Returns the dangerous entry that `path` is, is under, or contains (a
 * mount of /var would expose /var/lib/docker), or NULL. Each entry is also
 * compared in its resolved form (/var/run -> /run). */
static const char *dangerous_prefix(const char *path)
{
	for (size_t i = 0; i < sizeof(dangerous_host_paths) / sizeof(dangerous_host_paths[0]); i++) {
		const char *d = dangerous_host_paths[i];
		if (path_is_under(path, d) || path_is_under(d, path))
			return d;
		char resolved[PATH_MAX];
		if (realpath(d, resolved) && (path_is_under(path, resolved) || path_is_under(resolved, path)))
			return d;
	}
	return NULL;
}

/* Normalises an absolute path in place: no empty or "." segments, no
 * trailing slash. Returns -1 if a ".." segment is present. */
static int normalise_path(char *path)
{
	char *out = path;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *seg = p;
		while (*p && *p != '/')
			p++;
		size_t len = (size_t)(p - seg);
		if (len == 1 && seg[0] == '.')
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.')
			return -1;
		*out++ = '/';
		memmove(out, seg, len);
		out += len;
	}
	if (out == path)
		*out++ = '/';
	*out = '\0';
	return 0;
}

/* Resolves symlinks in the longest existing prefix of `path` and appends the
 * rest, which does not exist yet (docker would create it, following any
 * symlink on the way, so the existing part is what matters). */
static int resolve_existing_prefix(const char *path, char *out, size_t out_size,
				   symbi_error_t *err)
{
	char prefix[PATH_MAX];
	if (strlen(path) >= sizeof(prefix))
		return symbi_fail(err, SYMBI_E_INVALID, 0, "volume host path is too long");
	strcpy(prefix, path);
	char *cut = prefix + strlen(prefix);
	for (;;) {
		char resolved[PATH_MAX];
		if (realpath(prefix, resolved)) {
			const char *rest = path + (cut - prefix);
			size_t rlen = strlen(resolved);
			if (strcmp(resolved, "/") == 0 && *rest)
				rlen = 0;
			if (rlen + strlen(rest) + 1 > out_size)
				return symbi_fail(err, SYMBI_E_INVALID, 0, "volume host path is too long");
			memcpy(out, resolved, rlen);
			strcpy(out + rlen, rest);
			return 0;
		}
		if (errno != ENOENT && errno != ENOTDIR)
			return symbi_fail(err, SYMBI_E_INVALID, errno,
					  "cannot resolve volume host path \"%s\"", path);
		char *slash = strrchr(prefix, '/');
		if (!slash || slash == prefix) {
			/* Nothing but "/" exists: the path is its own resolution. */
			if (strlen(path) + 1 > out_size)
				return symbi_fail(err, SYMBI_E_INVALID, 0, "volume host path is too long");
			strcpy(out, path);
			return 0;
		}
		*slash = '\0';
		cut = slash;
	}
}

static int check_host_path(const char *spec, const char *host, char *resolved,
			   size_t resolved_size, symbi_error_t *err)
{
	char normalised[PATH_MAX];
	if (strlen(host) >= sizeof(normalised))
		return symbi_fail(err, SYMBI_E_INVALID, 0, "volume host path is too long");
	strcpy(normalised, host);
	if (normalise_path(normalised) < 0)
		return symbi_fail(err, SYMBI_E_SECURITY, 0,
				  "volume mount \"%s\" contains '..' path segments; refusing", spec);
	if (resolve_existing_prefix(normalised, resolved, resolved_size, err) < 0)
		return -1;
	/* Docker splits the -v string on ':'; a symlink resolving to a path
	 * with one would be parsed as other parts. */
	if (strchr(resolved, ':'))
		return symbi_fail(err, SYMBI_E_SECURITY, 0,
				  "volume mount \"%s\": the host path resolves to \"%s\", which "
				  "contains ':'; refusing", spec, resolved);
	const char *candidates[2] = {normalised, resolved};
	for (int i = 0; i < 2; i++) {
		if (strcmp(candidates[i], "/") == 0)
			return symbi_fail(err, SYMBI_E_SECURITY, 0,
					  "volume mount \"%s\" targets host root filesystem", spec);
		const char *d = dangerous_prefix(candidates[i]);
		if (d)
			return symbi_fail(err, SYMBI_E_SECURITY, 0,
					  "volume mount \"%s\" targets dangerous host path \"%s\"%s; refusing",
					  spec, d, i == 1 ? " (after resolving symlinks)" : "");
	}
	return 0;
}

static int check_named_volume(const char *spec, const char *name, symbi_error_t *err)
{
	/* Docker's own rule for volume names; it also keeps relative paths
	 * such as "./x" or "~/x" (which newer docker clients expand) out. */
	bool ok = isalnum((unsigned char)name[0]);
	for (const char *p = name + 1; ok && *p; p++)
		ok = isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-';
	if (!ok)
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "volume mount \"%s\": \"%s\" is neither an absolute host path nor "
				  "a valid volume name ([A-Za-z0-9][A-Za-z0-9_.-]*)", spec, name);
	return 0;
}

static int check_container_path(const char *spec, char *path, symbi_error_t *err)
{
	if (path[0] != '/')
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "volume mount \"%s\": container path must be absolute", spec);
	if (normalise_path(path) < 0)
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "volume mount \"%s\": container path contains '..'", spec);
	if (strcmp(path, "/") == 0)
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "volume mount \"%s\": cannot mount over the container's root", spec);
	return 0;
}

static int check_mode(const char *spec, const char *mode, symbi_error_t *err)
{
	char copy[256];
	if (!*mode || strlen(mode) >= sizeof(copy))
		goto bad;
	strcpy(copy, mode);
	char *save = NULL;
	for (char *opt = strtok_r(copy, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		bool known = false;
		for (size_t i = 0; i < sizeof(allowed_mount_options) / sizeof(allowed_mount_options[0]); i++)
			known = known || strcmp(opt, allowed_mount_options[i]) == 0;
		if (!known)
			goto bad;
	}
	return 0;
bad:
	return symbi_fail(err, SYMBI_E_INVALID, 0,
			  "volume mount \"%s\": unsupported mode \"%s\" (allowed: ro, rw, z, Z, "
			  "nocopy, private, rprivate, slave, rslave, consistent, cached, delegated)",
			  spec, mode);
}

int symbi_volume_check(const char *spec, char **out, symbi_error_t *err)
{
	if (!spec || !*spec)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "empty volume mount");
	char *copy = strdup(spec);
	if (!copy)
		return symbi_fail_nomem(err);
	int rc = -1;
	char *host = copy;
	char *container = strchr(copy, ':');
	char *mode = NULL;
	if (!container) {
		symbi_fail(err, SYMBI_E_INVALID, 0, "volume mount \"%s\" missing container path", spec);
		goto done;
	}
	*container++ = '\0';
	mode = strchr(container, ':');
	if (mode)
		*mode++ = '\0';
	if (!*host) {
		symbi_fail(err, SYMBI_E_INVALID, 0, "volume mount \"%s\" has empty host path", spec);
		goto done;
	}
	char resolved[PATH_MAX];
	if (host[0] == '/') {
		if (check_host_path(spec, host, resolved, sizeof(resolved), err) < 0)
			goto done;
	} else {
		if (check_named_volume(spec, host, err) < 0)
			goto done;
		strcpy(resolved, host);
	}
	if (check_container_path(spec, container, err) < 0)
		goto done;
	if (mode && check_mode(spec, mode, err) < 0)
		goto done;
	if (out) {
		int n = mode ? asprintf(out, "%s:%s:%s", resolved, container, mode)
			     : asprintf(out, "%s:%s", resolved, container);
		if (n < 0) {
			*out = NULL;
			symbi_fail_nomem(err);
			goto done;
		}
	}
	rc = 0;
done:
	free(copy);
	return rc;
}
