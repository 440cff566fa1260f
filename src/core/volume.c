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

/* Is `option` one of mode's comma-separated options? */
static bool has_option(const char *mode, const char *option)
{
	size_t n = strlen(option);
	for (const char *p = mode; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, option, n) == 0 && (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
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

/* What every volume has to pass, from its parts: a host path outside the
 * blocklist (or a valid volume name), an absolute container path that is
 * not "/", known options. `spec` names the volume in messages. */
static int volume_from_parts(const char *spec, const char *host, const char *target,
			     const char *mode, symbi_volume_t *out, symbi_error_t *err)
{
	*out = (symbi_volume_t){0};
	if (!*host)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "volume mount \"%s\" has empty host path", spec);
	char resolved[PATH_MAX];
	if (host[0] == '/') {
		if (check_host_path(spec, host, resolved, sizeof(resolved), err) < 0)
			return -1;
	} else if (check_named_volume(spec, host, err) < 0) {
		return -1;
	}
	char container[PATH_MAX];
	if (strlen(target) >= sizeof(container))
		return symbi_fail(err, SYMBI_E_INVALID, 0, "volume mount \"%s\": container path is too long",
				  spec);
	strcpy(container, target);
	if (check_container_path(spec, container, err) < 0)
		return -1;
	if (mode && check_mode(spec, mode, err) < 0)
		return -1;
	char normalised[PATH_MAX];
	strcpy(normalised, host); /* shorter than PATH_MAX: check_host_path */
	if (host[0] == '/')
		normalise_path(normalised);
	out->named = host[0] != '/';
	out->read_only = mode && has_option(mode, "ro");
	out->spec = strdup(spec);
	out->host = strdup(normalised);
	out->target = strdup(container);
	out->mode = mode ? strdup(mode) : NULL;
	if (!out->spec || !out->host || !out->target || (mode && !out->mode)) {
		symbi_volume_clear(out);
		return symbi_fail_nomem(err);
	}
	return 0;
}

int symbi_volume_parse(const char *spec, symbi_volume_t *out, symbi_error_t *err)
{
	*out = (symbi_volume_t){0};
	if (!spec || !*spec)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "empty volume mount");
	char *copy = strdup(spec);
	if (!copy)
		return symbi_fail_nomem(err);
	int rc = -1;
	char *container = strchr(copy, ':');
	if (!container) {
		symbi_fail(err, SYMBI_E_INVALID, 0, "volume mount \"%s\" missing container path", spec);
		goto done;
	}
	*container++ = '\0';
	char *mode = strchr(container, ':');
	if (mode)
		*mode++ = '\0';
	rc = volume_from_parts(spec, copy, container, mode, out, err);
done:
	free(copy);
	return rc;
}

int symbi_volume_make(const char *host, const char *target, bool read_only, symbi_volume_t *out,
		      symbi_error_t *err)
{
	*out = (symbi_volume_t){0};
	if (!host || !target)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "volume: NULL host or target");
	const char *mode = read_only ? "ro" : "rw";
	char spec[2 * PATH_MAX + 8];
	if (strlen(host) >= PATH_MAX || strlen(target) >= PATH_MAX)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "volume host or container path is too long");
	snprintf(spec, sizeof(spec), "%s:%s:%s", host, target, mode);
	/* docker -v splits on ':', and so would the text form of this volume. */
	if (strchr(host, ':') || strchr(target, ':'))
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "volume mount \"%s\": host and container paths must not contain ':'",
				  spec);
	return volume_from_parts(spec, host, target, mode, out, err);
}

int symbi_volume_resolve(const symbi_volume_t *v, char *resolved, size_t size, symbi_error_t *err)
{
	if (v->named) {
		if (strlen(v->host) >= size)
			return symbi_fail(err, SYMBI_E_INVALID, 0, "volume name is too long");
		strcpy(resolved, v->host);
		return 0;
	}
	return check_host_path(v->spec, v->host, resolved, size, err);
}

void symbi_volume_clear(symbi_volume_t *v)
{
	free(v->spec);
	free(v->host);
	free(v->target);
	free(v->mode);
	*v = (symbi_volume_t){0};
}

int symbi_volume_copy(symbi_volume_t *dst, const symbi_volume_t *src)
{
	*dst = *src;
	dst->spec = strdup(src->spec);
	dst->host = strdup(src->host);
	dst->target = strdup(src->target);
	dst->mode = src->mode ? strdup(src->mode) : NULL;
	if (!dst->spec || !dst->host || !dst->target || (src->mode && !dst->mode)) {
		symbi_volume_clear(dst);
		return -1;
	}
	return 0;
}
