/* Configuration: the reference's DockerConfig fields and defaults, each set
 * from its textual form through one table so that the CLI, the JSON loader
 * and the C builders share one validation path. */
#include "config.h"
#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Docker refuses memory limits below 6 MiB. */
#define MIN_MEMORY_BYTES ((uint64_t)6 * 1024 * 1024)
#define MAX_TIMEOUT_SECONDS (7.0 * 24 * 3600)
#define MAX_OUTPUT_BYTES_LIMIT ((uint64_t)1 << 30)
#define MAX_PIDS_LIMIT 4194304L

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
	if (cfg && symbi_config_set(cfg, "image", image, NULL) < 0) {
		symbi_config_free(cfg);
		return NULL;
	}
	return cfg;
}

void symbi_config_free(symbi_config_t *cfg)
{
	if (!cfg)
		return;
	free(cfg->image);
	free(cfg->shell);
	free(cfg->memory_limit);
	free(cfg->network_mode);
	symbi_strlist_clear(&cfg->volumes);
	free(cfg->working_dir);
	free(cfg->docker_binary);
	symbi_strlist_clear(&cfg->extra_flags);
	free(cfg->user);
	free(cfg->runtime_name);
	free(cfg->runsc_binary);
	free(cfg->lang);
	free(cfg->executable);
	symbi_strlist_clear(&cfg->allowed_executables);
	symbi_strlist_clear(&cfg->allowed_named_volumes);
	free(cfg->working_directory);
	free(cfg);
}

static int dup_optional(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -1;
}

symbi_config_t *symbi_config_copy(const symbi_config_t *src)
{
	symbi_config_t *cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return NULL;
	*cfg = *src;
	cfg->volumes = (symbi_strlist_t){0};
	cfg->extra_flags = (symbi_strlist_t){0};
	cfg->allowed_executables = (symbi_strlist_t){0};
	cfg->allowed_named_volumes = (symbi_strlist_t){0};
	char **strings[] = {&cfg->image, &cfg->shell, &cfg->memory_limit, &cfg->network_mode,
			    &cfg->working_dir, &cfg->docker_binary, &cfg->user,
			    &cfg->runtime_name, &cfg->runsc_binary, &cfg->lang,
			    &cfg->executable, &cfg->working_directory};
	const char *sources[] = {src->image, src->shell, src->memory_limit, src->network_mode,
				 src->working_dir, src->docker_binary, src->user,
				 src->runtime_name, src->runsc_binary, src->lang,
				 src->executable, src->working_directory};
	bool ok = true;
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		ok = dup_optional(strings[i], sources[i]) == 0 && ok;
	ok = ok && symbi_strlist_copy(&cfg->volumes, &src->volumes) == 0;
	ok = ok && symbi_strlist_copy(&cfg->extra_flags, &src->extra_flags) == 0;
	ok = ok && symbi_strlist_copy(&cfg->allowed_executables, &src->allowed_executables) == 0;
	ok = ok && symbi_strlist_copy(&cfg->allowed_named_volumes, &src->allowed_named_volumes) == 0;
	if (!ok) {
		symbi_config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* ---- field parsers ------------------------------------------------------ */

static int parse_bool(const char *v, bool *out, const char *field, symbi_error_t *err)
{
	if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0) {
		*out = true;
		return 0;
	}
	if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcasecmp(v, "no") == 0) {
		*out = false;
		return 0;
	}
	return symbi_fail(err, SYMBI_E_INVALID, 0, "%s must be true or false, not \"%.100s\"", field, v);
}

static int parse_double(const char *v, double *out, const char *field, symbi_error_t *err)
{
	char *end = NULL;
	errno = 0;
	double d = strtod(v, &end);
	if (errno != 0 || end == v || *end != '\0' || !isfinite(d))
		return symbi_fail(err, SYMBI_E_INVALID, 0, "%s must be a number, not \"%.100s\"", field, v);
	*out = d;
	return 0;
}

