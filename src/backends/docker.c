/* The Docker backend: `docker run` through the CLI, as the reference does,
 * with its flaws fixed: the timeout kills the container (not just the
 * client) and keeps the partial output; every container has a unique name
 * and label and is removed whatever happens; docker's own failures are
 * reported as errors, not as the program's exit code; OOM kills are told
 * apart from other deaths. Every docker process we start but the `docker
 * run` client itself gets a fixed environment, and that client gets the
 * program's variables only renamed (docker_argv.c). */
#include "extra_flags.h"
#include "docker.h"
#include "docker_api.h"
#include "../core/classify.h"
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

#define DOCKER_KILL_GRACE_MS 10000
#define DOCKER_KILL_RETRY_MS 5000
/* How long after its deadline a container may still legitimately exist
 * (kill grace, removal) before a sweep removes it. */
#define DOCKER_DEADLINE_SLACK_S 60

int symbi_docker_check_available(const symbi_config_t *cfg, void **state, symbi_error_t *err)
{
	/* The Engine API where it can serve, else the CLI (state NULL).
	 * Listing our containers both proves that docker answers and is the
	 * start-up sweep: a daemon the API cannot reach may still be the
	 * CLI's (a context of its own), which then has the last word. */
	symbi_engine_t *engine = symbi_docker_api_open(cfg);
	symbi_error_t api_err;
	if (engine && symbi_docker_sweep(cfg, engine, &api_err) == 0) {
		*state = engine;
		return 0;
	}
	symbi_docker_api_close(engine);
	*state = NULL;
	return symbi_docker_sweep(cfg, NULL, err);
}

void symbi_docker_destroy(void *state)
{
	symbi_docker_api_close(state);
}

static int docker_create(const symbi_config_t *cfg, void **state, symbi_error_t *err)
{
	return symbi_docker_check_available(cfg, state, err);
}

int symbi_docker_random_hex(char *out, size_t bytes, symbi_error_t *err)
{
	unsigned char buf[32];
	if (bytes > sizeof(buf) || getrandom(buf, bytes, 0) != (ssize_t)bytes)
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "getrandom");
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", buf[i]);
	return 0;
}

int symbi_docker_container_name(char *out, size_t size, symbi_error_t *err)
{
	char hex[17];
	if (symbi_docker_random_hex(hex, 8, err) < 0)
		return -1;
	snprintf(out, size, "symbi-%s", hex);
	return 0;
}

struct run_ctx {
	const symbi_config_t *cfg;
	const symbi_engine_t *engine; /* NULL: every step through the CLI */
	symbi_docker_api_run_t *api;  /* the run, when the API starts it */
	const char *name;
	const char *secret;    /* the bootstrap's, see docker_argv.c */
	/* gVisor only (else NULL): the secret of the bootstrap's exit line
	 * (gvisor_exit.c). */
	const char *exit_secret;
	char *const *envp;     /* the control environment */
	char docker_path[4096]; /* resolved, for the watchdog */
	symbi_docker_reaper_t reaper;
	pid_t client_pid;
	bool reaper_failed;
	symbi_error_t reaper_err;
};

/* Runs `docker SUB [OPT] NAME`, returning its exit status (or -1). */
static int docker_control(const struct run_ctx *c, const char *sub, const char *opt,
			  symbi_docker_output_t *out)
{
	symbi_error_t ignored;
	return opt ? symbi_docker_command(c->cfg, out, &ignored, sub, opt, c->name, NULL)
		   : symbi_docker_command(c->cfg, out, &ignored, sub, c->name, NULL);
}

static void remove_container(const struct run_ctx *c)
{
	if (c->engine)
		symbi_docker_api_remove(c->engine, c->name);
	else
		docker_control(c, "rm", "-fv", NULL);
}

