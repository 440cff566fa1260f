/* `symbi-sandbox run`: options -> config, code -> library, result -> the
 * terminal or one JSON object. No sandbox logic lives here. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <symbi/sandbox.h>

static void run_usage(FILE *out)
{
	fputs("Usage: symbi-sandbox run [OPTIONS] [CODE]\n"
	      "\n"
	      "Runs CODE as `SHELL -c CODE` in a sandbox. Without CODE, the code is read\n"
	      "from --file, or from standard input.\n"
	      "\n"
	      "Sandbox options (each sets the configuration field named in brackets):\n"
	      "  -b, --backend NAME       docker, gvisor, native or process   [backend]\n"
	      "  -i, --image IMAGE        container image                     [image]\n"
	      "  -s, --shell SHELL        interpreter of the code (sh)        [shell]\n"
	      "  -m, --memory SIZE        memory limit, e.g. 512m; none       [memory_limit]\n"
	      "      --cpus N             CPU limit, e.g. 0.5; none           [cpu_limit]\n"
	      "  -t, --timeout SECONDS    wall-clock limit (300)              [max_execution_time]\n"
	      "  -n, --network MODE       none, bridge, host, container:NAME  [network_mode]\n"
	      "  -v, --volume H:C[:MODE]  mount a host path (repeatable)      [volumes]\n"
	      "  -w, --workdir DIR        working directory (/workspace)      [working_dir]\n"
	      "  -e, --env KEY=VALUE      set a variable; KEY alone takes the value\n"
	      "                           from this environment (repeatable)\n"
	      "      --max-output BYTES   cap per stream (10m)                [max_output_bytes]\n"
	      "      --pids-limit N       process limit (256); none           [pids_limit]\n"
	      "  -u, --user USER[:GROUP]  user inside the sandbox             [user]\n"
	      "      --docker-binary PATH docker client (docker)              [docker_binary]\n"
	      "      --runtime-name NAME  gVisor's runtime in docker (runsc)  [runtime_name]\n"
	      "      --runsc-binary PATH  runsc for the start-up check        [runsc_binary]\n"
	      "      --keep               keep the container after a normal exit [auto_remove]\n"
	      "      --extra-flag FLAG    extra `docker run` flag (repeatable; allowlisted)\n"
	      "                                                               [extra_flags]\n"
	      "      --allow-named-volume NAME  a named volume that -v may mount\n"
	      "                           (repeatable; none by default) [allowed_named_volumes]\n"
	      "      --allow-writable-volume-paths  let -v mount a host path with a\n"
	      "                           component others than root can write\n"
	      "                                               [allow_writable_volume_paths]\n"
	      "  -c, --config FILE.json   load fields from a JSON object first\n"
	      "\n"
	      "Native backend:\n"
	      "  -l, --lang LANG          run the code with sh, bash, python or node\n"
	      "                           instead of SHELL -c                 [lang]\n"
	      "      --tmp-size SIZE      cap of the /tmp tmpfs (100m)        [tmp_size]\n"
	      "      --workdir-size SIZE  cap of the working directory (100m) [workdir_size]\n"
	      "      --weak-limits        without cgroups (unprivileged, no delegated cgroup),\n"
	      "                           run with memory and pids limits as per-process\n"
	      "                           rlimits instead of refusing (prints a warning)\n"
	      "                                                               [weak_limits]\n"
	      "      --id-range BASE:COUNT  host uids/gids for runs as root, one per\n"
	      "                           live run (1879048192:65536)       [native_id_range]\n"
	      "\n"
	      "Process backend (unisolated; refused in production):\n"
	      "      --executable EXE     interpreter (bash)                  [executable]\n"
	      "      --allow-executable EXE  may run (repeatable; required)   [allowed_executables]\n"
	      "      --working-directory DIR  (/tmp/symbiont-native)          [working_directory]\n"
	      "      --max-memory-mb N    RLIMIT_AS in MiB (2048)             [max_memory_mb]\n"
	      "      --max-cpu-seconds N  RLIMIT_CPU (300)                    [max_cpu_seconds]\n"
	      "\n"
	      "Input and output:\n"
	      "  -f, --file FILE          read the code from FILE ('-' = stdin)\n"
	      "      --stdin FILE         feed FILE to the program's standard input\n"
	      "      --json               print one JSON result object instead of the output\n"
	      "  -h, --help               show this help\n"
	      "\n"
	      "Exit status: the program's; 124 on timeout; 125 if the sandbox could not\n"
	      "run the code (the reason is on stderr); 128+N if the program died of\n"
	      "signal N (137 when killed for exceeding the memory limit).\n",
	      out);
}

enum {
	OPT_CPUS = 256, OPT_MAX_OUTPUT, OPT_PIDS, OPT_DOCKER_BINARY, OPT_RUNTIME_NAME,
	OPT_RUNSC_BINARY, OPT_KEEP, OPT_EXTRA_FLAG, OPT_STDIN, OPT_JSON,
	OPT_TMP_SIZE, OPT_WORKDIR_SIZE, OPT_EXECUTABLE, OPT_ALLOW_EXECUTABLE, OPT_WORKING_DIRECTORY,
	OPT_MAX_MEMORY_MB, OPT_MAX_CPU_SECONDS, OPT_WEAK_LIMITS, OPT_ALLOW_NAMED_VOLUME,
	OPT_ALLOW_WRITABLE_VOLUME_PATHS, OPT_ID_RANGE,
};

static const struct option run_options[] = {
	{"backend", required_argument, NULL, 'b'},
	{"image", required_argument, NULL, 'i'},
	{"shell", required_argument, NULL, 's'},
	{"memory", required_argument, NULL, 'm'},
	{"cpus", required_argument, NULL, OPT_CPUS},
	{"timeout", required_argument, NULL, 't'},
	{"network", required_argument, NULL, 'n'},
	{"volume", required_argument, NULL, 'v'},
	{"workdir", required_argument, NULL, 'w'},
	{"env", required_argument, NULL, 'e'},
	{"max-output", required_argument, NULL, OPT_MAX_OUTPUT},
	{"pids-limit", required_argument, NULL, OPT_PIDS},
	{"user", required_argument, NULL, 'u'},
	{"docker-binary", required_argument, NULL, OPT_DOCKER_BINARY},
	{"runtime-name", required_argument, NULL, OPT_RUNTIME_NAME},
	{"runsc-binary", required_argument, NULL, OPT_RUNSC_BINARY},
	{"keep", no_argument, NULL, OPT_KEEP},
	{"extra-flag", required_argument, NULL, OPT_EXTRA_FLAG},
	{"config", required_argument, NULL, 'c'},
	{"file", required_argument, NULL, 'f'},
	{"stdin", required_argument, NULL, OPT_STDIN},
	{"json", no_argument, NULL, OPT_JSON},
	{"lang", required_argument, NULL, 'l'},
	{"tmp-size", required_argument, NULL, OPT_TMP_SIZE},
	{"workdir-size", required_argument, NULL, OPT_WORKDIR_SIZE},
	{"weak-limits", no_argument, NULL, OPT_WEAK_LIMITS},
	{"id-range", required_argument, NULL, OPT_ID_RANGE},
	{"executable", required_argument, NULL, OPT_EXECUTABLE},
	{"allow-executable", required_argument, NULL, OPT_ALLOW_EXECUTABLE},
	{"working-directory", required_argument, NULL, OPT_WORKING_DIRECTORY},
	{"max-memory-mb", required_argument, NULL, OPT_MAX_MEMORY_MB},
	{"max-cpu-seconds", required_argument, NULL, OPT_MAX_CPU_SECONDS},
	{"allow-named-volume", required_argument, NULL, OPT_ALLOW_NAMED_VOLUME},
	{"allow-writable-volume-paths", no_argument, NULL, OPT_ALLOW_WRITABLE_VOLUME_PATHS},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};
static const char run_shortopts[] = "+b:i:s:m:t:n:v:w:e:u:c:f:l:h";

/* Options that set one configuration field directly. */
static const char *field_for_option(int opt)
{
	switch (opt) {
	case 'b': return "backend";
	case 'i': return "image";
	case 's': return "shell";
	case 'm': return "memory_limit";
	case OPT_CPUS: return "cpu_limit";
	case 't': return "max_execution_time";
	case 'n': return "network_mode";
	case 'v': return "volumes";
	case 'w': return "working_dir";
	case OPT_MAX_OUTPUT: return "max_output_bytes";
	case OPT_PIDS: return "pids_limit";
	case 'u': return "user";
	case OPT_DOCKER_BINARY: return "docker_binary";
	case OPT_RUNTIME_NAME: return "runtime_name";
	case OPT_RUNSC_BINARY: return "runsc_binary";
	case OPT_EXTRA_FLAG: return "extra_flags";
	case 'l': return "lang";
	case OPT_TMP_SIZE: return "tmp_size";
	case OPT_WORKDIR_SIZE: return "workdir_size";
	case OPT_ID_RANGE: return "native_id_range";
	case OPT_EXECUTABLE: return "executable";
	case OPT_ALLOW_EXECUTABLE: return "allowed_executables";
	case OPT_ALLOW_NAMED_VOLUME: return "allowed_named_volumes";
	case OPT_WORKING_DIRECTORY: return "working_directory";
	case OPT_MAX_MEMORY_MB: return "max_memory_mb";
	case OPT_MAX_CPU_SECONDS: return "max_cpu_seconds";
	default: return NULL;
	}
}

