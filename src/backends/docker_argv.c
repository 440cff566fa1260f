/* The `docker run` command line and the docker client's environment.
 *
 * Two of the reference's flaws are fixed here: environment values never
 * appear in argv (we pass `-e SYMBI_ENV_KEY` and the client reads the value
 * from its own environment), and the code is not one argv string (it arrives on
 * stdin and a tiny /bin/sh bootstrap writes it to the container's private
 * /tmp, so code of any size runs). */
#include "../core/backend.h"
#include "docker.h"
#include "../core/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The bootstrap. The first line on its stdin is a per-run secret (the
 * program never sees it: it is not in any argv, not exported, and the
 * shell holding it is replaced by the program), then the code, then the
 * program's stdin data. $0 is the configured shell, or lang's interpreter
 * (symbi_config_interpreter: python3 for python); it runs the code file
 * with stdin closed, as the reference's `SHELL -c CODE` did. When the
 * bootstrap itself fails (no such shell in the image, /tmp not writable) it
 * says so on stderr after SYMBI_DOCKER_BOOTSTRAP_MARK and the secret, and
 * exits 127, so that the failure is reported as the sandbox's, not as the
 * program's; a program printing the marker cannot know the secret.
 *
 * The secret is held in SYMBI_ENV_, the one name the program's renamed
 * variables can never take (a key cannot be empty), and is unset before
 * the program starts. */
#define BOOTSTRAP_FAIL(what) \
	"{ echo \"" SYMBI_DOCKER_BOOTSTRAP_MARK "$SYMBI_ENV_: " what "\" >&2; exit 127; }"
#define BOOTSTRAP_READ_SECRET "IFS= read -r SYMBI_ENV_ || exit 127; "
#define BOOTSTRAP_CHECK_SHELL \
	"command -v \"$0\" >/dev/null 2>&1 || " \
	BOOTSTRAP_FAIL("shell '$0' was not found in the image") "; unset SYMBI_ENV_; "
static const char bootstrap_write_code[] =
	BOOTSTRAP_READ_SECRET
	"cat >/tmp/.symbi-code || " BOOTSTRAP_FAIL("cannot write the code to /tmp") "; ";
static const char bootstrap_exec_code[] =
	BOOTSTRAP_CHECK_SHELL "exec \"$0\" /tmp/.symbi-code </dev/null";
/* Code that fits in an argument runs as `$0 -c CODE` (the reference's
 * `SHELL -c CODE`, and what an exec into a live sandbox runs), so that the
 * shell's messages name it the same way ("sh: line 1: ..."), and the one-shot
 * run gives the results of start + exec + stop. %s is the interpreter's
 * flag (symbi_config_code_flag). */
static const char bootstrap_exec_code_arg[] =
	BOOTSTRAP_CHECK_SHELL "exec \"$0\" %s \"$(cat /tmp/.symbi-code)\" </dev/null";
/* With stdin data the stream is CODE then STDIN; $1 is the code's length.
 * head/tail on a regular file split it exactly (on a pipe they may read
 * ahead). */
static const char bootstrap_write_code_stdin[] =
	BOOTSTRAP_READ_SECRET
	"{ cat >/tmp/.symbi-in && head -c \"$1\" /tmp/.symbi-in >/tmp/.symbi-code && "
	"tail -c +\"$(($1 + 1))\" /tmp/.symbi-in >/tmp/.symbi-stdin && rm -f /tmp/.symbi-in; } || "
	BOOTSTRAP_FAIL("cannot write the code and its input to /tmp") "; ";
static const char bootstrap_exec_code_stdin[] =
	BOOTSTRAP_CHECK_SHELL "exec \"$0\" /tmp/.symbi-code </tmp/.symbi-stdin";
static const char bootstrap_exec_code_arg_stdin[] =
	BOOTSTRAP_CHECK_SHELL "exec \"$0\" %s \"$(cat /tmp/.symbi-code)\" </tmp/.symbi-stdin";

