/* Configuration: the reference's DockerConfig fields and defaults, their
 * life cycle (new, copy, free), the builders and whole-config validation.
 * Setting a field goes through the field table (config_fields.c). */
#include "config.h"
#include "error.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

symbi_config_t *symbi_config_new(void)
{
	symbi_config_t *cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return NULL;
	/* No daemon, milliseconds to start: the embedded default. */
	cfg->backend = SYMBI_BACKEND_NATIVE;
	cfg->image = strdup("python:3.12-slim");
	cfg->shell = strdup("sh");
	cfg->memory_limit = strdup("512m");
	cfg->memory_bytes = (uint64_t)512 << 20;
	cfg->cpu_limit = 1.0;
	cfg->timeout_ms = 300 * 1000;
	cfg->network_mode = strdup("none");
	cfg->working_dir = strdup("/workspace");
	cfg->auto_remove = true;
	cfg->docker_binary = strdup("docker");
	cfg->max_output_bytes = SYMBI_DEFAULT_MAX_OUTPUT_BYTES;
	cfg->pids_limit = SYMBI_DEFAULT_PIDS_LIMIT;
	cfg->runtime_name = strdup("runsc");
	cfg->runsc_binary = strdup("runsc");
	cfg->tmp_size = (uint64_t)100 * 1024 * 1024;
	cfg->workdir_size = (uint64_t)100 * 1024 * 1024;
	cfg->id_range_base = SYMBI_DEFAULT_ID_RANGE_BASE;
	cfg->id_range_count = SYMBI_DEFAULT_ID_RANGE_COUNT;
	cfg->executable = strdup("bash");
	cfg->working_directory = strdup("/tmp/symbiont-native");
	cfg->enforce_resource_limits = true;
	cfg->max_memory_mb = 2048;
	cfg->max_cpu_seconds = 300;
	if (!cfg->executable || !cfg->working_directory || !cfg->image || !cfg->shell || !cfg->memory_limit || !cfg->network_mode ||
	    !cfg->working_dir || !cfg->docker_binary || !cfg->runtime_name || !cfg->runsc_binary) {
		symbi_config_free(cfg);
		return NULL;
	}
	return cfg;
}

symbi_config_t *symbi_config_for_image(const char *image)
{
	symbi_config_t *cfg = symbi_config_new();
	if (cfg && (symbi_config_set(cfg, "backend", "docker", NULL) < 0 ||
		    symbi_config_set(cfg, "image", image, NULL) < 0)) {
		symbi_config_free(cfg);
		return NULL;
	}
	return cfg;
}

void symbi_config_free(symbi_config_t *cfg)
{
	if (!cfg)
		return;
	symbi_config_free_owned(cfg);
	free(cfg);
}

symbi_config_t *symbi_config_copy(const symbi_config_t *src)
{
	symbi_config_t *cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return NULL;
	*cfg = *src;
	if (symbi_config_copy_owned(cfg, src) < 0) {
		symbi_config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* ---- the reference's builders ------------------------------------------- */

int symbi_config_with_network(symbi_config_t *cfg, symbi_error_t *err)
{
	return symbi_config_set(cfg, "network_mode", "bridge", err);
}

int symbi_config_with_memory(symbi_config_t *cfg, const char *limit, symbi_error_t *err)
{
	return symbi_config_set(cfg, "memory_limit", limit, err);
}

int symbi_config_with_cpu(symbi_config_t *cfg, double cpus, symbi_error_t *err)
{
	return symbi_config_set_double(cfg, "cpu_limit", cpus, err);
}

int symbi_config_with_volume(symbi_config_t *cfg, const char *mount, symbi_error_t *err)
{
	return symbi_config_set(cfg, "volumes", mount, err);
}

/* ---- whole-config validation ---------------------------------------------- */

int symbi_host_network_allowed(symbi_error_t *err)
{
	symbi_error_t parse_err;
	int prod = symbi_is_production(&parse_err);
	if (prod < 0)
		return symbi_fail(err, SYMBI_E_SECURITY, 0,
				  "SECURITY: host network mode refused: SYMBIONT_ENV parse failed: %s",
				  parse_err.message);
	if (prod)
		return symbi_fail(err, SYMBI_E_SECURITY, 0,
				  "SECURITY: host network mode is disabled in production");
	return 0;
}

int symbi_config_validate(const symbi_config_t *cfg, symbi_error_t *err)
{
	if (symbi_check_image(cfg->image, err) < 0)
		return -1;
	if (!cfg->shell || !*cfg->shell)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "shell must not be empty");
	if (symbi_check_network_mode(cfg->network_mode, err) < 0)
		return -1;
	/* Each volume's host path again: a symlink on it may have changed. */
	char resolved[PATH_MAX];
	for (size_t i = 0; i < cfg->nvolumes; i++)
		if (symbi_volume_resolve(&cfg->volumes[i], resolved, sizeof(resolved), err) < 0)
			return -1;
	if (symbi_backend_check_config(cfg, err) < 0 || symbi_config_check_fields(cfg, err) < 0)
		return -1;
	if (strcmp(cfg->network_mode, "host") == 0 && symbi_host_network_allowed(err) < 0)
		return -1;
	/* Another container's namespace may well be the host's. */
	symbi_error_t why;
	if (strncmp(cfg->network_mode, "container:", 10) == 0 && symbi_host_network_allowed(&why) < 0)
		return symbi_fail(err, SYMBI_E_SECURITY, 0,
				  "network_mode \"%.100s\" refused: another container's network may be "
				  "the host's, so it follows the host rule (%s)", cfg->network_mode,
				  why.message);
	return 0;
}

/* ---- read access ---------------------------------------------------------- */

const char *symbi_config_get_image(const symbi_config_t *cfg) { return cfg->image; }
const char *symbi_config_get_network_mode(const symbi_config_t *cfg) { return cfg->network_mode; }
const char *symbi_config_get_memory_limit(const symbi_config_t *cfg) { return cfg->memory_limit; }
double symbi_config_get_cpu_limit(const symbi_config_t *cfg) { return cfg->cpu_limit; }
uint64_t symbi_config_get_timeout_ms(const symbi_config_t *cfg) { return cfg->timeout_ms; }
size_t symbi_config_get_max_output_bytes(const symbi_config_t *cfg) { return cfg->max_output_bytes; }
symbi_backend_kind_t symbi_config_get_backend(const symbi_config_t *cfg) { return cfg->backend; }
