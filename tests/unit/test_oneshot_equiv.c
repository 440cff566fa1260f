/* A one-shot execution is start + exec + stop of a live sandbox, with the
 * same results (include/symbi/sandbox.h). The native backend runs it fused,
 * its program starting while the root is built (about a third faster than
 * the three steps), so this checks that the two roads agree: each program
 * of a corpus that covers every way a run ends runs both ways, on the same
 * configuration, and every field of the results must be equal, byte for
 * byte, except the time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <symbi/sandbox.h>

typedef struct equiv_case {
	const char *name;
	const char *code;
	const char *stdin_data;
	uint64_t timeout_ms;       /* 0: the config's */
	uint64_t max_output_bytes; /* 0: the config's */
	symbi_status_t want;       /* what both must say, so that a corpus
				    * that no longer ends as meant is noticed */
} equiv_case_t;

static const equiv_case_t corpus[] = {
	{"success with output on both streams", "echo out; echo err >&2", NULL, 0, 0,
	 SYMBI_STATUS_EXITED},
	{"error exit", "echo partial; exit 7", NULL, 0, 0, SYMBI_STATUS_EXITED},
	{"binary output with NULs", "printf 'a\\000b\\377\\n'", NULL, 0, 0, SYMBI_STATUS_EXITED},
	{"stdin read to its end", "cat; echo done", "line one\nline two\n", 0, 0,
	 SYMBI_STATUS_EXITED},
	{"killed by a signal", "echo before; kill -TERM $$", NULL, 0, 0, SYMBI_STATUS_SIGNALED},
	/* long enough for a one-shot container to start (its timeout counts
	 * from the run's start, a live exec's from the exec's) */
	{"timeout", "echo started; exec sleep 30", NULL, 3000, 0, SYMBI_STATUS_TIMEOUT},
	{"output over the cap", "i=0; while [ $i -lt 200 ]; do echo 0123456789; i=$((i+1)); done",
	 NULL, 0, 100, SYMBI_STATUS_EXITED},
	{"output over the configured cap", "head -c 5000 /dev/zero | tr '\\0' y", NULL, 0, 0,
	 SYMBI_STATUS_EXITED},
	{"stderr over the cap", "head -c 5000 /dev/zero | tr '\\0' x >&2", NULL, 0, 64,
	 SYMBI_STATUS_EXITED},
	{"identity and environment", "id -u; id -g; echo \"$HOME\" \"$PATH\"; pwd", NULL, 0, 0,
	 SYMBI_STATUS_EXITED},
	{"the cgroup seen from inside", "cat /proc/self/cgroup", NULL, 0, 0, SYMBI_STATUS_EXITED},
	{"program not found", "exec /no/such/program", NULL, 0, 0, SYMBI_STATUS_EXITED},
	/* the last: test_corpus_gives_the_same_results checks the limit bit */
	{"fork bomb under the pids limit",
	 "i=0; while [ $i -lt 64 ]; do sleep 5 & i=$((i+1)); done; echo all forked", NULL, 0, 0,
	 SYMBI_STATUS_EXITED},
};

/* Tight enough limits for the fork bomb and the output cap to be met. */
static const char *const equiv_fields[] = {"pids_limit", "16", "memory_limit", "128m",
					   "max_output_bytes", "4096", NULL};

/* The backend: native, or SYMBI_EQUIV_BACKEND (docker, gvisor) with the
 * image SYMBI_EQUIV_IMAGE, as tests/integration/live_docker.sh runs it. */
static symbi_config_t *equiv_config(void)
{
	symbi_error_t err = {0};
	const char *backend = getenv("SYMBI_EQUIV_BACKEND");
	const char *image = getenv("SYMBI_EQUIV_IMAGE");
	symbi_config_t *cfg = symbi_config_new();
	assert_non_null(cfg);
	if (symbi_config_set(cfg, "backend", backend ? backend : "native", &err) < 0 ||
	    (image && symbi_config_set(cfg, "image", image, &err) < 0))
		fail_msg("backend %s, image %s: %s", backend, image, err.message);
	if (!backend && geteuid() != 0)
		assert_int_equal(symbi_config_set(cfg, "weak_limits", "true", &err), 0);
	for (int i = 0; equiv_fields[i]; i += 2)
		if (symbi_config_set(cfg, equiv_fields[i], equiv_fields[i + 1], &err) < 0)
			fail_msg("%s: %s", equiv_fields[i], err.message);
	return cfg;
}

/* The live sandbox a failed assertion left running: stopped by the
 * teardown, so that a failing test leaves nothing behind. */
static symbi_live_t *running;

static int stop_running(void **state)
{
	(void)state;
	symbi_live_stop(running);
	running = NULL;
	return 0;
}

static symbi_exec_options_t options(const equiv_case_t *c)
{
	return (symbi_exec_options_t){
		.code = c->code, .code_len = strlen(c->code),
		.stdin_data = c->stdin_data, .stdin_len = c->stdin_data ? strlen(c->stdin_data) : 0,
		.timeout_ms = c->timeout_ms, .max_output_bytes = c->max_output_bytes,
		.cancel_fd = -1,
	};
}

