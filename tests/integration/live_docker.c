/* Live sandboxes on the docker and gvisor backends, against the real
 * engine (run by live_docker.sh, and by live_docker_crun.sh with a
 * RUNTIME: the docker backend's containers on that runtime of the daemon,
 * through extra_flags --runtime): prints TAP lines, numbered from argv[4]
 * on, and the count it ran as "# ran N" at the end.
 *
 *   live_docker BACKEND BUSYBOX_IMAGE PYTHON_IMAGE FIRST_NUMBER [RUNTIME]
 *
 * Every check names what it asserts; nothing asserts time. */
#include <symbi/sandbox.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/test_helpers.h"

static int test_n, failed;
static const char *backend, *busybox, *python;
static const char *runtime;    /* the daemon's runtime asked for; NULL: its default */
static char runtime_flag[128]; /* --runtime=RUNTIME */
static bool gvisor;

static void check(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s %d - [%s%s%s] ", cond ? "ok" : "not ok", ++test_n, backend, runtime ? " on " : "",
	       runtime ? runtime : "");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	failed += !cond;
	fflush(stdout);
}

static void diag(const char *what, const symbi_result_t *r)
{
	printf("#   %s: status %s exit %d signal %d stdout [%s] stderr [%s] error [%s]\n", what,
	       symbi_status_name(r->status), r->exit_code, r->signal, r->stdout_data,
	       r->stderr_data, r->error ? r->error : "");
}

static symbi_live_t *start_with(const char *image, const char *const *fields)
{
	symbi_error_t err = {0};
	symbi_config_t *cfg = symbi_config_new();
	if (symbi_config_set(cfg, "backend", backend, &err) < 0 ||
	    symbi_config_set(cfg, "image", image, &err) < 0 ||
	    (runtime && symbi_config_set(cfg, "extra_flags", runtime_flag, &err) < 0)) {
		printf("Bail out! config: %s\n", err.message);
		exit(1);
	}
	for (int i = 0; fields && fields[i]; i += 2)
		if (symbi_config_set(cfg, fields[i], fields[i + 1], &err) < 0) {
			printf("Bail out! %s=%s: %s\n", fields[i], fields[i + 1], err.message);
			exit(1);
		}
	symbi_live_t *lv = symbi_live_start(cfg, &err);
	symbi_config_free(cfg);
	if (!lv) {
		printf("Bail out! symbi_live_start on %s: %s\n", backend, err.message);
		exit(1);
	}
	return lv;
}

static symbi_result_t *run(symbi_live_t *lv, symbi_exec_options_t *o)
{
	symbi_error_t err = {0};
	symbi_result_t *res = NULL;
	if (symbi_live_exec(lv, o, &res, &err) < 0) {
		printf("Bail out! symbi_live_exec: %s\n", err.message);
		exit(1);
	}
	return res;
}

static symbi_result_t *sh(symbi_live_t *lv, const char *code)
{
	symbi_exec_options_t o = {.code = code, .code_len = strlen(code), .cancel_fd = -1};
	return run(lv, &o);
}

/* Does code exit 0 with exactly `want` on stdout? */
static bool out_is(symbi_live_t *lv, const char *code, const char *want)
{
	symbi_result_t *r = sh(lv, code);
	bool good = r->status == SYMBI_STATUS_EXITED && r->exit_code == 0 &&
		    strcmp(r->stdout_data, want) == 0;
	if (!good)
		diag(code, r);
	symbi_result_free(r);
	return good;
}

/* Sockets this process has open: all of them, and those a program it runs
 * would inherit (not close-on-exec). */
static void count_sockets(int *all, int *inheritable)
{
	*all = *inheritable = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);
		struct stat st;
		if (e->d_name[0] == '.' || fd == dirfd(d) || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
			continue;
		(*all)++;
		*inheritable += !(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	}
	if (d)
		closedir(d);
}