static void on_client_spawned(pid_t pid, void *ctx)
{
	struct run_ctx *c = ctx;
	c->client_pid = pid;
	if (symbi_docker_reaper_start(&c->reaper, c->docker_path, c->name, pid, c->envp,
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
	if (c->api) {
		/* It exists: the API run starts it only once it is created. */
		symbi_docker_api_deadline(c->api);
		return;
	}
	uint64_t give_up = symbi_monotonic_ms() + DOCKER_KILL_RETRY_MS;
	for (;;) {
		if (docker_control(c, "kill", NULL, NULL) == 0)
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

static void inspect_container(const struct run_ctx *c, symbi_docker_state_t *st)
{
	if (c->engine) {
		symbi_docker_api_inspect(c->engine, c->name, st);
		return;
	}
	memset(st, 0, sizeof(*st));
	symbi_docker_output_t *o = malloc(sizeof(*o));
	if (!o)
		return;
	if (docker_control(c, "inspect",
			   "--format={{.State.OOMKilled}}|{{.State.ExitCode}}|{{.HostConfig.Runtime}}|"
			   "{{.State.Error}}",
			   o) != 0) {
		st->engine_gone = strstr(o->error, "Cannot connect to the Docker daemon") != NULL;
		free(o);
		return;
	}
	char out[1024];
	snprintf(out, sizeof(out), "%.1000s", o->text);
	free(o);
	/* The error comes last: it is the one field that may hold a '|'. */
	char *bar1 = strchr(out, '|');
	char *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
	char *bar3 = bar2 ? strchr(bar2 + 1, '|') : NULL;
	if (!bar3)
		return;
	st->found = true;
	st->oom_killed = strncmp(out, "true", 4) == 0;
	st->exit_code = atoi(bar1 + 1);
	snprintf(st->runtime, sizeof(st->runtime), "%.*s", (int)(bar3 - bar2 - 1), bar2 + 1);
	size_t len = strlen(bar3 + 1);
	while (len > 0 && isspace((unsigned char)bar3[len]))
		len--;
	snprintf(st->error, sizeof(st->error), "%.*s", (int)len, bar3 + 1);
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
static int engine_failed(symbi_result_t *res, int code, bool engine_gone, symbi_error_t *err)
{
	char said[1024], msg[1100];
	docker_message(res, code, said, sizeof(said));
	/* A daemon that died mid-run leaves the client a bare "unexpected
	 * EOF": say what happened. */
	snprintf(msg, sizeof(msg), "%s%s",
		 engine_gone ? "the Docker daemon stopped answering during the run: " : "", said);
	char *empty = strdup("");
	if (!empty)
		return symbi_fail_nomem(err);
	free(res->stderr_data);
	res->stderr_data = empty;
	res->stderr_len = 0;
	res->stderr_truncated = false;
	return set_error(res, msg, err);
}

/* The bootstrap's own failure: its marker followed by this run's secret,
 * which the program cannot know, at the start of stderr. */
static bool bootstrap_failed(const struct run_ctx *c, const symbi_result_t *res)
{
	char mark[128];
	int n = snprintf(mark, sizeof(mark), SYMBI_DOCKER_BOOTSTRAP_MARK "%s: ", c->secret);
	return res->stderr_len >= (size_t)n && memcmp(res->stderr_data, mark, (size_t)n) == 0;
}

/* Reports it without the secret. */
static int bootstrap_error(const struct run_ctx *c, symbi_result_t *res, symbi_error_t *err)
{
	size_t skip = strlen(SYMBI_DOCKER_BOOTSTRAP_MARK) + strlen(c->secret) + 2;
	const char *text = res->stderr_data + skip;
	size_t len = res->stderr_len - skip;
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		len--;
	char msg[1024];
	snprintf(msg, sizeof(msg), "symbi-sandbox-bootstrap: %.*s", (int)(len > 900 ? 900 : len), text);
	res->stderr_len = 0;
	res->stderr_data[0] = '\0';
	res->stderr_truncated = false;
	return set_error(res, msg, err);
}

/* Under gVisor: was the container run by the runtime asked for? The daemon
 * was asked what runtime_name is before the sandbox started (gvisor.c);
 * this checks that the container really got it, so that nothing between
 * our argv and the daemon (a later --runtime, a daemon default) can have
 * run the program without gVisor. A container that cannot be inspected
 * after the program ran is not trusted either. */
static bool runtime_mismatch(const struct run_ctx *c, const symbi_docker_state_t *st,
			     bool program_ran, char *msg, size_t size)
{
	if (st->found && strcmp(st->runtime, c->cfg->runtime_name) != 0) {
		snprintf(msg, size, "the container ran with runtime '%s', not '%s': the gvisor "
			 "backend refuses a run without gVisor (its output is withheld)",
			 st->runtime, c->cfg->runtime_name);
		return true;
	}
	if (!st->found && program_ran) {
		snprintf(msg, size, "cannot check which runtime ran the container (docker inspect "
			 "failed): the gvisor backend refuses a run it cannot verify (its output is "
			 "withheld)");
		return true;
	}
	return false;
}

/* Output produced where it should not have been is not returned. */
static void withhold_output(symbi_result_t *res)
{
	res->stdout_len = res->stderr_len = 0;
	if (res->stdout_data)
		res->stdout_data[0] = '\0';
	if (res->stderr_data)
		res->stderr_data[0] = '\0';
	res->stdout_truncated = res->stderr_truncated = false;
}

/* Under gVisor, a run whose exit the bootstrap did not record. */
static int sandbox_died(symbi_result_t *res, int code, symbi_error_t *err)
{
	char msg[400], why[160] = "";
	if (code > 128 && code <= 128 + 64)
		snprintf(why, sizeof(why), " (killed by signal %d)", code - 128);
	else if (code == 2)
		snprintf(why, sizeof(why), " (the status of a Go runtime crash, e.g. runsc unable to "
			 "create a thread under the host pids limit)");
	snprintf(msg, sizeof(msg), "the gVisor sandbox (runsc) died, or the program killed the "
		 "sandbox's bootstrap: the container ended with status %d%s before the program's "
		 "exit was recorded; docker passes on no message from runsc", code, why);
	return set_error(res, msg, err);
}

static int set_error(symbi_result_t *res, const char *message, symbi_error_t *err)
{
	return symbi_result_fail(res, SYMBI_STATUS_ERROR, 0, err, "%s", message);
}

/* What happened, from the client's exit and, where the exit status is
 * ambiguous, from the container's recorded state; the core classifies it.
 * Under gVisor (c->exit_secret set) the container is always inspected (its
 * runtime is checked) and `recorded` is the program's exit as the
 * bootstrap recorded it, -1 if it did not. A failure of docker's own may
 * rewrite the output (withheld, or docker's stderr turned into the error). */
static int classify(const struct run_ctx *c, const symbi_supervise_outcome_t *oc,
		    symbi_result_t *res, int recorded, symbi_error_t *err)
{
	char failure[1024];
	symbi_run_facts_t f = {.timeout_ms = c->cfg->timeout_ms};
	symbi_docker_state_t st;
	bool inspected = c->exit_secret != NULL;
	if (c->reaper_failed) {
		f.failure = c->reaper_err.message;
		return symbi_classify(oc, &f, res, err);
	}
	if (inspected) {
		inspect_container(c, &st);
		if (runtime_mismatch(c, &st, recorded >= 0, failure, sizeof(failure))) {
			withhold_output(res);
			f.failure = failure;
			return symbi_classify(oc, &f, res, err);
		}
	}
	/* A daemon that did not answer the deadline's kill may have left the
	 * program running: that is its failure, not a timeout. */
	bool daemon_gone = c->api && __atomic_load_n(&c->api->daemon_gone, __ATOMIC_ACQUIRE);
	if ((oc->cancelled || oc->timed_out) && !daemon_gone)
		return symbi_classify(oc, &f, res, err);
	if (c->api && !c->api->code_known) {
		f.failure = c->api->failure;
		return symbi_classify(oc, &f, res, err);
	}
	if (!WIFEXITED(oc->wait_status)) {
		snprintf(failure, sizeof(failure), "the docker client died of signal %d",
			 WTERMSIG(oc->wait_status));
		f.failure = failure;
		return symbi_classify(oc, &f, res, err);
	}
	int code = WEXITSTATUS(oc->wait_status);
	if (code == 127 && bootstrap_failed(c, res))
		return bootstrap_error(c, res, err);
	/* 125-127 are also docker's own failures; above 128 may be OOM. Only
	 * the container's state can tell. Under gVisor so is every run whose
	 * exit the bootstrap did not record. */
	bool unrecorded = c->exit_secret && recorded < 0;
	f.have_status = true;
	if ((code < 125 || code == 128) && !unrecorded) {
		f.wait_status = W_EXITCODE(code, 0);
		return symbi_classify(oc, &f, res, err);
	}
	if (!inspected)
		inspect_container(c, &st);
	if (!st.found || st.error[0])
		return engine_failed(res, code, st.engine_gone, err);
	f.oom = st.oom_killed;
	if (!f.oom && unrecorded)
		return sandbox_died(res, code, err);
	if (st.exit_code > 128 && st.exit_code <= 128 + 64)
		f.wait_status = W_EXITCODE(0, st.exit_code - 128);
	else
		f.wait_status = W_EXITCODE(st.exit_code & 0xff, 0);
	return symbi_classify(oc, &f, res, err);
}

/* A run that could not start because of docker: a result, status error. */
static int error_result(const char *message, symbi_result_t **out, symbi_error_t *err)
{
	*out = symbi_result_new_error(message, 0);
	return *out ? 0 : symbi_fail_nomem(err);
}

/* Under gVisor the exit secret's line, then the secret line, the code,
 * then the program's stdin data. */
static char *build_input(const struct run_ctx *c, const symbi_exec_request_t *req, size_t *len)
{
	char lines[80];
	int n = snprintf(lines, sizeof(lines), "%s%s%s\n", c->exit_secret ? c->exit_secret : "",
			 c->exit_secret ? "\n" : "", c->secret);
	size_t slen = (size_t)n;
	*len = slen + req->code_len + req->stdin_len;
	char *input = malloc(*len ? *len : 1);
	if (!input)
		return NULL;
	memcpy(input, lines, slen);
	if (req->code_len)
		memcpy(input + slen, req->code, req->code_len);
	if (req->stdin_len)
		memcpy(input + slen + req->code_len, req->stdin_data, req->stdin_len);
	return input;
}

static int api_spawn(void *ctx, const int stdio[3], pid_t *pid, symbi_error_t *err)
{
	return symbi_docker_api_spawn(((struct run_ctx *)ctx)->api, stdio, pid, err);
}

static int api_wait_fd(void *ctx)
{
	return symbi_docker_api_wait_fd(((struct run_ctx *)ctx)->api);
}

static int api_reap(void *ctx, int *wait_status)
{
	return symbi_docker_api_reap(((struct run_ctx *)ctx)->api, wait_status);
}

/* Through the Engine API when the backend has it and the command line
 * translates (c->api set on return 0), else through the CLI, with the
 * seccomp profile on the client's fd 3 (*profile_fd). */
static int choose_path(const symbi_config_t *cfg, struct run_ctx *c, const symbi_strlist_t *argv,
		       char *const *envp, symbi_docker_api_run_t *api, int *profile_fd,
		       symbi_error_t *err)
{
	bool gvisor = cfg->backend == SYMBI_BACKEND_GVISOR;
	if (c->engine) {
		char *profile = NULL;
		if (!gvisor && !(profile = symbi_docker_seccomp_profile(err)))
			return -1;
		symbi_docker_create_t create;
		int translated = symbi_docker_create_body(argv, envp, profile, &create, err);
		free(profile);
		if (translated < 0)
			return -1;
		if (translated == 0) {
			symbi_docker_api_run_init(api, c->engine, &create);
			if (gvisor)
				api->expect_runtime = cfg->runtime_name;
			api->wait_limit_ms = cfg->timeout_ms + DOCKER_KILL_GRACE_MS +
					     SYMBI_DOCKER_CONTROL_TIMEOUT_MS;
			c->api = api;
			return 0;
		}
	}
	if (!gvisor && (*profile_fd = symbi_docker_seccomp_memfd(err)) < 0) {
		*profile_fd = 0;
		return -1;
	}
	return 0;
}

static int run_container(const symbi_config_t *cfg, struct run_ctx *c,
			 const symbi_docker_run_plan_t *plan, const symbi_exec_request_t *req,
			 symbi_result_t **out, symbi_error_t *err)
{
	symbi_strlist_t argv = {0}, envp = {0};
	symbi_docker_api_run_t api;
	int rc = -1;
	size_t input_len = 0;
	int profile_fd = 0; /* none (supervise's fd3 convention) */
	char *input = build_input(c, req, &input_len);
	if (!input) {
		symbi_fail_nomem(err);
		goto done;
	}
	if (symbi_docker_build_run_argv(cfg, plan, req, &argv, err) < 0 ||
	    symbi_docker_build_client_env(req->env, &envp, err) < 0 ||
	    choose_path(cfg, c, &argv, envp.items, &api, &profile_fd, err) < 0)
		goto done;
	symbi_supervise_opts_t o = {
		.path = cfg->docker_binary, .argv = argv.items, .envp = envp.items,
		.input = input, .input_len = input_len,
		.max_output_bytes = cfg->max_output_bytes, .timeout_ms = cfg->timeout_ms,
		.on_timeout = on_deadline, .ctx = c, .kill_grace_ms = DOCKER_KILL_GRACE_MS,
		.on_spawn = on_client_spawned, .cancel_fd = req->cancel_fd, .fd3 = profile_fd,
	};
	if (c->api) {
		/* No client process: the watchdog removes the container by
		 * name should we die, and the run is the supervision's hooks. */
		if (symbi_docker_reaper_start(&c->reaper, c->docker_path, c->name, 0, c->envp,
					      err) < 0)
			goto done;
		o.on_spawn = NULL;
		o.spawn = api_spawn;
		o.wait_fd = api_wait_fd;
		o.reap = api_reap;
	}
	symbi_supervise_outcome_t oc;
	if (symbi_supervise(&o, &oc, err) < 0) {
		/* The client could not even start (the engine failed, not the
		 * program, so this is a result with status error), or it ran
		 * and we ran out of memory capturing its output: then its
		 * container is running and must go before the watchdog is let
		 * off. */
		if (c->reaper.done_fd >= 0)
			remove_container(c);
		symbi_docker_reaper_release(&c->reaper);
		rc = error_result(err ? err->message : "cannot run docker", out, err);
		goto done;
	}
	int recorded = c->exit_secret ? symbi_gvisor_take_exit(&oc.err, c->exit_secret) : -1;
	symbi_result_t *res = symbi_result_from_outcome(&oc);
	symbi_stream_free(&oc.out);
	symbi_stream_free(&oc.err);
	int classified = res ? classify(c, &oc, res, recorded, err) : symbi_fail_nomem(err);
	bool keep = cfg->auto_remove == false && res && res->status != SYMBI_STATUS_TIMEOUT &&
		    !oc.cancelled && classified == 0;
	/* With its anonymous volumes, if the image managed to have any. */
	if (!keep)
		remove_container(c);
	symbi_docker_reaper_release(&c->reaper);
	if (classified < 0) {
		symbi_result_free(res);
		goto done;
	}
	*out = res;
	rc = 0;
done:
	if (c->api) {
		symbi_docker_api_run_release(c->api);
		c->api = NULL;
	}
	if (profile_fd > 0)
		close(profile_fd);
	free(input);
	symbi_strlist_clear(&argv);
	symbi_strlist_clear(&envp);
	return rc;
}

int symbi_docker_execute(void *state, const symbi_config_t *cfg, const symbi_exec_request_t *req,
			 symbi_result_t **out, symbi_error_t *err)
{
	if (symbi_docker_env_check(req->env, err) < 0)
		return -1;
	char name[64], secret[33], exit_secret[33], owner[256], image_id[160], why[1024] = "";
	if (symbi_docker_container_name(name, sizeof(name), err) < 0 ||
	    symbi_docker_random_hex(secret, 16, err) < 0 ||
	    symbi_docker_random_hex(exit_secret, 16, err) < 0 ||
	    symbi_docker_owner(owner, sizeof(owner), err) < 0)
		return -1;
	struct run_ctx c = {.cfg = cfg, .engine = state, .name = name, .secret = secret, .reaper = {-1, -1},
			    .exit_secret = cfg->backend == SYMBI_BACKEND_GVISOR ? exit_secret : NULL};
	symbi_strlist_t control_env = {0}, image_volumes = {0};
	symbi_docker_volumes_t volumes = {0};
	int rc = -1;
	if (symbi_docker_control_env(&control_env, err) < 0)
		goto done;
	c.envp = control_env.items;
	if (symbi_find_executable(cfg->docker_binary, c.docker_path, sizeof(c.docker_path)) < 0) {
		rc = error_result("cannot run docker: the docker client was not found", out, err);
		goto done;
	}
	/* Volumes first: a refused volume is invalid input (nothing runs). */
	if (symbi_docker_volumes_prepare(cfg, name, owner, &volumes, err) < 0)
		goto done;
	int found = symbi_docker_image_resolve(cfg, state, image_id, sizeof(image_id),
					       &image_volumes, why, sizeof(why), err);
	if (found < 0)
		goto done;
	if (found > 0) {
		rc = error_result(why, out, err);
		goto done;
	}
	symbi_docker_run_plan_t plan = {
		.name = name, .image = image_id, .image_volumes = &image_volumes,
		.volumes = &volumes, .owner = owner,
		.deadline = (long long)time(NULL) + (long long)(cfg->timeout_ms / 1000) + 1 +
			    DOCKER_DEADLINE_SLACK_S,
	};
	rc = run_container(cfg, &c, &plan, req, out, err);
done:
	symbi_docker_volumes_release(&volumes);
	symbi_strlist_clear(&control_env);
	symbi_strlist_clear(&image_volumes);
	return rc;
}

const symbi_backend_ops_t symbi_backend_docker = {
	.name = "docker",
	.create = docker_create,
	.execute = symbi_docker_execute,
	.destroy = symbi_docker_destroy,
	.check_config = symbi_extra_flags_check_config,
	.check_field = symbi_extra_flags_check_field,
	.live = &symbi_docker_live_ops,
};
