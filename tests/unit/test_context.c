/* Stateful code contexts in a live native sandbox: python and sh keep state
 * across cells, return values and exceptions, stream output, survive a
 * cell's timeout, and report their own end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <symbi/sandbox.h>

#include "live_helpers.h"
#include "test_helpers.h"

static symbi_context_t *context(symbi_live_t *lv, const char *language)
{
	symbi_error_t err = {0};
	symbi_context_t *cx = symbi_context_new(lv, language, &err);
	if (!cx)
		fail_msg("symbi_context_new: %s", err.message);
	return cx;
}

static symbi_cell_t *cell(symbi_context_t *cx, const char *code, uint64_t timeout_ms)
{
	symbi_error_t err = {0};
	symbi_cell_t *c = NULL;
	if (symbi_context_run(cx, code, strlen(code), timeout_ms, NULL, NULL, &c, &err) < 0)
		fail_msg("symbi_context_run: %s", err.message);
	return c;
}

/* Runs a cell that must end normally with this stdout and value. */
static void expect_cell(symbi_context_t *cx, const char *code, const char *out, const char *value)
{
	symbi_cell_t *c = cell(cx, code, 0);
	if (c->status != SYMBI_STATUS_EXITED || strcmp(c->stdout_data, out) != 0 ||
	    (value ? !c->value || strcmp(c->value, value) != 0 : c->value != NULL))
		fail_msg("%s: status %s stdout [%s] stderr [%s] value [%s] error [%s %s]; wanted [%s] [%s]",
			 code, symbi_status_name(c->status), c->stdout_data, c->stderr_data,
			 c->value ? c->value : "(none)", c->error_name ? c->error_name : "",
			 c->error ? c->error : "", out, value ? value : "(none)");
	symbi_cell_free(c);
}

static void test_python_state_values_and_exceptions(void **state)
{
	(void)state;
	symbi_live_t *lv = start(NULL);
	symbi_context_t *cx = context(lv, "python");
	expect_cell(cx, "x = 40", "", NULL);
	expect_cell(cx, "x + 2", "", "42");
	expect_cell(cx, "def f(a):\n    return a * 2\nprint('hi')\nf(x)", "hi\n", "80");
	expect_cell(cx, "import sys\nprint('err', file=sys.stderr)\nNone", "", NULL);
	expect_cell(cx, "'a\\nb'", "", "'a\\nb'");
	/* An exception is the cell's, not the context's. */
	symbi_cell_t *c = cell(cx, "y = 1\n1 / 0", 0);
	assert_int_equal(c->status, SYMBI_STATUS_EXITED);
	assert_int_equal(c->exit_code, 1);
	assert_string_equal(c->error_name, "ZeroDivisionError");
	assert_string_equal(c->error_value, "division by zero");
	assert_non_null(strstr(c->traceback, "<cell>"));
	assert_null(strstr(c->traceback, "exec(")); /* no driver frames */
	assert_null(c->value);
	symbi_cell_free(c);
	c = cell(cx, "raise SystemExit(2)", 0);
	assert_string_equal(c->error_name, "SystemExit");
	symbi_cell_free(c);
	c = cell(cx, "def broken(:", 0);
	assert_string_equal(c->error_name, "SyntaxError");
	symbi_cell_free(c);
	expect_cell(cx, "x, y", "", "(40, 1)");
	/* Output that looks like the framing passes through untouched. */
	expect_cell(cx, "print('\\x1e' * 3 + 'x' + '\\x1e'); print('0')", "\x1e\x1e\x1ex\x1e\n0\n", NULL);
	/* A cell that forges its own end (it can read the driver's secret)
	 * ends itself early, and only itself: its real marker, numbered for
	 * it, is plain output to the next cell, whose result is its own. */
	symbi_cell_t *forged = cell(cx, "import __main__, time\n"
				       "m = '\\x1e' + __main__.secret.decode() + ':%d\\x1e' % __main__.seq\n"
				       "print(m + '{\"value\": \"forged\"}', flush=True)\n"
				       "import sys\nprint(m, file=sys.stderr, flush=True)\ntime.sleep(0.3)\n5", 0);
	assert_string_equal(forged->value, "forged");
	symbi_cell_free(forged);
	symbi_cell_t *next = cell(cx, "1 + 1", 0);
	assert_int_equal(next->status, SYMBI_STATUS_EXITED);
	assert_string_equal(next->value, "2");
	symbi_cell_free(next);
	expect_cell(cx, "3 + 3", "", "6");
	/* A cell's stdin is /dev/null, not the framing. */
	expect_cell(cx, "import sys\nrepr(sys.stdin.read())", "", "\"''\"");
	symbi_context_free(cx);
	stop(lv);
}