/* Containers of this process (by the owner label, which names our pid). */
static int my_containers(void)
{
	FILE *f = popen("docker ps -a --filter label=io.symbi.sandbox --format "
			"'{{.Label \"io.symbi.sandbox.owner\"}}'", "r");
	char line[512], mark[32];
	snprintf(mark, sizeof(mark), "/%d/", (int)getpid());
	int n = 0;
	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, mark) != NULL;
	if (f)
		pclose(f);
	return n;
}

/* The runtime the daemon runs this process's containers on, each
 * container's on a line. */
static void my_runtimes(char *out, size_t size)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "docker ps -q --filter label=io.symbi.sandbox.owner | xargs -r docker inspect --format "
		 "'{{index .Config.Labels \"io.symbi.sandbox.owner\"}} {{.HostConfig.Runtime}}' | "
		 "grep '/%d/' | sed 's/.* //'", (int)getpid());
	FILE *f = popen(cmd, "r");
	size_t len = f ? fread(out, 1, size - 1, f) : 0;
	out[len] = '\0';
	if (f)
		pclose(f);
}

static void test_basics(void)
{
	symbi_live_t *lv = start_with(busybox, NULL);
	if (runtime) {
		char got[256], want[160];
		my_runtimes(got, sizeof(got));
		snprintf(want, sizeof(want), "%s\n", runtime);
		check(strcmp(got, want) == 0, "the container runs on the runtime asked for, %s (got [%s])",
		      runtime, got);
	}
	symbi_result_t *r = sh(lv, "echo out; echo err >&2; exit 3");
	check(r->status == SYMBI_STATUS_EXITED && r->exit_code == 3 &&
		      strcmp(r->stdout_data, "out\n") == 0 && strcmp(r->stderr_data, "err\n") == 0,
	      "an exec's stdout, stderr and exit code, byte for byte");
	symbi_result_free(r);
	r = sh(lv, "kill -TERM $$");
	check(r->status == SYMBI_STATUS_SIGNALED && r->signal == SIGTERM, "a process killed by SIGTERM: signaled 15");
	symbi_result_free(r);
	symbi_env_t *env = symbi_env_new();
	symbi_error_t err;
	symbi_env_set(env, "V", "a b", &err);
	char *argv[] = {"sh", "-c", "pwd; printf '%s|' \"$V\"; cat", NULL};
	symbi_exec_options_t o = {.argv = argv, .cwd = "/tmp", .env = env, .stdin_data = "in\n",
				  .stdin_len = 3, .cancel_fd = -1};
	r = run(lv, &o);
	check(r->exit_code == 0 && strcmp(r->stdout_data, "/tmp\na b|in\n") == 0,
	      "argv, cwd, env and stdin data reach the process");
	symbi_result_free(r);
	symbi_env_free(env);
	char *missing[] = {"no-such-program", NULL};
	symbi_exec_options_t mo = {.argv = missing, .cancel_fd = -1};
	r = run(lv, &mo);
	check(r->status == SYMBI_STATUS_EXITED && r->exit_code == 127 &&
		      strstr(r->stderr_data, "no-such-program"),
	      "a program that is not there: exit 127 and the shell says which");
	symbi_result_free(r);
	/* Output over the cap is cut, the process still ends normally. */
	symbi_exec_options_t big = {.code = "head -c 100000 /dev/zero | tr '\\0' x", .cancel_fd = -1,
				    .max_output_bytes = 1000};
	big.code_len = strlen(big.code);
	r = run(lv, &big);
	check(r->stdout_truncated && r->stdout_len >= 1000 && r->stdout_len < 2000 &&
		      strspn(r->stdout_data, "x") == 1000,
	      "max_output_bytes caps the output: 1000 bytes of it kept, marked truncated");
	symbi_result_free(r);
	symbi_live_stop(lv);
}

/* The same confinement as a one-shot docker run, seen from inside; the
 * control (the same reads in an unconfined container) is live_docker.sh's. */
