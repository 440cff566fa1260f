/* The native and process backends through the public API (needs root for
 * the native backend's cgroups on this machine; as another user the native
 * tests still run, with the rlimit fallback). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <symbi/sandbox.h>

#include "config_helpers.h"

/* A native sandbox (see native_config: without root, with weak_limits). */
static symbi_sandbox_t *make(const char *const *fields)
{
	return sandbox_of(native_config(fields));
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
	if (geteuid() == 0)
		assert_null(symbi_sandbox_warning(sb));
	else /* weak_limits without a cgroup (see make) warns */
		assert_non_null(symbi_sandbox_warning(sb));
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
	assert_int_equal(res->status, SYMBI_STATUS_CANCELLED);
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
	/* Paths are normalised before the reserved check; .. is refused. */
	static const char *const bad_dirs[][2] = {
		{"//usr/x", "is inside /usr"}, {"/usr/./x", "is inside /usr"},
		{"/tmp/../usr", "contains '..'"}, {"/x/..", "contains '..'"},
		{"/.oldroot/tmp/x", "is inside /.oldroot"}, {"//.oldroot", "is inside /.oldroot"},
		{"/.symbi/", "is inside /.symbi"}, {"/./", "must not be /"}, {"//", "must not be /"},
		{"/tmp//x", "inside /tmp"},
	};
	for (size_t i = 0; i < sizeof(bad_dirs) / sizeof(bad_dirs[0]); i++) {
		assert_int_equal(symbi_config_set(cfg, "working_dir", bad_dirs[i][0], &err), 0);
		assert_null(symbi_sandbox_new(cfg, &err));
		if (!strstr(err.message, bad_dirs[i][1]))
			fail_msg("working_dir %s: %s", bad_dirs[i][0], err.message);
	}
	assert_int_equal(symbi_config_set(cfg, "working_dir", "/workspace", &err), 0);
	static const char *const bad_volumes[][3] = {
		{"/tmp:/.oldroot/x", NULL, "is inside /.oldroot"},
		{"/tmp://usr/x", NULL, "is inside /usr"},
		{"/tmp:/data", "/tmp:/data/x", "is inside (or is) volume target /data"},
		{"/tmp:/data/x", "/tmp:/data", "is inside (or is) volume target /data"},
		{"/tmp:/data", "/tmp:/data/", "is inside (or is) volume target /data"},
	};
	for (size_t i = 0; i < sizeof(bad_volumes) / sizeof(bad_volumes[0]); i++) {
		assert_int_equal(symbi_config_clear_list(cfg, "volumes", &err), 0);
		for (int j = 0; j < 2; j++)
			if (bad_volumes[i][j])
				assert_int_equal(symbi_config_set(cfg, "volumes", bad_volumes[i][j], &err), 0);
		assert_null(symbi_sandbox_new(cfg, &err));
		if (!strstr(err.message, bad_volumes[i][2]))
			fail_msg("volumes %s %s: %s", bad_volumes[i][0], bad_volumes[i][1], err.message);
	}
	assert_int_equal(symbi_config_clear_list(cfg, "volumes", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "volumes", "/tmp:/data", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "volumes", "/tmp:/data2", &err), 0);
	/* (without root there is no cgroup here: accept rlimits) */
	assert_int_equal(symbi_config_set(cfg, "weak_limits", "true", &err), 0);
	symbi_sandbox_t *ok = symbi_sandbox_new(cfg, &err);
	if (!ok)
		fail_msg("sibling volume targets: %s", err.message);
	symbi_sandbox_free(ok);
	assert_int_equal(symbi_config_clear_list(cfg, "volumes", &err), 0);
	/* weak_limits: a boolean, from text and JSON. */
	assert_int_equal(symbi_config_set(cfg, "weak_limits", "maybe", &err), -1);
	assert_non_null(strstr(err.message, "weak_limits must be true or false"));
	assert_int_equal(symbi_config_load_json(cfg, "{\"weak_limits\": true}", &err), 0);
	assert_int_equal(symbi_config_load_json(cfg, "{\"weak_limits\": \"maybe\"}", &err), -1);
	assert_int_equal(symbi_config_load_json(cfg, "{\"weak_limits\": 1}", &err), -1);
	assert_string_equal(err.message, "configuration field \"weak_limits\" has the wrong type");
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

static void test_native_id_range_config(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	symbi_config_t *cfg = symbi_config_new();
	static const char *const bad[] = {"", "5", "5:", ":5", "0:10", "10:0", "-1:5", "5:-1",
					  "65530:10", "65535:1", "2147483000:1000", "2147483648:1",
					  "1879048192:65536x", " 1:2", "1:2 ", "99999999999999999999:1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(symbi_config_set(cfg, "native_id_range", bad[i], &err), -1);
		assert_int_equal(err.code, SYMBI_E_INVALID);
		assert_non_null(strstr(err.message, "native_id_range"));
	}
	assert_int_equal(symbi_config_set(cfg, "native_id_range", "65536:100", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "native_id_range", "1:65534", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "native_id_range", "2147483647:1", &err), 0);
	assert_int_equal(symbi_config_load_json(cfg, "{\"native_id_range\":\"7:3\"}", &err), 0);
	symbi_config_free(cfg);
}

struct holder_arg {
	symbi_sandbox_t *sb;
	int cancel_fd;
	symbi_result_t *res;
};

static void *hold_id(void *p)
{
	struct holder_arg *a = p;
	symbi_exec_options_t o = {.code = "sleep 60", .code_len = 8, .cancel_fd = a->cancel_fd};
	symbi_error_t err;
	if (symbi_sandbox_execute_opts(a->sb, &o, &a->res, &err) < 0)
		a->res = NULL;
	return NULL;
}

/* Whether a process of host uid `uid` exists (a dumpable one: its /proc
 * directory is its own). */
static bool uid_has_process(uid_t uid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool found = false;
	while (d && !found && (e = readdir(d))) {
		struct stat st;
		char path[300];
		snprintf(path, sizeof(path), "/proc/%s", e->d_name);
		found = e->d_name[0] >= '1' && e->d_name[0] <= '9' && stat(path, &st) == 0 &&
			st.st_uid == uid;
	}
	if (d)
		closedir(d);
	return found;
}

/* Runs of one sandbox on several threads exclude each other from an id as
 * runs of different processes do: the flock belongs to each run's own open
 * file description. A range of one id makes the conflict certain. */
static void test_native_id_lock_across_threads(void **state)
{
	(void)state;
	if (geteuid() != 0)
		fail_msg("run the unit tests as root: native_id_range is for root callers");
	const char *fields[] = {"native_id_range", "1879108192:1", NULL};
	symbi_sandbox_t *sb = make(fields);
	int cancel[2];
	assert_int_equal(pipe(cancel), 0);
	struct holder_arg a = {sb, cancel[0], NULL};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, hold_id, &a), 0);
	bool joined = false; /* the holder ended early: it failed */
	while (!joined && !uid_has_process(1879108192)) {
		joined = pthread_tryjoin_np(t, NULL) == 0;
		usleep(20000);
	}
	symbi_result_t *busy = run(sb, "true", NULL);
	assert_int_equal(busy->status, SYMBI_STATUS_ERROR);
	assert_non_null(strstr(busy->error, "every host id of 1879108192:1 is held"));
	symbi_result_free(busy);
	assert_int_equal(write(cancel[1], "x", 1), 1);
	if (!joined)
		pthread_join(t, NULL);
	close(cancel[0]);
	close(cancel[1]);
	assert_non_null(a.res);
	assert_int_equal(a.res->status, SYMBI_STATUS_CANCELLED);
	assert_string_equal(a.res->error, "execution cancelled");
	symbi_result_free(a.res);
	symbi_result_t *again = run(sb, "awk '{print $2}' /proc/self/uid_map", NULL);
	assert_string_equal(again->stdout_data, "1879108192\n");
	symbi_result_free(again);
	symbi_sandbox_free(sb);
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
		cmocka_unit_test(test_native_id_range_config),
		cmocka_unit_test(test_native_threads_share_a_sandbox),
		cmocka_unit_test(test_native_id_lock_across_threads),
		cmocka_unit_test(test_process_backend),
		cmocka_unit_test(test_host_probe),
	};
	return cmocka_run_group_tests_name("native and process backends", tests, NULL, NULL);
}
