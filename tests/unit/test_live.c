/* Live native sandboxes through the public API: many processes in one
 * sandbox, state that persists, background processes, streamed output,
 * per-process and sandbox-wide limits, and confinement of every process
 * (as root: the run's cgroup; otherwise the rlimit fallback). */
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
#include <sys/vfs.h>
#include <unistd.h>

#include <symbi/sandbox.h>

#include "live_helpers.h"
#include "test_helpers.h"

static symbi_result_t *exec_opts(symbi_live_t *lv, symbi_exec_options_t *o)
{
	symbi_error_t err = {0};
	symbi_result_t *res = NULL;
	if (symbi_live_exec(lv, o, &res, &err) < 0)
		fail_msg("symbi_live_exec: %s", err.message);
	return res;
}

static symbi_result_t *sh(symbi_live_t *lv, const char *code)
{
	symbi_exec_options_t o = {.code = code, .code_len = strlen(code), .cancel_fd = -1};
	return exec_opts(lv, &o);
}

/* Runs code and checks it exits 0 with exactly `want` on stdout. */
static void expect_out(symbi_live_t *lv, const char *code, const char *want)
{
	symbi_result_t *res = sh(lv, code);
	if (res->status != SYMBI_STATUS_EXITED || res->exit_code != 0 ||
	    strcmp(res->stdout_data, want) != 0)
		fail_msg("%s: status %s exit %d stdout [%s] stderr [%s] error [%s]; wanted [%s]", code,
			 symbi_status_name(res->status), res->exit_code, res->stdout_data,
			 res->stderr_data, res->error ? res->error : "", want);
	symbi_result_free(res);
}

static void test_live_exec_basics(void **state)
{
	(void)state;
	setenv("SYMBI_LIVE_SECRET", "leak", 1);
	symbi_live_t *lv = start(NULL);
	expect_out(lv, "env | grep -c SYMBI_LIVE_SECRET; true", "0\n");
	assert_null(symbi_live_ended(lv));
	symbi_result_t *res = sh(lv, "echo out; echo err >&2; exit 3");
	assert_int_equal(res->status, SYMBI_STATUS_EXITED);
	assert_int_equal(res->exit_code, 3);
	assert_string_equal(res->stdout_data, "out\n");
	assert_string_equal(res->stderr_data, "err\n");
	symbi_result_free(res);
	res = sh(lv, "kill -TERM $$");
	assert_int_equal(res->status, SYMBI_STATUS_SIGNALED);
	assert_int_equal(res->signal, SIGTERM);
	symbi_result_free(res);
	/* argv, cwd, env, stdin */
	symbi_env_t *env = symbi_env_new();
	symbi_error_t err;
	assert_int_equal(symbi_env_set(env, "V", "a b", &err), 0);
	char *argv[] = {"sh", "-c", "pwd; printf '%s|' \"$V\"; cat", NULL};
	symbi_exec_options_t o = {.argv = argv, .cwd = "/tmp", .env = env, .stdin_data = "in\n",
				  .stdin_len = 3, .cancel_fd = -1};
	res = exec_opts(lv, &o);
	assert_string_equal(res->stdout_data, "/tmp\na b|in\n");
	assert_int_equal(res->exit_code, 0);
	symbi_result_free(res);
	symbi_env_free(env);
	/* Code too big for argv comes through a descriptor. */
	size_t n = 200 * 1024;
	char *code = malloc(n + 64);
	assert_non_null(code);
	strcpy(code, "echo begin\n#");
	memset(code + strlen(code), 'x', n);
	strcpy(code + 12 + n, "\necho done\n");
	expect_out(lv, code, "begin\ndone\n");
	free(code);
	stop(lv);
}

/* What every process runs under: the same confinement as a one-shot
 * program (no capabilities, seccomp, no_new_privs, the sandbox user, the
 * run's cgroup), only its three streams open, and a shell's signal state
 * (the init blocks SIGCHLD and ignores SIGPIPE). */
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* Writes the pid to a cgroup file; false if it cannot. */
static bool cgroup_write(const char *path, int pid)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return false;
	bool ok = fprintf(f, "%d\n", pid) > 0;
	return fclose(f) == 0 && ok;
}

