/* `symbi-sandbox shell`: an interactive shell in a live sandbox. The shell
 * reads our standard input and writes to our standard output and error as
 * it goes; files, /tmp and background processes persist until it exits.
 * There is no terminal inside the sandbox (a tenant with a tty could push
 * input into ours), so the shell runs with -i on pipes: prompts go to
 * stderr, and there is no job control or line editing. Ctrl-C reaches the
 * shell's process group, i.e. the command it runs; SIGTERM or SIGHUP stops
 * the sandbox. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void shell_usage(FILE *out)
{
	fputs("Usage: symbi-sandbox shell [OPTIONS]\n"
	      "\n"
	      "Starts a live sandbox and an interactive shell (sh -i) in it, fed from\n"
	      "standard input. Everything the shell starts dies when it exits. Takes the\n"
	      "sandbox options of 'symbi-sandbox run' (see its --help); the shell's\n"
	      "lifetime is bounded by --timeout (max_execution_time) and the sandbox's\n"
	      "max_lifetime and idle_timeout.\n"
	      "\n"
	      "Ctrl-C (SIGINT) is passed to the command the shell runs; SIGTERM or\n"
	      "SIGHUP stops the sandbox. No terminal exists inside: prompts go to\n"
	      "standard error, and there is no job control or line editing.\n"
	      "\n"
	      "Exit status: the shell's; 124 on timeout; 125 if the sandbox could not\n"
	      "start; 128+N after signal N.\n",
	      out);
}

/* Signals, as bytes on a pipe that the main loop polls. */
static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	ssize_t n = write(signal_pipe[1], &b, 1);
	(void)n;
	errno = saved;
}

/* A no-op whose only effect is to interrupt a blocked write (installed
 * without SA_RESTART): see stop_output. */
static void on_wake(int sig)
{
	(void)sig;
}

static int install_signals(void)
{
	if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_wake;
	sa.sa_flags = 0;
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* The shell's output goes to ours, which may block for ever (a paused
 * terminal, a reader that stopped): once the CLI stops (`stopping`), the
 * output is dropped and a blocked write is interrupted, so that stopping
 * does not wait for our reader. */
static void write_output(void *ctx, int which, const char *data, size_t len)
{
	atomic_bool *stopping = ctx;
	int fd = which == 2 ? STDERR_FILENO : STDOUT_FILENO;
	while (len && !atomic_load(stopping)) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

/* Joins the waiter, interrupting its writes until it returns (a wake-up
 * could come just before a write starts: hence the repeats). */
static void stop_output(pthread_t waiter, atomic_bool *stopping)
{
	atomic_store(stopping, true);
	for (;;) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 100 * 1000000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		if (pthread_timedjoin_np(waiter, NULL, &t) != ETIMEDOUT)
			return;
		pthread_kill(waiter, SIGUSR2);
	}
}

struct waiter {
	symbi_process_t *p;
	symbi_result_t *res;
	symbi_error_t err;
	int rc;
	int done_w; /* closed when the shell has ended */
};

static void *wait_main(void *arg)
{
	struct waiter *w = arg;
	w->rc = symbi_process_wait(w->p, &w->res, &w->err);
	close(w->done_w);
	return NULL;
}

/* Feeds our stdin to the shell, on a thread of its own: a write blocks
 * while the shell (or the command it runs) does not read, and the main
 * loop must still pass Ctrl-C on and stop on SIGTERM meanwhile. Ends at end
 * of input, when the shell stops reading for good (EPIPE), or when the main
 * loop closes `stop` and shuts the shell's stdin (which fails a blocked
 * write with EPIPE). The shell's stdin is closed on the way out: it ends
 * as a shell does on end of input. */
struct feeder {
	symbi_process_t *p;
	int stop_r;
};

