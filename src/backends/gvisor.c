/* gVisor: the Docker backend with the runsc runtime (runtime_name), after
 * the reference's start-up check that runsc runs. The daemon is asked what
 * runtime_name really is, so that a gvisor sandbox can never run on runc
 * (`--runtime-name runc`, or a runtime registered under another name);
 * after each run the container's own runtime is checked too, and a run
 * whose exit the bootstrap did not record (runsc died) is an error (both in
 * docker.c's classify, shared with the docker backend). */
#include "extra_flags.h"
#include "docker.h"
#include "docker_api.h"
#include "../core/error.h"
#include "../core/supervise.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Is the daemon's runtime `name` runsc? Its registered path must name an
 * executable called runsc. */
static json_t *list_runtimes(const symbi_config_t *cfg, const symbi_engine_t *engine,
			     symbi_error_t *err)
{
	if (engine) {
		json_t *info = NULL;
		long status = symbi_engine_request(engine, "GET", "/info", NULL, &info, err);
		json_t *runtimes = status == 200 ? json_incref(json_object_get(info, "Runtimes")) : NULL;
		json_decref(info);
		return runtimes;
	}
	symbi_docker_output_t *out = malloc(sizeof(*out));
	if (!out) {
		symbi_fail_nomem(err);
		return NULL;
	}
	int status = symbi_docker_command(cfg, out, err, "info", "--format", "{{json .Runtimes}}", NULL);
	json_t *runtimes = status == 0 ? json_loads(out->text, 0, NULL) : NULL;
	free(out);
	return runtimes;
}

static int check_runtime(const symbi_config_t *cfg, const symbi_engine_t *engine,
			 symbi_error_t *err)
{
	json_t *runtimes = list_runtimes(cfg, engine, err);
	const char *path = json_string_value(json_object_get(json_object_get(runtimes, cfg->runtime_name),
							     "path"));
	const char *base = path ? strrchr(path, '/') : NULL;
	base = base ? base + 1 : path;
	int rc = 0;
	if (!runtimes)
		rc = symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "cannot list the Docker daemon's runtimes");
	else if (!path)
		rc = symbi_fail(err, SYMBI_E_UNAVAILABLE, 0,
				"the Docker daemon has no runtime '%s'. Install runsc and register it "
				"with the Docker daemon as runtime '%s' (see README).",
				cfg->runtime_name, cfg->runtime_name);
	else if (strcmp(base, "runsc") != 0)
		rc = symbi_fail(err, SYMBI_E_SECURITY, 0,
				"runtime '%s' is not gVisor: the daemon runs it with '%s', not runsc; "
				"the gvisor backend refuses to run without gVisor",
				cfg->runtime_name, path);
	json_decref(runtimes);
	return rc;
}

static int gvisor_create(const symbi_config_t *cfg, void **state, symbi_error_t *err)
{
	*state = NULL;
	char *argv[] = {cfg->runsc_binary, "--version", NULL};
	extern char **environ;
	symbi_error_t run_err;
	int status = symbi_run_quiet(cfg->runsc_binary, argv, environ, 30000, NULL, 0, &run_err);
	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0,
				  "gVisor runsc is not available at '%s'. Install runsc and register it "
				  "with the Docker daemon as runtime '%s' (see README).",
				  cfg->runsc_binary, cfg->runtime_name);
	if (symbi_docker_check_available(cfg, state, err) < 0)
		return -1;
	if (check_runtime(cfg, *state, err) == 0)
		return 0;
	symbi_docker_destroy(*state);
	*state = NULL;
	return -1;
}

const symbi_backend_ops_t symbi_backend_gvisor = {
	.name = "gvisor",
	.create = gvisor_create,
	.execute = symbi_docker_execute,
	.destroy = symbi_docker_destroy,
	.check_config = symbi_extra_flags_check_config,
	.check_field = symbi_extra_flags_check_field,
	.live = &symbi_docker_live_ops,
};