static int parse_long(const char *v, long *out, const char *field, symbi_error_t *err)
{
	char *end = NULL;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0')
		return symbi_fail(err, SYMBI_E_INVALID, 0, "%s must be an integer, not \"%.100s\"", field, v);
	*out = n;
	return 0;
}

static bool is_unset_word(const char *v)
{
	return strcasecmp(v, "none") == 0 || strcasecmp(v, "unlimited") == 0;
}

/* Characters docker accepts in an image reference; the leading character
 * rule also keeps the image from being read as a docker flag. */
static int check_image(const char *v, symbi_error_t *err)
{
	if (!*v)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "Docker image must not be empty");
	bool ok = isalnum((unsigned char)v[0]);
	for (const char *p = v; ok && *p; p++)
		ok = isalnum((unsigned char)*p) || strchr("._/:@+-", *p) != NULL;
	if (!ok)
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "Docker image \"%.200s\" is not a valid image reference", v);
	return 0;
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

static bool is_plain_name(const char *v)
{
	if (!*v || !isalnum((unsigned char)v[0]))
		return false;
	for (const char *p = v; *p; p++)
		if (!is_name_char(*p))
			return false;
	return true;
}

static int check_network_mode(const char *v, symbi_error_t *err)
{
	if (strcmp(v, "none") == 0 || strcmp(v, "bridge") == 0 || strcmp(v, "host") == 0)
		return 0;
	if (strncmp(v, "container:", 10) == 0 && is_plain_name(v + 10))
		return 0;
	return symbi_fail(err, SYMBI_E_INVALID, 0,
			  "network_mode \"%.100s\" is not allowed: use none, bridge, host or "
			  "container:NAME", v);
}

/* `name|uid[:group|gid]`, as docker's --user takes it. */
static int check_user(const char *v, symbi_error_t *err)
{
	const char *colon = strchr(v, ':');
	bool ok = *v && colon != v;
	for (const char *p = v; ok && *p; p++)
		ok = is_name_char(*p) || (p == colon && p[1] != '\0');
	if (!ok)
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "user \"%.100s\" must be NAME, UID, NAME:GROUP or UID:GID", v);
	return 0;
}

static int set_string(char **dst, const char *v, symbi_error_t *err)
{
	char *copy = v ? strdup(v) : NULL;
	if (v && !copy)
		return symbi_fail_nomem(err);
	free(*dst);
	*dst = copy;
	return 0;
}

static int set_nonempty(char **dst, const char *field, const char *v, symbi_error_t *err)
{
	if (!*v)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "%s must not be empty", field);
	return set_string(dst, v, err);
}