static symbi_result_t *one_shot(const symbi_config_t *cfg, const equiv_case_t *c)
{
	symbi_error_t err = {0};
	symbi_sandbox_t *sb = symbi_sandbox_new(cfg, &err);
	if (!sb)
		fail_msg("%s: symbi_sandbox_new: %s", c->name, err.message);
	symbi_exec_options_t o = options(c);
	symbi_result_t *res = NULL;
	int rc = symbi_sandbox_execute_opts(sb, &o, &res, &err);
	symbi_sandbox_free(sb);
	if (rc < 0)
		fail_msg("%s: one-shot: %s", c->name, err.message);
	return res;
}

static symbi_result_t *start_exec_stop(const symbi_config_t *cfg, const equiv_case_t *c)
{
	symbi_error_t err = {0};
	symbi_live_t *lv = running = symbi_live_start(cfg, &err);
	if (!lv)
		fail_msg("%s: symbi_live_start: %s", c->name, err.message);
	symbi_exec_options_t o = options(c);
	symbi_result_t *res = NULL;
	int rc = symbi_live_exec(lv, &o, &res, &err);
	symbi_live_stop(lv);
	running = NULL;
	if (rc < 0)
		fail_msg("%s: live exec: %s", c->name, err.message);
	return res;
}

static void expect_same_bytes(const char *name, const char *what, const char *a, size_t alen,
			      const char *b, size_t blen)
{
	if (alen != blen || memcmp(a, b, alen) != 0)
		fail_msg("%s: %s differs: one-shot %zu bytes [%.200s], start+exec+stop %zu bytes "
			 "[%.200s]", name, what, alen, a, blen, b);
}

static void expect_same(const equiv_case_t *c, const symbi_result_t *a, const symbi_result_t *b)
{
	if (a->status != c->want || b->status != c->want)
		fail_msg("%s: status one-shot %s, start+exec+stop %s, wanted %s (errors [%s] [%s])",
			 c->name, symbi_status_name(a->status), symbi_status_name(b->status),
			 symbi_status_name(c->want), a->error ? a->error : "",
			 b->error ? b->error : "");
	if (a->exit_code != b->exit_code || a->signal != b->signal || a->success != b->success)
		fail_msg("%s: one-shot exit %d signal %d success %d, start+exec+stop exit %d "
			 "signal %d success %d", c->name, a->exit_code, a->signal, a->success,
			 b->exit_code, b->signal, b->success);
	if (a->stdout_truncated != b->stdout_truncated ||
	    a->stderr_truncated != b->stderr_truncated)
		fail_msg("%s: truncation flags differ", c->name);
	expect_same_bytes(c->name, "stdout", a->stdout_data, a->stdout_len, b->stdout_data,
			  b->stdout_len);
	expect_same_bytes(c->name, "stderr", a->stderr_data, a->stderr_len, b->stderr_data,
			  b->stderr_len);
	if (!a->error != !b->error)
		fail_msg("%s: one has an error and not the other: [%s] [%s]", c->name,
			 a->error ? a->error : "(none)", b->error ? b->error : "(none)");
}

static void test_corpus_gives_the_same_results(void **state)
{
	(void)state;
	symbi_config_t *cfg = equiv_config();
	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		symbi_result_t *a = one_shot(cfg, &corpus[i]);
		symbi_result_t *b = start_exec_stop(cfg, &corpus[i]);
		expect_same(&corpus[i], a, b);
		/* The fork bomb means something only if the limit bit: the
		 * shell was refused a child (and exited) both ways. */
		if (i == sizeof(corpus) / sizeof(corpus[0]) - 1 &&
		    (a->exit_code == 0 || strstr(a->stdout_data, "all forked")))
			fail_msg("the pids limit did not bind: exit %d, stdout [%s]", a->exit_code,
				 a->stdout_data);
		symbi_result_free(a);
		symbi_result_free(b);
	}
	symbi_config_free(cfg);
}

/* A program starts with every signal at its default, both ways, whatever
 * its caller ignores or blocks (a server started in the background by a
 * script ignores SIGINT and SIGQUIT: a context's interpreter then could not
 * be interrupted, and a program could not be stopped with ^C). */
static void test_signals_start_at_their_defaults(void **state)
{
	(void)state;
	static const int ignored[] = {SIGINT, SIGQUIT, SIGXFSZ, SIGUSR1, SIGPIPE, SIGHUP};
	struct sigaction old[6];
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(sigaction(ignored[i], &(struct sigaction){.sa_handler = SIG_IGN},
					   &old[i]), 0);
	symbi_config_t *cfg = equiv_config();
	equiv_case_t c = {"signal dispositions", "grep -E '^Sig(Blk|Ign)' /proc/self/status", NULL,
			  0, 0, SYMBI_STATUS_EXITED};
	symbi_result_t *a = one_shot(cfg, &c);
	symbi_result_t *b = start_exec_stop(cfg, &c);
	for (size_t i = 0; i < 6; i++)
		sigaction(ignored[i], &old[i], NULL);
	expect_same(&c, a, b);
	/* In a container the image's shell decides (busybox's sh ignores
	 * SIGQUIT for what it runs); natively nothing is ignored. */
	if (!getenv("SYMBI_EQUIV_BACKEND"))
		assert_string_equal(a->stdout_data,
				    "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
	symbi_result_free(a);
	symbi_result_free(b);
	symbi_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_corpus_gives_the_same_results, stop_running),
		cmocka_unit_test_teardown(test_signals_start_at_their_defaults, stop_running),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