/* A process sees the run's cgroup, not where the caller sits in the host's
 * hierarchy: the init's cgroup namespace is rooted at the run's cgroup.
 * The caller moves into a cgroup of its own first, so that a missing
 * namespace shows that cgroup in the path (as root on cgroup v1; elsewhere
 * only the form of the path is checked). */
static void test_live_cgroup_view(void **state)
{
	(void)state;
	char caller[128] = "";
	bool moved = false;
	if (geteuid() == 0 && access("/sys/fs/cgroup/memory/cgroup.procs", W_OK) == 0) {
		snprintf(caller, sizeof(caller), "/sys/fs/cgroup/memory/symbi-test-view-%d",
			 (int)getpid());
		char procs[160];
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", caller);
		assert_int_equal(mkdir(caller, 0755), 0);
		moved = cgroup_write(procs, (int)getpid());
		assert_true(moved);
	}
	symbi_live_t *lv = start(NULL);
	symbi_result_t *res = sh(lv, "grep -E '^[0-9]+:memory:' /proc/self/cgroup || echo none");
	/* cgroup v2, where the run's cgroup is not below the caller's: a
	 * namespace rooted at the caller's showed the way up and across
	 * ("0::/../../../symbi-sandbox/symbi-sandbox-..."). The process is at
	 * the root of its namespace, as a one-shot program is. */
	symbi_result_t *v2 = sh(lv, "grep -E '^0::' /proc/self/cgroup; grep -c '/\\.\\.' /proc/self/cgroup");
	stop(lv);
	if (moved) {
		assert_true(cgroup_write("/sys/fs/cgroup/memory/cgroup.procs", (int)getpid()));
		assert_int_equal(rmdir(caller), 0);
	}
	/* cgroup v1: the process is at the root of its namespace too, as a
	 * one-shot program is, not at /symbi-sandbox-PID-... below the
	 * caller's (which named the supervisor's pid). */
	if (geteuid() == 0 && !strstr(res->stdout_data, "none"))
		if (!strstr(res->stdout_data, ":memory:/\n"))
			fail_msg("the process sees [%s], not the run's cgroup at the root", res->stdout_data);
	symbi_result_free(res);
	struct statfs sf;
	bool unified = statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
	if (geteuid() == 0 && unified)
		assert_string_equal(v2->stdout_data, "0::/\n0\n");
	else
		assert_string_equal(v2->stdout_data + strlen(v2->stdout_data) - 2, "0\n");
	symbi_result_free(v2);
}

static void test_live_process_confinement(void **state)
{
	(void)state;
	symbi_live_t *lv = start(NULL);
	for (int i = 0; i < 2; i++) {
		expect_out(lv, "grep -E '^(CapEff|CapPrm|Seccomp|NoNewPrivs|SigBlk|SigIgn):' "
			       "/proc/self/status | tr -s '\\t ' ' '",
			   "SigBlk: 0000000000000000\nSigIgn: 0000000000000000\n"
			   "CapPrm: 0000000000000000\nCapEff: 0000000000000000\n"
			   "NoNewPrivs: 1\nSeccomp: 2\n");
		expect_out(lv, "id -u; echo $(ls /proc/self/fd)", "65534\n0 1 2 3\n");
		expect_out(lv, "unshare -U true 2>/dev/null && echo escaped || echo refused", "refused\n");
	}
	/* The init is pid 1, shows none of the caller's argv or environment,
	 * and lends none of its descriptors (the sync socket, the other
	 * processes' status sockets) or its memory (a copy of the caller's):
	 * it is not dumpable, and ptrace is the seccomp filter's. Control: the
	 * same reads work on the process's own. */
	expect_out(lv, "cat /proc/1/comm; tr '\\0' ' ' < /proc/1/cmdline; echo; (wc -c < /proc/1/environ) 2>/dev/null || echo env-refused",
		   "symbi-init\nsymbi-init \nenv-refused\n");
	expect_out(lv, "ls /proc/1/fd >/dev/null 2>&1 && echo fds-open || echo fds-refused; "
		       "head -c1 /proc/1/mem >/dev/null 2>&1 && echo mem-open || echo mem-refused; "
		       "kill -9 1 && echo killed-sent; kill -0 1 && echo init-alive",
		   "fds-refused\nmem-refused\nkilled-sent\ninit-alive\n");
	expect_out(lv, "ls /proc/self/fd >/dev/null 2>&1 && echo fds-open; "
		       "head -c1 /proc/self/environ >/dev/null 2>&1 && echo env-open",
		   "fds-open\nenv-open\n");
	stop(lv);
}

