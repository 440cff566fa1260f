/* Parent side, before any namespace exists: validates the configuration
 * for this backend and prepares everything the child needs (argv, envp,
 * binds, /etc files, limits), so that the child only makes system calls. */
#include "native.h"
#include "../path_open.h"
#include "../../core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Sandbox paths that are read-only binds of the host or kernel file
 * systems, or where the sandbox keeps its own things (the code, the old
 * root while the new one is built): nothing of the caller's may be created
 * or mounted under them. */
static const char *const reserved_paths[] = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
					     "/libx32", "/etc", "/proc", "/dev", "/sys",
					     NATIVE_CODE_DIR, NATIVE_OLD_ROOT};
#define SANDBOX_PATH_MAX 512

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Normalises an absolute sandbox path (`//`, `/./` and a trailing `/`
 * collapse; `..` is refused, as it could only be resolved against a tree
 * that does not exist yet) and refuses `/` and the reserved paths. On
 * success *out is the normalised copy (the caller frees it). */
static int sandbox_path(const char *what, const char *path, char **out, symbi_error_t *err)
{
	*out = NULL;
	size_t len = strlen(path);
	if (path[0] != '/' || len > SANDBOX_PATH_MAX)
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "%s \"%.200s\" must be an absolute path of at most %d bytes", what,
				  path, SANDBOX_PATH_MAX);
	char *norm = malloc(len + 1), *w = norm;
	if (!norm)
		return symbi_fail_nomem(err);
	for (const char *c = path; *c;) {
		while (*c == '/')
			c++;
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.')) {
			c += n;
			continue;
		}
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			free(norm);
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "%s \"%.200s\" contains '..'; give the path without it", what,
					  path);
		}
		*w++ = '/';
		memcpy(w, c, n);
		w += n;
		c += n;
	}
	*w = '\0';
	if (w == norm) {
		free(norm);
		return symbi_fail(err, SYMBI_E_INVALID, 0, "%s \"%.200s\" must not be /", what, path);
	}
	for (size_t i = 0; i < sizeof(reserved_paths) / sizeof(reserved_paths[0]); i++)
		if (under(norm, reserved_paths[i])) {
			symbi_fail(err, SYMBI_E_INVALID, 0,
				   "%s \"%.200s\" is inside %s, which the native backend reserves; "
				   "choose another path", what, path, reserved_paths[i]);
			free(norm);
			return -1;
		}
	*out = norm;
	return 0;
}

static int parse_id(const char *text, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (errno || end == text || *end || v > 0xfffffffeUL)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* `user` is UID[:GID] or NAME[:GROUP] as known to the host. */
static int resolve_user(const char *user, native_plan_t *p, symbi_error_t *err)
{
	p->uid = NATIVE_DEFAULT_UID;
	p->gid = NATIVE_DEFAULT_GID;
	if (!user)
		return 0;
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", user);
	char *colon = strchr(buf, ':');
	if (colon)
		*colon++ = '\0';
	unsigned id;
	char pwbuf[4096];
	if (parse_id(buf, &id) == 0) {
		p->uid = id;
		p->gid = id;
	} else {
		struct passwd pw, *res = NULL;
		if (getpwnam_r(buf, &pw, pwbuf, sizeof(pwbuf), &res) != 0 || !res)
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "user \"%.100s\" is not known on this host; give a numeric UID", buf);
		p->uid = res->pw_uid;
		p->gid = res->pw_gid;
	}
	if (colon) {
		if (parse_id(colon, &id) == 0) {
			p->gid = id;
		} else {
			struct group gr, *res = NULL;
			if (getgrnam_r(colon, &gr, pwbuf, sizeof(pwbuf), &res) != 0 || !res)
				return symbi_fail(err, SYMBI_E_INVALID, 0,
						  "group \"%.100s\" is not known on this host; give a numeric GID",
						  colon);
			p->gid = res->gr_gid;
		}
	}
	if (p->uid == 0 || p->gid == 0)
		return symbi_fail(err, SYMBI_E_SECURITY, 0,
				  "the native backend runs code as an unprivileged user; uid and gid 0 "
				  "are refused");
	return 0;
}

/* Records the object at the resolved host path, reached through no
 * symlink: the path has none once resolved, so one on the way now means
 * the path changed since it was checked. The mount code then makes sure it
 * binds this object (a swap between here and the mount is caught there). */
