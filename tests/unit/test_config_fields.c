/* The configuration's field table (src/core/config_fields.c): every type,
 * each range's boundaries from text and from typed values, the same config
 * whichever way a value is given, typed JSON values, wrong types, volumes
 * as structs, and fields refused on backends where they mean nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"

static symbi_config_t *on(const char *backend)
{
	symbi_config_t *cfg = symbi_config_new();
	symbi_error_t err = {0};
	assert_non_null(cfg);
	assert_int_equal(symbi_config_set(cfg, "backend", backend, &err), 0);
	return cfg;
}

/* The numbers and bools of two configs are the same. */
static void assert_same_values(const symbi_config_t *a, const symbi_config_t *b)
{
	assert_int_equal(a->memory_bytes, b->memory_bytes);
	assert_true(a->cpu_limit == b->cpu_limit);
	assert_int_equal(a->timeout_ms, b->timeout_ms);
	assert_int_equal(a->idle_timeout_ms, b->idle_timeout_ms);
	assert_int_equal(a->max_lifetime_ms, b->max_lifetime_ms);
	assert_int_equal(a->max_output_bytes, b->max_output_bytes);
	assert_int_equal(a->pids_limit, b->pids_limit);
	assert_int_equal(a->tmp_size, b->tmp_size);
	assert_int_equal(a->workdir_size, b->workdir_size);
	assert_int_equal(a->max_memory_mb, b->max_memory_mb);
	assert_int_equal(a->max_cpu_seconds, b->max_cpu_seconds);
	assert_int_equal(a->auto_remove, b->auto_remove);
	assert_int_equal(a->weak_limits, b->weak_limits);
	assert_int_equal(a->backend, b->backend);
	assert_string_equal(a->image, b->image);
	assert_int_equal(a->set_fields, b->set_fields);
}

/* ---- text and typed values give the same config ------------------------ */

typedef enum { T_U64, T_DOUBLE, T_BOOL } typed_kind_t;

typedef struct same_case {
	const char *field, *text;
	typed_kind_t kind;
	uint64_t u;
	double d;
	size_t offset, size; /* the struct member both must set alike */
} same_case_t;

#define M(member) offsetof(symbi_config_t, member), sizeof(((symbi_config_t *)0)->member)

static int set_typed(symbi_config_t *cfg, const same_case_t *c, symbi_error_t *err)
{
	switch (c->kind) {
	case T_U64: return symbi_config_set_u64(cfg, c->field, c->u, err);
	case T_DOUBLE: return symbi_config_set_double(cfg, c->field, c->d, err);
	default: return symbi_config_set_bool(cfg, c->field, c->u != 0, err);
	}
}