static void *feed_main(void *arg)
{
	struct feeder *f = arg;
	char buf[65536];
	for (;;) {
		struct pollfd pf[2] = {{f->stop_r, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents)
			break;
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		symbi_error_t err = {0};
		if (n <= 0 || symbi_process_write_stdin(f->p, buf, (size_t)n, &err) < 0)
			break;
	}
	symbi_error_t err = {0};
	symbi_process_close_stdin(f->p, &err);
	return NULL;
}

/* Passes signals on until the shell ends or a stopping signal arrives
 * (returned; 0 when the shell ended). */
static int pump(symbi_process_t *p, int done_r)
{
	for (;;) {
		struct pollfd f[2] = {{done_r, POLLIN, 0}, {signal_pipe[0], POLLIN, 0}};
		if (poll(f, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return SIGTERM;
		}
		if (f[0].revents)
			return 0;
		if (f[1].revents) {
			unsigned char sig;
			while (read(signal_pipe[0], &sig, 1) == 1) {
				if (sig != SIGINT)
					return sig;
				symbi_error_t err = {0};
				symbi_process_signal(p, SIGINT, &err); /* ended: nothing to do */
			}
		}
	}
}

static int run_shell(symbi_live_t *lv, const symbi_env_t *env)
{
	char *argv[] = {"sh", "-i", NULL};
	atomic_bool stopping = false;
	symbi_exec_options_t o = {.argv = argv, .env = env, .cancel_fd = -1,
				  .on_output = write_output, .output_ctx = &stopping,
				  .stdin_open = true};
	symbi_error_t err = {0};
	struct waiter w = {.done_w = -1};
	int done[2], stop[2];
	if (pipe2(done, O_CLOEXEC) < 0) {
		fprintf(stderr, "symbi-sandbox shell: pipe: %s\n", strerror(errno));
		return CLI_EXIT_SANDBOX_FAILED;
	}
	if (pipe2(stop, O_CLOEXEC) < 0) {
		fprintf(stderr, "symbi-sandbox shell: pipe: %s\n", strerror(errno));
		close(done[0]);
		close(done[1]);
		return CLI_EXIT_SANDBOX_FAILED;
	}
	w.done_w = done[1];
	struct feeder f = {.stop_r = stop[0]};
	pthread_t t, feed;
	bool waiting = false, feeding = false;
	int status = CLI_EXIT_SANDBOX_FAILED;
	if (symbi_live_spawn(lv, &o, &w.p, &err) < 0) {
		fprintf(stderr, "symbi-sandbox shell: %s\n", err.message);
		close(done[1]);
		goto out;
	}
	f.p = w.p;
	waiting = pthread_create(&t, NULL, wait_main, &w) == 0;
	feeding = waiting && pthread_create(&feed, NULL, feed_main, &f) == 0;
	if (!feeding) {
		fprintf(stderr, "symbi-sandbox shell: cannot start a thread\n");
		if (!waiting)
			close(done[1]);
	}
	int sig = feeding ? pump(w.p, done[0]) : SIGKILL;
	if (sig)
		symbi_process_signal(w.p, SIGKILL, &err); /* the waiter returns */
	if (feeding) {
		close(stop[1]);
		stop[1] = -1;
		symbi_process_close_stdin(w.p, &err); /* fails a blocked write */
		pthread_join(feed, NULL);
	}
	if (waiting && sig)
		stop_output(t, &stopping);
	else if (waiting)
		pthread_join(t, NULL);
	if (!feeding)
		goto out;
	if (sig) {
		status = 128 + sig;
	} else if (w.rc < 0) {
		fprintf(stderr, "symbi-sandbox shell: %s\n", w.err.message);
		status = CLI_EXIT_SANDBOX_FAILED;
	} else {
		bool failed = w.res->status != SYMBI_STATUS_EXITED &&
			      w.res->status != SYMBI_STATUS_SIGNALED && w.res->error;
		if (failed)
			fprintf(stderr, "symbi-sandbox: %s\n", w.res->error);
		status = cli_exit_status(w.res);
	}
out:
	symbi_result_free(w.res);
	symbi_process_free(w.p);
	close(done[0]);
	close(stop[0]);
	if (stop[1] >= 0)
		close(stop[1]);
	return status;
}

int cli_shell(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			shell_usage(stdout);
			return 0;
		}
	symbi_error_t err = {0};
	struct cli_run_args a = {0};
	symbi_config_t *cfg = symbi_config_new();
	symbi_env_t *env = symbi_env_new();
	symbi_live_t *lv = NULL;
	int status = CLI_EXIT_SANDBOX_FAILED;
	if (cli_build_config("shell", argc, argv, cfg, env, &a) != 0)
		goto done;
	if (optind < argc || a.code_file || a.stdin_file || a.json) {
		fprintf(stderr, "symbi-sandbox shell: takes no code, --file, --stdin or --json "
				"(the shell reads standard input)\nTry 'symbi-sandbox shell --help'.\n");
		goto done;
	}
	if (install_signals() < 0) {
		fprintf(stderr, "symbi-sandbox shell: pipe: %s\n", strerror(errno));
		goto done;
	}
	lv = symbi_live_start(cfg, &err);
	if (!lv) {
		fprintf(stderr, "symbi-sandbox shell: %s\n", err.message);
		goto done;
	}
	status = run_shell(lv, env);
done:
	symbi_live_stop(lv);
	symbi_env_free(env);
	symbi_config_free(cfg);
	return status;
}
