/* Loading a configuration from JSON whose keys are the reference's field
 * names. Each value goes to the field table as what it is: a JSON number
 * to a number field's typed setter, a bool to a bool field's, a string to
 * the text path (so "512m" and "none" work as on the command line). */
#include "config.h"
#include "error.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int wrong_type(const char *key, symbi_error_t *err)
{
	return symbi_fail(err, SYMBI_E_INVALID, 0, "configuration field \"%s\" has the wrong type",
			  key);
}

/* serde's Duration is {"secs": N, "nanos": M}; plain seconds are accepted
 * too. */
static int set_duration_object(symbi_config_t *cfg, const char *key, json_t *value,
			       symbi_error_t *err)
{
	json_t *secs = json_object_get(value, "secs");
	json_t *nanos = json_object_get(value, "nanos");
	if (!json_is_integer(secs) || (nanos && !json_is_integer(nanos)))
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "%s must be a number of seconds or {\"secs\": N, \"nanos\": M}", key);
	double s = (double)json_integer_value(secs) +
		   (nanos ? (double)json_integer_value(nanos) / 1e9 : 0.0);
	return symbi_config_set_double(cfg, key, s, err);
}

static int set_list(symbi_config_t *cfg, const char *key, json_t *value, symbi_error_t *err)
{
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

static int apply_field(symbi_config_t *cfg, const char *key, json_t *value, symbi_error_t *err)
{
	symbi_field_kind_t kind;
	bool nullable;
	if (symbi_config_field_kind(key, &kind, &nullable) < 0)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "unknown configuration field \"%.100s\"", key);
	if (kind == SYMBI_FIELD_LIST)
		return set_list(cfg, key, value, err);
	if (json_is_string(value))
		return symbi_config_set(cfg, key, json_string_value(value), err);
	if (json_is_null(value))
		return nullable ? symbi_config_unset(cfg, key, err) : wrong_type(key, err);
	switch (kind) {
	case SYMBI_FIELD_BOOL:
		if (!json_is_boolean(value))
			return wrong_type(key, err);
		return symbi_config_set_bool(cfg, key, json_is_true(value), err);
	case SYMBI_FIELD_NUMBER:
		if (json_is_integer(value) && json_integer_value(value) >= 0)
			return symbi_config_set_u64(cfg, key, (uint64_t)json_integer_value(value), err);
		if (json_is_number(value))
			return symbi_config_set_double(cfg, key, json_number_value(value), err);
		return wrong_type(key, err);
	case SYMBI_FIELD_SECONDS:
		if (json_is_number(value))
			return symbi_config_set_double(cfg, key, json_number_value(value), err);
		if (json_is_object(value))
			return set_duration_object(cfg, key, value, err);
		return wrong_type(key, err);
	default:
		/* A number where text is wanted: its digits ("user": 1000). */
		if (json_is_integer(value)) {
			char digits[32];
			snprintf(digits, sizeof(digits), "%lld", (long long)json_integer_value(value));
			return symbi_config_set(cfg, key, digits, err);
		}
		return wrong_type(key, err);
	}
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