/* Under gVisor the bootstrap above runs under an outer shell that waits for
 * the program and records its exit as the last line on stderr (see
 * gvisor_exit.c), so that a run whose sandbox died is told apart from a
 * program exiting with the same status. Its own secret is the first line
 * on stdin (the inner bootstrap never holds it, and the outer never holds
 * the inner's). The outer's own stderr is /dev/null, so that the shell's
 * job reports ("Killed") never reach the program's stderr; the inner
 * takes the real one back from fd 3 and closes that. Before writing, the
 * outer kills every other process of the sandbox, so that nothing the
 * program left behind can write after the line. */
static const char gvisor_outer[] =
	"unset SYMBI_EXIT_; IFS= read -r SYMBI_EXIT_ || exit 127; exec 3>&2 2>/dev/null; "
	"/bin/sh -c \"$1\" \"$0\" ${2+\"$2\"}; s=$?; kill -KILL -1; "
	"echo \"" SYMBI_DOCKER_BOOTSTRAP_MARK "$SYMBI_EXIT_" SYMBI_GVISOR_EXIT_WORD "$s\" >&3; exit $s";
static const char gvisor_inner_stderr[] = "exec 2>&3 3>&-; ";

/* Every variable of the program travels to the docker client as
 * SYMBI_ENV_<KEY>, and the bootstrap gives it back its name inside the
 * container. The client process thus never sees a variable it would
 * honour itself under the program's control: HOME (its config directory),
 * PATH (credential helpers), the loader's LD_*, the Go runtime's GO*, proxy
 * settings. Keys are identifiers (symbi_env_set), so they are safe in the
 * bootstrap's text. */
#define RENAMED_PREFIX "SYMBI_ENV_"

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
					  RENAMED_PREFIX "* carries the program's variables past the docker "
					  "client", key);
	}
	return 0;
}

#define PUSH(...)                                                  \
	do {                                                       \
		if (symbi_strlist_pushf(argv, __VA_ARGS__) < 0)    \
			goto nomem;                                \
	} while (0)

/* Is `path` (a container path) one of the -v destinations or /tmp? Then
 * an image VOLUME there is already covered. */
static bool mount_point_taken(const symbi_docker_run_plan_t *plan, const char *path)
{
	if (strcmp(path, "/tmp") == 0 || strcmp(path, "/dev") == 0)
		return true;
	for (size_t i = 0; plan->volumes && i < plan->volumes->nmounts; i++)
		if (strcmp(plan->volumes->mounts[i].target, path) == 0)
			return true;
	return false;
}

/* `docker run` and every flag of the container's confinement, up to and
 * including the image: the same for a one-shot run (attached, -i) and a
 * live sandbox's container (detached, -d; plan->live). */