struct seen {
	pthread_mutex_t lock;
	char out[256];
	size_t len;
	bool first;
	symbi_live_t *lv;
};

static void on_output(void *ctx, int which, const char *data, size_t len)
{
	struct seen *s = ctx;
	pthread_mutex_lock(&s->lock);
	append_stdout(s->out, sizeof(s->out), &s->len, which, data, len);
	bool release = !s->first && memmem(s->out, s->len, "first\n", 6);
	s->first = s->first || release;
	pthread_mutex_unlock(&s->lock);
	if (release) {
		/* The cell waits for this file: it can only exist if "first"
		 * arrived before the cell ended. */
		symbi_exec_options_t o = {.code = "touch /tmp/go", .code_len = 13, .cancel_fd = -1};
		symbi_result_t *res = NULL;
		symbi_live_exec(s->lv, &o, &res, NULL);
		symbi_result_free(res);
	}
}

static void test_python_streams_and_times_out(void **state)
{
	(void)state;
	symbi_live_t *lv = start(NULL);
	symbi_context_t *cx = context(lv, "python");
	struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .lv = lv};
	const char *code = "import os, time\nprint('first', flush=True)\n"
			   "while not os.path.exists('/tmp/go'):\n    time.sleep(0.01)\n'done'";
	symbi_cell_t *c = NULL;
	symbi_error_t err = {0};
	assert_int_equal(symbi_context_run(cx, code, strlen(code), 60000, on_output, &s, &c, &err), 0);
	assert_int_equal(c->status, SYMBI_STATUS_EXITED);
	assert_string_equal(c->value, "'done'");
	assert_string_equal(c->stdout_data, "first\n");
	assert_true(s.first);
	symbi_cell_free(c);
	/* A timeout interrupts the cell; the state stays. */
	expect_cell(cx, "kept = 7", "", NULL);
	c = cell(cx, "import time\nprint('before', flush=True)\ntime.sleep(100)", 300);
	assert_int_equal(c->status, SYMBI_STATUS_TIMEOUT);
	assert_string_equal(c->stdout_data, "before\n");
	assert_string_equal(c->error_name, "KeyboardInterrupt");
	symbi_cell_free(c);
	expect_cell(cx, "kept", "", "7");
	/* One that ignores the interrupt ends the context. */
	c = cell(cx, "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(100)",
		 300);
	assert_int_equal(c->status, SYMBI_STATUS_TIMEOUT);
	assert_non_null(strstr(c->error, "ignored its interrupt"));
	symbi_cell_free(c);
	c = cell(cx, "kept", 0);
	assert_int_equal(c->status, SYMBI_STATUS_ERROR);
	assert_non_null(strstr(c->error, "the context has ended"));
	symbi_cell_free(c);
	symbi_context_free(cx);
	/* The sandbox is fine. */
	cx = context(lv, "python");
	expect_cell(cx, "1 + 1", "", "2");
	symbi_context_free(cx);
	stop(lv);
}

static void test_python_context_death_and_output_cap(void **state)
{
	(void)state;
	const char *fields[] = {"max_output_bytes", "1000", NULL};
	symbi_live_t *lv = start(fields);
	symbi_context_t *cx = context(lv, "python");
	symbi_cell_t *c = cell(cx, "print('x' * 5000)", 0);
	assert_int_equal(c->status, SYMBI_STATUS_EXITED);
	assert_true(c->stdout_truncated);
	assert_int_equal(memcmp(c->stdout_data, "xxxx", 4), 0);
	symbi_cell_free(c);
	expect_cell(cx, "'next'", "", "'next'");
	c = cell(cx, "import os\nos._exit(3)", 0);
	assert_int_equal(c->status, SYMBI_STATUS_ERROR);
	assert_non_null(strstr(c->error, "status 3"));
	symbi_cell_free(c);
	c = cell(cx, "1", 0);
	assert_int_equal(c->status, SYMBI_STATUS_ERROR);
	symbi_cell_free(c);
	symbi_context_free(cx);
	stop(lv);
}