static int fail_usage(const char *message)
{
	fprintf(stderr, "symbi-sandbox run: %s\nTry 'symbi-sandbox run --help'.\n", message);
	return CLI_EXIT_SANDBOX_FAILED;
}

/* -e KEY=VALUE, or -e KEY with the value from our own environment. */
static int add_env(symbi_env_t *env, const char *arg, symbi_error_t *err)
{
	const char *eq = strchr(arg, '=');
	if (!eq) {
		const char *value = getenv(arg);
		if (!value) {
			snprintf(err->message, sizeof(err->message),
				 "--env %s: the variable is not set in this environment", arg);
			return -1;
		}
		return symbi_env_set(env, arg, value, err);
	}
	char *key = strndup(arg, (size_t)(eq - arg));
	if (!key) {
		snprintf(err->message, sizeof(err->message), "out of memory");
		return -1;
	}
	int rc = symbi_env_set(env, key, eq + 1, err);
	free(key);
	return rc;
}

/* Loads --config first (command-line options override it), then applies
 * the options in order. A list given on the command line replaces the
 * file's list. */
static int build_config(int argc, char **argv, symbi_config_t *cfg, symbi_env_t *env,
			struct cli_run_args *a, symbi_error_t *err)
{
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, run_shortopts, run_options, NULL)) != -1) {
		if (opt == 'c')
			a->config_file = optarg;
		else if (opt == '?')
			return -2;
		else if (opt == 'h') {
			run_usage(stdout);
			return 1;
		}
	}
	if (a->config_file) {
		size_t len;
		char *text = cli_read_file(a->config_file, &len);
		if (!text) {
			snprintf(err->message, sizeof(err->message), "cannot read --config %s: %s",
				 a->config_file, strerror(errno));
			return -1;
		}
		int rc = symbi_config_load_json(cfg, text, err);
		free(text);
		if (rc < 0)
			return -1;
	}
	bool volumes_seen = false, flags_seen = false, allowed_seen = false, named_seen = false;
	optind = 1;
	while ((opt = getopt_long(argc, argv, run_shortopts, run_options, NULL)) != -1) {
		const char *field = field_for_option(opt);
		if (field) {
			bool *seen = opt == 'v' ? &volumes_seen : opt == OPT_EXTRA_FLAG ? &flags_seen
				   : opt == OPT_ALLOW_EXECUTABLE ? &allowed_seen
				   : opt == OPT_ALLOW_NAMED_VOLUME ? &named_seen : NULL;
			if (seen && !*seen) {
				symbi_config_clear_list(cfg, field, err);
				*seen = true;
			}
			if (symbi_config_set(cfg, field, optarg, err) < 0)
				return -1;
			continue;
		}
		switch (opt) {
		case 'e':
			if (add_env(env, optarg, err) < 0)
				return -1;
			break;
		case OPT_KEEP:
			if (symbi_config_set(cfg, "auto_remove", "false", err) < 0)
				return -1;
			break;
		case OPT_WEAK_LIMITS:
			if (symbi_config_set(cfg, "weak_limits", "true", err) < 0)
				return -1;
			break;
		case OPT_ALLOW_WRITABLE_VOLUME_PATHS:
			if (symbi_config_set(cfg, "allow_writable_volume_paths", "true", err) < 0)
				return -1;
			break;
		case 'f': a->code_file = optarg; break;
		case OPT_STDIN: a->stdin_file = optarg; break;
		case OPT_JSON: a->json = true; break;
		default: break;
		}
	}
	return 0;
}