static void test_text_and_typed_agree(void **state)
{
	(void)state;
	const same_case_t cases[] = {
		{"memory_limit", "64m", T_U64, 64u << 20, 0, M(memory_bytes)},
		{"memory_limit", "1.5GiB", T_U64, 3ull << 29, 0, M(memory_bytes)},
		{"cpu_limit", "0.5", T_DOUBLE, 0, 0.5, M(cpu_limit)},
		{"cpu_limit", "2", T_U64, 2, 0, M(cpu_limit)},
		{"max_execution_time", "2.5", T_DOUBLE, 0, 2.5, M(timeout_ms)},
		{"idle_timeout", "0.0001", T_DOUBLE, 0, 0.0001, M(idle_timeout_ms)},
		{"max_lifetime", "0.5", T_DOUBLE, 0, 0.5, M(max_lifetime_ms)},
		{"max_output_bytes", "1m", T_U64, 1u << 20, 0, M(max_output_bytes)},
		{"max_output_bytes", "4096", T_DOUBLE, 0, 4096.0, M(max_output_bytes)},
		{"pids_limit", "64", T_U64, 64, 0, M(pids_limit)},
		{"tmp_size", "4k", T_U64, 4096, 0, M(tmp_size)},
		{"workdir_size", "64g", T_U64, 64ull << 30, 0, M(workdir_size)},
		{"max_memory_mb", "100", T_U64, 100, 0, M(max_memory_mb)},
		{"max_cpu_seconds", "7", T_U64, 7, 0, M(max_cpu_seconds)},
		{"auto_remove", "false", T_BOOL, 0, 0, M(auto_remove)},
		{"weak_limits", "yes", T_BOOL, 1, 0, M(weak_limits)},
		{"enforce_resource_limits", "0", T_BOOL, 0, 0, M(enforce_resource_limits)},
		{"allow_writable_volume_paths", "TRUE", T_BOOL, 1, 0, M(allow_writable_volume_paths)},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const same_case_t *c = &cases[i];
		symbi_config_t *a = symbi_config_new(), *b = symbi_config_new();
		symbi_error_t err = {0};
		if (symbi_config_set(a, c->field, c->text, &err) < 0)
			fail_msg("%s=%s: %s", c->field, c->text, err.message);
		if (set_typed(b, c, &err) < 0)
			fail_msg("%s typed: %s", c->field, err.message);
		if (memcmp((char *)a + c->offset, (char *)b + c->offset, c->size) != 0)
			fail_msg("%s: text \"%s\" and the typed value set it differently", c->field,
				 c->text);
		/* ...and differently from the default, so that the case tests something. */
		symbi_config_t *d = symbi_config_new();
		if (memcmp((char *)a + c->offset, (char *)d + c->offset, c->size) == 0)
			fail_msg("%s=%s is the default", c->field, c->text);
		assert_int_equal(a->set_fields, b->set_fields);
		symbi_config_free(a);
		symbi_config_free(b);
		symbi_config_free(d);
	}
	/* Durations: seconds to milliseconds, a tiny non-zero at least 1 ms. */
	symbi_config_t *cfg = symbi_config_new();
	symbi_error_t err = {0};
	assert_int_equal(symbi_config_set_double(cfg, "max_execution_time", 2.5, &err), 0);
	assert_int_equal(cfg->timeout_ms, 2500);
	assert_int_equal(symbi_config_set_double(cfg, "idle_timeout", 0.0001, &err), 0);
	assert_int_equal(cfg->idle_timeout_ms, 1);
	/* memory_limit by bytes is shown as bytes; as text, as written. */
	assert_int_equal(symbi_config_set_u64(cfg, "memory_limit", 64u << 20, &err), 0);
	assert_string_equal(symbi_config_get_memory_limit(cfg), "67108864");
	assert_int_equal(symbi_config_set(cfg, "memory_limit", "64m", &err), 0);
	assert_string_equal(symbi_config_get_memory_limit(cfg), "64m");
	/* Unset from text or typed: the same. */
	assert_int_equal(symbi_config_set(cfg, "memory_limit", "none", &err), 0);
	assert_null(symbi_config_get_memory_limit(cfg));
	assert_int_equal(cfg->memory_bytes, 0);
	assert_int_equal(symbi_config_set(cfg, "cpu_limit", "unlimited", &err), 0);
	assert_true(cfg->cpu_limit < 0);
	assert_int_equal(symbi_config_set_u64(cfg, "pids_limit", 9, &err), 0);
	assert_int_equal(symbi_config_unset(cfg, "pids_limit", &err), 0);
	assert_int_equal(cfg->pids_limit, 0);
	assert_int_equal(symbi_config_set_user_ids(cfg, 1000, 100, &err), 0);
	assert_string_equal(cfg->user, "1000:100");
	assert_int_equal(symbi_config_unset(cfg, "user", &err), 0);
	assert_null(cfg->user);
	symbi_config_free(cfg);
}

/* ---- every range rule at its boundaries, text and typed ----------------- */

typedef struct bound {
	const char *field;
	const char *ok_text, *bad_text; /* just inside, just outside */
	typed_kind_t kind;
	uint64_t ok_u, bad_u;
	double ok_d, bad_d;
	const char *message; /* for bad_text */
} bound_t;

