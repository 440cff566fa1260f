/* The native and process backends through the public API (needs root for
 * the native backend's cgroups on this machine; as another user the native
 * tests still run, with the rlimit fallback). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <symbi/sandbox.h>

static symbi_sandbox_t *make(const char *const *fields)
{
	symbi_error_t err = {0};
	symbi_config_t *cfg = symbi_config_new();
	assert_non_null(cfg);
	assert_int_equal(symbi_config_set(cfg, "backend", "native", &err), 0);
	for (int i = 0; fields && fields[i]; i += 2)
		if (symbi_config_set(cfg, fields[i], fields[i + 1], &err) < 0)
			fail_msg("%s=%s: %s", fields[i], fields[i + 1], err.message);
	symbi_sandbox_t *sb = symbi_sandbox_new(cfg, &err);
	symbi_config_free(cfg);
	if (!sb)
		fail_msg("symbi_sandbox_new: %s", err.message);
	return sb;
}

static symbi_result_t *run(symbi_sandbox_t *sb, const char *code, const symbi_env_t *env)
{
	symbi_error_t err = {0};
	symbi_result_t *res = NULL;
	if (symbi_sandbox_execute(sb, code, strlen(code), env, &res, &err) < 0)
		fail_msg("execute: %s", err.message);
	return res;
}

static void test_native_echo_and_exit_code(void **state)
{
	(void)state;
	symbi_sandbox_t *sb = make(NULL);
	assert_string_equal(symbi_sandbox_backend_name(sb), "native");
	assert_null(symbi_sandbox_warning(sb));
	symbi_result_t *res = run(sb, "echo out; echo err >&2; exit 3", NULL);
	assert_int_equal(res->status, SYMBI_STATUS_EXITED);
	assert_int_equal(res->exit_code, 3);
	assert_string_equal(res->stdout_data, "out\n");
	assert_string_equal(res->stderr_data, "err\n");
	assert_false(res->success);
	symbi_result_free(res);
	res = run(sb, "kill -TERM $$", NULL);
	assert_int_equal(res->status, SYMBI_STATUS_SIGNALED);
	assert_int_equal(res->signal, SIGTERM);
	symbi_result_free(res);
	symbi_sandbox_free(sb);
}

static void test_native_env_cleared(void **state)
{
	(void)state;
	setenv("SYMBI_UNIT_SECRET", "leak", 1);
	symbi_sandbox_t *sb = make(NULL);
	symbi_env_t *env = symbi_env_new();
	symbi_error_t err;
	assert_int_equal(symbi_env_set(env, "V", "a\nb \"c\" $d", &err), 0);
	symbi_result_t *res = run(sb, "printf %s \"$V\"; echo; env | grep -c SYMBI_UNIT_SECRET", env);
	assert_string_equal(res->stdout_data, "a\nb \"c\" $d\n0\n");
	symbi_result_free(res);
	symbi_env_free(env);
	symbi_sandbox_free(sb);
}

static void test_native_timeout_keeps_output(void **state)
{
	(void)state;
	/* Long enough for "partial" to come out first on a slow machine (under
	 * valgrind in the cgroup v2 lane's TCG guest, 0.5 s was not). */
	const char *fields[] = {"max_execution_time", "3", NULL};
	symbi_sandbox_t *sb = make(fields);
	symbi_result_t *res = run(sb, "trap '' TERM; echo partial; sleep 100", NULL);
	assert_int_equal(res->status, SYMBI_STATUS_TIMEOUT);
	assert_string_equal(res->stdout_data, "partial\n");
	assert_int_equal(res->exit_code, -1);
	assert_true(res->execution_time_ms < 20000);
	symbi_result_free(res);
	symbi_sandbox_free(sb);
}

static void test_native_large_code(void **state)
{
	(void)state;
	symbi_sandbox_t *sb = make(NULL);
	size_t n = 3 * 1024 * 1024;
	char *code = malloc(n + 64);
	assert_non_null(code);
	strcpy(code, "echo begin\n#");
	size_t len = strlen(code);
	memset(code + len, 'x', n);
	strcpy(code + len + n, "\necho done\n");
	symbi_result_t *res = run(sb, code, NULL);
	assert_int_equal(res->status, SYMBI_STATUS_EXITED);
	assert_string_equal(res->stdout_data, "begin\ndone\n");
	symbi_result_free(res);
	free(code);
	symbi_sandbox_free(sb);
}

static void test_native_cancel(void **state)
{
	(void)state;
	symbi_sandbox_t *sb = make(NULL);
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	symbi_exec_options_t o = {.code = "sleep 100", .code_len = 9, .cancel_fd = p[0]};
	symbi_result_t *res = NULL;
	symbi_error_t err;
	assert_int_equal(symbi_sandbox_execute_opts(sb, &o, &res, &err), 0);
	assert_int_equal(res->status, SYMBI_STATUS_ERROR);
	assert_string_equal(res->error, "execution cancelled");
	symbi_result_free(res);
	close(p[0]);
	close(p[1]);
	symbi_sandbox_free(sb);
}