static void test_confinement(void)
{
	symbi_live_t *lv = start_with(busybox, NULL);
	check(out_is(lv, "ls /sys/class/net", "lo\n"), "network none: no interface but lo");
	/* gVisor's /proc shows no NoNewPrivs line. */
	check(out_is(lv, "grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status | tr -s '\\t ' ' '",
		     gvisor ? "CapEff: 0000000000000000\nCapBnd: 0000000000000000\n"
			    : "CapEff: 0000000000000000\nCapBnd: 0000000000000000\nNoNewPrivs: 1\n"),
	      "cap-drop ALL%s: no capability, none to gain", gvisor ? "" : " and no-new-privileges");
	if (!gvisor)
		check(out_is(lv, "grep '^Seccomp:' /proc/self/status | tr -s '\\t ' ' '", "Seccomp: 2\n"),
		      "the seccomp profile filters every exec");
	check(out_is(lv, "touch /x 2>/dev/null && echo written || echo read-only; echo t > /tmp/t && cat /tmp/t",
		     "read-only\nt\n"),
	      "read-only root, writable /tmp");
	symbi_live_stop(lv);
}

static void test_state_and_leaks(void)
{
	int fds_before = count_fds();
	int containers_before = my_containers();
	symbi_live_t *lv = start_with(busybox, NULL);
	check(my_containers() == containers_before + 1, "one container per live sandbox");
	check(out_is(lv, "echo kept > /tmp/f; x=1", "") && out_is(lv, "cat /tmp/f; echo ${x:-unset}", "kept\nunset\n"),
	      "files persist between execs, shell variables do not");
	int fds = count_fds();
	bool all = true;
	for (int i = 0; i < 120 && all; i++) {
		char code[64], want[32];
		snprintf(code, sizeof(code), "echo %d >> /tmp/count; echo %d", i, i);
		snprintf(want, sizeof(want), "%d\n", i);
		all = out_is(lv, code, want);
	}
	check(all, "120 execs in a row, each with its own output");
	check(count_fds() == fds, "120 execs leave no descriptor open (%d, %d before)", count_fds(), fds);
	/* The sandbox's connections to the daemon (its waiter's at least). */
	int socks, inheritable;
	count_sockets(&socks, &inheritable);
	check(socks > 0 && inheritable == 0,
	      "the connections to the daemon are close-on-exec (%d sockets, %d not)", socks,
	      inheritable);
	check(out_is(lv, "wc -l < /tmp/count", "120\n"), "all 120 ran in the same container");
	int pids[4];
	check(symbi_live_list(lv, pids, 4) == 0, "no process listed once all were waited for");
	symbi_live_stop(lv);
	check(count_fds() == fds_before, "the stop closes every descriptor (%d, %d before)", count_fds(),
	      fds_before);
	check(my_containers() == containers_before, "the stop removes the container");
}

static void test_background(void)
{
	symbi_live_t *lv = start_with(busybox, NULL);
	char *argv[] = {"sleep", "31340", NULL};
	symbi_exec_options_t o = {.argv = argv, .detached = true, .cancel_fd = -1};
	symbi_process_t *bg;
	symbi_error_t err = {0};
	check(symbi_live_spawn(lv, &o, &bg, &err) == 0, "a detached process starts");
	int pid = symbi_process_id(bg);
	check(pid > 1, "it has its pid in the container (%d)", pid);
	symbi_process_free(bg);
	char code[64];
	snprintf(code, sizeof(code), "kill -0 %d && echo alive", pid);
	bool alive = true;
	for (int i = 0; i < 3; i++)
		alive = alive && out_is(lv, code, "alive\n");
	check(alive, "it survives between execs");
	int pids[4];
	check(symbi_live_list(lv, pids, 4) == 1 && pids[0] == pid, "list shows it");
	if (!gvisor)
		check(host_procs("sleep 31340") == 1, "it runs (on the host, under runc)");
	symbi_live_stop(lv);
	if (!gvisor)
		check(host_procs("sleep 31340") == 0, "it dies at the stop");
}

/* The process prints "first" and then waits for a line on stdin that is
 * written only once "first" has arrived: arrival before the end by
 * construction. */