static void test_live_state_persists_and_leaks_nothing(void **state)
{
	(void)state;
	int fds_before = count_fds();
	symbi_live_t *lv = start(NULL);
	expect_out(lv, "echo kept > file; echo tmp > /tmp/t; x=1", "");
	expect_out(lv, "cat file /tmp/t; echo ${x:-unset}", "kept\ntmp\nunset\n");
	int fds = count_fds();
	for (int i = 0; i < 1000; i++) {
		char code[64], want[32];
		snprintf(code, sizeof(code), "echo %d >> count; echo %d", i, i);
		snprintf(want, sizeof(want), "%d\n", i);
		expect_out(lv, code, want);
	}
	assert_int_equal(count_fds(), fds);
	expect_out(lv, "wc -l < count", "1000\n");
	int pids[4];
	assert_int_equal(symbi_live_list(lv, pids, 4), 0);
	stop(lv);
	assert_int_equal(count_fds(), fds_before);
}

static void test_live_background_process(void **state)
{
	(void)state;
	symbi_live_t *lv = start(NULL);
	char *argv[] = {"sleep", "31337", NULL};
	symbi_exec_options_t o = {.argv = argv, .detached = true, .cancel_fd = -1};
	symbi_process_t *bg;
	symbi_error_t err = {0};
	if (symbi_live_spawn(lv, &o, &bg, &err) < 0)
		fail_msg("spawn: %s", err.message);
	int pid = symbi_process_id(bg);
	assert_true(pid > 1);
	symbi_process_free(bg); /* detached: it keeps running */
	for (int i = 0; i < 3; i++) {
		char code[64], want[32];
		snprintf(code, sizeof(code), "kill -0 %d && echo alive", pid);
		expect_out(lv, code, "alive\n");
		int pids[4];
		assert_int_equal(symbi_live_list(lv, pids, 4), 1);
		assert_int_equal(pids[0], pid);
		snprintf(want, sizeof(want), "%d", i);
		(void)want;
	}
	assert_int_equal(host_procs("sleep 31337"), 1);
	/* A waited-for process cannot be waited for twice; a detached one
	 * never. */
	stop(lv);
	assert_int_equal(host_procs("sleep 31337"), 0);
}

/* Output arrives while the process runs: it prints "first", then waits for
 * a line that is written only once "first" has arrived. */
static void test_live_streamed_output_and_stdin(void **state)
{
	(void)state;
	symbi_live_t *lv = start(NULL);
	struct stream_seen seen = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	const char *code = "echo first; read line; echo \"second $line\"";
	symbi_exec_options_t o = {.code = code, .code_len = strlen(code), .cancel_fd = -1,
				  .on_output = stream_output, .output_ctx = &seen, .stdin_open = true};
	symbi_error_t err = {0};
	if (symbi_live_spawn(lv, &o, &seen.p, &err) < 0)
		fail_msg("spawn: %s", err.message);
	symbi_process_t *p = seen.p;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, stream_wait, &seen), 0);
	assert_false(stream_ended_before(&seen, "first\n"));
	assert_int_equal(symbi_process_write_stdin(p, "go\n", 3, &err), 0);
	assert_int_equal(symbi_process_close_stdin(p, &err), 0);
	pthread_join(t, NULL);
	assert_non_null(seen.res);
	assert_string_equal(seen.res->stdout_data, "first\nsecond go\n");
	assert_string_equal(seen.out, "first\nsecond go\n");
	symbi_result_free(seen.res);
	/* Waited for: neither a second wait nor stdin. */
	symbi_result_t *res = NULL;
	assert_int_equal(symbi_process_wait(p, &res, &err), -1);
	assert_int_equal(err.code, SYMBI_E_INVALID);
	assert_int_equal(symbi_process_write_stdin(p, "x", 1, &err), -1);
	symbi_process_free(p);
	stop(lv);
}

/* Cancels the exec once its first output arrived. */
static void cancel_on_output(void *ctx, int which, const char *data, size_t len)
{
	(void)which;
	(void)data;
	(void)len;
	ssize_t n = write(*(int *)ctx, "x", 1);
	(void)n;
}

