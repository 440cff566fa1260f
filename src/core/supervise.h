/* Process supervision shared by every backend: spawn a child with its
 * standard streams on pipes, feed it input, capture both outputs
 * concurrently under a cap, enforce a wall-clock deadline, and reap it. */
#ifndef SYMBI_CORE_SUPERVISE_H
#define SYMBI_CORE_SUPERVISE_H

#include <symbi/sandbox.h>
#include <sys/types.h>

#include "stream.h"

typedef struct symbi_supervise_opts {
	const char *path;   /* executable (searched in PATH if no '/') */
	char *const *argv;
	char *const *envp;
	const char *input;  /* written to the child's stdin, then EOF; */
	size_t input_len;   /* NULL input means stdin is /dev/null */
	size_t max_output_bytes;
	uint64_t timeout_ms;
	/* Called once when the deadline passes (and on cancel), from the
	 * supervising thread; it must make the program die (for docker: kill
	 * the container). The direct child gets SIGKILL kill_grace_ms later. */
	void (*on_timeout)(void *ctx);
	void *ctx;
	uint64_t kill_grace_ms;
	/* Called right after the child is spawned (for example to hand its pid
	 * to a reaper); may be NULL. */
	void (*on_spawn)(pid_t pid, void *ctx);
	int cancel_fd; /* readable means cancel; -1 for none */
	/* Replaces posix_spawn of path/argv/envp when set (the native backend
	 * clones its sandbox init; the process backend sets rlimits before
	 * exec): starts a child with stdin on stdio[0] (-1: /dev/null), stdout
	 * on stdio[1], stderr on stdio[2], and sets *pid. These descriptors
	 * are close-on-exec in the caller; the child must dup2 them. */
	int (*spawn)(void *ctx, const int stdio[3], pid_t *pid, symbi_error_t *err);
	/* A descriptor the (posix_spawn'ed) child gets as its fd 3, e.g. a
	 * file it reads as /proc/self/fd/3; 0 for none. Ignored with spawn. */
	int fd3;
	/* Every chunk of output as it is read (which: 1 stdout, 2 stderr),
	 * before the cap; from the supervising thread. May be NULL. */
	void (*on_output)(void *ctx, int which, const char *data, size_t len);
	void *output_ctx;
	/* stdin is a socket for the caller to write to (input is ignored):
	 * see symbi_supervision_take_stdin. */
	bool stdin_open;
	/* A program that is not our child (a live sandbox's, started by its
	 * init): spawn sets *pid to 0; wait_fd(ctx) is a descriptor that is
	 * readable when there is news of the program, and reap(ctx, &status)
	 * reads it: 1 with the wait status once the program has ended (or its
	 * sandbox is gone), else 0. on_timeout then is the only way to kill
	 * it. Both NULL for a child. */
	int (*wait_fd)(void *ctx);
	int (*reap)(void *ctx, int *wait_status);
} symbi_supervise_opts_t;

typedef struct symbi_supervise_outcome {
	symbi_stream_t out;
	symbi_stream_t err;
	int wait_status;    /* as from waitpid() */
	bool timed_out;
	bool cancelled;
	uint64_t elapsed_ms;
} symbi_supervise_outcome_t;

/* Returns 0 once the child is reaped (outcome filled; free the streams with
 * symbi_stream_free), or -1 if it could not be started. */
int symbi_supervise(const symbi_supervise_opts_t *opts, symbi_supervise_outcome_t *outcome,
		    symbi_error_t *err);

/* The same in two steps, for a program whose output is read later or by
 * another thread: start spawns it (the options are copied; what they point
 * to must live until finish), finish supervises it to its end and frees
 * the supervision. abandon kills it, reaps it and frees instead. */
typedef struct symbi_supervision symbi_supervision_t;
int symbi_supervise_start(const symbi_supervise_opts_t *opts, symbi_supervision_t **out,
			  symbi_error_t *err);
int symbi_supervise_finish(symbi_supervision_t *s, symbi_supervise_outcome_t *outcome,
			   symbi_error_t *err);
void symbi_supervise_abandon(symbi_supervision_t *s);
/* A stdin_open program's stdin (a stream socket), now the caller's to
 * write to, shut down and close: supervision never touches it again. */
int symbi_supervision_take_stdin(symbi_supervision_t *s);

/* Runs a short helper command to completion with no input, discarding its
 * output but keeping up to 4 KiB of stderr in errbuf (may be NULL). Returns
 * its wait status, or -1 if it could not be run. */
int symbi_run_quiet(const char *path, char *const *argv, char *const *envp,
		    uint64_t timeout_ms, char *errbuf, size_t errbuf_size,
		    symbi_error_t *err);

uint64_t symbi_monotonic_ms(void);

/* Finds `name` as posix_spawnp would (a name with a '/' is taken as is,
 * else searched in PATH) and checks that it is executable. Returns 0 with
 * the path in out, or -1 with errno set. */
int symbi_find_executable(const char *name, char *out, size_t size);

#endif