static int push_container(const symbi_config_t *cfg, const symbi_docker_run_plan_t *plan,
			  const symbi_env_t *env, symbi_strlist_t *argv, symbi_error_t *err)
{
	bool gvisor = cfg->backend == SYMBI_BACKEND_GVISOR;
	PUSH("%s", cfg->docker_binary);
	PUSH("run");
	PUSH(plan->live ? "-d" : "-i");
	PUSH("--name");
	PUSH("%s", plan->name);
	PUSH("--label");
	PUSH("%s=1", SYMBI_DOCKER_LABEL);
	if (plan->deadline > 0) {
		PUSH("--label");
		PUSH("%s=%lld", SYMBI_DOCKER_LABEL_DEADLINE, plan->deadline);
	}
	PUSH("--label");
	PUSH("%s=%s", SYMBI_DOCKER_LABEL_OWNER, plan->owner);
	if (!cfg->auto_remove && !plan->live) {
		PUSH("--label");
		PUSH("%s=1", SYMBI_DOCKER_LABEL_KEEP);
	}
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
	if (cfg->pids_limit > 0 && !gvisor) {
		PUSH("--pids-limit");
		PUSH("%ld", cfg->pids_limit);
	} else if (cfg->pids_limit > 0) {
		/* gVisor's kernel counts the program's processes (RLIMIT_NPROC,
		 * which it enforces whatever the uid); the host's pids limit
		 * would also count gVisor's own tasks (about 50 idle, and about
		 * 9 per program process on the ptrace platform) and crash the
		 * sandbox when it bites, so it is only a backstop. */
		PUSH("--ulimit");
		PUSH("nproc=%ld", cfg->pids_limit);
		PUSH("--pids-limit");
		PUSH("%ld", SYMBI_GVISOR_HOST_PIDS(cfg->pids_limit));
	}
	PUSH("--network");
	PUSH("%s", cfg->network_mode);
	/* The container sees its cgroup at "/", not the host's hierarchy and
	 * its own id (on cgroup v1 docker's default namespace is the host's);
	 * the same in a one-shot run and a live sandbox. */
	PUSH("--cgroupns");
	PUSH("private");
	PUSH("--workdir");
	PUSH("%s", cfg->working_dir);
	PUSH("--read-only");
	/* /tmp is capped by tmp_size, as on the native backend ("100m" by
	 * default; docker takes a byte count too). */
	PUSH("--tmpfs");
	if (cfg->tmp_size % (1024 * 1024) == 0)
		PUSH("/tmp:rw,noexec,nosuid,size=%" PRIu64 "m", cfg->tmp_size / (1024 * 1024));
	else
		PUSH("/tmp:rw,noexec,nosuid,size=%" PRIu64, cfg->tmp_size);
	/* docker's own /dev is a writable tmpfs without noexec; replacing it
	 * drops its /dev/shm too, which gets the same treatment as /tmp. */
	PUSH("--tmpfs");
	PUSH("%s", SYMBI_DOCKER_DEV_TMPFS);
	PUSH("--tmpfs");
	PUSH("%s", SYMBI_DOCKER_SHM_TMPFS);
	for (size_t i = 0; plan->image_volumes && i < plan->image_volumes->len; i++) {
		const char *path = plan->image_volumes->items[i];
		if (mount_point_taken(plan, path))
			continue;
		PUSH("--tmpfs");
		PUSH("%s:%s", path, SYMBI_DOCKER_IMAGE_VOLUME_TMPFS);
	}
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
	if (gvisor) {
		PUSH("--runtime=%s", cfg->runtime_name);
	} else {
		PUSH("--security-opt");
		PUSH("%s", SYMBI_DOCKER_SECCOMP_OPT);
	}
	for (size_t i = 0; i < symbi_env_count(env); i++) {
		const char *key = symbi_env_key(env, i);
		PUSH("-e");
		PUSH(RENAMED_PREFIX "%s", key);
	}
	for (size_t i = 0; plan->volumes && i < plan->volumes->nmounts; i++) {
		const symbi_docker_mount_t *m = &plan->volumes->mounts[i];
		PUSH("-v");
		PUSH("%s:%s%s%s", m->source, m->target, m->mode ? ":" : "", m->mode ? m->mode : "");
	}
	/* --pull is ours to act on (the image is run by the ID we inspected). */
	for (size_t i = 0; i < cfg->extra_flags.len; i++) {
		const char *flag = cfg->extra_flags.items[i];
		if (strcmp(flag, "--pull") == 0) {
			i++;
			continue;
		}
		if (strncmp(flag, "--pull=", 7) != 0)
			PUSH("%s", flag);
	}
	PUSH("%s", plan->image);
	return 0;
nomem:
	return symbi_fail_nomem(err);
}

int symbi_docker_build_live_argv(const symbi_config_t *cfg, const symbi_docker_run_plan_t *plan,
				 symbi_strlist_t *argv, symbi_error_t *err)
{
	if (push_container(cfg, plan, NULL, argv, err) < 0)
		return -1;
	/* The container's main process only waits (docker-init, from --init,
	 * is PID 1 above it); processes come by exec. sleep takes no
	 * "infinity" in busybox: 2^31-1 seconds is 68 years. */
	PUSH("sleep");
	PUSH("2147483647");
	return 0;
nomem:
	return symbi_fail_nomem(err);
}