static void test_stream_and_stdin(void)
{
	symbi_live_t *lv = start_with(busybox, NULL);
	struct stream_seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	const char *code = "echo first; read line; echo \"second $line\"";
	symbi_exec_options_t o = {.code = code, .code_len = strlen(code), .cancel_fd = -1,
				  .on_output = stream_output, .output_ctx = &s, .stdin_open = true};
	symbi_error_t err = {0};
	if (symbi_live_spawn(lv, &o, &s.p, &err) < 0) {
		printf("Bail out! spawn: %s\n", err.message);
		exit(1);
	}
	pthread_t t;
	pthread_create(&t, NULL, stream_wait, &s);
	check(!stream_ended_before(&s, "first\n"), "streamed output arrives while the process runs");
	check(symbi_process_write_stdin(s.p, "go\n", 3, &err) == 0 &&
		      symbi_process_close_stdin(s.p, &err) == 0,
	      "stdin is written and closed");
	pthread_join(t, NULL);
	check(s.res && strcmp(s.res->stdout_data, "first\nsecond go\n") == 0 &&
		      strcmp(s.out, "first\nsecond go\n") == 0,
	      "the process read the line; result and stream agree");
	symbi_result_free(s.res);
	symbi_process_free(s.p);
	/* cat ends when stdin is closed: the half-close reaches the process. */
	char *cat[] = {"cat", NULL};
	symbi_exec_options_t co = {.argv = cat, .cancel_fd = -1, .stdin_open = true};
	symbi_process_t *p;
	symbi_result_t *r = NULL;
	check(symbi_live_spawn(lv, &co, &p, &err) == 0 && symbi_process_write_stdin(p, "abc", 3, &err) == 0 &&
		      symbi_process_close_stdin(p, &err) == 0 && symbi_process_wait(p, &r, &err) == 0 &&
		      r->exit_code == 0 && strcmp(r->stdout_data, "abc") == 0,
	      "closing stdin ends cat, which echoed what it got");
	symbi_result_free(r);
	symbi_process_free(p);
	symbi_live_stop(lv);
}

static void test_timeout_and_signals(void)
{
	symbi_live_t *lv = start_with(busybox, NULL);
	check(out_is(lv, "sleep 1000 > /dev/null 2>&1 & echo $! > /tmp/bg.pid", ""),
	      "a process leaves a background child");
	const char *code = "sleep 2000 & echo partial; sleep 100";
	symbi_exec_options_t o = {.code = code, .code_len = strlen(code), .cancel_fd = -1,
				  .timeout_ms = 500};
	symbi_result_t *r = run(lv, &o);
	check(r->status == SYMBI_STATUS_TIMEOUT && strcmp(r->stdout_data, "partial\n") == 0 &&
		      r->error && strstr(r->error, "timed out after 500 ms"),
	      "a per-exec timeout: status timeout, the output so far");
	if (r->status != SYMBI_STATUS_TIMEOUT)
		diag("timeout", r);
	symbi_result_free(r);
	check(out_is(lv, "kill -0 $(cat /tmp/bg.pid) && echo alive; ps | grep -c '[s]leep 2000'; true",
		     "alive\n0\n"),
	      "the timeout killed that process and its child, not the earlier one's");
	check(symbi_live_ended(lv) == NULL, "the sandbox lives on");
	char *argv[] = {"sleep", "100", NULL};
	symbi_exec_options_t so = {.argv = argv, .cancel_fd = -1};
	symbi_process_t *p;
	symbi_error_t err = {0};
	int pids[4];
	check(symbi_live_spawn(lv, &so, &p, &err) == 0 && symbi_live_list(lv, pids, 4) == 1 &&
		      pids[0] == symbi_process_id(p),
	      "a running process is listed by its pid");
	check(symbi_process_signal(p, SIGTERM, &err) == 0 && symbi_process_wait(p, &r, &err) == 0 &&
		      r->status == SYMBI_STATUS_SIGNALED && r->signal == SIGTERM,
	      "signal delivers SIGTERM to that process");
	symbi_result_free(r);
	symbi_process_free(p);
	check(symbi_live_list(lv, pids, 4) == 0, "a waited-for process is no longer listed");
	check(symbi_live_spawn(lv, &so, &p, &err) == 0, "another starts");
	symbi_process_free(p);
	check(symbi_live_list(lv, pids, 4) == 0 && out_is(lv, "ps | grep -c '[s]leep 100$'; true", "0\n"),
	      "a process freed without a wait is killed");
	symbi_live_stop(lv);
}

