/* The `docker run` command line and the docker client's environment.
 *
 * Two of the reference's flaws are fixed here: environment values never
 * appear in argv (we pass `-e KEY` and the client reads the value from its
 * own environment), and the code is not one argv string (it arrives on
 * stdin and a tiny /bin/sh bootstrap writes it to the container's private
 * /tmp, so code of any size runs). */
#include "backend.h"
#include "docker.h"
#include "../core/error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* $0 is the configured shell; it runs the code file with stdin closed,
 * as the reference's `SHELL -c CODE` did. When the bootstrap itself fails
 * (no such shell in the image, /tmp not writable) it says so on stderr
 * after SYMBI_DOCKER_BOOTSTRAP_MARK and exits 127, so that the failure is
 * reported as the sandbox's, not as the program's. */
#define BOOTSTRAP_FAIL(what) \
	"{ echo \"" SYMBI_DOCKER_BOOTSTRAP_MARK what "\" >&2; exit 127; }"
#define BOOTSTRAP_CHECK_SHELL \
	"command -v \"$0\" >/dev/null 2>&1 || " \
	BOOTSTRAP_FAIL("shell '$0' was not found in the image") "; "
static const char bootstrap_script[] =
	BOOTSTRAP_CHECK_SHELL
	"cat >/tmp/.symbi-code || " BOOTSTRAP_FAIL("cannot write the code to /tmp") "; "
	"exec \"$0\" /tmp/.symbi-code </dev/null";
/* With stdin data the stream is CODE then STDIN; $1 is the code's length.
 * head/tail on a regular file split it exactly (on a pipe they may read
 * ahead). */
static const char bootstrap_script_stdin[] =
	BOOTSTRAP_CHECK_SHELL
	"{ cat >/tmp/.symbi-in && head -c \"$1\" /tmp/.symbi-in >/tmp/.symbi-code && "
	"tail -c +\"$(($1 + 1))\" /tmp/.symbi-in >/tmp/.symbi-stdin && rm -f /tmp/.symbi-in; } || "
	BOOTSTRAP_FAIL("cannot write the code and its input to /tmp") "; "
	"exec \"$0\" /tmp/.symbi-code </tmp/.symbi-stdin";

/* Variables the docker client reads for itself; the sandboxed program may
 * not set them, since they would steer the client (another daemon, another
 * config). */
static const char *const client_variables[] = {
	"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_TLS_VERIFY",
	"DOCKER_CERT_PATH", "DOCKER_API_VERSION", "DOCKER_TLS",
};

/* Variables that the docker client process itself would honour (its
 * executable search for credential helpers, the dynamic loader, the Go
 * runtime, its connection to a TCP daemon): the program's values for them
 * must not reach the client, where they could run code on the host
 * (LD_PRELOAD, a PATH to a planted docker-credential-*), unbound its memory
 * (GOGC=off) or route its API calls through a proxy. They travel as
 * SYMBI_ENV_<NAME> and the bootstrap gives them back their names inside the
 * container. Entries ending in '*' are prefixes. */
#define RENAMED_PREFIX "SYMBI_ENV_"
static const char *const client_process_variables[] = {
	"PATH", "LD_*", "GCONV_PATH", "GLIBC_TUNABLES", "LOCPATH", "NLSPATH", "MALLOC_*",
	"GOGC", "GODEBUG", "GOMAXPROCS", "GOMEMLIMIT", "GOTRACEBACK",
	/* A daemon reached over TCP: proxies and TLS roots. */
	"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
	"all_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR",
};

static bool is_renamed(const char *key)
{
	for (size_t i = 0; i < sizeof(client_process_variables) / sizeof(client_process_variables[0]); i++) {
		const char *v = client_process_variables[i];
		size_t n = strlen(v);
		if (v[n - 1] == '*' ? strncmp(key, v, n - 1) == 0 : strcmp(key, v) == 0)
			return true;
	}
	return false;
}

static bool is_identifier(const char *key)
{
	if (!isalpha((unsigned char)key[0]) && key[0] != '_')
		return false;
	for (const char *p = key; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
	return true;
}

int symbi_docker_env_check(const symbi_env_t *env, symbi_error_t *err)
{
	for (size_t i = 0; i < symbi_env_count(env); i++) {
		const char *key = symbi_env_key(env, i);
		if (strncmp(key, "DOCKER_", 7) == 0)
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "environment variable %.100s is reserved by the docker backend: "
					  "DOCKER_* variables configure the docker client", key);
		if (strncmp(key, RENAMED_PREFIX, strlen(RENAMED_PREFIX)) == 0)
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "environment variable %.100s is reserved by the docker backend: "
					  RENAMED_PREFIX "* carries variables the docker client must not see",
					  key);
		if (is_renamed(key) && !is_identifier(key))
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "environment variable %.100s cannot be passed by the docker "
					  "backend: it is not a shell identifier", key);
	}
	return 0;
}

#define PUSH(...)                                                  \
	do {                                                       \
		if (symbi_strlist_pushf(argv, __VA_ARGS__) < 0)    \
			goto nomem;                                \
	} while (0)

