/* symbi_config_set(): every option-value parser (sizes, durations, cpus,
 * volume specs, network modes, user specs, extra flags, pids, booleans,
 * names and paths). The first byte picks the field (or, past the list, the
 * input names it: "field\0value"); the rest is the value.
 * Invariants: a refused value changes nothing and says why; an accepted
 * scalar set twice gives the same config, an accepted list entry is
 * appended once each time; and the JSON loader, which shares the
 * validation path, gives the same answer and the same config. */
#include "fuzz.h"
#include "config_dump.h"

#include <jansson.h>

static const char *const fields[] = {
	"image", "shell", "memory_limit", "cpu_limit", "max_execution_time", "network_mode",
	"working_dir", "auto_remove", "docker_binary", "max_output_bytes", "pids_limit", "user",
	"backend", "runtime_name", "runsc_binary", "lang", "tmp_size", "workdir_size",
	"executable", "working_directory", "enforce_resource_limits", "max_memory_mb",
	"max_cpu_seconds", "volumes", "extra_flags", "allowed_executables",
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static int is_list(const char *field)
{
	return strcmp(field, "volumes") == 0 || strcmp(field, "extra_flags") == 0 ||
	       strcmp(field, "allowed_executables") == 0;
}

/* The same assignment through symbi_config_load_json(); -2 if the value
 * cannot be carried as a JSON string (not UTF-8) or JSON wants a number. */
static int set_via_json(symbi_config_t *cfg, const char *field, const char *value)
{
	if (strcmp(field, "max_execution_time") == 0)
		return -2;
	json_t *s = json_string(value);
	if (!s)
		return -2;
	json_t *doc = json_object();
	if (json_object_set_new(doc, field, is_list(field) ? json_pack("[o]", s) : s) < 0) {
		json_decref(doc); /* the key is not UTF-8 */
		return -2;
	}
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	FUZZ_CHECK(text != NULL, "json_dumps failed");
	symbi_error_t err = {0};
	int rc = symbi_config_load_json(cfg, text, &err);
	free(text);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *input = fuzz_strndup(data + 1, size - 1);
	const char *field, *value;
	if (data[0] % (N_FIELDS + 1) < N_FIELDS) {
		field = fields[data[0] % (N_FIELDS + 1)];
		value = input;
	} else {
		field = input;
		size_t flen = strlen(input);
		value = flen < size - 1 ? input + flen + 1 : "";
	}
	symbi_config_t *cfg = symbi_config_new();
	FUZZ_CHECK(cfg != NULL, "symbi_config_new failed");
	char *before = config_dump(cfg);
	symbi_error_t err = {0};
	int rc = symbi_config_set(cfg, field, value, &err);
	char *after = config_dump(cfg);
	if (rc < 0) {
		FUZZ_CHECK(rc == -1, "rc %d", rc);
		FUZZ_CHECK(err.code == SYMBI_E_INVALID || err.code == SYMBI_E_SECURITY,
			   "error code %d", (int)err.code);
		FUZZ_CHECK_MESSAGE(err.message, sizeof(err.message));
		FUZZ_CHECK(strcmp(before, after) == 0, "a refused value changed the config");
	} else {
		FUZZ_CHECK(rc == 0, "rc %d", rc);
		size_t n = is_list(field) ? symbi_config_list_count(cfg, field) : 0;
		FUZZ_CHECK(!is_list(field) || (n == 1 && strcmp(symbi_config_list_get(cfg, field, 0),
							      value) == 0),
			   "list entry not stored verbatim");
		symbi_error_t err2 = {0};
		FUZZ_CHECK(symbi_config_set(cfg, field, value, &err2) == 0,
			   "an accepted value refused the second time: %s", err2.message);
		char *twice = config_dump(cfg);
		if (is_list(field))
			FUZZ_CHECK(symbi_config_list_count(cfg, field) == 2, "list did not grow by one");
		else
			FUZZ_CHECK(strcmp(after, twice) == 0, "setting twice differs:\n%s\n%s", after,
				   twice);
		free(twice);
		symbi_error_t verr = {0};
		if (symbi_config_validate(cfg, &verr) < 0)
			FUZZ_CHECK_MESSAGE(verr.message, sizeof(verr.message));
	}
	symbi_config_t *viajson = symbi_config_new();
	FUZZ_CHECK(viajson != NULL, "symbi_config_new failed");
	int jrc = set_via_json(viajson, field, value);
	if (jrc != -2) {
		FUZZ_CHECK(jrc == rc, "set says %d, JSON says %d for %s=%s", rc, jrc, field, value);
		char *jdump = config_dump(viajson);
		FUZZ_CHECK(strcmp(jdump, after) == 0, "JSON gives another config:\n%s\n%s", after,
			   jdump);
		free(jdump);
	}
	symbi_config_free(viajson);
	free(after);
	free(before);
	symbi_config_free(cfg);
	free(input);
	return 0;
}