static void expect_bound(const bound_t *b)
{
	symbi_config_t *cfg = symbi_config_new();
	symbi_error_t err = {0};
	if (symbi_config_set(cfg, b->field, b->ok_text, &err) < 0)
		fail_msg("%s=%s refused: %s", b->field, b->ok_text, err.message);
	symbi_config_t *before = symbi_config_copy(cfg);
	if (symbi_config_set(cfg, b->field, b->bad_text, &err) != -1)
		fail_msg("%s=%s accepted", b->field, b->bad_text);
	assert_int_equal(err.code, SYMBI_E_INVALID);
	if (strcmp(err.message, b->message) != 0)
		fail_msg("%s=%s: \"%s\", expected \"%s\"", b->field, b->bad_text, err.message,
			 b->message);
	int ok_rc = b->kind == T_U64 ? symbi_config_set_u64(cfg, b->field, b->ok_u, &err)
				     : symbi_config_set_double(cfg, b->field, b->ok_d, &err);
	if (ok_rc < 0)
		fail_msg("%s typed %llu/%g refused: %s", b->field, (unsigned long long)b->ok_u,
			 b->ok_d, err.message);
	int bad_rc = b->kind == T_U64 ? symbi_config_set_u64(cfg, b->field, b->bad_u, &err)
				      : symbi_config_set_double(cfg, b->field, b->bad_d, &err);
	if (bad_rc != -1 || !strstr(err.message, "is out of range"))
		fail_msg("%s typed %llu/%g: %d %s", b->field, (unsigned long long)b->bad_u, b->bad_d,
			 bad_rc, err.message);
	/* A refused value changed nothing (the ok typed value equals ok_text). */
	assert_same_values(cfg, before);
	symbi_config_free(before);
	symbi_config_free(cfg);
}

static void test_range_boundaries(void **state)
{
	(void)state;
	const bound_t bounds[] = {
		{"memory_limit", "6m", "6291455", T_U64, 6u << 20, (6u << 20) - 1, 0, 0,
		 "memory_limit 6291455 is out of range (6m or more, or none)"},
		{"cpu_limit", "0.01", "0.0099", T_DOUBLE, 0, 0, 0.01, 0.0099,
		 "cpu_limit 0.0099 is out of range (0.01 to 1024, or none)"},
		{"cpu_limit", "1024", "1024.001", T_DOUBLE, 0, 0, 1024, 1024.001,
		 "cpu_limit 1024.001 is out of range (0.01 to 1024, or none)"},
		{"max_execution_time", "0.001", "0.0009", T_DOUBLE, 0, 0, 0.001, 0.0009,
		 "max_execution_time 0.0009 is out of range (0.001 to 604800 seconds)"},
		{"max_execution_time", "604800", "604800.001", T_DOUBLE, 0, 0, 604800, 604800.001,
		 "max_execution_time 604800.001 is out of range (0.001 to 604800 seconds)"},
		{"idle_timeout", "0", "-0.001", T_DOUBLE, 0, 0, 0, -0.001,
		 "idle_timeout -0.001 is out of range (0 for none, or up to 604800 seconds)"},
		{"max_lifetime", "604800", "604801", T_DOUBLE, 0, 0, 604800, 604801,
		 "max_lifetime 604801 is out of range (0 for none, or up to 604800 seconds)"},
		{"max_output_bytes", "1", "0", T_U64, 1, 0, 0, 0,
		 "max_output_bytes 0 is out of range (1 to 1g)"},
		{"max_output_bytes", "1g", "1073741825", T_U64, 1u << 30, (1u << 30) + 1, 0, 0,
		 "max_output_bytes 1073741825 is out of range (1 to 1g)"},
		{"pids_limit", "1", "0", T_U64, 1, 0, 0, 0,
		 "pids_limit 0 is out of range (1 to 4194304, or none)"},
		{"pids_limit", "4194304", "4194305", T_U64, 4194304, 4194305, 0, 0,
		 "pids_limit 4194305 is out of range (1 to 4194304, or none)"},
		{"tmp_size", "4096", "4095", T_U64, 4096, 4095, 0, 0,
		 "tmp_size 4095 is out of range (4k to 64g)"},
		{"workdir_size", "64g", "68719476737", T_U64, 64ull << 30, (64ull << 30) + 1, 0, 0,
		 "workdir_size 68719476737 is out of range (4k to 64g)"},
		{"max_memory_mb", "1", "0", T_U64, 1, 0, 0, 0,
		 "max_memory_mb 0 is out of range (1 to 1099511627776)"},
		{"max_memory_mb", "1099511627776", "1099511627777", T_U64, 1ull << 40,
		 (1ull << 40) + 1, 0, 0, "max_memory_mb 1099511627777 is out of range (1 to 1099511627776)"},
		{"max_cpu_seconds", "4294967296", "4294967297", T_U64, 1ull << 32, (1ull << 32) + 1, 0,
		 0, "max_cpu_seconds 4294967297 is out of range (1 to 4294967296)"},
	};
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
		expect_bound(&bounds[i]);
}