int symbi_docker_build_run_argv(const symbi_config_t *cfg, const char *name,
				const symbi_exec_request_t *req, symbi_strlist_t *argv,
				symbi_error_t *err)
{
	const symbi_env_t *env = req->env;
	PUSH("%s", cfg->docker_binary);
	PUSH("run");
	PUSH("-i");
	PUSH("--name");
	PUSH("%s", name);
	PUSH("--label");
	PUSH("%s=1", SYMBI_DOCKER_LABEL);
	/* Output comes to us through the attach stream; the daemon need not
	 * store a copy (a 1 GB print would otherwise fill its disk). */
	PUSH("--log-driver");
	PUSH("none");
	/* A real init as PID 1: the program gets default signal behaviour
	 * (PID 1 ignores unhandled signals) and orphans are reaped. */
	PUSH("--init");
	if (cfg->memory_limit) {
		PUSH("--memory");
		PUSH("%s", cfg->memory_limit);
		PUSH("--memory-swap");
		PUSH("%s", cfg->memory_limit);
	}
	if (cfg->cpu_limit > 0) {
		PUSH("--cpus");
		PUSH("%g", cfg->cpu_limit);
	}
	if (cfg->pids_limit > 0) {
		PUSH("--pids-limit");
		PUSH("%ld", cfg->pids_limit);
	}
	PUSH("--network");
	PUSH("%s", cfg->network_mode);
	PUSH("--workdir");
	PUSH("%s", cfg->working_dir);
	PUSH("--read-only");
	PUSH("--tmpfs");
	PUSH("%s", SYMBI_TMPFS_OPTIONS);
	PUSH("--security-opt");
	PUSH("no-new-privileges");
	PUSH("--cap-drop");
	PUSH("ALL");
	if (cfg->user) {
		PUSH("--user");
		PUSH("%s", cfg->user);
	}
	/* Our allow list instead of the engine's default profile (which
	 * admits vsock and uevent sockets); gVisor keeps its own, as its
	 * sandbox kernel answers the syscalls. */
	if (cfg->backend == SYMBI_BACKEND_GVISOR) {
		PUSH("--runtime=%s", cfg->runtime_name);
	} else {
		PUSH("--security-opt");
		PUSH("%s", SYMBI_DOCKER_SECCOMP_OPT);
	}
	for (size_t i = 0; i < symbi_env_count(env); i++) {
		const char *key = symbi_env_key(env, i);
		PUSH("-e");
		PUSH("%s%s", is_renamed(key) ? RENAMED_PREFIX : "", key);
	}
	for (size_t i = 0; i < cfg->volumes.len; i++) {
		char *resolved = NULL;
		if (symbi_volume_check(cfg->volumes.items[i], &resolved, err) < 0)
			return -1;
		int rc = symbi_strlist_push(argv, "-v");
		rc = rc < 0 ? rc : symbi_strlist_push(argv, resolved);
		free(resolved);
		if (rc < 0)
			goto nomem;
	}
	for (size_t i = 0; i < cfg->extra_flags.len; i++)
		PUSH("%s", cfg->extra_flags.items[i]);
	PUSH("%s", cfg->image);
	PUSH("/bin/sh");
	PUSH("-c");
	/* The renamed variables get their names back first (keys are
	 * identifiers, checked by symbi_docker_env_check). */
	char *script = NULL;
	size_t script_len = 0;
	FILE *f = open_memstream(&script, &script_len);
	if (!f)
		goto nomem;
	for (size_t i = 0; i < symbi_env_count(env); i++) {
		const char *key = symbi_env_key(env, i);
		if (is_renamed(key) && is_identifier(key))
			fprintf(f, "%s=$" RENAMED_PREFIX "%s; export %s; unset " RENAMED_PREFIX "%s; ",
				key, key, key, key);
	}
	fputs(req->stdin_data ? bootstrap_script_stdin : bootstrap_script, f);
	if (fclose(f) != 0 || symbi_strlist_push(argv, script) < 0) {
		free(script);
		goto nomem;
	}
	free(script);
	PUSH("%s", cfg->shell);
	if (req->stdin_data)
		PUSH("%zu", req->code_len);
	return 0;
nomem:
	return symbi_fail_nomem(err);
}

static bool is_client_variable(const char *entry)
{
	for (size_t i = 0; i < sizeof(client_variables) / sizeof(client_variables[0]); i++) {
		size_t n = strlen(client_variables[i]);
		if (strncmp(entry, client_variables[i], n) == 0 && entry[n] == '=')
			return true;
	}
	return false;
}

int symbi_docker_build_client_env(const symbi_env_t *env, symbi_strlist_t *envp,
				  symbi_error_t *err)
{
	/* The program's variables come first: the client (Go) resolves a
	 * duplicated name to its first entry, and `-e KEY` forwards exactly
	 * that. A HOME meant for the program thus also reaches the client,
	 * which is harmless because its config directory is pinned below
	 * through DOCKER_CONFIG; PATH and the loader's and Go runtime's
	 * variables are renamed (client_process_variables). */
	for (size_t i = 0; i < symbi_env_count(env); i++) {
		const char *key = symbi_env_key(env, i);
		if (symbi_strlist_pushf(envp, "%s%s=%s", is_renamed(key) ? RENAMED_PREFIX : "", key,
					symbi_env_value(env, i)) < 0)
			goto nomem;
	}
	const char *path = getenv("PATH");
	const char *home = getenv("HOME");
	const char *config = getenv("DOCKER_CONFIG");
	if (symbi_strlist_pushf(envp, "PATH=%s", path ? path : "/usr/local/bin:/usr/bin:/bin") < 0)
		goto nomem;
	if (config ? symbi_strlist_pushf(envp, "DOCKER_CONFIG=%s", config) < 0
		   : home ? symbi_strlist_pushf(envp, "DOCKER_CONFIG=%s/.docker", home) < 0 : 0)
		goto nomem;
	if (home && symbi_strlist_pushf(envp, "HOME=%s", home) < 0)
		goto nomem;
	extern char **environ;
	for (char **e = environ; *e; e++) {
		if (strncmp(*e, "DOCKER_CONFIG=", 14) != 0 && is_client_variable(*e) &&
		    symbi_strlist_push(envp, *e) < 0)
			goto nomem;
	}
	return 0;
nomem:
	return symbi_fail_nomem(err);
}
