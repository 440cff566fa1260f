/* A one-shot execution cancelled while its program runs, on the native and
 * process backends: status CANCELLED with "execution cancelled", the
 * output written before the cancel kept, and nothing the program started
 * left running. The cancel comes once the program's child (a sleep with a
 * duration unique to this test) exists, so the output before it was
 * already written: no timing. The docker backend's cancel goes through the
 * server in http_shutdown and http_concurrency. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <symbi/sandbox.h>

#include "config_helpers.h"
#include "test_helpers.h"

/* The sleep the programs start, told by its argument. */
#define MARK "525252"

/* Whether a process runs `sleep MARK`. */
static bool sleeper_runs(void)
{
	return host_procs("sleep " MARK) > 0;
}

struct canceller {
	int write_end;
	bool saw_it;
};

/* Closes the cancel pipe once the program's sleep runs (or after 30 s,
 * which fails the test: the sleep never started). */
static void *cancel_when_sleeping(void *arg)
{
	struct canceller *c = arg;
	for (int i = 0; i < 3000 && !(c->saw_it = sleeper_runs()); i++)
		usleep(10000);
	close(c->write_end);
	return NULL;
}

/* Runs the program in a sandbox of cfg (which it frees) and cancels it. */
static void cancel_midway(symbi_config_t *cfg)
{
	symbi_error_t err = {0};
	symbi_sandbox_t *sb = sandbox_of(cfg);
	assert_false(sleeper_runs()); /* control: none before */
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	struct canceller c = {.write_end = p[1]};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, cancel_when_sleeping, &c), 0);
	/* A background child too: the cancel must reach it, not only the
	 * shell. */
	static const char code[] = "echo before; echo err >&2; sleep " MARK " & wait; echo after";
	symbi_exec_options_t o = {.code = code, .code_len = strlen(code), .cancel_fd = p[0]};
	symbi_result_t *res = NULL;
	int rc = symbi_sandbox_execute_opts(sb, &o, &res, &err);
	pthread_join(t, NULL);
	close(p[0]);
	if (rc < 0)
		fail_msg("execute: %s", err.message);
	assert_true(c.saw_it);
	assert_int_equal(res->status, SYMBI_STATUS_CANCELLED);
	assert_string_equal(res->error, "execution cancelled");
	assert_int_equal(res->exit_code, -1);
	assert_false(res->success);
	assert_string_equal(res->stdout_data, "before\n");
	assert_string_equal(res->stderr_data, "err\n");
	symbi_result_free(res);
	symbi_sandbox_free(sb);
	/* The sandbox is gone: nothing it started is left (the process
	 * backend kills the program's group; the native one, its pid
	 * namespace). */
	for (int i = 0; i < 500 && sleeper_runs(); i++)
		usleep(10000);
	assert_false(sleeper_runs());
}

static void test_cancel_native(void **state)
{
	(void)state;
	cancel_midway(native_config(NULL));
}

static void test_cancel_process(void **state)
{
	(void)state;
	/* Its own working directory, not the default one in /tmp, which it
	 * would leave behind. */
	char dir[] = "/tmp/symbi-unit-cancel.XXXXXX";
	assert_non_null(mkdtemp(dir));
	const char *const fields[] = {"backend", "process", "executable", "sh",
				      "allowed_executables", "sh", "working_directory", dir, NULL};
	cancel_midway(config_with(fields));
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cancel_native),
		cmocka_unit_test(test_cancel_process),
	};
	return cmocka_run_group_tests_name("cancel", tests, NULL, NULL);
}