int symbi_docker_build_run_argv(const symbi_config_t *cfg, const symbi_docker_run_plan_t *plan,
				const symbi_exec_request_t *req, symbi_strlist_t *argv,
				symbi_error_t *err)
{
	const symbi_env_t *env = req->env;
	bool gvisor = cfg->backend == SYMBI_BACKEND_GVISOR;
	if (push_container(cfg, plan, env, argv, err) < 0)
		return -1;
	PUSH("/bin/sh");
	PUSH("-c");
	const char *interp = symbi_config_interpreter(cfg);
	if (gvisor) {
		PUSH("%s", gvisor_outer);
		PUSH("%s", interp);
	}
	/* The code is written while the image's own PATH and IFS hold; the
	 * variables get their names back just before the program starts. */
	char *script = NULL;
	size_t script_len = 0;
	FILE *f = open_memstream(&script, &script_len);
	if (!f)
		goto nomem;
	if (gvisor)
		fputs(gvisor_inner_stderr, f);
	fputs(req->stdin_data ? bootstrap_write_code_stdin : bootstrap_write_code, f);
	for (size_t i = 0; i < symbi_env_count(env); i++) {
		const char *key = symbi_env_key(env, i);
		fprintf(f, "%s=$" RENAMED_PREFIX "%s; export %s; unset " RENAMED_PREFIX "%s; ",
			key, key, key, key);
	}
	/* As an argument only what the kernel takes as one (128 KiB) and a
	 * command substitution keeps (no NUL); the rest runs from the file. */
	if (req->code_len <= SYMBI_DOCKER_CODE_ARG_MAX && !memchr(req->code, '\0', req->code_len))
		fprintf(f, req->stdin_data ? bootstrap_exec_code_arg_stdin : bootstrap_exec_code_arg,
			symbi_config_code_flag(cfg));
	else
		fputs(req->stdin_data ? bootstrap_exec_code_stdin : bootstrap_exec_code, f);
	if (fclose(f) != 0 || symbi_strlist_push(argv, script) < 0) {
		free(script);
		goto nomem;
	}
	free(script);
	if (!gvisor)
		PUSH("%s", interp);
	if (req->stdin_data)
		PUSH("%zu", req->code_len);
	return 0;
nomem:
	return symbi_fail_nomem(err);
}

/* Variables by which the operator points the docker client at its daemon;
 * taken from our own environment, never from the program's. */
static const char *const daemon_variables[] = {
	"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH",
	"DOCKER_API_VERSION", "DOCKER_TLS",
};

static bool is_daemon_variable(const char *entry)
{
	for (size_t i = 0; i < sizeof(daemon_variables) / sizeof(daemon_variables[0]); i++) {
		size_t n = strlen(daemon_variables[i]);
		if (strncmp(entry, daemon_variables[i], n) == 0 && entry[n] == '=')
			return true;
	}
	return false;
}

/* The client's configuration directory: the operator's DOCKER_CONFIG, or
 * the .docker of our own HOME, or else a directory that does not exist
 * under a root-owned parent, so that no sandbox can plant one there. Never
 * the program's HOME. */
static int push_docker_config(symbi_strlist_t *envp)
{
	const char *config = getenv("DOCKER_CONFIG");
	const char *home = getenv("HOME");
	if (config && config[0] == '/')
		return symbi_strlist_pushf(envp, "DOCKER_CONFIG=%s", config);
	if (home && home[0] == '/')
		return symbi_strlist_pushf(envp, "DOCKER_CONFIG=%s/.docker", home);
	return symbi_strlist_pushf(envp, "DOCKER_CONFIG=%s", SYMBI_DOCKER_NO_CONFIG);
}

int symbi_docker_control_env(symbi_strlist_t *envp, symbi_error_t *err)
{
	if (symbi_strlist_push(envp, "PATH=" SYMBI_DOCKER_CONTROL_PATH) < 0 ||
	    push_docker_config(envp) < 0)
		goto nomem;
	extern char **environ;
	for (char **e = environ; *e; e++) {
		if (is_daemon_variable(*e) && symbi_strlist_push(envp, *e) < 0)
			goto nomem;
	}
	return 0;
nomem:
	return symbi_fail_nomem(err);
}

int symbi_docker_build_client_env(const symbi_env_t *env, symbi_strlist_t *envp,
				  symbi_error_t *err)
{
	for (size_t i = 0; i < symbi_env_count(env); i++) {
		if (symbi_strlist_pushf(envp, RENAMED_PREFIX "%s=%s", symbi_env_key(env, i),
					symbi_env_value(env, i)) < 0)
			return symbi_fail_nomem(err);
	}
	return symbi_docker_control_env(envp, err);
}
