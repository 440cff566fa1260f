/* The only way found to make docker run a gvisor sandbox's container on
 * another runtime: this program calls the gvisor backend directly with a
 * configuration whose extra flags end with --runtime=runc, which the
 * public API refuses (symbi_config_validate: the gvisor backend sets the
 * runtime). The engine, the daemon's runtimes and the container are real;
 * only the allowlist is bypassed, to show that the backend's own check of
 * the container (HostConfig.Runtime) catches what got past it: before the
 * container starts through the Engine API, after the run through the CLI
 * (HOOK_DOCKER_BINARY set: docker_binary, a client of the operator's).
 * Built against the static library by docker_attacks.sh.
 *
 * usage: gvisor_runtime_hook IMAGE LABEL [EXTRA_FLAG]; prints the result
 * as JSON. */
#include "core/backend.h"
#include "core/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s IMAGE LABEL [EXTRA_FLAG]\n", argv[0]);
		return 2;
	}
	symbi_error_t err = {0};
	symbi_config_t *cfg = symbi_config_for_image(argv[1]);
	if (!cfg || symbi_config_set(cfg, "backend", "gvisor", &err) < 0 ||
	    symbi_config_set(cfg, "max_execution_time", "60", &err) < 0) {
		fprintf(stderr, "config: %s\n", err.message);
		return 2;
	}
	const char *client = getenv("HOOK_DOCKER_BINARY");
	if (client && symbi_config_set(cfg, "docker_binary", client, &err) < 0) {
		fprintf(stderr, "config: %s\n", err.message);
		return 2;
	}
	char label[512];
	snprintf(label, sizeof(label), "--label=%s", argv[2]);
	if (symbi_strlist_push(&cfg->extra_flags, label) < 0 ||
	    (argc == 4 && symbi_strlist_push(&cfg->extra_flags, argv[3]) < 0))
		return 2;
	void *state = NULL;
	if (symbi_backend_gvisor.create(cfg, &state, &err) < 0) {
		fprintf(stderr, "create: %s\n", err.message);
		return 2;
	}
	const char code[] = "echo ran; cat /proc/version";
	symbi_exec_request_t req = {.code = code, .code_len = strlen(code), .cancel_fd = -1};
	symbi_result_t *res = NULL;
	if (symbi_backend_gvisor.execute(state, cfg, &req, &res, &err) < 0) {
		fprintf(stderr, "execute: %s\n", err.message);
		return 2;
	}
	char *json = symbi_result_to_json(res, &err);
	if (!json)
		return 2;
	puts(json);
	free(json);
	symbi_result_free(res);
	if (symbi_backend_gvisor.destroy)
		symbi_backend_gvisor.destroy(state);
	symbi_config_free(cfg);
	return 0;
}
