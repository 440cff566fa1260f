/* See live_proc.h. */
#include "live_proc.h"
#include "error.h"
#include "result.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void symbi_live_procs_add(symbi_live_procs_t *l, symbi_live_node_t *node)
{
	pthread_mutex_lock(l->lock);
	node->next = l->head;
	l->head = node;
	pthread_mutex_unlock(l->lock);
}

void symbi_live_procs_unlink(symbi_live_procs_t *l, symbi_live_node_t *node)
{
	pthread_mutex_lock(l->lock);
	for (symbi_live_node_t **pp = &l->head; *pp; pp = &(*pp)->next)
		if (*pp == node) {
			*pp = node->next;
			break;
		}
	pthread_mutex_unlock(l->lock);
}

void symbi_live_procs_orphan(symbi_live_procs_t *l, symbi_live_node_t *node)
{
	pthread_mutex_lock(l->lock);
	node->orphan = true;
	pthread_mutex_unlock(l->lock);
}

void symbi_live_procs_prune_locked(symbi_live_procs_t *l)
{
	for (symbi_live_node_t **pp = &l->head; *pp;) {
		symbi_live_node_t *n = *pp;
		if (n->orphan && l->ended(n->proc)) {
			*pp = n->next;
			pthread_mutex_unlock(l->lock);
			l->release(n->proc);
			pthread_mutex_lock(l->lock);
			pp = &l->head; /* the list may have changed meanwhile */
			continue;
		}
		pp = &n->next;
	}
}

size_t symbi_live_procs_list(symbi_live_procs_t *l, int (*running_pid)(void *proc), int *pids,
			     size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(l->lock);
	symbi_live_procs_prune_locked(l);
	for (symbi_live_node_t *node = l->head; node; node = node->next) {
		int pid = running_pid(node->proc);
		if (pid <= 0)
			continue;
		if (n < max)
			pids[n] = pid;
		n++;
	}
	pthread_mutex_unlock(l->lock);
	return n;
}

void symbi_live_procs_release_all(symbi_live_procs_t *l)
{
	while (l->head) {
		symbi_live_node_t *n = l->head;
		l->head = n->next;
		l->release(n->proc);
	}
}

int symbi_live_copy_input(const symbi_exec_options_t *o, char **input, symbi_error_t *err)
{
	*input = NULL;
	if (!o->stdin_data || !o->stdin_len)
		return 0;
	if (!(*input = malloc(o->stdin_len)))
		return symbi_fail_nomem(err);
	memcpy(*input, o->stdin_data, o->stdin_len);
	return 0;
}

int symbi_live_proc_start(const symbi_exec_options_t *o, const char *input,
			  const symbi_live_hooks_t *h, const int detached_stdio[3],
			  symbi_supervision_t **sup, int *stdin_fd, symbi_error_t *err)
{
	if (o->detached)
		return h->spawn(h->ctx, detached_stdio, &(pid_t){0}, err);
	symbi_supervise_opts_t so = {
		.input = input ? input : o->stdin_data ? "" : NULL,
		.input_len = input ? o->stdin_len : 0,
		.max_output_bytes = o->max_output_bytes, .timeout_ms = o->timeout_ms,
		.on_timeout = h->on_timeout, .ctx = h->ctx, .kill_grace_ms = 0,
		.cancel_fd = o->cancel_fd, .spawn = h->spawn,
		.on_output = o->on_output, .output_ctx = o->output_ctx,
		.stdin_open = o->stdin_open, .wait_fd = h->wait_fd, .reap = h->reap,
	};
	if (symbi_supervise_start(&so, sup, err) < 0)
		return -1;
	if (o->stdin_open)
		*stdin_fd = symbi_supervision_take_stdin(*sup);
	return 0;
}

bool symbi_live_proc_let_go(symbi_live_procs_t *l, symbi_live_node_t *node, bool detached,
			    symbi_supervision_t **sup)
{
	if (detached) {
		symbi_live_procs_orphan(l, node);
		return true;
	}
	symbi_live_procs_unlink(l, node);
	if (*sup)
		symbi_supervise_abandon(*sup); /* kills it (on_timeout) and awaits its end */
	*sup = NULL;
	return false;
}

int symbi_live_proc_wait(symbi_supervision_t **sup, bool detached, symbi_live_procs_t *l,
			 symbi_live_node_t *node,
			 int (*classify)(void *proc, const symbi_supervise_outcome_t *oc,
					 symbi_result_t *res, symbi_error_t *err),
			 symbi_result_t **out, symbi_error_t *err)
{
	*out = NULL;
	if (!*sup)
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  detached ? "a detached process cannot be waited for"
					   : "the process was already waited for");
	symbi_supervise_outcome_t oc;
	symbi_supervision_t *s = *sup;
	*sup = NULL;
	if (symbi_supervise_finish(s, &oc, err) < 0)
		return -1;
	symbi_live_procs_unlink(l, node);
	symbi_result_t *res = symbi_result_from_outcome(&oc);
	symbi_stream_free(&oc.out);
	symbi_stream_free(&oc.err);
	if (!res)
		return symbi_fail_nomem(err);
	if (classify(node->proc, &oc, res, err) < 0) {
		symbi_result_free(res);
		return -1;
	}
	*out = res;
	return 0;
}

int symbi_live_stdin_write(int fd, const void *data, size_t len, symbi_error_t *err)
{
	const char *d = data;
	if (fd < 0)
		return symbi_fail(err, SYMBI_E_INVALID, EBADF,
				  "the process's stdin is not open (see stdin_open)");
	while (len) {
		ssize_t n = send(fd, d, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return symbi_fail(err, SYMBI_E_SYSTEM, errno,
					  "cannot write to the process's stdin%s",
					  errno == EPIPE ? " (it is closed, or the process ended)" : "");
		d += n;
		len -= (size_t)n;
	}
	return 0;
}

int symbi_live_stdin_close(int fd, symbi_error_t *err)
{
	if (fd < 0 || shutdown(fd, SHUT_WR) < 0)
		return symbi_fail(err, SYMBI_E_INVALID, EBADF,
				  "the process's stdin is not open (see stdin_open)");
	return 0;
}
