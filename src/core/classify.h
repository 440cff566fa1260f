/* What happened to a supervised program, decided in one place for every
 * backend: the backend says what it learned (the sandbox failed, the OOM
 * killer struck, the program's own status), the supervisor's outcome says
 * whether it was cancelled or ran out of time, and symbi_classify turns
 * both into the result's status, exit code, signal and error. */
#ifndef SYMBI_CORE_CLASSIFY_H
#define SYMBI_CORE_CLASSIFY_H

#include <symbi/sandbox.h>

#include <stdbool.h>
#include <stdint.h>

#include "supervise.h"

typedef struct symbi_run_facts {
	/* The sandbox failed (it could not start the program, or cannot be
	 * trusted about it): status ERROR with this message. Wins over every
	 * other fact. */
	const char *failure;
	/* The OOM killer ended the program: status OOM. */
	bool oom;
	/* A deadline of the whole sandbox ended the program: status TIMEOUT
	 * with this message. */
	const char *deadline;
	/* The supervisor's deadline, for the message of its timeout. */
	uint64_t timeout_ms;
	/* The program's own wait status (W_EXITCODE form), when known. */
	bool have_status;
	int wait_status;
	/* The message (status ERROR) when no status is known; NULL for a
	 * generic one. */
	const char *no_status;
} symbi_run_facts_t;

/* In this order: failure (ERROR), cancelled (CANCELLED), oom (OOM),
 * deadline, then the supervisor's timeout (TIMEOUT, signal SIGKILL), then
 * the program's status (EXITED or SIGNALED), else ERROR. Sets res's status,
 * exit_code, signal, success and error; keeps its output. -1 only when out
 * of memory. */
int symbi_classify(const symbi_supervise_outcome_t *oc, const symbi_run_facts_t *facts,
		   symbi_result_t *res, symbi_error_t *err);

/* Sets status (exit_code -1, signal sig) and a formatted error message. */
int symbi_result_fail(symbi_result_t *res, symbi_status_t status, int sig, symbi_error_t *err,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