static void test_lifetime(void)
{
	const char *fields[] = {"max_lifetime", "2", NULL};
	symbi_live_t *lv = start_with(busybox, fields);
	char *argv[] = {"sleep", "31341", NULL};
	symbi_exec_options_t bo = {.argv = argv, .detached = true, .cancel_fd = -1};
	symbi_process_t *bg;
	symbi_error_t err = {0};
	check(symbi_live_spawn(lv, &bo, &bg, &err) == 0, "a detached process before the deadline");
	symbi_process_free(bg);
	symbi_result_t *r = sh(lv, "echo before; sleep 60");
	check(r->status == SYMBI_STATUS_TIMEOUT && strcmp(r->stdout_data, "before\n") == 0 &&
		      r->error && strstr(r->error, "max_lifetime"),
	      "max_lifetime ends a running process: timeout, its output, the reason");
	if (r->status != SYMBI_STATUS_TIMEOUT)
		diag("lifetime", r);
	symbi_result_free(r);
	check(symbi_live_ended(lv) && strstr(symbi_live_ended(lv), "max_lifetime"), "the sandbox says it ended, and why");
	if (!gvisor)
		check(host_procs("sleep 31341") == 0, "the detached process is gone too");
	symbi_process_t *p;
	symbi_exec_options_t o = {.code = "true", .code_len = 4, .cancel_fd = -1};
	check(symbi_live_spawn(lv, &o, &p, &err) == -1 && err.code == SYMBI_E_UNAVAILABLE &&
		      strstr(err.message, "max_lifetime"),
	      "a later spawn is refused, with the reason");
	symbi_live_stop(lv);
	const char *idle[] = {"idle_timeout", "0.5", NULL};
	lv = start_with(busybox, idle);
	check(out_is(lv, "sleep 1; echo busy", "busy\n"), "a running process keeps an idle_timeout sandbox alive");
	for (int i = 0; i < 300 && !symbi_live_ended(lv); i++)
		usleep(50 * 1000);
	check(symbi_live_ended(lv) && strstr(symbi_live_ended(lv), "idle"), "idle_timeout ends an idle sandbox");
	symbi_live_stop(lv);
}

static void test_oom(void)
{
	const char *fields[] = {"memory_limit", "64m", NULL};
	symbi_live_t *lv = start_with(python, fields);
	symbi_result_t *r = sh(lv, "python3 -c 'b = b\"x\" * (256 << 20); print(len(b))'");
	check(r->status == SYMBI_STATUS_OOM && r->error && strstr(r->error, "memory limit"),
	      "a process over the memory limit: status oom");
	if (r->status != SYMBI_STATUS_OOM)
		diag("oom", r);
	symbi_result_free(r);
	r = sh(lv, "exit 137");
	check(r->status == SYMBI_STATUS_SIGNALED && r->signal == SIGKILL,
	      "a later exit 137 without an OOM kill is no OOM");
	symbi_result_free(r);
	check(out_is(lv, "echo after", "after\n"), "the sandbox lives on after an OOM kill");
	symbi_live_stop(lv);
}