static void test_native_config_errors(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	symbi_config_t *cfg = symbi_config_new();
	assert_int_equal(symbi_config_set(cfg, "backend", "native", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "lang", "cobol", &err), -1);
	assert_int_equal(symbi_config_set(cfg, "tmp_size", "1", &err), -1);
	assert_int_equal(symbi_config_set(cfg, "network_mode", "bridge", &err), 0);
	assert_null(symbi_sandbox_new(cfg, &err));
	assert_non_null(strstr(err.message, "not available on the native backend"));
	assert_int_equal(symbi_config_set(cfg, "network_mode", "none", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "working_dir", "/etc/x", &err), 0);
	assert_null(symbi_sandbox_new(cfg, &err));
	assert_int_equal(symbi_config_set(cfg, "working_dir", "/workspace", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "user", "0", &err), 0);
	assert_null(symbi_sandbox_new(cfg, &err));
	assert_int_equal(err.code, SYMBI_E_SECURITY);
	/* New fields survive copy and JSON. */
	assert_int_equal(symbi_config_load_json(cfg, "{\"lang\":\"python\",\"user\":null,"
						     "\"allowed_executables\":[\"sh\",\"python3\"]}",
						&err), 0);
	symbi_config_t *copy = symbi_config_copy(cfg);
	assert_int_equal(symbi_config_list_count(copy, "allowed_executables"), 2);
	assert_string_equal(symbi_config_list_get(copy, "allowed_executables", 1), "python3");
	symbi_config_free(copy);
	symbi_config_free(cfg);
}

struct thread_arg {
	symbi_sandbox_t *sb;
	int id;
	int ok;
};

static void *thread_run(void *p)
{
	struct thread_arg *a = p;
	char code[64], want[64];
	snprintf(code, sizeof(code), "echo thread-%d", a->id);
	snprintf(want, sizeof(want), "thread-%d\n", a->id);
	for (int i = 0; i < 3; i++) {
		symbi_result_t *res = NULL;
		symbi_error_t err;
		if (symbi_sandbox_execute(a->sb, code, strlen(code), NULL, &res, &err) == 0 &&
		    res->status == SYMBI_STATUS_EXITED && strcmp(res->stdout_data, want) == 0)
			a->ok++;
		else
			print_message("thread %d: %s / %s / %s\n", a->id,
				      res ? symbi_status_name(res->status) : "no result",
				      res && res->error ? res->error : err.message,
				      res ? res->stdout_data : "");
		symbi_result_free(res);
	}
	return NULL;
}

static void test_native_threads_share_a_sandbox(void **state)
{
	(void)state;
	symbi_sandbox_t *sb = make(NULL);
	pthread_t t[4];
	struct thread_arg a[4];
	for (int i = 0; i < 4; i++) {
		a[i] = (struct thread_arg){sb, i, 0};
		assert_int_equal(pthread_create(&t[i], NULL, thread_run, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].ok, 3);
	}
	symbi_sandbox_free(sb);
}

static void test_process_backend(void **state)
{
	(void)state;
	char dir[] = "/tmp/symbi-unit-process.XXXXXX";
	assert_non_null(mkdtemp(dir));
	symbi_error_t err = {0};
	symbi_config_t *cfg = symbi_config_new();
	assert_int_equal(symbi_config_set(cfg, "backend", "process", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "working_directory", dir, &err), 0);
	assert_int_equal(symbi_config_set(cfg, "executable", "sh", &err), 0);
	assert_null(symbi_sandbox_new(cfg, &err)); /* empty allowlist */
	assert_int_equal(err.code, SYMBI_E_SECURITY);
	assert_int_equal(symbi_config_set(cfg, "allowed_executables", "/bin/sh", &err), 0);
	symbi_sandbox_t *sb = symbi_sandbox_new(cfg, &err);
	if (!sb)
		fail_msg("%s", err.message);
	assert_non_null(symbi_sandbox_warning(sb));
	symbi_result_t *res = run(sb, "pwd; exit 4", NULL);
	assert_int_equal(res->exit_code, 4);
	char want[64];
	snprintf(want, sizeof(want), "%s\n", dir);
	assert_string_equal(res->stdout_data, want);
	symbi_result_free(res);
	symbi_sandbox_free(sb);
	symbi_config_free(cfg);
	rmdir(dir);
}

static void test_host_probe(void **state)
{
	(void)state;
	symbi_host_info_t h;
	symbi_error_t err;
	assert_int_equal(symbi_host_probe(&h, &err), 0);
	assert_true(h.kernel[0] != '\0');
	assert_true(h.cgroup_version >= 0 && h.cgroup_version <= 2);
	assert_true(h.seccomp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_native_echo_and_exit_code),
		cmocka_unit_test(test_native_env_cleared),
		cmocka_unit_test(test_native_timeout_keeps_output),
		cmocka_unit_test(test_native_large_code),
		cmocka_unit_test(test_native_cancel),
		cmocka_unit_test(test_native_config_errors),
		cmocka_unit_test(test_native_threads_share_a_sandbox),
		cmocka_unit_test(test_process_backend),
		cmocka_unit_test(test_host_probe),
	};
	return cmocka_run_group_tests_name("native and process backends", tests, NULL, NULL);
}