static int note_checked_object(native_bind_t *b, const char *spec, symbi_error_t *err)
{
	int fd = symbi_open_no_symlinks(b->source);
	if (fd < 0 && errno == ELOOP)
		return symbi_fail(err, SYMBI_E_SECURITY, ELOOP,
				  "volume \"%.200s\": the host path changed into a symlink while it "
				  "was checked; refusing", spec);
	if (fd < 0)
		return symbi_fail(err, SYMBI_E_INVALID, errno,
				  "volume \"%.200s\": the host path does not exist", spec);
	struct stat st;
	int rc = fstat(fd, &st);
	int e = errno;
	close(fd);
	if (rc < 0)
		return symbi_fail(err, SYMBI_E_SYSTEM, e, "volume \"%.200s\": cannot stat the host path",
				  spec);
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	return 0;
}

static int build_binds(native_plan_t *p, const symbi_config_t *cfg, symbi_error_t *err)
{
	if (cfg->nvolumes == 0)
		return 0;
	p->binds = calloc(cfg->nvolumes, sizeof(*p->binds));
	if (!p->binds)
		return symbi_fail_nomem(err);
	for (size_t i = 0; i < cfg->nvolumes; i++) {
		const symbi_volume_t *vol = &cfg->volumes[i];
		if (vol->named)
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "volume \"%.200s\": the native backend binds host paths only "
					  "(named volumes are a Docker feature)", vol->spec);
		/* The host path is resolved and checked again: it may have
		 * changed since it was set. */
		char resolved[PATH_MAX];
		if (symbi_volume_resolve(vol, resolved, sizeof(resolved), err) < 0)
			return -1;
		native_bind_t *b = &p->binds[p->nbinds++];
		b->read_only = vol->read_only;
		if (!(b->source = strdup(resolved)))
			return symbi_fail_nomem(err);
		/* The blocklist refuses /dev already; the mount code relies on
		 * it (NATIVE_NEW_ROOT hides /dev while volumes are bound). */
		if (under(resolved, NATIVE_NEW_ROOT))
			return symbi_fail(err, SYMBI_E_SECURITY, 0,
					  "volume \"%.200s\": host paths under %s cannot be bound",
					  vol->spec, NATIVE_NEW_ROOT);
		if (note_checked_object(b, vol->spec, err) < 0)
			return -1;
		if (sandbox_path("volume target", vol->target, &b->target, err) < 0)
			return -1;
	}
	/* A target inside another would be created inside that volume, on
	 * the host. */
	for (size_t i = 0; i < p->nbinds; i++)
		for (size_t j = 0; j < p->nbinds; j++)
			if (i != j && under(p->binds[j].target, p->binds[i].target))
				return symbi_fail(err, SYMBI_E_INVALID, 0,
						  "volume target %.200s is inside (or is) volume target %.200s; "
						  "mount the inner path through the outer volume, or choose "
						  "targets that do not nest", p->binds[j].target,
						  p->binds[i].target);
	return 0;
}

static int build_etc(native_plan_t *p, symbi_error_t *err)
{
	char line[512] = "";
	if (p->uid != 65534)
		snprintf(line, sizeof(line), "sandbox:x:%u:%u:sandbox:%s:/bin/sh\n", (unsigned)p->uid,
			 (unsigned)p->gid, p->workdir);
	if (asprintf(&p->passwd, "root:x:0:0:root:/root:/usr/sbin/nologin\n%s"
				 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
		     line) < 0) {
		p->passwd = NULL;
		return symbi_fail_nomem(err);
	}
	line[0] = '\0';
	if (p->gid != 65534)
		snprintf(line, sizeof(line), "sandbox:x:%u:\n", (unsigned)p->gid);
	if (asprintf(&p->group, "root:x:0:\n%snogroup:x:65534:\n", line) < 0) {
		p->group = NULL;
		return symbi_fail_nomem(err);
	}
	return 0;
}

static int push(symbi_strlist_t *l, const char *s, symbi_error_t *err)
{
	return symbi_strlist_push(l, s) < 0 ? symbi_fail_nomem(err) : 0;
}

