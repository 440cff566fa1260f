/* What every backend's live processes do alike (native/live.c,
 * docker_exec.c): the sandbox's list of its processes with the release of
 * detached ones whose handle is gone, the end of a waited-for process as a
 * result (classified by the backend through src/core/classify.h), and the
 * caller's side of an open stdin. */
#ifndef SYMBI_CORE_LIVE_PROC_H
#define SYMBI_CORE_LIVE_PROC_H

#include <symbi/sandbox.h>

#include "supervise.h"

#include <pthread.h>
#include <stdbool.h>

/* A process's place in its sandbox's list (a member of the backend's
 * process record). */
typedef struct symbi_live_node {
	struct symbi_live_node *next;
	void *proc;  /* the record it is in */
	bool orphan; /* detached, its handle freed: the sandbox's to free */
} symbi_live_node_t;

/* A live sandbox's processes: those whose handle the caller holds, and
 * detached ones whose handle was freed while they ran on ("orphans"),
 * kept for list until they end. Guarded by the backend's lock, which its
 * other state shares. */
typedef struct symbi_live_procs {
	symbi_live_node_t *head;
	pthread_mutex_t *lock;
	/* Whether a process has ended; called with the lock held. */
	bool (*ended)(void *proc);
	/* Frees a process's record; called without the lock (it may wait for
	 * a thread of the process's that takes it). */
	void (*release)(void *proc);
} symbi_live_procs_t;

/* Adds a process (node->proc set) to the list, or takes it out (not in
 * it: nothing happens). */
void symbi_live_procs_add(symbi_live_procs_t *l, symbi_live_node_t *node);
void symbi_live_procs_unlink(symbi_live_procs_t *l, symbi_live_node_t *node);

/* A detached process's handle is freed: it stays listed while it runs and
 * is released once it has ended (symbi_live_procs_prune_locked) or at the
 * end of the sandbox (symbi_live_procs_release_all). */
void symbi_live_procs_orphan(symbi_live_procs_t *l, symbi_live_node_t *node);

/* Releases the orphans that have ended. Called with the lock held, which
 * it drops around each release; returns with it held. */
void symbi_live_procs_prune_locked(symbi_live_procs_t *l);

/* The processes that run, for list, the ended orphans released first:
 * their pids (in the sandbox), at most max of them in pids; returns how
 * many run. running_pid(proc) is a process's pid, or 0 when it has ended
 * or has none yet; called with the lock held. */
size_t symbi_live_procs_list(symbi_live_procs_t *l, int (*running_pid)(void *proc), int *pids,
			     size_t max);

/* At the sandbox's end, when only orphans are left (every other handle
 * was freed before): releases them all. No lock: nothing else runs. */
void symbi_live_procs_release_all(symbi_live_procs_t *l);

/* What a backend gives the supervision of one of its live processes. */
typedef struct symbi_live_hooks {
	int (*spawn)(void *ctx, const int stdio[3], pid_t *pid, symbi_error_t *err);
	int (*wait_fd)(void *ctx);
	int (*reap)(void *ctx, int *wait_status);
	void (*on_timeout)(void *ctx);
	void *ctx;
} symbi_live_hooks_t;

/* A copy of o's stdin data in *input (NULL when it has none; the caller
 * frees it once the process is waited for, as supervision reads it). */
int symbi_live_copy_input(const symbi_exec_options_t *o, char **input, symbi_error_t *err);
/* Starts a process as o asks (input from symbi_live_copy_input): a
 * detached one through h->spawn with detached_stdio and no supervision;
 * any other under supervision (its output, timeout, cancel_fd, and open
 * stdin, which goes to *stdin_fd, left alone unless o->stdin_open). */
int symbi_live_proc_start(const symbi_exec_options_t *o, const char *input,
			  const symbi_live_hooks_t *h, const int detached_stdio[3],
			  symbi_supervision_t **sup, int *stdin_fd, symbi_error_t *err);

/* The common part of freeing a process handle. A detached process runs on:
 * the list keeps its record (symbi_live_procs_orphan) and true is returned,
 * with nothing more to do. Otherwise it leaves the list, the
 * supervision, if any, is abandoned (which kills the process and awaits
 * its end) and false is returned: the backend then frees its record. */
bool symbi_live_proc_let_go(symbi_live_procs_t *l, symbi_live_node_t *node, bool detached,
			    symbi_supervision_t **sup);

/* Waits for a process: takes *sup (NULL afterwards; a NULL *sup is the
 * error for a detached process or a second wait), supervises it to its
 * end, takes its node off the list and calls classify(node->proc, ...) on
 * the result. */
int symbi_live_proc_wait(symbi_supervision_t **sup, bool detached, symbi_live_procs_t *l,
			 symbi_live_node_t *node,
			 int (*classify)(void *proc, const symbi_supervise_outcome_t *oc,
					 symbi_result_t *res, symbi_error_t *err),
			 symbi_result_t **out, symbi_error_t *err);

/* Writes all of data to a process's open stdin (a stream socket, -1 when
 * not open), or shuts it down (not closed: a concurrent writer's
 * descriptor stays valid and gets EPIPE). */
int symbi_live_stdin_write(int fd, const void *data, size_t len, symbi_error_t *err);
int symbi_live_stdin_close(int fd, symbi_error_t *err);

#endif
