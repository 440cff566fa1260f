/* The process backend: the reference's "native" runner, which runs code on
 * the host with no isolation at all: an allowlisted interpreter, rlimits,
 * a working directory, its process group killed at the end. Unlike the
 * reference it clears the environment, fixes the system-path check (which
 * refused every directory), passes large code through a memfd, and is
 * refused in production unless SYMBIONT_ALLOW_UNISOLATED is 1 or true. */
#include "extra_flags.h"
#include "../core/error.h"
#include "../core/classify.h"
#include "../core/result.h"
#include "../core/supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROCESS_FSIZE_LIMIT ((rlim_t)100 * 1024 * 1024)
#define PROCESS_ARGV_CODE_MAX (64 * 1024)
#define PROCESS_CODE_FD 3
#define PROCESS_PATH "/usr/local/bin:/usr/bin:/bin"

static const char *const system_paths[] = {
	"/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc",
	"/root", "/run", "/sbin", "/sys", "/usr", "/var/run", "/var/lib",
};

typedef struct process_state {
	char exe[PATH_MAX];     /* resolved executable */
	char workdir[PATH_MAX]; /* resolved working directory */
} process_state_t;

static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* SYMBIONT_ALLOW_UNISOLATED is 1 or true (case-insensitive). */
static bool unisolated_allowed(void)
{
	const char *v = getenv("SYMBIONT_ALLOW_UNISOLATED");
	return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0);
}

static int check_production(symbi_error_t *err)
{
	symbi_error_t parse_err;
	int prod = symbi_is_production(&parse_err);
	if (prod == 0 || unisolated_allowed())
		return 0;
	if (prod < 0)
		return symbi_fail(err, SYMBI_E_SECURITY, 0,
				  "SECURITY: the unisolated process backend is refused: %s",
				  parse_err.message);
	return symbi_fail(err, SYMBI_E_SECURITY, 0,
			  "SECURITY: the process backend runs code without isolation and is refused "
			  "in production; use the native, docker or gvisor backend, or set "
			  "SYMBIONT_ALLOW_UNISOLATED=1 to accept the risk");
}