int symbi_config_set(symbi_config_t *cfg, const char *field, const char *v,
		     symbi_error_t *err)
{
	if (!cfg || !field || !v)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "symbi_config_set: NULL argument");

	if (strcmp(field, "backend") == 0) {
		if (strcmp(v, "docker") == 0)
			cfg->backend = SYMBI_BACKEND_DOCKER;
		else if (strcmp(v, "gvisor") == 0)
			cfg->backend = SYMBI_BACKEND_GVISOR;
		else if (strcmp(v, "native") == 0)
			cfg->backend = SYMBI_BACKEND_NATIVE;
		else if (strcmp(v, "process") == 0)
			cfg->backend = SYMBI_BACKEND_PROCESS;
		else
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "unknown backend \"%.100s\" (available: docker, gvisor, "
					  "native, process)", v);
		return 0;
	}
	int native_rc = symbi_config_set_native_field(cfg, field, v, err);
	if (native_rc != 1)
		return native_rc;
	if (strcmp(field, "image") == 0)
		return check_image(v, err) < 0 ? -1 : set_string(&cfg->image, v, err);
	if (strcmp(field, "shell") == 0)
		return set_nonempty(&cfg->shell, field, v, err);
	if (strcmp(field, "memory_limit") == 0) {
		if (is_unset_word(v))
			return set_string(&cfg->memory_limit, NULL, err);
		uint64_t bytes;
		if (symbi_parse_bytes(v, &bytes, err) < 0)
			return symbi_fail_prefix(err, "memory_limit");
		if (bytes < MIN_MEMORY_BYTES)
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "memory_limit \"%.100s\" is below the minimum of 6m", v);
		return set_string(&cfg->memory_limit, v, err);
	}
	if (strcmp(field, "cpu_limit") == 0) {
		if (is_unset_word(v)) {
			cfg->cpu_limit = -1;
			return 0;
		}
		double cpus;
		if (parse_double(v, &cpus, field, err) < 0)
			return -1;
		if (cpus < 0.01 || cpus > 1024)
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "cpu_limit %.100s is out of range (0.01 to 1024)", v);
		cfg->cpu_limit = cpus;
		return 0;
	}
	if (strcmp(field, "max_execution_time") == 0) {
		double seconds;
		if (parse_double(v, &seconds, field, err) < 0)
			return -1;
		if (seconds < 0.001 || seconds > MAX_TIMEOUT_SECONDS)
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "max_execution_time %.100s is out of range (0.001 to %.0f seconds)",
					  v, MAX_TIMEOUT_SECONDS);
		cfg->timeout_ms = (uint64_t)llround(seconds * 1000.0);
		return 0;
	}
	if (strcmp(field, "idle_timeout") == 0 || strcmp(field, "max_lifetime") == 0) {
		double seconds;
		if (parse_double(v, &seconds, field, err) < 0)
			return -1;
		if (seconds < 0 || seconds > MAX_TIMEOUT_SECONDS)
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "%s %.100s is out of range (0 for none, or up to %.0f seconds)",
					  field, v, MAX_TIMEOUT_SECONDS);
		uint64_t ms = (uint64_t)llround(seconds * 1000.0);
		if (seconds > 0 && ms == 0)
			ms = 1;
		*(field[0] == 'i' ? &cfg->idle_timeout_ms : &cfg->max_lifetime_ms) = ms;
		return 0;
	}
	if (strcmp(field, "network_mode") == 0)
		return check_network_mode(v, err) < 0 ? -1 : set_string(&cfg->network_mode, v, err);
	if (strcmp(field, "volumes") == 0) {
		if (symbi_volume_check(v, NULL, err) < 0)
			return -1;
		return symbi_strlist_push(&cfg->volumes, v) < 0 ? symbi_fail_nomem(err) : 0;
	}
	if (strcmp(field, "working_dir") == 0) {
		if (v[0] != '/')
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "working_dir \"%.100s\" must be an absolute path", v);
		return set_string(&cfg->working_dir, v, err);
	}
	if (strcmp(field, "auto_remove") == 0)
		return parse_bool(v, &cfg->auto_remove, field, err);
	if (strcmp(field, "allow_writable_volume_paths") == 0)
		return parse_bool(v, &cfg->allow_writable_volume_paths, field, err);
	if (strcmp(field, "allowed_named_volumes") == 0) {
		char spec[300];
		snprintf(spec, sizeof(spec), "%.255s:/x", v);
		if (v[0] == '/' || symbi_volume_check(spec, NULL, err) < 0)
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "allowed_named_volumes entry \"%.100s\" is not a volume name", v);
		return symbi_strlist_push(&cfg->allowed_named_volumes, v) < 0 ? symbi_fail_nomem(err) : 0;
	}
	if (strcmp(field, "docker_binary") == 0)
		return set_nonempty(&cfg->docker_binary, field, v, err);
	if (strcmp(field, "max_output_bytes") == 0) {
		uint64_t bytes;
		if (symbi_parse_bytes(v, &bytes, err) < 0)
			return symbi_fail_prefix(err, "max_output_bytes");
		if (bytes < 1 || bytes > MAX_OUTPUT_BYTES_LIMIT)
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "max_output_bytes %.100s is out of range (1 to 1g)", v);
		cfg->max_output_bytes = (size_t)bytes;
		return 0;
	}
	if (strcmp(field, "extra_flags") == 0) {
		if (symbi_backend_check_field(cfg, field, v, err) < 0)
			return -1;
		return symbi_strlist_push(&cfg->extra_flags, v) < 0 ? symbi_fail_nomem(err) : 0;
	}
	if (strcmp(field, "pids_limit") == 0) {
		if (is_unset_word(v)) {
			cfg->pids_limit = 0;
			return 0;
		}
		long n = 0;
		if (parse_long(v, &n, field, err) < 0)
			return -1;
		if (n < 1 || n > MAX_PIDS_LIMIT)
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "pids_limit %ld is out of range (1 to %ld, or none)", n, MAX_PIDS_LIMIT);
		cfg->pids_limit = n;
		return 0;
	}
	if (strcmp(field, "user") == 0) {
		if (!*v)
			return set_string(&cfg->user, NULL, err);
		return check_user(v, err) < 0 ? -1 : set_string(&cfg->user, v, err);
	}
	if (strcmp(field, "runtime_name") == 0) {
		if (!is_plain_name(v))
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "runtime_name \"%.100s\" is not a valid runtime name", v);
		return set_string(&cfg->runtime_name, v, err);
	}
	if (strcmp(field, "runsc_binary") == 0)
		return set_nonempty(&cfg->runsc_binary, field, v, err);
	return symbi_fail(err, SYMBI_E_INVALID, 0, "unknown configuration field \"%.100s\"", field);
}

