/* Shared by the unit tests of live sandboxes (test_live.c, test_context.c):
 * start one on the native backend with some fields set, and stop what a
 * failed test left (its cmocka teardown). Include after cmocka.h and
 * symbi/sandbox.h. */
#ifndef SYMBI_TESTS_LIVE_HELPERS_H
#define SYMBI_TESTS_LIVE_HELPERS_H

#include "config_helpers.h"

/* The sandboxes a test started and has not stopped: a failed assertion
 * leaves its test at once, and the teardown stops them, so that a failing
 * test (a mutant's, say) leaves no cgroup behind. */
static symbi_live_t *open_sandboxes[8];

static void track(symbi_live_t *lv, bool add)
{
	for (size_t i = 0; i < 8; i++)
		if (add ? !open_sandboxes[i] : open_sandboxes[i] == lv) {
			open_sandboxes[i] = add ? lv : NULL;
			return;
		}
}

static void stop(symbi_live_t *lv)
{
	track(lv, false);
	symbi_live_stop(lv);
}

static int stop_all(void **state)
{
	(void)state;
	for (size_t i = 0; i < 8; i++) {
		symbi_live_stop(open_sandboxes[i]);
		open_sandboxes[i] = NULL;
	}
	return 0;
}

static symbi_live_t *start(const char *const *fields)
{
	symbi_error_t err = {0};
	symbi_config_t *cfg = native_config(fields);
	symbi_live_t *lv = symbi_live_start(cfg, &err);
	symbi_config_free(cfg);
	if (!lv)
		fail_msg("symbi_live_start: %s", err.message);
	track(lv, true);
	return lv;
}

#endif
