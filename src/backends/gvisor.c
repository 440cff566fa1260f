/* gVisor: the Docker backend with the runsc runtime (runtime_name), after
 * the reference's start-up check that runsc runs. */
#include "backend.h"
#include "docker.h"
#include "../core/error.h"
#include "../core/supervise.h"

#include <sys/wait.h>

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
	return symbi_docker_check_available(cfg, err);
}

const symbi_backend_ops_t symbi_backend_gvisor = {
	.name = "gvisor",
	.create = gvisor_create,
	.execute = symbi_docker_execute,
	.destroy = NULL,
};