static void test_live_timeout_kills_only_that_process(void **state)
{
	(void)state;
	symbi_live_t *lv = start(NULL);
	expect_out(lv, "sleep 1000 > /dev/null 2>&1 & echo $! > bg.pid", "");
	const char *code = "echo partial; exec sleep 100";
	symbi_exec_options_t o = {.code = code, .code_len = strlen(code), .cancel_fd = -1,
				  .timeout_ms = 300};
	symbi_result_t *res = exec_opts(lv, &o);
	assert_int_equal(res->status, SYMBI_STATUS_TIMEOUT);
	assert_string_equal(res->stdout_data, "partial\n");
	assert_non_null(strstr(res->error, "timed out after 300 ms"));
	symbi_result_free(res);
	/* The earlier process's background child, and the sandbox, live on. */
	expect_out(lv, "kill -0 $(cat bg.pid) && echo alive", "alive\n");
	assert_null(symbi_live_ended(lv));
	/* A cancelled exec is CANCELLED, keeps its output, and is the only
	 * thing that ends. */
	int cp[2];
	assert_int_equal(pipe(cp), 0);
	const char *wait_code = "echo before; read x < /dev/null; exec sleep 100";
	symbi_exec_options_t co = {.code = wait_code, .code_len = strlen(wait_code),
				   .cancel_fd = cp[0], .on_output = cancel_on_output,
				   .output_ctx = &cp[1]};
	res = exec_opts(lv, &co);
	close(cp[0]);
	close(cp[1]);
	assert_int_equal(res->status, SYMBI_STATUS_CANCELLED);
	assert_string_equal(symbi_status_name(res->status), "cancelled");
	assert_string_equal(res->stdout_data, "before\n");
	assert_string_equal(res->error, "execution cancelled");
	symbi_result_free(res);
	expect_out(lv, "kill -0 $(cat bg.pid) && echo alive", "alive\n");
	/* signal, once the program runs (signalled between its fork and its
	 * exec, a process under valgrind is the tool's, which reports a
	 * plain exit) */
	char *argv[] = {"sleep", "31345", NULL};
	symbi_exec_options_t so = {.argv = argv, .cancel_fd = -1};
	symbi_process_t *p;
	symbi_error_t err = {0};
	assert_int_equal(symbi_live_spawn(lv, &so, &p, &err), 0);
	int pids[4];
	assert_int_equal(symbi_live_list(lv, pids, 4), 1);
	for (int i = 0; i < 1000 && host_procs("sleep 31345") == 0; i++)
		usleep(10 * 1000);
	assert_int_equal(host_procs("sleep 31345"), 1);
	assert_int_equal(symbi_process_signal(p, SIGTERM, &err), 0);
	assert_int_equal(symbi_process_wait(p, &res, &err), 0);
	assert_int_equal(res->status, SYMBI_STATUS_SIGNALED);
	assert_int_equal(res->signal, SIGTERM);
	symbi_result_free(res);
	symbi_process_free(p);
	assert_int_equal(symbi_live_list(lv, pids, 4), 0);
	/* A process freed without a wait is killed. */
	assert_int_equal(symbi_live_spawn(lv, &so, &p, &err), 0);
	symbi_process_free(p);
	assert_int_equal(symbi_live_list(lv, pids, 4), 0);
	expect_out(lv, "echo still", "still\n");
	stop(lv);
}

/* A tenant that stops every process it may signal, in a loop, catches
 * processes between their start and their exec: each such exec comes back
 * at its timeout, nothing hangs, and the stop leaves nothing. Detached
 * processes that ended cost the caller no descriptor. */
