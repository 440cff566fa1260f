/* Shared by the cmocka unit tests that build configurations and sandboxes
 * through the public API (test_native.c, test_cancel.c, and live_helpers.h
 * for the live ones). Include after cmocka.h and symbi/sandbox.h. Static
 * inline: a test using only some of them still builds with -Werror. */
#ifndef SYMBI_TESTS_CONFIG_HELPERS_H
#define SYMBI_TESTS_CONFIG_HELPERS_H

#include <unistd.h>

/* Sets fields (name, value pairs ending in NULL; NULL for none) on cfg: a
 * field refused fails the test with its message. */
static inline void set_fields(symbi_config_t *cfg, const char *const *fields)
{
	symbi_error_t err = {0};
	for (int i = 0; fields && fields[i]; i += 2)
		if (symbi_config_set(cfg, fields[i], fields[i + 1], &err) < 0)
			fail_msg("%s=%s: %s", fields[i], fields[i + 1], err.message);
}

static inline symbi_config_t *config_with(const char *const *fields)
{
	symbi_config_t *cfg = symbi_config_new();
	assert_non_null(cfg);
	set_fields(cfg, fields);
	return cfg;
}

/* The native backend with fields; without root there is no cgroup here, so
 * with weak_limits (rlimits accepted). */
static inline symbi_config_t *native_config(const char *const *fields)
{
	static const char *const native[] = {"backend", "native", NULL};
	static const char *const weak[] = {"backend", "native", "weak_limits", "true", NULL};
	symbi_config_t *cfg = config_with(geteuid() == 0 ? native : weak);
	set_fields(cfg, fields);
	return cfg;
}

/* A one-shot sandbox of cfg, which it frees. */
static inline symbi_sandbox_t *sandbox_of(symbi_config_t *cfg)
{
	symbi_error_t err = {0};
	symbi_sandbox_t *sb = symbi_sandbox_new(cfg, &err);
	symbi_config_free(cfg);
	if (!sb)
		fail_msg("symbi_sandbox_new: %s", err.message);
	return sb;
}

#endif
