#include "classify.h"
#include "error.h"
#include "result.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int symbi_result_fail(symbi_result_t *res, symbi_status_t status, int sig, symbi_error_t *err,
		      const char *fmt, ...)
{
	char text[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	free(res->error);
	if (!(res->error = strdup(text)))
		return symbi_fail_nomem(err);
	symbi_result_set_exit(res, status, -1, sig);
	return 0;
}

int symbi_classify(const symbi_supervise_outcome_t *oc, const symbi_run_facts_t *f,
		   symbi_result_t *res, symbi_error_t *err)
{
	if (f->failure)
		return symbi_result_fail(res, SYMBI_STATUS_ERROR, 0, err, "%s", f->failure);
	if (oc->cancelled)
		return symbi_result_fail(res, SYMBI_STATUS_CANCELLED, 0, err, "execution cancelled");
	if (f->oom)
		return symbi_result_fail(res, SYMBI_STATUS_OOM, SIGKILL, err,
					 "the program was killed for exceeding the memory limit");
	if (f->deadline)
		return symbi_result_fail(res, SYMBI_STATUS_TIMEOUT, SIGKILL, err, "%s", f->deadline);
	if (oc->timed_out)
		return symbi_result_fail(res, SYMBI_STATUS_TIMEOUT, SIGKILL, err,
					 "execution timed out after %llu ms",
					 (unsigned long long)f->timeout_ms);
	if (!f->have_status)
		return symbi_result_fail(res, SYMBI_STATUS_ERROR, 0, err, "%s",
					 f->no_status ? f->no_status
						      : "the program ended without a status");
	int ws = f->wait_status;
	if (WIFEXITED(ws))
		symbi_result_set_exit(res, SYMBI_STATUS_EXITED, WEXITSTATUS(ws), 0);
	else
		symbi_result_set_exit(res, SYMBI_STATUS_SIGNALED, -1, WTERMSIG(ws));
	return 0;
}