static void test_live_hostile_stopper_and_detached_churn(void **state)
{
	(void)state;
	int fds_before = count_fds();
	symbi_live_t *lv = start(NULL);
	char *stopper[] = {"python3", "-c",
			   "import os, signal\nwhile True:\n    try: os.kill(-1, signal.SIGSTOP)\n"
			   "    except OSError: pass\n", NULL};
	symbi_exec_options_t so = {.argv = stopper, .detached = true, .cancel_fd = -1};
	symbi_process_t *p;
	symbi_error_t err = {0};
	assert_int_equal(symbi_live_spawn(lv, &so, &p, &err), 0);
	symbi_process_free(p);
	alarm(120); /* a hang fails the test */
	char *t[] = {"true", NULL};
	for (int i = 0; i < 20; i++) {
		symbi_exec_options_t o = {.argv = t, .cancel_fd = -1, .timeout_ms = 500};
		symbi_result_t *res = exec_opts(lv, &o);
		assert_true(res->status == SYMBI_STATUS_EXITED || res->status == SYMBI_STATUS_TIMEOUT ||
			    res->status == SYMBI_STATUS_SIGNALED);
		symbi_result_free(res);
	}
	alarm(0);
	stop(lv);
	assert_int_equal(host_procs("python3 -c import os, signal while True:     try: os.kill(-1, signal.SIGSTOP)     except OSError: pass "), 0);
	lv = start(NULL);
	symbi_exec_options_t d = {.argv = t, .detached = true, .cancel_fd = -1};
	for (int i = 0; i < 200; i++) {
		assert_int_equal(symbi_live_spawn(lv, &d, &p, &err), 0);
		symbi_process_free(p);
	}
	/* Once they have ended, the sandbox forgets them (list prunes). */
	int pids[4];
	for (int i = 0; i < 400 && symbi_live_list(lv, pids, 4) > 0; i++)
		usleep(50 * 1000);
	expect_out(lv, "echo done", "done\n");
	if (count_fds() >= fds_before + 40)
		fail_msg("%d descriptors open, %d before", count_fds(), fds_before);
	stop(lv);
	assert_int_equal(count_fds(), fds_before);
}

static void test_live_lifetime_ends_everything(void **state)
{
	(void)state;
	const char *fields[] = {"max_lifetime", "1", NULL};
	symbi_live_t *lv = start(fields);
	char *argv[] = {"sleep", "31338", NULL};
	symbi_exec_options_t bo = {.argv = argv, .detached = true, .cancel_fd = -1};
	symbi_process_t *bg;
	symbi_error_t err = {0};
	assert_int_equal(symbi_live_spawn(lv, &bo, &bg, &err), 0);
	symbi_process_free(bg);
	symbi_result_t *res = sh(lv, "echo before; sleep 60");
	assert_int_equal(res->status, SYMBI_STATUS_TIMEOUT);
	assert_string_equal(res->stdout_data, "before\n");
	assert_non_null(strstr(res->error, "max_lifetime"));
	symbi_result_free(res);
	assert_non_null(symbi_live_ended(lv));
	assert_int_equal(host_procs("sleep 31338"), 0);
	/* Later calls say so. */
	symbi_process_t *p;
	symbi_exec_options_t o = {.code = "true", .code_len = 4, .cancel_fd = -1};
	assert_int_equal(symbi_live_spawn(lv, &o, &p, &err), -1);
	assert_int_equal(err.code, SYMBI_E_UNAVAILABLE);
	assert_non_null(strstr(err.message, "max_lifetime"));
	res = exec_opts(lv, &o);
	assert_int_equal(res->status, SYMBI_STATUS_ERROR);
	assert_non_null(strstr(res->error, "max_lifetime"));
	symbi_result_free(res);
	stop(lv);
}

static void test_live_idle_timeout(void **state)
{
	(void)state;
	const char *fields[] = {"idle_timeout", "0.2", NULL};
	symbi_live_t *lv = start(fields);
	/* A waited-for process keeps it busy however long it runs. */
	expect_out(lv, "sleep 0.5; echo busy", "busy\n");
	for (int i = 0; i < 200 && !symbi_live_ended(lv); i++)
		usleep(50 * 1000);
	assert_non_null(symbi_live_ended(lv));
	assert_non_null(strstr(symbi_live_ended(lv), "idle"));
	stop(lv);
}

static void test_live_oom_is_the_process(void **state)
{
	(void)state;
	const char *fields[] = {"memory_limit", "64m", NULL};
	symbi_live_t *lv = start(fields);
	symbi_result_t *res = sh(lv, "python3 -c 'b = b\"x\" * (256 << 20); print(len(b))'");
	if (geteuid() == 0) {
		assert_int_equal(res->status, SYMBI_STATUS_OOM);
		assert_non_null(strstr(res->error, "memory limit"));
	} else { /* RLIMIT_AS without a cgroup: a MemoryError, no OOM kill */
		assert_int_equal(res->status, SYMBI_STATUS_EXITED);
		assert_int_not_equal(res->exit_code, 0);
	}
	assert_string_equal(res->stdout_data, "");
	symbi_result_free(res);
	expect_out(lv, "echo after", "after\n");
	stop(lv);
}

