/* Live sandboxes: the public handles over a backend's live operations. The
 * core checks arguments, applies the configuration's per-process defaults,
 * and keeps a sandbox's backend state until both the owner has stopped it
 * and every process handle is gone (a process being waited for in one
 * thread while another stops the sandbox must not touch freed memory). */
#include "context.h"
#include "error.h"
#include "result.h"
#include "backend.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct symbi_live {
	symbi_config_t *cfg;
	const symbi_backend_ops_t *ops;
	void *state; /* the backend's, from create */
	void *live;  /* the backend's live sandbox */
	atomic_int refs; /* the owner's, plus one per process handle */
};

struct symbi_process {
	symbi_live_t *lv;
	void *proc;
};

static void live_unref(symbi_live_t *lv)
{
	if (atomic_fetch_sub(&lv->refs, 1) != 1)
		return;
	if (lv->live)
		lv->ops->live->free(lv->live);
	if (lv->ops->destroy)
		lv->ops->destroy(lv->state);
	symbi_config_free(lv->cfg);
	free(lv);
}

symbi_live_t *symbi_live_start(const symbi_config_t *cfg, symbi_error_t *err)
{
	if (!cfg) {
		symbi_fail(err, SYMBI_E_INVALID, 0, "symbi_live_start: NULL config");
		return NULL;
	}
	if (symbi_config_validate(cfg, err) < 0)
		return NULL;
	const symbi_backend_ops_t *ops = symbi_backend_for(cfg->backend);
	if (!ops || !ops->live) {
		symbi_fail(err, SYMBI_E_UNAVAILABLE, 0,
			   "the %s backend has no live sandboxes yet; use the native, docker or gvisor backend",
			   ops ? ops->name : "selected");
		return NULL;
	}
	symbi_live_t *lv = calloc(1, sizeof(*lv));
	if (!lv || !(lv->cfg = symbi_config_copy(cfg))) {
		free(lv);
		symbi_fail_nomem(err);
		return NULL;
	}
	lv->ops = ops;
	atomic_init(&lv->refs, 1);
	if (ops->create(lv->cfg, &lv->state, err) < 0) {
		symbi_config_free(lv->cfg);
		free(lv);
		return NULL;
	}
	if (ops->live->start(lv->state, lv->cfg, &lv->live, err) < 0) {
		if (lv->live)
			ops->live->kill(lv->live);
		live_unref(lv);
		return NULL;
	}
	return lv;
}

void symbi_live_stop(symbi_live_t *lv)
{
	if (!lv)
		return;
	lv->ops->live->kill(lv->live);
	live_unref(lv);
}

const char *symbi_live_ended(symbi_live_t *lv)
{
	return lv ? lv->ops->live->ended(lv->live) : NULL;
}

size_t symbi_live_list(symbi_live_t *lv, int *pids, size_t max)
{
	if (!lv || (!pids && max))
		return 0;
	return lv->ops->live->list(lv->live, pids, max);
}

void symbi_live_limits(const symbi_live_t *lv, uint64_t *timeout_ms, size_t *max_output)
{
	*timeout_ms = lv->cfg->timeout_ms;
	*max_output = lv->cfg->max_output_bytes;
}

/* The options with the configuration's defaults, or why they are wrong. */
static int check_options(const symbi_live_t *lv, const symbi_exec_options_t *in,
			 symbi_exec_options_t *o, symbi_error_t *err)
{
	*o = *in;
	if ((!o->code && o->code_len) || (!o->stdin_data && o->stdin_len))
		return symbi_fail(err, SYMBI_E_INVALID, 0, "symbi_live_spawn: NULL data with a length");
	if (o->argv && (o->code || o->code_len))
		return symbi_fail(err, SYMBI_E_INVALID, 0, "give code or argv, not both");
	if (o->argv && !o->argv[0])
		return symbi_fail(err, SYMBI_E_INVALID, 0, "argv must name a program");
	if (o->stdin_open && o->stdin_data)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "stdin_open and stdin_data exclude each other");
	if (o->detached && (o->stdin_open || o->stdin_data || o->on_output || o->cancel_fd >= 0))
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "a detached process has no stdin, no output and no cancel_fd");
	if (!o->timeout_ms)
		o->timeout_ms = lv->cfg->timeout_ms;
	if (!o->max_output_bytes)
		o->max_output_bytes = lv->cfg->max_output_bytes;
	return 0;
}

int symbi_live_spawn(symbi_live_t *lv, const symbi_exec_options_t *opts, symbi_process_t **out,
		     symbi_error_t *err)
{
	if (!out)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "symbi_live_spawn: NULL argument");
	*out = NULL;
	if (!lv || !opts)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "symbi_live_spawn: NULL argument");
	symbi_exec_options_t o;
	if (check_options(lv, opts, &o, err) < 0)
		return -1;
	symbi_process_t *p = calloc(1, sizeof(*p));
	if (!p)
		return symbi_fail_nomem(err);
	p->lv = lv;
	if (lv->ops->live->spawn(lv->live, &o, &p->proc, err) < 0) {
		free(p);
		return -1;
	}
	atomic_fetch_add(&lv->refs, 1);
	*out = p;
	return 0;
}

int symbi_live_exec(symbi_live_t *lv, const symbi_exec_options_t *opts, symbi_result_t **out,
		    symbi_error_t *err)
{
	if (!out)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "symbi_live_exec: NULL argument");
	*out = NULL;
	if (opts && opts->detached)
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "a detached process cannot be waited for: use symbi_live_spawn");
	symbi_process_t *p;
	symbi_error_t spawn_err = {0};
	if (symbi_live_spawn(lv, opts, &p, &spawn_err) < 0) {
		/* As symbi_sandbox_execute: what happened in the sandbox is a
		 * result; only bad input is an error. */
		if (spawn_err.code == SYMBI_E_INVALID || spawn_err.code == SYMBI_E_NOMEM) {
			if (err)
				*err = spawn_err;
			return -1;
		}
		*out = symbi_result_new_error(spawn_err.message, 0);
		return *out ? 0 : symbi_fail_nomem(err);
	}
	int rc = symbi_process_wait(p, out, err);
	symbi_process_free(p);
	return rc;
}

int symbi_process_wait(symbi_process_t *p, symbi_result_t **out, symbi_error_t *err)
{
	if (!p || !out)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "symbi_process_wait: NULL argument");
	return p->lv->ops->live->wait(p->proc, out, err);
}

int symbi_process_signal(symbi_process_t *p, int sig, symbi_error_t *err)
{
	if (!p)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "symbi_process_signal: NULL process");
	return p->lv->ops->live->signal(p->proc, sig, err);
}

int symbi_process_write_stdin(symbi_process_t *p, const void *data, size_t len,
			      symbi_error_t *err)
{
	if (!p || (!data && len))
		return symbi_fail(err, SYMBI_E_INVALID, 0, "symbi_process_write_stdin: NULL argument");
	return p->lv->ops->live->write_stdin(p->proc, data, len, err);
}

int symbi_process_close_stdin(symbi_process_t *p, symbi_error_t *err)
{
	if (!p)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "symbi_process_close_stdin: NULL process");
	return p->lv->ops->live->close_stdin(p->proc, err);
}

int symbi_process_id(const symbi_process_t *p)
{
	return p ? p->lv->ops->live->id(p->proc) : -1;
}

void symbi_process_free(symbi_process_t *p)
{
	if (!p)
		return;
	p->lv->ops->live->proc_free(p->proc);
	live_unref(p->lv);
	free(p);
}
