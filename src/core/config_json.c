/* Loading a configuration from JSON whose keys are the reference's field
 * names. Every value goes through symbi_config_set(), so JSON and the CLI
 * share one validation path. */
#include "config.h"
#include "error.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *const list_fields[] = {"volumes", "extra_flags", "allowed_executables",
					 "allowed_named_volumes"};
static const char *const nullable_fields[] = {"memory_limit", "cpu_limit", "user", "pids_limit",
					     "lang"};

static bool in_list(const char *key, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(key, list[i]) == 0)
			return true;
	return false;
}

/* serde's Duration is {"secs": N, "nanos": M}; plain seconds are accepted
 * too. */
static int duration_to_text(json_t *value, char *text, size_t size, symbi_error_t *err)
{
	if (json_is_number(value)) {
		snprintf(text, size, "%.17g", json_number_value(value));
		return 0;
	}
	json_t *secs = json_object_get(value, "secs");
	json_t *nanos = json_object_get(value, "nanos");
	if (json_is_object(value) && json_is_integer(secs) && (!nanos || json_is_integer(nanos))) {
		double s = (double)json_integer_value(secs) +
			   (nanos ? (double)json_integer_value(nanos) / 1e9 : 0.0);
		snprintf(text, size, "%.17g", s);
		return 0;
	}
	return symbi_fail(err, SYMBI_E_INVALID, 0,
			  "max_execution_time must be a number of seconds or {\"secs\": N, \"nanos\": M}");
}

static int scalar_to_text(const char *key, json_t *value, char *text, size_t size,
			  const char **out, symbi_error_t *err)
{
	if (json_is_string(value)) {
		*out = json_string_value(value);
		return 0;
	}
	if (json_is_boolean(value)) {
		*out = json_is_true(value) ? "true" : "false";
		return 0;
	}
	if (json_is_integer(value)) {
		snprintf(text, size, "%lld", (long long)json_integer_value(value));
		*out = text;
		return 0;
	}
	if (json_is_real(value)) {
		snprintf(text, size, "%.17g", json_real_value(value));
		*out = text;
		return 0;
	}
	if (json_is_null(value) &&
	    in_list(key, nullable_fields, sizeof(nullable_fields) / sizeof(nullable_fields[0]))) {
		*out = strcmp(key, "user") == 0 || strcmp(key, "lang") == 0 ? "" : "none";
		return 0;
	}
	return symbi_fail(err, SYMBI_E_INVALID, 0, "configuration field \"%s\" has the wrong type", key);
}

static int apply_field(symbi_config_t *cfg, const char *key, json_t *value, symbi_error_t *err)
{
	char text[64];
	if (in_list(key, list_fields, sizeof(list_fields) / sizeof(list_fields[0]))) {
		if (!json_is_array(value))
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "configuration field \"%s\" must be an array of strings", key);
		symbi_config_clear_list(cfg, key, err);
		size_t i;
		json_t *item;
		json_array_foreach(value, i, item) {
			if (!json_is_string(item))
				return symbi_fail(err, SYMBI_E_INVALID, 0,
						  "configuration field \"%s\" must be an array of strings", key);
			if (symbi_config_set(cfg, key, json_string_value(item), err) < 0)
				return -1;
		}
		return 0;
	}
	const char *v = NULL;
	if (strcmp(key, "max_execution_time") == 0) {
		if (duration_to_text(value, text, sizeof(text), err) < 0)
			return -1;
		v = text;
	} else if (scalar_to_text(key, value, text, sizeof(text), &v, err) < 0) {
		return -1;
	}
	return symbi_config_set(cfg, key, v, err);
}

int symbi_config_load_json(symbi_config_t *cfg, const char *text, symbi_error_t *err)
{
	json_error_t jerr;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "configuration is not valid JSON: %s (line %d)",
				  jerr.text, jerr.line);
	int rc = -1;
	symbi_config_t *work = NULL;
	if (!json_is_object(root)) {
		symbi_fail(err, SYMBI_E_INVALID, 0, "configuration must be a JSON object");
		goto done;
	}
	work = symbi_config_copy(cfg);
	if (!work) {
		symbi_fail_nomem(err);
		goto done;
	}
	const char *key;
	json_t *value;
	json_object_foreach(root, key, value) {
		if (apply_field(work, key, value, err) < 0)
			goto done;
	}
	/* Commit: swap the contents so that cfg's address stays the same. */
	symbi_config_t old = *cfg;
	*cfg = *work;
	*work = old;
	rc = 0;
done:
	symbi_config_free(work);
	json_decref(root);
	return rc;
}