static void test_context(void)
{
	symbi_live_t *lv = start_with(python, NULL);
	symbi_error_t err = {0};
	symbi_context_t *cx = symbi_context_new(lv, "python", &err);
	check(cx != NULL, "a python context starts (%s)", cx ? "" : err.message);
	if (!cx) {
		symbi_live_stop(lv);
		return;
	}
	symbi_cell_t *c = NULL;
	const char *c1 = "x = 40", *c2 = "print('hi')\nx + 2";
	bool ran = symbi_context_run(cx, c1, strlen(c1), 0, NULL, NULL, &c, &err) == 0;
	symbi_cell_free(c);
	c = NULL;
	ran = ran && symbi_context_run(cx, c2, strlen(c2), 0, NULL, NULL, &c, &err) == 0;
	check(ran && c && c->value && strcmp(c->value, "42") == 0 && strcmp(c->stdout_data, "hi\n") == 0,
	      "a python context keeps a variable across cells (value %s)", c && c->value ? c->value : "none");
	symbi_cell_free(c);
	symbi_context_free(cx);
	symbi_live_stop(lv);
	/* An image without python3: the interpreter's complaint comes before
	 * any cell (it once spun the context's reader for ever); the cell
	 * says the context ended, and nothing hangs. */
	lv = start_with(busybox, NULL);
	alarm(120); /* a hang kills this program: the suite then fails */
	cx = symbi_context_new(lv, "python", &err);
	/* Its complaint and its end come before the first cell's marker. */
	for (int i = 0; i < 300 && cx && !symbi_context_ended(cx); i++)
		usleep(100 * 1000);
	c = NULL;
	int rc = cx ? symbi_context_run(cx, "1", 1, 20000, NULL, NULL, &c, &err) : -1;
	alarm(0);
	check(!cx || (rc == 0 && c && c->status == SYMBI_STATUS_ERROR && c->error),
	      "a python context without python3 ends with an error, no hang (%s)",
	      c && c->error ? c->error : cx ? "no error" : err.message);
	symbi_cell_free(c);
	symbi_context_free(cx);
	symbi_live_stop(lv);
}

static void test_bad_input(void)
{
	symbi_live_t *lv = start_with(busybox, NULL);
	symbi_error_t err = {0};
	symbi_process_t *p = NULL;
	int fds = count_fds();
	char *argv[] = {"true", NULL};
	symbi_exec_options_t rel = {.argv = argv, .cwd = "relative", .cancel_fd = -1};
	check(symbi_live_spawn(lv, &rel, &p, &err) == -1 && err.code == SYMBI_E_INVALID && !p,
	      "a relative cwd is refused");
	size_t n = 200 * 1024;
	char *code = malloc(n);
	memset(code, '#', n);
	symbi_exec_options_t big = {.code = code, .code_len = n, .cancel_fd = -1};
	check(symbi_live_spawn(lv, &big, &p, &err) == -1 && err.code == SYMBI_E_INVALID &&
		      strstr(err.message, "bytes"),
	      "code over the argv limit is refused with a message");
	free(code);
	check(count_fds() == fds, "refusals leave no descriptor");
	check(out_is(lv, "echo fine", "fine\n"), "the sandbox still works");
	symbi_live_stop(lv);
}

int main(int argc, char **argv)
{
	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: %s BACKEND BUSYBOX_IMAGE PYTHON_IMAGE FIRST_NUMBER [RUNTIME]\n",
			argv[0]);
		return 2;
	}
	runtime = argc == 6 ? argv[5] : NULL;
	snprintf(runtime_flag, sizeof(runtime_flag), "--runtime=%s", runtime ? runtime : "");
	backend = argv[1];
	busybox = argv[2];
	python = argv[3];
	test_n = atoi(argv[4]);
	gvisor = strcmp(backend, "gvisor") == 0;
	signal(SIGPIPE, SIG_IGN);
	const char *only = getenv("LIVE_ONLY");
	struct {
		const char *name;
		void (*fn)(void);
		bool gvisor;
	} tests[] = {
		{"basics", test_basics, true},
		{"confinement", test_confinement, true},
		{"state", test_state_and_leaks, true},
		{"background", test_background, true},
		{"stream", test_stream_and_stdin, true},
		{"timeout", test_timeout_and_signals, true},
		{"lifetime", test_lifetime, true},
		{"oom", test_oom, false}, /* gVisor: an OOM ends the whole sandbox */
		{"context", test_context, true},
		{"bad", test_bad_input, true},
	};
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (only ? !strstr(only, tests[i].name) : gvisor && !tests[i].gvisor)
			continue;
		tests[i].fn();
	}
	check(my_containers() == 0, "no container of this run is left");
	printf("# ran %d\n", test_n);
	return failed ? 1 : 0;
}