int symbi_config_clear_list(symbi_config_t *cfg, const char *field, symbi_error_t *err)
{
	if (strcmp(field, "volumes") == 0)
		symbi_strlist_clear(&cfg->volumes);
	else if (strcmp(field, "allowed_executables") == 0)
		symbi_strlist_clear(&cfg->allowed_executables);
	else if (strcmp(field, "allowed_named_volumes") == 0)
		symbi_strlist_clear(&cfg->allowed_named_volumes);
	else if (strcmp(field, "extra_flags") == 0)
		symbi_strlist_clear(&cfg->extra_flags);
	else
		return symbi_fail(err, SYMBI_E_INVALID, 0, "\"%.100s\" is not a list field", field);
	return 0;
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
	char text[64];
	snprintf(text, sizeof(text), "%.17g", cpus);
	return symbi_config_set(cfg, "cpu_limit", text, err);
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
	if (check_image(cfg->image, err) < 0)
		return -1;
	if (!cfg->shell || !*cfg->shell)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "shell must not be empty");
	if (check_network_mode(cfg->network_mode, err) < 0)
		return -1;
	for (size_t i = 0; i < cfg->volumes.len; i++)
		if (symbi_volume_check(cfg->volumes.items[i], NULL, err) < 0)
			return -1;
	if (symbi_backend_check_config(cfg, err) < 0)
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

static const symbi_strlist_t *config_list(const symbi_config_t *cfg, const char *field)
{
	if (strcmp(field, "volumes") == 0)
		return &cfg->volumes;
	if (strcmp(field, "extra_flags") == 0)
		return &cfg->extra_flags;
	if (strcmp(field, "allowed_executables") == 0)
		return &cfg->allowed_executables;
	if (strcmp(field, "allowed_named_volumes") == 0)
		return &cfg->allowed_named_volumes;
	return NULL;
}

size_t symbi_config_list_count(const symbi_config_t *cfg, const char *field)
{
	const symbi_strlist_t *l = config_list(cfg, field);
	return l ? l->len : 0;
}

const char *symbi_config_list_get(const symbi_config_t *cfg, const char *field, size_t i)
{
	const symbi_strlist_t *l = config_list(cfg, field);
	return l && i < l->len ? l->items[i] : NULL;
}