static void test_live_bad_input(void **state)
{
	(void)state;
	symbi_live_t *lv = start(NULL);
	symbi_error_t err = {0};
	symbi_process_t *p = NULL;
	char *argv[] = {"true", NULL};
	char *empty[] = {NULL};
	symbi_exec_options_t bad[] = {
		{.argv = argv, .code = "x", .code_len = 1, .cancel_fd = -1},
		{.argv = empty, .cancel_fd = -1},
		{.argv = argv, .cwd = "relative", .cancel_fd = -1},
		{.argv = argv, .cwd = "/a/../b", .cancel_fd = -1},
		{.argv = argv, .cwd = "/.oldroot", .cancel_fd = -1},
		{.argv = argv, .stdin_open = true, .stdin_data = "x", .stdin_len = 1, .cancel_fd = -1},
		{.argv = argv, .detached = true, .stdin_open = true, .cancel_fd = -1},
		{.code = NULL, .code_len = 3, .cancel_fd = -1},
	};
	int fds = count_fds();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(symbi_live_spawn(lv, &bad[i], &p, &err), -1);
		assert_int_equal(err.code, SYMBI_E_INVALID);
		assert_null(p);
	}
	assert_int_equal(count_fds(), fds);
	/* What fails inside the sandbox is a result. */
	char *missing[] = {"no-such-program", NULL};
	symbi_exec_options_t o = {.argv = missing, .cancel_fd = -1};
	symbi_result_t *res = exec_opts(lv, &o);
	assert_int_equal(res->status, SYMBI_STATUS_ERROR);
	assert_non_null(strstr(res->error, "no-such-program"));
	symbi_result_free(res);
	symbi_exec_options_t nodir = {.argv = argv, .cwd = "/nonexistent", .cancel_fd = -1};
	res = exec_opts(lv, &nodir);
	assert_int_equal(res->status, SYMBI_STATUS_ERROR);
	assert_non_null(strstr(res->error, "/nonexistent"));
	symbi_result_free(res);
	/* A one-shot sandbox refuses the live-only options. */
	symbi_config_t *cfg = symbi_config_new();
	assert_int_equal(symbi_config_set(cfg, "backend", "native", &err), 0);
	if (geteuid() != 0)
		assert_int_equal(symbi_config_set(cfg, "weak_limits", "true", &err), 0);
	symbi_sandbox_t *sb = symbi_sandbox_new(cfg, &err);
	assert_non_null(sb);
	symbi_exec_options_t one = {.argv = argv, .cancel_fd = -1};
	assert_int_equal(symbi_sandbox_execute_opts(sb, &one, &res, &err), -1);
	assert_int_equal(err.code, SYMBI_E_INVALID);
	symbi_sandbox_free(sb);
	/* Other backends have no live sandboxes yet: said so. */
	assert_int_equal(symbi_config_set(cfg, "backend", "process", &err), 0);
	assert_null(symbi_live_start(cfg, &err));
	assert_int_equal(err.code, SYMBI_E_UNAVAILABLE);
	symbi_config_free(cfg);
	stop(lv);
	symbi_live_stop(NULL); /* a no-op */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_live_exec_basics, stop_all),
		cmocka_unit_test_teardown(test_live_process_confinement, stop_all),
		cmocka_unit_test_teardown(test_live_cgroup_view, stop_all),
		cmocka_unit_test_teardown(test_live_state_persists_and_leaks_nothing, stop_all),
		cmocka_unit_test_teardown(test_live_background_process, stop_all),
		cmocka_unit_test_teardown(test_live_streamed_output_and_stdin, stop_all),
		cmocka_unit_test_teardown(test_live_timeout_kills_only_that_process, stop_all),
		cmocka_unit_test_teardown(test_live_hostile_stopper_and_detached_churn, stop_all),
		cmocka_unit_test_teardown(test_live_lifetime_ends_everything, stop_all),
		cmocka_unit_test_teardown(test_live_idle_timeout, stop_all),
		cmocka_unit_test_teardown(test_live_oom_is_the_process, stop_all),
		cmocka_unit_test_teardown(test_live_bad_input, stop_all),
	};
	return cmocka_run_group_tests_name("live", tests, NULL, NULL);
}