static int check_executable(const symbi_config_t *cfg, char *out, symbi_error_t *err)
{
	const symbi_strlist_t *allowed = &cfg->allowed_executables;
	if (allowed->len == 0)
		return symbi_fail(err, SYMBI_E_SECURITY, 0,
				  "allowed_executables is empty: list the executables that may run "
				  "(e.g. allowed_executables [\"python3\"])");
	bool ok = false;
	for (size_t i = 0; i < allowed->len && !ok; i++)
		ok = strcmp(cfg->executable, allowed->items[i]) == 0 ||
		     strcmp(base_name(cfg->executable), base_name(allowed->items[i])) == 0;
	if (!ok)
		return symbi_fail(err, SYMBI_E_SECURITY, 0,
				  "executable \"%.200s\" is not in allowed_executables", cfg->executable);
	if (strchr(cfg->executable, '/')) {
		if (access(cfg->executable, X_OK) < 0)
			return symbi_fail(err, SYMBI_E_UNAVAILABLE, errno, "cannot execute \"%.200s\"",
					  cfg->executable);
		snprintf(out, PATH_MAX, "%s", cfg->executable);
		return 0;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = PROCESS_PATH;
	while (*path) {
		size_t n = strcspn(path, ":");
		if (n > 0 && n + 2 + strlen(cfg->executable) < PATH_MAX) {
			snprintf(out, PATH_MAX, "%.*s/%s", (int)n, path, cfg->executable);
			if (access(out, X_OK) == 0)
				return 0;
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return symbi_fail(err, SYMBI_E_UNAVAILABLE, ENOENT,
			  "executable \"%.200s\" was not found in PATH", cfg->executable);
}

static int check_system_path(const char *path, const char *what, symbi_error_t *err)
{
	if (strcmp(path, "/") == 0)
		return symbi_fail(err, SYMBI_E_SECURITY, 0, "working_directory %s is the root directory",
				  what);
	for (size_t i = 0; i < sizeof(system_paths) / sizeof(system_paths[0]); i++)
		if (path_under(path, system_paths[i]))
			return symbi_fail(err, SYMBI_E_SECURITY, 0,
					  "working_directory %s \"%.200s\" is inside the system path %s",
					  what, path, system_paths[i]);
	return 0;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

static int check_workdir(const symbi_config_t *cfg, char *out, symbi_error_t *err)
{
	const char *wd = cfg->working_directory;
	if (wd[0] != '/' || strstr(wd, "/.."))
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "working_directory \"%.200s\" must be absolute, without '..'", wd);
	if (check_system_path(wd, "", err) < 0)
		return -1;
	if (mkdir_p(wd) < 0)
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot create working_directory \"%.200s\"",
				  wd);
	if (!realpath(wd, out))
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot resolve working_directory \"%.200s\"",
				  wd);
	return check_system_path(out, "(after resolving symlinks)", err);
}

static int process_create(const symbi_config_t *cfg, void **state, symbi_error_t *err)
{
	*state = NULL;
	if (check_production(err) < 0)
		return -1;
	process_state_t *st = calloc(1, sizeof(*st));
	if (!st)
		return symbi_fail_nomem(err);
	if (check_executable(cfg, st->exe, err) < 0 || check_workdir(cfg, st->workdir, err) < 0) {
		free(st);
		return -1;
	}
	*state = st;
	return 0;
}

static void process_destroy(void *state)
{
	free(state);
}

struct process_run {
	const symbi_config_t *cfg;
	const process_state_t *st;
	char *const *argv, *const *envp;
	int code_fd;
	pid_t pid;
};

/* (RLIMIT_CPU gets a hard limit one second above: SIGXCPU, then SIGKILL.) */
static int set_limit(int resource, rlim_t value)
{
	struct rlimit rl = {value, value};
	return setrlimit(resource, &rl);
}

/* A plain fork: the child makes only system calls before exec. */
static int process_spawn(void *ctx, const int stdio[3], pid_t *pid, symbi_error_t *err)
{
	struct process_run *r = ctx;
	pid_t child = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (child < 0)
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "fork");
	if (child == 0) {
		int in = stdio[0] >= 0 ? stdio[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (in < 0 || dup2(in, 0) < 0 || dup2(stdio[1], 1) < 0 || dup2(stdio[2], 2) < 0)
			_exit(127);
		if (r->code_fd >= 0 && dup2(r->code_fd, PROCESS_CODE_FD) < 0)
			_exit(127);
		syscall(SYS_close_range, r->code_fd >= 0 ? PROCESS_CODE_FD + 1 : 3, ~0U, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (int s = 1; s < NSIG; s++)
			signal(s, SIG_DFL);
		setpgid(0, 0);
		if (set_limit(RLIMIT_FSIZE, PROCESS_FSIZE_LIMIT) < 0 || set_limit(RLIMIT_CORE, 0) < 0)
			_exit(127);
		if (r->cfg->enforce_resource_limits &&
		    (set_limit(RLIMIT_AS, (rlim_t)r->cfg->max_memory_mb * 1024 * 1024) < 0 ||
		     setrlimit(RLIMIT_CPU, &(struct rlimit){(rlim_t)r->cfg->max_cpu_seconds,
							    (rlim_t)r->cfg->max_cpu_seconds + 1}) < 0))
			_exit(127);
		if (chdir(r->st->workdir) < 0)
			_exit(127);
		execve(r->st->exe, r->argv, r->envp);
		_exit(127);
	}
	r->pid = child;
	setpgid(child, child); /* no race with the child's own call */
	*pid = child;
	return 0;
}

static void process_on_timeout(void *ctx)
{
	struct process_run *r = ctx;
	if (r->pid > 0)
		kill(-r->pid, SIGKILL);
}

static const char *code_flag(const char *exe)
{
	const char *b = base_name(exe);
	if (strcmp(b, "node") == 0 || strcmp(b, "nodejs") == 0)
		return "-e";
	return "-c"; /* python, python3 and every shell */
}

static int build_argv(const process_state_t *st, const symbi_exec_request_t *req,
		      symbi_strlist_t *argv, int *code_fd, symbi_error_t *err)
{
	*code_fd = -1;
	if (symbi_strlist_push(argv, st->exe) < 0)
		return symbi_fail_nomem(err);
	if (req->code_len <= PROCESS_ARGV_CODE_MAX && !memchr(req->code, '\0', req->code_len)) {
		if (symbi_strlist_push(argv, code_flag(st->exe)) < 0 ||
		    symbi_strlist_pushf(argv, "%.*s", (int)req->code_len, req->code) < 0)
			return symbi_fail_nomem(err);
		return 0;
	}
	/* Too big for one argv string: the interpreter reads it from a
	 * sealed memfd, so no file is left anywhere. */
	int fd = memfd_create("symbi-code", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "memfd_create");
	for (size_t off = 0; off < req->code_len;) {
		ssize_t n = write(fd, req->code + off, req->code_len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot write the code to a memfd");
		}
		off += (size_t)n;
	}
	fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
	*code_fd = fd;
	if (symbi_strlist_pushf(argv, "/dev/fd/%d", PROCESS_CODE_FD) < 0)
		return symbi_fail_nomem(err);
	return 0;
}

static int build_envp(const process_state_t *st, const symbi_env_t *env, symbi_strlist_t *envp,
		      symbi_error_t *err)
{
	const char *defaults[3][2] = {{"PATH", PROCESS_PATH}, {"HOME", st->workdir},
				      {"LANG", "C.UTF-8"}};
	for (int d = 0; d < 3; d++) {
		bool set = false;
		for (size_t i = 0; env && i < symbi_env_count(env); i++)
			set = set || strcmp(symbi_env_key(env, i), defaults[d][0]) == 0;
		if (!set && symbi_strlist_pushf(envp, "%s=%s", defaults[d][0], defaults[d][1]) < 0)
			return symbi_fail_nomem(err);
	}
	for (size_t i = 0; env && i < symbi_env_count(env); i++)
		if (symbi_strlist_pushf(envp, "%s=%s", symbi_env_key(env, i), symbi_env_value(env, i)) < 0)
			return symbi_fail_nomem(err);
	return 0;
}

static int process_execute(void *state, const symbi_config_t *cfg, const symbi_exec_request_t *req,
			   symbi_result_t **out, symbi_error_t *err)
{
	process_state_t *st = state;
	if (check_production(err) < 0)
		return -1;
	symbi_strlist_t argv = {0}, envp = {0};
	int code_fd = -1, rc = -1;
	if (build_argv(st, req, &argv, &code_fd, err) < 0 || build_envp(st, req->env, &envp, err) < 0)
		goto done;
	struct process_run r = {.cfg = cfg, .st = st, .argv = argv.items, .envp = envp.items,
				.code_fd = code_fd, .pid = -1};
	symbi_supervise_opts_t o = {
		.path = st->exe, .argv = argv.items, .envp = envp.items,
		.input = req->stdin_data, .input_len = req->stdin_len,
		.max_output_bytes = cfg->max_output_bytes, .timeout_ms = cfg->timeout_ms,
		.on_timeout = process_on_timeout, .ctx = &r, .kill_grace_ms = 0,
		.cancel_fd = req->cancel_fd, .spawn = process_spawn,
	};
	symbi_supervise_outcome_t oc;
	symbi_error_t run_err = {0};
	if (symbi_supervise(&o, &oc, &run_err) < 0) {
		*out = symbi_result_new_error(run_err.message, 0);
		rc = *out ? 0 : symbi_fail_nomem(err);
		goto done;
	}
	/* The reference's process-group kill: what stayed in the group dies
	 * (a daemon that left it with setsid escapes; see README). */
	if (r.pid > 0)
		kill(-r.pid, SIGKILL);
	symbi_result_t *res = symbi_result_from_outcome(&oc);
	symbi_stream_free(&oc.out);
	symbi_stream_free(&oc.err);
	if (!res) {
		symbi_fail_nomem(err);
		goto done;
	}
	symbi_run_facts_t facts = {.timeout_ms = cfg->timeout_ms, .have_status = true,
				   .wait_status = oc.wait_status};
	int c = symbi_classify(&oc, &facts, res, err);
	if (c < 0) {
		symbi_result_free(res);
		goto done;
	}
	*out = res;
	rc = 0;
done:
	if (code_fd >= 0)
		close(code_fd);
	symbi_strlist_clear(&argv);
	symbi_strlist_clear(&envp);
	return rc;
}

/* lang, which would pick another program than `executable`, is refused
 * here by the field table (config_fields.c), like every field this backend
 * ignores. */
const symbi_backend_ops_t symbi_backend_process = {
	.name = "process",
	.warning = "WARNING: the 'process' backend runs code UNISOLATED on this host, as this "
		   "user, with only rlimits: use it only where namespaces are unavailable",
	.create = process_create,
	.execute = process_execute,
	.destroy = process_destroy,
	.check_config = symbi_extra_flags_check_config,
	.check_field = symbi_extra_flags_check_field,
};
