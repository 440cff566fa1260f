/* What every backend's live processes do alike (native/live.c,
 * docker_exec.c): the end of a waited-for process as a result (classified
 * by the backend through src/core/classify.h), and the caller's side of an
 * open stdin. */
#ifndef SYMBI_CORE_LIVE_PROC_H
#define SYMBI_CORE_LIVE_PROC_H

#include <symbi/sandbox.h>

#include "supervise.h"

/* Waits for a process: takes *sup (NULL afterwards; a NULL *sup is the
 * error for a detached process or a second wait), supervises it to its
 * end, calls unlink(proc) and then classify(proc, ...) on the result. */
int symbi_live_proc_wait(symbi_supervision_t **sup, bool detached, void *proc,
			 void (*unlink)(void *proc),
			 int (*classify)(void *proc, const symbi_supervise_outcome_t *oc,
					 symbi_result_t *res, symbi_error_t *err),
			 symbi_result_t **out, symbi_error_t *err);

/* Writes all of data to a process's open stdin (a stream socket, -1 when
 * not open), or shuts it down (not closed: a concurrent writer's
 * descriptor stays valid and gets EPIPE). */
int symbi_live_stdin_write(int fd, const void *data, size_t len, symbi_error_t *err);
int symbi_live_stdin_close(int fd, symbi_error_t *err);

#endif
