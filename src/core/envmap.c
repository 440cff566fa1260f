/* The environment map handed to a sandboxed program. */
#include "error.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct symbi_env {
	char **keys;
	char **values;
	size_t len;
	size_t cap;
};

symbi_env_t *symbi_env_new(void)
{
	return calloc(1, sizeof(symbi_env_t));
}

void symbi_env_free(symbi_env_t *env)
{
	if (!env)
		return;
	for (size_t i = 0; i < env->len; i++) {
		free(env->keys[i]);
		free(env->values[i]);
	}
	free(env->keys);
	free(env->values);
	free(env);
}

/* Keys must be identifiers (ASCII, whatever the locale) on every backend
 * and face. Anything else is refused rather than passed on: a key such as `BASH_FUNC_f%%` defines a
 * function in any bash that inherits it, and a sandbox's helpers or the
 * program's own shell may be bash. */
static int env_key_check(const char *key, symbi_error_t *err)
{
	if (!key || !*key)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "environment variable name must not be empty");
	bool ok = !(key[0] >= '0' && key[0] <= '9');
	for (const char *p = key; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		     (*p >= '0' && *p <= '9') || *p == '_';
	if (!ok)
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "environment variable name \"%.100s\" is refused: names must be "
				  "identifiers (letters, digits and '_', not starting with a digit)", key);
	return 0;
}

int symbi_env_set(symbi_env_t *env, const char *key, const char *value,
		  symbi_error_t *err)
{
	if (env_key_check(key, err) < 0)
		return -1;
	if (!value)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "environment variable %.100s has no value", key);
	char *v = strdup(value);
	if (!v)
		return symbi_fail_nomem(err);
	for (size_t i = 0; i < env->len; i++) {
		if (strcmp(env->keys[i], key) == 0) {
			free(env->values[i]);
			env->values[i] = v;
			return 0;
		}
	}
	char *k = strdup(key);
	if (!k) {
		free(v);
		return symbi_fail_nomem(err);
	}
	if (env->len == env->cap) {
		size_t cap = env->cap ? env->cap * 2 : 8;
		char **keys = realloc(env->keys, cap * sizeof(*keys));
		if (keys)
			env->keys = keys;
		char **values = keys ? realloc(env->values, cap * sizeof(*values)) : NULL;
		if (!values) {
			free(k);
			free(v);
			return symbi_fail_nomem(err);
		}
		env->values = values;
		env->cap = cap;
	}
	env->keys[env->len] = k;
	env->values[env->len] = v;
	env->len++;
	return 0;
}

size_t symbi_env_count(const symbi_env_t *env)
{
	return env ? env->len : 0;
}

const char *symbi_env_key(const symbi_env_t *env, size_t i)
{
	return env && i < env->len ? env->keys[i] : NULL;
}

const char *symbi_env_value(const symbi_env_t *env, size_t i)
{
	return env && i < env->len ? env->values[i] : NULL;
}
