/* Output capture and process supervision, shared by every backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/result.h"
#include "core/stream.h"
#include "core/supervise.h"

static void test_stream_exact_cap_not_truncated(void **state)
{
	(void)state;
	symbi_stream_t s;
	symbi_stream_init(&s, 10);
	assert_int_equal(symbi_stream_append(&s, "0123456789", 10), 0);
	assert_false(symbi_stream_truncated(&s));
	size_t len;
	char *out = symbi_stream_finish(&s, &len);
	assert_int_equal(len, 10);
	assert_string_equal(out, "0123456789");
	free(out);
}

static void test_stream_over_cap(void **state)
{
	(void)state;
	symbi_stream_t s;
	symbi_stream_init(&s, 10);
	assert_int_equal(symbi_stream_append(&s, "01234", 5), 0);
	assert_int_equal(symbi_stream_append(&s, "56789A", 6), 0);
	assert_int_equal(symbi_stream_append(&s, "BCD", 3), 0);
	assert_true(symbi_stream_truncated(&s));
	assert_int_equal(s.total, 14);
	assert_true(s.cap <= 10); /* never more memory than the cap */
	size_t len;
	char *out = symbi_stream_finish(&s, &len);
	assert_string_equal(out, "0123456789\n... [output truncated at 10 bytes]");
	assert_int_equal(len, strlen(out));
	free(out);
}

static void test_stream_memory_grows_with_output(void **state)
{
	(void)state;
	symbi_stream_t s;
	symbi_stream_init(&s, 10 * 1024 * 1024);
	assert_int_equal(symbi_stream_append(&s, "hi", 2), 0);
	assert_true(s.cap < 64 * 1024); /* no cap-sized allocation up front */
	symbi_stream_free(&s);
}

static symbi_supervise_opts_t sh_opts(const char *script, char **argv_store)
{
	argv_store[0] = "/bin/sh";
	argv_store[1] = "-c";
	argv_store[2] = (char *)script;
	argv_store[3] = NULL;
	static char *envp[] = {"PATH=/usr/bin:/bin", NULL};
	symbi_supervise_opts_t o = {
		.path = "/bin/sh", .argv = argv_store, .envp = envp,
		.max_output_bytes = 1024, .timeout_ms = 20000, .kill_grace_ms = 1000,
		.cancel_fd = -1,
	};
	return o;
}

static void test_supervise_both_streams(void **state)
{
	(void)state;
	char *argv[4];
	symbi_supervise_opts_t o = sh_opts("printf out; printf err >&2; exit 7", argv);
	symbi_supervise_outcome_t oc;
	assert_int_equal(symbi_supervise(&o, &oc, NULL), 0);
	assert_true(WIFEXITED(oc.wait_status));
	assert_int_equal(WEXITSTATUS(oc.wait_status), 7);
	assert_int_equal(oc.out.len, 3);
	assert_memory_equal(oc.out.data, "out", 3);
	assert_memory_equal(oc.err.data, "err", 3);
	assert_false(oc.timed_out);
	symbi_stream_free(&oc.out);
	symbi_stream_free(&oc.err);
}

/* A program that writes far more than the cap on both streams must run to
 * its end (the pipes are drained), not block and time out. */
static void test_supervise_drains_past_cap(void **state)
{
	(void)state;
	char *argv[4];
	symbi_supervise_opts_t o = sh_opts(
		"head -c 50000000 /dev/zero; head -c 5000000 /dev/zero >&2; echo done >&2; exit 3", argv);
	symbi_supervise_outcome_t oc;
	assert_int_equal(symbi_supervise(&o, &oc, NULL), 0);
	assert_false(oc.timed_out);
	assert_int_equal(WEXITSTATUS(oc.wait_status), 3);
	assert_int_equal(oc.out.total, 50000000);
	assert_int_equal(oc.err.total, 5000005);
	assert_int_equal(oc.out.len, 1024);
	symbi_stream_free(&oc.out);
	symbi_stream_free(&oc.err);
}