int native_build_command(symbi_strlist_t *argv, const symbi_config_t *cfg, const char *code,
			 size_t code_len, const char *code_path, bool *code_file, symbi_error_t *err)
{
	const char *interp = symbi_config_interpreter(cfg);
	const char *flag = cfg->lang && strcmp(cfg->lang, "node") == 0 ? "-e" : "-c";
	*code_file = code_len > NATIVE_ARGV_CODE_MAX || memchr(code, '\0', code_len);
	if (push(argv, interp, err) < 0)
		return -1;
	if (*code_file)
		return push(argv, code_path, err);
	char *text = strndup(code, code_len);
	if (!text)
		return symbi_fail_nomem(err);
	int rc = push(argv, flag, err) < 0 ? -1 : push(argv, text, err);
	free(text);
	return rc;
}

static bool env_has(const symbi_env_t *env, const char *key)
{
	for (size_t i = 0; env && i < symbi_env_count(env); i++)
		if (strcmp(symbi_env_key(env, i), key) == 0)
			return true;
	return false;
}

int native_build_env(symbi_strlist_t *envp, const char *home, const symbi_env_t *env,
		     symbi_error_t *err)
{
	if (!env_has(env, "PATH") && push(envp, "PATH=" NATIVE_PATH, err) < 0)
		return -1;
	if (!env_has(env, "HOME") && symbi_strlist_pushf(envp, "HOME=%s", home) < 0)
		return symbi_fail_nomem(err);
	if (!env_has(env, "LANG") && push(envp, "LANG=C.UTF-8", err) < 0)
		return -1;
	for (size_t i = 0; env && i < symbi_env_count(env); i++)
		if (symbi_strlist_pushf(envp, "%s=%s", symbi_env_key(env, i),
					symbi_env_value(env, i)) < 0)
			return symbi_fail_nomem(err);
	return 0;
}

int native_sandbox_path(const char *what, const char *path, char **out, symbi_error_t *err)
{
	return sandbox_path(what, path, out, err);
}

static int read_cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int v = 63;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 63;
		fclose(f);
	}
	return v;
}

int native_plan_build(native_plan_t *p, const symbi_config_t *cfg, const native_filter_t *filter,
		      const char *code, size_t code_len, const symbi_env_t *env, symbi_error_t *err)
{
	memset(p, 0, sizeof(*p));
	p->filter = filter;
	p->code = code;
	p->code_len = code_len;
	/* The run's own ids come later (native_identity_acquire). */
	p->host_uid = geteuid();
	p->host_gid = getegid();
	p->id_mode = p->host_uid == 0 ? NATIVE_ID_RANGE : NATIVE_ID_SHARED;
	p->lock_fd = -1;
	p->cap_last = read_cap_last();
	if (strcmp(cfg->network_mode, "none") == 0)
		p->netns = true;
	else if (strcmp(cfg->network_mode, "host") != 0)
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "network_mode \"%.100s\" is not available on the native backend "
				  "(use none, or host outside production)", cfg->network_mode);
	if (cfg->extra_flags.len)
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "extra_flags are docker flags; the native backend takes none");
	if (resolve_user(cfg->user, p, err) < 0)
		return -1;
	if (sandbox_path("working_dir", cfg->working_dir, &p->workdir, err) < 0)
		return -1;
	if (under(p->workdir, "/tmp"))
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "working_dir must not be inside /tmp on the native backend");
	p->limits.memory_bytes = cfg->memory_bytes;
	p->limits.pids = cfg->pids_limit;
	p->limits.cpus = cfg->cpu_limit;
	p->tmp_size = cfg->tmp_size;
	p->workdir_size = cfg->workdir_size;
	/* Room for the code, /etc files and mount points. */
	p->root_size = code_len + (4u << 20);
	if (build_binds(p, cfg, err) < 0 || build_etc(p, err) < 0 ||
	    native_build_command(&p->argv, cfg, code, code_len, NATIVE_CODE_PATH, &p->code_file,
				 err) < 0 ||
	    native_build_env(&p->envp, p->workdir, env, err) < 0)
		return -1;
	return 0;
}

void native_plan_free(native_plan_t *p)
{
	for (size_t i = 0; i < p->nbinds; i++) {
		free(p->binds[i].source);
		free(p->binds[i].target);
	}
	free(p->binds);
	free(p->workdir);
	free(p->passwd);
	free(p->group);
	symbi_strlist_clear(&p->argv);
	symbi_strlist_clear(&p->envp);
	memset(p, 0, sizeof(*p));
}