/* ---- wrong types and bad values: the message, and nothing changed ------- */

static void test_wrong_types(void **state)
{
	(void)state;
	symbi_config_t *cfg = symbi_config_new();
	symbi_config_t *before = symbi_config_copy(cfg);
	symbi_error_t err = {0};
#define EXPECT(call, text)                                                             \
	do {                                                                           \
		assert_int_equal((call), -1);                                          \
		assert_int_equal(err.code, SYMBI_E_INVALID);                           \
		if (strcmp(err.message, (text)) != 0)                                  \
			fail_msg("%s: \"%s\", expected \"%s\"", #call, err.message, text); \
	} while (0)
	EXPECT(symbi_config_set_bool(cfg, "image", true, &err),
	       "image takes a string, not true or false");
	EXPECT(symbi_config_set_u64(cfg, "max_execution_time", 5, &err),
	       "max_execution_time takes a number of seconds, not an integer");
	EXPECT(symbi_config_set_double(cfg, "auto_remove", 1, &err),
	       "auto_remove takes true or false, not a number");
	EXPECT(symbi_config_set_bool(cfg, "pids_limit", true, &err),
	       "pids_limit takes an integer, not true or false");
	EXPECT(symbi_config_set_double(cfg, "cpu_limit", NAN, &err),
	       "cpu_limit must be a number, not \"nan\"");
	EXPECT(symbi_config_set_double(cfg, "max_execution_time", INFINITY, &err),
	       "max_execution_time must be a number, not \"inf\"");
	EXPECT(symbi_config_set_double(cfg, "pids_limit", 1.5, &err),
	       "pids_limit must be an integer, not 1.5");
	EXPECT(symbi_config_set_double(cfg, "max_output_bytes", -4, &err),
	       "max_output_bytes -4 is out of range (1 to 1g)");
	EXPECT(symbi_config_set(cfg, "pids_limit", "-3", &err),
	       "pids_limit must be an integer, not \"-3\"");
	EXPECT(symbi_config_set(cfg, "auto_remove", "maybe", &err),
	       "auto_remove must be true or false, not \"maybe\"");
	EXPECT(symbi_config_set(cfg, "cpu_limit", "abc", &err),
	       "cpu_limit must be a number, not \"abc\"");
	EXPECT(symbi_config_unset(cfg, "image", &err), "image cannot be unset");
	EXPECT(symbi_config_set_u64(cfg, "no_such_field", 1, &err),
	       "unknown configuration field \"no_such_field\"");
	EXPECT(symbi_config_set(cfg, "shell", "", &err), "shell must not be empty");
	EXPECT(symbi_config_set(cfg, "working_directory", "rel", &err),
	       "working_directory \"rel\" must be an absolute path");
	EXPECT(symbi_config_set(cfg, "lang", "ruby", &err),
	       "lang \"ruby\" is not supported (use sh, bash, python or node; or set shell to an "
	       "interpreter that takes -c CODE)");
	EXPECT(symbi_config_set_u64(NULL, "pids_limit", 1, &err), "configuration: NULL argument");
	EXPECT(symbi_config_set(cfg, "image", NULL, &err), "symbi_config_set: NULL value");
#undef EXPECT
	assert_same_values(cfg, before);
	assert_int_equal(cfg->set_fields, 0);
	symbi_config_free(before);
	symbi_config_free(cfg);
}

/* ---- JSON: typed values go to the typed setters -------------------------- */

static void test_json_typed_values(void **state)
{
	(void)state;
	symbi_config_t *cfg = on("docker");
	symbi_error_t err = {0};
	assert_int_equal(symbi_config_load_json(cfg,
						"{\"memory_limit\": 67108864, \"cpu_limit\": 2,"
						" \"pids_limit\": 64.0, \"auto_remove\": false,"
						" \"max_output_bytes\": \"2k\", \"user\": 1000,"
						" \"idle_timeout\": {\"secs\": 1, \"nanos\": 5000000},"
						" \"max_execution_time\": 1.25}",
						&err),
			 0);
	assert_int_equal(cfg->memory_bytes, 64u << 20);
	assert_true(cfg->cpu_limit == 2.0);
	assert_int_equal(cfg->pids_limit, 64);
	assert_false(cfg->auto_remove);
	assert_int_equal(cfg->max_output_bytes, 2048);
	assert_string_equal(cfg->user, "1000");
	assert_int_equal(cfg->idle_timeout_ms, 1005);
	assert_int_equal(cfg->timeout_ms, 1250);
	assert_int_equal(symbi_config_load_json(cfg, "{\"pids_limit\": null, \"lang\": null}", &err), 0);
	assert_int_equal(cfg->pids_limit, 0);
	const char *refused[][2] = {
		{"{\"auto_remove\": 0}", "configuration field \"auto_remove\" has the wrong type"},
		{"{\"image\": true}", "configuration field \"image\" has the wrong type"},
		{"{\"image\": null}", "configuration field \"image\" has the wrong type"},
		{"{\"cpu_limit\": [1]}", "configuration field \"cpu_limit\" has the wrong type"},
		{"{\"pids_limit\": 2.5}", "pids_limit must be an integer, not 2.5"},
		{"{\"max_output_bytes\": -1}", "max_output_bytes -1 is out of range (1 to 1g)"},
		{"{\"cpu_limit\": 0}", "cpu_limit 0 is out of range (0.01 to 1024, or none)"},
		{"{\"max_execution_time\": {\"secs\": \"1\"}}",
		 "max_execution_time must be a number of seconds or {\"secs\": N, \"nanos\": M}"},
		{"{\"volumes\": [\"/etc:/x\"]}",
		 "volume mount \"/etc:/x\" targets dangerous host path \"/etc\"; refusing"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(symbi_config_load_json(cfg, refused[i][0], &err), -1);
		if (strcmp(err.message, refused[i][1]) != 0)
			fail_msg("%s: \"%s\", expected \"%s\"", refused[i][0], err.message, refused[i][1]);
	}
	assert_int_equal(cfg->memory_bytes, 64u << 20); /* all or nothing */
	symbi_config_free(cfg);
}

/* ---- volumes: parsed once, into parts ------------------------------------ */

static void test_volume_struct(void **state)
{
	(void)state;
	symbi_config_t *cfg = on("docker");
	symbi_error_t err = {0};
	assert_int_equal(symbi_config_set(cfg, "volumes", "/srv//data/./:/data/:ro,z", &err), 0);
	assert_int_equal(symbi_config_add_volume(cfg, "/srv/data", "/data", true, &err), 0);
	assert_int_equal(symbi_config_add_volume(cfg, "cache", "/c", false, &err), 0);
	assert_int_equal(cfg->nvolumes, 3);
	assert_string_equal(cfg->volumes[0].host, "/srv/data");
	assert_string_equal(cfg->volumes[0].target, "/data");
	assert_string_equal(cfg->volumes[0].mode, "ro,z");
	assert_true(cfg->volumes[0].read_only);
	assert_string_equal(cfg->volumes[1].host, cfg->volumes[0].host);
	assert_string_equal(cfg->volumes[1].target, cfg->volumes[0].target);
	assert_true(cfg->volumes[1].read_only);
	assert_false(cfg->volumes[1].named);
	assert_true(cfg->volumes[2].named);
	assert_false(cfg->volumes[2].read_only);
	assert_string_equal(symbi_config_list_get(cfg, "volumes", 0), "/srv//data/./:/data/:ro,z");
	assert_string_equal(symbi_config_list_get(cfg, "volumes", 2), "cache:/c:rw");
	assert_null(symbi_config_list_get(cfg, "volumes", 3));
	/* The copy owns its own. */
	symbi_config_t *copy = symbi_config_copy(cfg);
	assert_int_equal(symbi_config_clear_list(cfg, "volumes", &err), 0);
	assert_int_equal(symbi_config_list_count(copy, "volumes"), 3);
	assert_string_equal(copy->volumes[2].host, "cache");
	symbi_config_free(copy);
	/* The typed form passes the same checks as the text form. */
	assert_int_equal(symbi_config_add_volume(cfg, "/etc", "/x", false, &err), -1);
	assert_int_equal(err.code, SYMBI_E_SECURITY);
	assert_string_equal(err.message,
			    "volume mount \"/etc:/x:rw\" targets dangerous host path \"/etc\"; refusing");
	assert_int_equal(symbi_config_add_volume(cfg, "/srv/a:b", "/x", false, &err), -1);
	assert_string_equal(err.message, "volume mount \"/srv/a:b:/x:rw\": host and container "
					 "paths must not contain ':'");
	assert_int_equal(symbi_config_add_volume(cfg, "/srv", "/", true, &err), -1);
	assert_string_equal(err.message,
			    "volume mount \"/srv:/:ro\": cannot mount over the container's root");
	assert_int_equal(symbi_config_add_volume(cfg, "/srv/../etc", "/x", true, &err), -1);
	assert_int_equal(err.code, SYMBI_E_SECURITY);
	assert_int_equal(symbi_config_add_volume(cfg, "./rel", "/x", true, &err), -1);
	assert_int_equal(symbi_config_add_volume(cfg, NULL, "/x", true, &err), -1);
	assert_int_equal(cfg->nvolumes, 0);
	symbi_config_free(cfg);
}

/* A volume is parsed once, but its host path is resolved and checked
 * again at use: a directory swapped for a symlink to /etc after it was set
 * is refused by validate, and by a native run after the sandbox started. */
static char swap_dir[] = "/tmp/symbi-unit-XXXXXX";

/* Removes what the test made even when it fails half way. */
static int remove_swap_dir(void **state)
{
	(void)state;
	char vol[128];
	snprintf(vol, sizeof(vol), "%s/vol", swap_dir);
	if (unlink(vol) < 0)
		rmdir(vol);
	rmdir(swap_dir);
	return 0;
}

static void test_volume_checked_again_at_use(void **state)
{
	(void)state;
	char vol[128];
	assert_non_null(mkdtemp(swap_dir));
	snprintf(vol, sizeof(vol), "%s/vol", swap_dir);
	assert_int_equal(mkdir(vol, 0755), 0);
	symbi_config_t *cfg = on("native");
	symbi_error_t err = {0};
	assert_int_equal(symbi_config_add_volume(cfg, vol, "/v", true, &err), 0);
	assert_int_equal(symbi_config_set(cfg, "weak_limits", "true", &err), 0);
	assert_int_equal(symbi_config_validate(cfg, &err), 0);
	symbi_sandbox_t *sb = symbi_sandbox_new(cfg, &err);
	if (!sb)
		fail_msg("native sandbox: %s", err.message);
	assert_int_equal(rmdir(vol), 0);
	assert_int_equal(symlink("/etc", vol), 0);
	assert_int_equal(symbi_config_validate(cfg, &err), -1);
	assert_int_equal(err.code, SYMBI_E_SECURITY);
	char want[300];
	snprintf(want, sizeof(want), "volume mount \"%s:/v:ro\" targets dangerous host path "
		 "\"/etc\" (after resolving symlinks); refusing", vol);
	assert_string_equal(err.message, want);
	symbi_result_t *res = NULL;
	assert_int_equal(symbi_sandbox_execute(sb, "cat /v/hostname", 15, NULL, &res, &err), -1);
	assert_null(res);
	assert_int_equal(err.code, SYMBI_E_SECURITY);
	assert_string_equal(err.message, want);
	symbi_sandbox_free(sb);
	symbi_config_free(cfg);
}

/* ---- a field means something on its backends, and is refused elsewhere -- */

static void expect_refused_on(const char *backend, const char *field, const char *value,
			      const char *message)
{
	symbi_config_t *cfg = on(backend);
	symbi_error_t err = {0};
	assert_int_equal(symbi_config_validate(cfg, &err), 0);
	assert_false(symbi_config_field_honoured(cfg, field));
	if (symbi_config_set(cfg, field, value, &err) < 0)
		fail_msg("%s=%s: %s", field, value, err.message);
	assert_int_equal(symbi_config_validate(cfg, &err), -1);
	assert_int_equal(err.code, SYMBI_E_INVALID);
	if (strcmp(err.message, message) != 0)
		fail_msg("%s on %s: \"%s\", expected \"%s\"", field, backend, err.message, message);
	/* A copy keeps what was set explicitly. */
	symbi_config_t *copy = symbi_config_copy(cfg);
	assert_int_equal(symbi_config_validate(copy, &err), -1);
	symbi_config_free(copy);
	symbi_config_free(cfg);
}

static void test_fields_refused_where_meaningless(void **state)
{
	(void)state;
	static const char *const refused[][4] = { /* backend, field, value, message */
		{"native", "image", "alpine",
		 "image means nothing on the native backend: the native and process "
		 "backends run the host's programs; leave it unset there (it applies to: "
		 "docker gvisor)"},
		{"docker", "runsc_binary", "/usr/bin/runsc",
		 "runsc_binary means nothing on the docker backend; leave it unset there "
		 "(it applies to: gvisor)"},
		{"docker", "workdir_size", "1m",
		 "workdir_size means nothing on the docker backend; leave it unset there "
		 "(it applies to: native)"},
		{"native", "executable", "python3",
		 "executable means nothing on the native backend; leave it unset there (it "
		 "applies to: process)"},
		{"process", "volumes", "/srv:/srv",
		 "volumes means nothing on the process backend: the process backend sees "
		 "the host's files; leave it unset there (it applies to: docker gvisor "
		 "native)"},
		{"process", "memory_limit", "64m",
		 "memory_limit means nothing on the process backend: use max_memory_mb; "
		 "leave it unset there (it applies to: docker gvisor native)"},
		{"native", "extra_flags", "--label=a=b",
		 "extra_flags means nothing on the native backend: extra_flags are docker "
		 "flags; leave it unset there (it applies to: docker gvisor)"},
		{"native", "allowed_named_volumes", "cache",
		 "allowed_named_volumes means nothing on the native backend: named volumes "
		 "are a Docker feature; leave it unset there (it applies to: docker gvisor)"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		expect_refused_on(refused[i][0], refused[i][1], refused[i][2], refused[i][3]);
	/* Where it means something, the same value passes; the check is at
	 * validate, so the order of backend and field does not matter. */
	symbi_config_t *cfg = symbi_config_new();
	symbi_error_t err = {0};
	assert_int_equal(symbi_config_set(cfg, "image", "alpine", &err), 0);
	assert_int_equal(symbi_config_validate(cfg, &err), -1);
	assert_int_equal(symbi_config_set(cfg, "backend", "gvisor", &err), 0);
	assert_true(symbi_config_field_honoured(cfg, "image"));
	assert_int_equal(symbi_config_validate(cfg, &err), 0);
	/* Unsetting is what the backend has anyway: not refused. */
	assert_int_equal(symbi_config_set(cfg, "backend", "process", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "user", "1000", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "user", "", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "lang", "python", &err), 0);
	assert_int_equal(symbi_config_unset(cfg, "lang", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "image", "alpine", &err), 0); /* but this is set */
	assert_int_equal(symbi_config_validate(cfg, &err), -1);
	assert_non_null(strstr(err.message, "image means nothing on the process backend"));
	symbi_config_free(cfg);
	/* An emptied list is the default again: not refused either. */
	cfg = on("process");
	assert_int_equal(symbi_config_set(cfg, "volumes", "/srv:/srv", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "extra_flags", "--init", &err), 0);
	assert_int_equal(symbi_config_validate(cfg, &err), -1);
	assert_int_equal(symbi_config_clear_list(cfg, "volumes", &err), 0);
	assert_int_equal(symbi_config_load_json(cfg, "{\"extra_flags\": []}", &err), 0);
	assert_int_equal(symbi_config_validate(cfg, &err), 0);
	assert_false(symbi_config_field_honoured(cfg, "no_such_field"));
	assert_false(symbi_config_field_honoured(NULL, "image"));
	symbi_config_free(cfg);
	/* The reference's for_image is a docker configuration. */
	cfg = symbi_config_for_image("alpine:3");
	assert_int_equal(symbi_config_get_backend(cfg), SYMBI_BACKEND_DOCKER);
	assert_int_equal(symbi_config_validate(cfg, &err), 0);
	symbi_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_and_typed_agree),
		cmocka_unit_test(test_range_boundaries),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_json_typed_values),
		cmocka_unit_test(test_volume_struct),
		cmocka_unit_test_teardown(test_volume_checked_again_at_use, remove_swap_dir),
		cmocka_unit_test(test_fields_refused_where_meaningless),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
