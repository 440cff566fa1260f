/* Latency of one trivial process in a live sandbox, next to a one-shot
 * run of the same program, both through the C library in one process (no
 * CLI start-up): RUNS of each, interleaved so that a noisy machine slows
 * both alike. Prints medians and percentiles in ms. BACKEND is native by
 * default; docker and gvisor run IMAGE (symbi-test/busybox); RUNTIME, for
 * the docker backend, is the daemon's runtime its containers run on
 * (--runtime, e.g. crun; the daemon's default when absent).
 *
 *   bench/live-exec.sh [RUNS] [BACKEND] [IMAGE] [RUNTIME]   (builds and runs this) */
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <symbi/sandbox.h>

#include "bench_time.h"

static void report(const char *name, double *v, int n)
{
	sort_times(v, n);
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += v[i];
	printf("| %-40s | %7.2f | %7.2f | %7.2f | %7.2f |\n", name, v[n / 2], sum / n,
	       v[n * 9 / 10], v[n - 1]);
}

static int check(symbi_result_t *res, const char *what)
{
	if (!res || res->status != SYMBI_STATUS_EXITED || res->exit_code != 0) {
		fprintf(stderr, "%s failed: %s\n", what, res && res->error ? res->error : "?");
		return -1;
	}
	symbi_result_free(res);
	return 0;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 200;
	const char *backend = argc > 2 ? argv[2] : "native";
	const char *image = argc > 3 ? argv[3] : "symbi-test/busybox";
	const char *runtime = argc > 4 && argv[4][0] ? argv[4] : NULL;
	char runtime_flag[128];
	snprintf(runtime_flag, sizeof(runtime_flag), "--runtime=%s", runtime ? runtime : "");
	if (runs < 10)
		runs = 10;
	symbi_error_t err = {0};
	symbi_config_t *cfg = symbi_config_new();
	if (!cfg || symbi_config_set(cfg, "backend", backend, &err) < 0 ||
	    (strcmp(backend, "native") != 0 && symbi_config_set(cfg, "image", image, &err) < 0) ||
	    (runtime && symbi_config_set(cfg, "extra_flags", runtime_flag, &err) < 0)) {
		fprintf(stderr, "live_exec: %s\n", err.message);
		return 125;
	}
	symbi_sandbox_t *sb = symbi_sandbox_new(cfg, &err);
	symbi_live_t *lv = sb ? symbi_live_start(cfg, &err) : NULL;
	if (!lv) {
		fprintf(stderr, "live_exec: %s\n", err.message);
		return 125;
	}
	double *one = calloc((size_t)runs, sizeof(double));
	double *code = calloc((size_t)runs, sizeof(double));
	double *prog = calloc((size_t)runs, sizeof(double));
	double *bare = calloc((size_t)runs, sizeof(double));
	double *cycle = calloc((size_t)runs, sizeof(double));
	extern char **environ;
	char *true_argv[] = {"true", NULL};
	symbi_exec_options_t by_code = {.code = "true", .code_len = 4, .cancel_fd = -1};
	symbi_exec_options_t by_argv = {.argv = true_argv, .cancel_fd = -1};
	for (int i = 0; i < runs + 5; i++) {
		symbi_result_t *res = NULL;
		double t0 = now_ms();
		if (symbi_sandbox_execute(sb, "true", 4, NULL, &res, &err) < 0 || check(res, "one-shot") < 0)
			return 1;
		/* The two execs take turns at going first: on docker the first
		 * after the one-shot run (whose container the daemon is still
		 * removing) was 10-15 ms slower on crun, whichever it was. */
		bool code_first = i % 2 == 0;
		double t1 = now_ms();
		if (symbi_live_exec(lv, code_first ? &by_code : &by_argv, &res, &err) < 0 ||
		    check(res, code_first ? "live sh -c true" : "live true") < 0)
			return 1;
		double t2 = now_ms();
		if (symbi_live_exec(lv, code_first ? &by_argv : &by_code, &res, &err) < 0 ||
		    check(res, code_first ? "live true" : "live sh -c true") < 0)
			return 1;
		double t3 = now_ms();
		pid_t pid;
		int status;
		if (posix_spawnp(&pid, "true", NULL, NULL, true_argv, environ) != 0 ||
		    waitpid(pid, &status, 0) != pid)
			return 1;
		double t4 = now_ms();
		/* A one-shot run made of a live sandbox: start, exec, stop. */
		symbi_live_t *once = symbi_live_start(cfg, &err);
		if (!once || symbi_live_exec(once, &by_code, &res, &err) < 0 ||
		    check(res, "start+exec+stop") < 0)
			return 1;
		symbi_live_stop(once);
		double t5 = now_ms();
		if (i < 5)
			continue; /* warm-up */
		one[i - 5] = t1 - t0;
		code[i - 5] = code_first ? t2 - t1 : t3 - t2;
		prog[i - 5] = code_first ? t3 - t2 : t2 - t1;
		bare[i - 5] = t4 - t3;
		cycle[i - 5] = t5 - t4;
	}
	char title[64];
	snprintf(title, sizeof(title), "%s backend%s%s, ms", backend, runtime ? " on " : "",
		 runtime ? runtime : "");
	printf("| %-40s | %7s | %7s | %7s | %7s |\n", title, "median", "mean", "p90", "max");
	printf("|------------------------------------------|---------|---------|---------|---------|\n");
	report("one-shot run of sh -c true", one, runs);
	report("live sandbox: exec of sh -c true", code, runs);
	report("live sandbox: exec of true (argv)", prog, runs);
	report("no sandbox: posix_spawn of true", bare, runs);
	report("live start + exec of sh -c true + stop", cycle, runs);
	printf("\nlive exec / one-shot (medians): %.2f\n", code[runs / 2] / one[runs / 2]);
	symbi_live_stop(lv);
	symbi_sandbox_free(sb);
	symbi_config_free(cfg);
	free(one);
	free(code);
	free(prog);
	free(bare);
	free(cycle);
	return 0;
}