static void test_sh_context(void **state)
{
	(void)state;
	symbi_live_t *lv = start(NULL);
	symbi_context_t *cx = context(lv, "sh");
	symbi_cell_t *c = cell(cx, "cd /tmp; v=5; f() { echo \"f $1\"; }", 0);
	assert_int_equal(c->status, SYMBI_STATUS_EXITED);
	assert_int_equal(c->exit_code, 0);
	symbi_cell_free(c);
	expect_cell(cx, "echo $v; pwd; f a", "5\n/tmp\nf a\n", NULL);
	c = cell(cx, "echo out; echo err >&2; false", 0);
	assert_int_equal(c->exit_code, 1);
	assert_string_equal(c->stdout_data, "out\n");
	assert_string_equal(c->stderr_data, "err\n");
	symbi_cell_free(c);
	c = cell(cx, "echo before; sleep 100", 300);
	assert_int_equal(c->status, SYMBI_STATUS_TIMEOUT);
	assert_string_equal(c->stdout_data, "before\n");
	symbi_cell_free(c);
	expect_cell(cx, "echo $v", "5\n", NULL);
	/* Two contexts of one sandbox are apart, and share its files. */
	symbi_context_t *other = context(lv, "sh");
	expect_cell(other, "echo ${v:-unset}; echo shared > /tmp/f", "unset\n", NULL);
	expect_cell(cx, "cat /tmp/f", "shared\n", NULL);
	symbi_context_free(other);
	symbi_context_free(cx);
	symbi_error_t err = {0};
	assert_null(symbi_context_new(lv, "cobol", &err));
	assert_int_equal(err.code, SYMBI_E_INVALID);
	int pids[4];
	assert_int_equal(symbi_live_list(lv, pids, 4), 0);
	stop(lv);
}

/* A cancelled cell is interrupted as a timed-out one is: status CANCELLED,
 * its output so far, and the context with its state goes on. The pipe is
 * readable from the start, so that the cancel cannot come too late. */
static void test_cancelled_cell_keeps_the_state(void **state)
{
	(void)state;
	symbi_live_t *lv = start(NULL);
	symbi_context_t *cx = context(lv, "python");
	expect_cell(cx, "x = 7", "", NULL);
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	const char *code = "import time\nprint('before', flush=True)\nx = 8\ntime.sleep(60)\nx = 9";
	symbi_error_t err = {0};
	symbi_cell_t *c = NULL;
	assert_int_equal(symbi_context_run_cancellable(cx, code, strlen(code), 10000, p[0], NULL,
						       NULL, &c, &err), 0);
	close(p[0]);
	close(p[1]);
	if (c->status != SYMBI_STATUS_CANCELLED || !c->error ||
	    strcmp(c->error, "the cell was cancelled and interrupted") != 0)
		fail_msg("status %s error [%s] stdout [%s]", symbi_status_name(c->status),
			 c->error ? c->error : "", c->stdout_data);
	symbi_cell_free(c);
	/* The interrupt came during the sleep or before it: x is 7 or 8,
	 * never 9, and the context still answers. */
	symbi_cell_t *after = cell(cx, "x in (7, 8)", 0);
	assert_int_equal(after->status, SYMBI_STATUS_EXITED);
	assert_string_equal(after->value, "True");
	symbi_cell_free(after);
	symbi_context_free(cx);
	stop(lv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_python_state_values_and_exceptions, stop_all),
		cmocka_unit_test_teardown(test_python_streams_and_times_out, stop_all),
		cmocka_unit_test_teardown(test_python_context_death_and_output_cap, stop_all),
		cmocka_unit_test_teardown(test_sh_context, stop_all),
		cmocka_unit_test_teardown(test_cancelled_cell_keeps_the_state, stop_all),
	};
	return cmocka_run_group_tests_name("context", tests, NULL, NULL);
}
