/* The Docker backend: `docker run` through the CLI, as the reference does,
 * with its flaws fixed: the timeout kills the container (not just the
 * client) and keeps the partial output; every container has a unique name
 * and label and is removed whatever happens; docker's own failures are
 * reported as errors, not as the program's exit code; OOM kills are told
 * apart from other deaths. */
#include "backend.h"
#include "docker.h"
#include "../core/error.h"
#include "../core/result.h"
#include "../core/supervise.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DOCKER_CONTROL_TIMEOUT_MS 30000
#define DOCKER_KILL_GRACE_MS 10000
#define DOCKER_KILL_RETRY_MS 5000

int symbi_docker_check_available(const symbi_config_t *cfg, symbi_error_t *err)
{
	char *argv[] = {cfg->docker_binary, "version", NULL};
	extern char **environ;
	symbi_error_t run_err;
	int status = symbi_run_quiet(cfg->docker_binary, argv, environ, DOCKER_CONTROL_TIMEOUT_MS,
				     NULL, 0, &run_err);
	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0,
				  "Docker is not available at '%s'. Install Docker or set docker_binary path.",
				  cfg->docker_binary);
	return 0;
}

static int docker_create(const symbi_config_t *cfg, void **state, symbi_error_t *err)
{
	*state = NULL;
	return symbi_docker_check_available(cfg, err);
}

static int container_name(char *out, size_t size, symbi_error_t *err)
{
	unsigned char bytes[8];
	if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes))
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "getrandom");
	int n = snprintf(out, size, "symbi-");
	for (size_t i = 0; i < sizeof(bytes); i++)
		n += snprintf(out + n, size - (size_t)n, "%02x", bytes[i]);
	return 0;
}

struct run_ctx {
	const symbi_config_t *cfg;
	const char *name;
	char *const *envp;
	symbi_docker_reaper_t reaper;
	pid_t client_pid;
	bool reaper_failed;
	symbi_error_t reaper_err;
};

/* Runs `docker SUBCOMMAND... NAME`, returning its wait status (or -1). */
static int docker_control(const struct run_ctx *c, const char *sub, const char *opt,
			  char *out, size_t out_size)
{
	char *argv[6];
	int i = 0;
	argv[i++] = c->cfg->docker_binary;
	argv[i++] = (char *)sub;
	if (opt)
		argv[i++] = (char *)opt;
	argv[i++] = (char *)c->name;
	argv[i] = NULL;
	symbi_supervise_opts_t o = {
		.path = c->cfg->docker_binary, .argv = argv, .envp = c->envp,
		.max_output_bytes = 4096, .timeout_ms = DOCKER_CONTROL_TIMEOUT_MS,
		.cancel_fd = -1,
	};
	symbi_supervise_outcome_t oc;
	if (symbi_supervise(&o, &oc, NULL) < 0)
		return -1;
	if (out && out_size) {
		size_t n = oc.out.len < out_size - 1 ? oc.out.len : out_size - 1;
		if (n)
			memcpy(out, oc.out.data, n);
		out[n] = '\0';
	}
	symbi_stream_free(&oc.out);
	symbi_stream_free(&oc.err);
	return oc.timed_out ? -1 : oc.wait_status;
}

static void on_client_spawned(pid_t pid, void *ctx)
{
	struct run_ctx *c = ctx;
	c->client_pid = pid;
	if (symbi_docker_reaper_start(&c->reaper, c->cfg->docker_binary, c->name, pid, c->envp,
				      &c->reaper_err) < 0) {
		/* Running unwatched could leak the container: refuse. */
		c->reaper_failed = true;
		kill(pid, SIGKILL);
	}
}

/* Kills the container. It may not exist yet (a deadline or a cancel that
 * comes while docker is still creating it): then we try again while the
 * client runs, for a while, rather than let the program run on until the
 * client is killed at the end of the grace period. */