static void test_supervise_timeout_keeps_partial_output(void **state)
{
	(void)state;
	char *argv[4];
	symbi_supervise_opts_t o = sh_opts("echo before; exec sleep 30", argv);
	o.timeout_ms = 300;
	symbi_supervise_outcome_t oc;
	assert_int_equal(symbi_supervise(&o, &oc, NULL), 0);
	assert_true(oc.timed_out);
	assert_true(WIFSIGNALED(oc.wait_status));
	assert_int_equal(WTERMSIG(oc.wait_status), SIGKILL);
	assert_int_equal(oc.out.len, 7);
	assert_memory_equal(oc.out.data, "before\n", 7);
	symbi_stream_free(&oc.out);
	symbi_stream_free(&oc.err);
}

static void test_supervise_feeds_input(void **state)
{
	(void)state;
	char *argv[4];
	symbi_supervise_opts_t o = sh_opts("wc -c", argv);
	size_t n = 3 * 1024 * 1024; /* more than any pipe buffer */
	char *input = malloc(n);
	memset(input, 'x', n);
	o.input = input;
	o.input_len = n;
	symbi_supervise_outcome_t oc;
	assert_int_equal(symbi_supervise(&o, &oc, NULL), 0);
	assert_int_equal(WEXITSTATUS(oc.wait_status), 0);
	assert_non_null(oc.out.data);
	assert_int_equal(atol(oc.out.data), (long)n);
	free(input);
	symbi_stream_free(&oc.out);
	symbi_stream_free(&oc.err);
}

static void test_supervise_cancel(void **state)
{
	(void)state;
	char *argv[4];
	symbi_supervise_opts_t o = sh_opts("exec sleep 30", argv);
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	o.cancel_fd = p[0];
	o.kill_grace_ms = 0;
	symbi_supervise_outcome_t oc;
	assert_int_equal(symbi_supervise(&o, &oc, NULL), 0);
	assert_true(oc.cancelled);
	assert_true(oc.elapsed_ms < 10000);
	close(p[0]);
	close(p[1]);
	symbi_stream_free(&oc.out);
	symbi_stream_free(&oc.err);
}

static void test_supervise_missing_program(void **state)
{
	(void)state;
	char *argv[] = {"/nonexistent/prog", NULL};
	char *envp[] = {NULL};
	symbi_supervise_opts_t o = {
		.path = "/nonexistent/prog", .argv = argv, .envp = envp,
		.max_output_bytes = 16, .timeout_ms = 1000, .cancel_fd = -1,
	};
	symbi_supervise_outcome_t oc;
	symbi_error_t err = {0};
	assert_int_equal(symbi_supervise(&o, &oc, &err), -1);
	assert_non_null(strstr(err.message, "/nonexistent/prog"));
}

static void test_utf8_lossy(void **state)
{
	(void)state;
	size_t len;
	char *s = symbi_utf8_lossy("ok \xc3\xa9 \xff \xe2\x82", 10, &len);
	assert_string_equal(s, "ok \xc3\xa9 \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd");
	free(s);
	s = symbi_utf8_lossy("a\0b", 3, &len);
	assert_int_equal(len, 3);
	free(s);
	/* Overlong encodings and surrogates are invalid too. */
	s = symbi_utf8_lossy("\xc0\xaf\xed\xa0\x80", 5, &len);
	assert_null(strchr(s, '/'));
	free(s);
}

static void test_result_json(void **state)
{
	(void)state;
	symbi_result_t *res = symbi_result_new_error("boom", 5);
	assert_non_null(res);
	char *json = symbi_result_to_json(res, NULL);
	assert_non_null(strstr(json, "\"status\":\"error\""));
	assert_non_null(strstr(json, "\"exit_code\":-1"));
	assert_non_null(strstr(json, "\"error\":\"boom\""));
	assert_non_null(strstr(json, "\"signal\":null"));
	free(json);
	symbi_result_free(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_exact_cap_not_truncated),
		cmocka_unit_test(test_stream_over_cap),
		cmocka_unit_test(test_stream_memory_grows_with_output),
		cmocka_unit_test(test_supervise_both_streams),
		cmocka_unit_test(test_supervise_drains_past_cap),
		cmocka_unit_test(test_supervise_timeout_keeps_partial_output),
		cmocka_unit_test(test_supervise_feeds_input),
		cmocka_unit_test(test_supervise_cancel),
		cmocka_unit_test(test_supervise_missing_program),
		cmocka_unit_test(test_utf8_lossy),
		cmocka_unit_test(test_result_json),
	};
	return cmocka_run_group_tests_name("capture", tests, NULL, NULL);
}