int cli_build_config(const char *cmd, int argc, char **argv, symbi_config_t *cfg,
		     symbi_env_t *env, struct cli_run_args *a)
{
	symbi_error_t err = {0};
	if (!cfg || !env) {
		fprintf(stderr, "symbi-sandbox %s: out of memory\n", cmd);
		return -1;
	}
	int rc = build_config(argc, argv, cfg, env, a, &err);
	if (rc == -2)
		fprintf(stderr, "Try 'symbi-sandbox %s --help'.\n", cmd);
	else if (rc < 0)
		fprintf(stderr, "symbi-sandbox %s: %s\n", cmd, err.message);
	return rc < 0 ? -1 : rc;
}

/* Signals stop the run cleanly (the sandbox is torn down) through the
 * library's cancel descriptor. */
static int cancel_pipe[2] = {-1, -1};
static volatile sig_atomic_t cancel_signal;

static void on_signal(int sig)
{
	cancel_signal = sig;
	int saved = errno;
	ssize_t n = write(cancel_pipe[1], "x", 1);
	(void)n;
	errno = saved;
}

static void install_signal_handlers(void)
{
	if (pipe2(cancel_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return;
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int cli_exit_status(const symbi_result_t *res)
{
	switch (res->status) {
	case SYMBI_STATUS_EXITED: return res->exit_code & 0xff;
	case SYMBI_STATUS_SIGNALED:
	case SYMBI_STATUS_OOM: return 128 + res->signal;
	case SYMBI_STATUS_TIMEOUT: return CLI_EXIT_TIMEOUT;
	case SYMBI_STATUS_ERROR: return CLI_EXIT_SANDBOX_FAILED;
	case SYMBI_STATUS_CANCELLED: return 128 + SIGTERM; /* cancelled from outside */
	}
	return CLI_EXIT_SANDBOX_FAILED;
}

static int print_result(const symbi_result_t *res, bool json)
{
	if (json) {
		symbi_error_t err = {0};
		char *text = symbi_result_to_json(res, &err);
		if (!text) {
			fprintf(stderr, "symbi-sandbox run: %s\n", err.message);
			return CLI_EXIT_SANDBOX_FAILED;
		}
		printf("%s\n", text);
		free(text);
		fflush(stdout);
		return cli_exit_status(res);
	}
	bool failed = res->status != SYMBI_STATUS_EXITED && res->status != SYMBI_STATUS_SIGNALED &&
		      res->error;
	cli_write_all(STDOUT_FILENO, res->stdout_data, res->stdout_len);
	/* A sandbox that could not run carries its error as stderr too (the
	 * reference's result shape): said once, with our name. */
	if (!failed || res->stderr_len != strlen(res->error) ||
	    memcmp(res->stderr_data, res->error, res->stderr_len) != 0)
		cli_write_all(STDERR_FILENO, res->stderr_data, res->stderr_len);
	if (failed)
		fprintf(stderr, "symbi-sandbox: %s\n", res->error);
	return cli_exit_status(res);
}

int cli_run(int argc, char **argv)
{
	symbi_error_t err = {0};
	struct cli_run_args a = {0};
	symbi_config_t *cfg = symbi_config_new();
	symbi_env_t *env = symbi_env_new();
	symbi_sandbox_t *sb = NULL;
	symbi_result_t *res = NULL;
	char *code = NULL, *input = NULL;
	size_t code_len = 0, input_len = 0;
	int status = CLI_EXIT_SANDBOX_FAILED;
	int rc = cli_build_config("run", argc, argv, cfg, env, &a);
	if (rc != 0) {
		status = rc == 1 ? 0 : CLI_EXIT_SANDBOX_FAILED;
		goto done;
	}
	if (optind < argc - 1) {
		status = fail_usage("expected one CODE argument, got more (quote the code)");
		goto done;
	}
	if (optind == argc - 1 && a.code_file) {
		status = fail_usage("give the code as an argument or with --file, not both");
		goto done;
	}
	if (optind == argc - 1) {
		code = strdup(argv[optind]);
		code_len = code ? strlen(code) : 0;
	} else {
		const char *path = a.code_file ? a.code_file : "-";
		code = cli_read_file(path, &code_len);
		if (!code) {
			fprintf(stderr, "symbi-sandbox run: cannot read the code from %s: %s\n",
				strcmp(path, "-") == 0 ? "standard input" : path, strerror(errno));
			goto done;
		}
	}
	if (a.stdin_file && !(input = cli_read_file(a.stdin_file, &input_len))) {
		fprintf(stderr, "symbi-sandbox run: cannot read --stdin %s: %s\n", a.stdin_file,
			strerror(errno));
		goto done;
	}
	sb = symbi_sandbox_new(cfg, &err);
	if (!sb) {
		fprintf(stderr, "symbi-sandbox run: %s\n", err.message);
		goto done;
	}
	/* One line per warning, each with our name. */
	for (const char *w = symbi_sandbox_warning(sb); w && *w;) {
		size_t n = strcspn(w, "\n");
		fprintf(stderr, "symbi-sandbox: %.*s\n", (int)n, w);
		w += n + (w[n] == '\n');
	}
	install_signal_handlers();
	symbi_exec_options_t opts = {
		.code = code, .code_len = code_len, .env = env,
		.stdin_data = input, .stdin_len = input_len, .cancel_fd = cancel_pipe[0],
	};
	if (symbi_sandbox_execute_opts(sb, &opts, &res, &err) < 0) {
		fprintf(stderr, "symbi-sandbox run: %s\n", err.message);
		goto done;
	}
	status = print_result(res, a.json);
	if (cancel_signal) /* the run was cancelled by this signal */
		status = 128 + cancel_signal;
done:
	symbi_result_free(res);
	symbi_sandbox_free(sb);
	symbi_env_free(env);
	symbi_config_free(cfg);
	free(code);
	free(input);
	return status;
}
