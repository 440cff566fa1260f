/* symbi_env_set(): environment keys and values from the outside (the HTTP
 * API's and MCP's "env" objects, the CLI's -e). The input is a sequence of
 * KEY\x01VALUE\x02 pairs. Invariants: a key is accepted exactly when it is
 * non-empty without '=', CR or LF; a refused pair changes nothing; the map
 * equals a simple model (insertion order, a later value replaces an earlier
 * one) after every step. */
#include "fuzz.h"

#include <symbi/sandbox.h>
#include <stdbool.h>

#define MAX_PAIRS 64

struct model {
	char *keys[MAX_PAIRS];
	char *values[MAX_PAIRS];
	size_t len;
};

/* Identifiers: ASCII letters, digits and '_', not starting with a digit. */
static bool key_ok(const char *k)
{
	if (!*k || (*k >= '0' && *k <= '9'))
		return false;
	return strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") ==
	       strlen(k);
}

static void model_set(struct model *m, const char *k, const char *v)
{
	for (size_t i = 0; i < m->len; i++) {
		if (strcmp(m->keys[i], k) == 0) {
			free(m->values[i]);
			m->values[i] = strdup(v);
			return;
		}
	}
	m->keys[m->len] = strdup(k);
	m->values[m->len] = strdup(v);
	m->len++;
}

static void expect_model(const symbi_env_t *env, const struct model *m)
{
	FUZZ_CHECK(symbi_env_count(env) == m->len, "count %zu, model %zu", symbi_env_count(env),
		   m->len);
	for (size_t i = 0; i < m->len; i++) {
		FUZZ_CHECK(strcmp(symbi_env_key(env, i), m->keys[i]) == 0, "key %zu", i);
		FUZZ_CHECK(strcmp(symbi_env_value(env, i), m->values[i]) == 0, "value %zu", i);
	}
	FUZZ_CHECK(symbi_env_key(env, m->len) == NULL && symbi_env_value(env, m->len) == NULL,
		   "entry past the end");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	char *end = text + size;
	symbi_env_t *env = symbi_env_new();
	FUZZ_CHECK(env != NULL, "symbi_env_new failed");
	struct model m = {0};
	char *p = text;
	while (p < end && m.len < MAX_PAIRS) {
		char *pair_end = memchr(p, '\x02', (size_t)(end - p));
		if (pair_end)
			*pair_end = '\0';
		char *sep = strchr(p, '\x01');
		const char *key = p, *value = "";
		if (sep) {
			*sep = '\0';
			value = sep + 1;
		}
		symbi_error_t err = {0};
		int rc = symbi_env_set(env, key, value, &err);
		FUZZ_CHECK((rc == 0) == key_ok(key), "rc %d for key \"%s\"", rc, key);
		if (rc == 0) {
			model_set(&m, key, value);
		} else {
			FUZZ_CHECK(rc == -1 && err.code == SYMBI_E_INVALID, "rc %d code %d", rc,
				   (int)err.code);
			FUZZ_CHECK_MESSAGE(err.message, sizeof(err.message));
		}
		expect_model(env, &m);
		if (!pair_end)
			break;
		p = pair_end + 1;
	}
	symbi_error_t err = {0};
	FUZZ_CHECK(symbi_env_set(env, "K", NULL, &err) == -1, "NULL value accepted");
	expect_model(env, &m);
	for (size_t i = 0; i < m.len; i++) {
		free(m.keys[i]);
		free(m.values[i]);
	}
	symbi_env_free(env);
	free(text);
	return 0;
}