static void on_deadline(void *ctx)
{
	const struct run_ctx *c = ctx;
	uint64_t give_up = symbi_monotonic_ms() + DOCKER_KILL_RETRY_MS;
	for (;;) {
		int status = docker_control(c, "kill", NULL, NULL, 0);
		if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			return;
		siginfo_t si = {0};
		if (c->client_pid <= 0 ||
		    waitid(P_PID, (id_t)c->client_pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
		    si.si_pid == c->client_pid || symbi_monotonic_ms() >= give_up)
			return; /* the client is done (or cannot be watched) */
		struct timespec pause = {0, 200 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
}

struct container_state {
	bool found;
	bool oom_killed;
	int exit_code;
	char error[512];
};

static void inspect_container(const struct run_ctx *c, struct container_state *st)
{
	char out[1024];
	memset(st, 0, sizeof(*st));
	int status = docker_control(c, "inspect", "--format={{.State.OOMKilled}}|{{.State.ExitCode}}|{{.State.Error}}",
				    out, sizeof(out));
	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return;
	char *bar1 = strchr(out, '|');
	char *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
	if (!bar2)
		return;
	st->found = true;
	st->oom_killed = strncmp(out, "true", 4) == 0;
	st->exit_code = atoi(bar1 + 1);
	size_t len = strlen(bar2 + 1);
	while (len > 0 && isspace((unsigned char)bar2[len]))
		len--;
	snprintf(st->error, sizeof(st->error), "%.*s", (int)len, bar2 + 1);
}

/* The last non-empty lines of what docker said on stderr, trimmed. */
static void docker_message(const symbi_result_t *res, int code, char *out, size_t size)
{
	size_t len = res->stderr_len;
	while (len > 0 && isspace((unsigned char)res->stderr_data[len - 1]))
		len--;
	if (len == 0) {
		snprintf(out, size, "docker run failed with exit status %d", code);
		return;
	}
	const char *help = strstr(res->stderr_data, "\nRun 'docker run --help'");
	if (help && (size_t)(help - res->stderr_data) < len)
		len = (size_t)(help - res->stderr_data);
	while (len > 0 && isspace((unsigned char)res->stderr_data[len - 1]))
		len--;
	snprintf(out, size, "%.*s", (int)(len > 900 ? 900 : len), res->stderr_data);
}

static int set_error(symbi_result_t *res, const char *message, symbi_error_t *err);

/* When docker itself failed the program never ran: what is on stderr is
 * docker's, and it becomes the error message instead. */
static int engine_failed(symbi_result_t *res, int code, symbi_error_t *err)
{
	char msg[1024];
	docker_message(res, code, msg, sizeof(msg));
	char *empty = strdup("");
	if (!empty)
		return symbi_fail_nomem(err);
	free(res->stderr_data);
	res->stderr_data = empty;
	res->stderr_len = 0;
	res->stderr_truncated = false;
	return set_error(res, msg, err);
}

static int set_error(symbi_result_t *res, const char *message, symbi_error_t *err)
{
	free(res->error);
	res->error = strdup(message);
	if (!res->error)
		return symbi_fail_nomem(err);
	symbi_result_set_exit(res, SYMBI_STATUS_ERROR, -1, 0);
	return 0;
}

/* Decides what happened from the client's exit and, where the exit status
 * is ambiguous, from the container's recorded state. Returns whether the
 * container must be removed regardless of auto_remove. */
static int classify(const struct run_ctx *c, const symbi_supervise_outcome_t *oc,
		    symbi_result_t *res, symbi_error_t *err)
{
	if (c->reaper_failed)
		return set_error(res, c->reaper_err.message, err);
	if (oc->cancelled)
		return set_error(res, "execution cancelled", err);
	if (oc->timed_out) {
		char msg[128];
		snprintf(msg, sizeof(msg), "execution timed out after %llu ms",
			 (unsigned long long)c->cfg->timeout_ms);
		if (set_error(res, msg, err) < 0)
			return -1;
		symbi_result_set_exit(res, SYMBI_STATUS_TIMEOUT, -1, SIGKILL);
		return 0;
	}
	if (!WIFEXITED(oc->wait_status)) {
		char msg[128];
		snprintf(msg, sizeof(msg), "the docker client died of signal %d",
			 WTERMSIG(oc->wait_status));
		return set_error(res, msg, err);
	}
	int code = WEXITSTATUS(oc->wait_status);
	size_t mark_len = strlen(SYMBI_DOCKER_BOOTSTRAP_MARK);
	if (code == 127 && res->stderr_len >= mark_len &&
	    memcmp(res->stderr_data, SYMBI_DOCKER_BOOTSTRAP_MARK, mark_len) == 0)
		return engine_failed(res, code, err);
	/* 125-127 are also docker's own failures; above 128 may be OOM. Only
	 * the container's state can tell. */
	if (code < 125 || code == 128) {
		symbi_result_set_exit(res, SYMBI_STATUS_EXITED, code, 0);
		return 0;
	}
	struct container_state st;
	inspect_container(c, &st);
	if (!st.found || st.error[0])
		return engine_failed(res, code, err);
	if (st.oom_killed) {
		symbi_result_set_exit(res, SYMBI_STATUS_OOM, -1, SIGKILL);
		free(res->error);
		res->error = strdup("the program was killed for exceeding the memory limit");
		return res->error ? 0 : symbi_fail_nomem(err);
	}
	if (st.exit_code > 128 && st.exit_code <= 128 + 64) {
		symbi_result_set_exit(res, SYMBI_STATUS_SIGNALED, -1, st.exit_code - 128);
		return 0;
	}
	symbi_result_set_exit(res, SYMBI_STATUS_EXITED, st.exit_code, 0);
	return 0;
}

int symbi_docker_execute(void *state, const symbi_config_t *cfg, const symbi_exec_request_t *req,
			 symbi_result_t **out, symbi_error_t *err)
{
	(void)state;
	if (symbi_docker_env_check(req->env, err) < 0)
		return -1;
	char name[64];
	if (container_name(name, sizeof(name), err) < 0)
		return -1;
	symbi_strlist_t argv = {0}, envp = {0};
	int rc = -1;
	char *input = NULL;
	int profile_fd = 0; /* none (supervise's fd3 convention) */
	if (cfg->backend != SYMBI_BACKEND_GVISOR &&
	    (profile_fd = symbi_docker_seccomp_memfd(err)) < 0) {
		profile_fd = 0;
		goto done;
	}
	if (symbi_docker_build_run_argv(cfg, name, req, &argv, err) < 0 ||
	    symbi_docker_build_client_env(req->env, &envp, err) < 0)
		goto done;
	size_t input_len = req->code_len + req->stdin_len;
	if (req->stdin_data) {
		input = malloc(input_len ? input_len : 1);
		if (!input) {
			symbi_fail_nomem(err);
			goto done;
		}
		memcpy(input, req->code, req->code_len);
		memcpy(input + req->code_len, req->stdin_data, req->stdin_len);
	}

	struct run_ctx c = {.cfg = cfg, .name = name, .envp = envp.items,
			    .reaper = {-1, -1}};
	symbi_supervise_opts_t o = {
		.path = cfg->docker_binary, .argv = argv.items, .envp = envp.items,
		.input = input ? input : req->code, .input_len = input_len,
		.max_output_bytes = cfg->max_output_bytes, .timeout_ms = cfg->timeout_ms,
		.on_timeout = on_deadline, .ctx = &c, .kill_grace_ms = DOCKER_KILL_GRACE_MS,
		.on_spawn = on_client_spawned, .cancel_fd = req->cancel_fd, .fd3 = profile_fd,
	};
	symbi_supervise_outcome_t oc;
	if (symbi_supervise(&o, &oc, err) < 0) {
		/* The client could not even start (the engine failed, not the
		 * program, so this is a result with status error), or it ran
		 * and we ran out of memory capturing its output: then its
		 * container is running and must go before the watchdog is let
		 * off. */
		if (c.reaper.done_fd >= 0)
			docker_control(&c, "rm", "-f", NULL, 0);
		symbi_docker_reaper_release(&c.reaper);
		*out = symbi_result_new_error(err ? err->message : "cannot run docker", 0);
		rc = *out ? 0 : symbi_fail_nomem(err);
		goto done;
	}
	symbi_result_t *res = symbi_result_from_outcome(&oc);
	symbi_stream_free(&oc.out);
	symbi_stream_free(&oc.err);
	int classified = res ? classify(&c, &oc, res, err) : symbi_fail_nomem(err);
	bool keep = cfg->auto_remove == false && res && res->status != SYMBI_STATUS_TIMEOUT &&
		    !oc.cancelled && classified == 0;
	if (!keep)
		docker_control(&c, "rm", "-f", NULL, 0);
	symbi_docker_reaper_release(&c.reaper);
	if (classified < 0) {
		symbi_result_free(res);
		goto done;
	}
	*out = res;
	rc = 0;
done:
	if (profile_fd > 0)
		close(profile_fd);
	free(input);
	symbi_strlist_clear(&argv);
	symbi_strlist_clear(&envp);
	return rc;
}

const symbi_backend_ops_t symbi_backend_docker = {
	.name = "docker",
	.create = docker_create,
	.execute = symbi_docker_execute,
	.destroy = NULL,
};
