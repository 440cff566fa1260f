/* The service shared by the HTTP and MCP faces: state directory, policy,
 * limiter, audit log, and one execution from request to result JSON. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

srv_service_t *srv_service_new(srv_policy_t *policy, const char *state_dir,
			       const char *audit_path, const char *audit_key_file, srv_err_t *err)
{
	srv_service_t *svc = calloc(1, sizeof(*svc));
	if (!svc) {
		srv_fail(err, 500, "internal", "out of memory");
		return NULL;
	}
	svc->host_ns_fd = svc->own_ns_fd = -1;
	svc->state.own_fd = svc->state.inst_fd = svc->state.lock_fd = -1;
	svc->state.sessions_fd = svc->state.tmp_fd = -1;
	svc->cancel_fd[0] = svc->cancel_fd[1] = -1;
	svc->reaper_stop[0] = svc->reaper_stop[1] = -1;
	pthread_mutex_init(&svc->lock, NULL);
	svc->policy = policy;
	/* The cgroups of runs of servers that died: now, not at the first run. */
	symbi_collect_leftovers();
	/* The leftovers of servers that died are collected in the host's
	 * namespace (their docker workspaces are mounted there), then we leave
	 * it. */
	if (srv_state_open(&svc->state, state_dir, err) < 0 ||
	    srv_mountns_enter(&svc->host_ns_fd, err) < 0 ||
	    (svc->host_ns_fd >= 0 && srv_state_reopen(&svc->state, err) < 0))
		goto fail;
	if (svc->host_ns_fd >= 0 &&
	    (svc->own_ns_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC)) < 0)
		goto fail_errno;
	if (pipe2(svc->cancel_fd, O_CLOEXEC) < 0 || pipe2(svc->reaper_stop, O_CLOEXEC) < 0)
		goto fail_errno;
	svc->limiter = srv_limiter_new(policy->max_running, policy->max_queued);
	if (!svc->limiter) {
		srv_fail(err, 500, "internal", "out of memory");
		goto fail;
	}
	if (audit_key_file && !audit_path) {
		srv_fail(err, 400, "invalid_request", "--audit-key-file needs --audit-log");
		goto fail;
	}
	if (audit_path && !(svc->audit = srv_audit_open(audit_path, audit_key_file, err)))
		goto fail;
	return svc;
fail_errno:
	srv_fail(err, 500, "internal", "%s", strerror(errno));
fail:
	svc->policy = NULL; /* the caller keeps it on failure */
	srv_service_free(svc);
	return NULL;
}

static void *reaper_main(void *arg)
{
	srv_service_t *svc = arg;
	struct pollfd pfd = {.fd = svc->reaper_stop[0], .events = POLLIN};
	while (poll(&pfd, 1, 500) == 0 || (pfd.revents == 0))
		srv_session_expire(svc, srv_now_ms());
	return NULL;
}

int srv_service_start_reaper(srv_service_t *svc, srv_err_t *err)
{
	if (!(svc->pool = srv_pool_new(svc->policy->warm_pool, err)))
		return -1;
	if (pthread_create(&svc->reaper, NULL, reaper_main, svc) != 0)
		return srv_fail(err, 500, "internal", "cannot start the session reaper");
	svc->reaper_started = true;
	return 0;
}

void srv_service_cancel_all(srv_service_t *svc)
{
	if (svc->cancel_fd[1] >= 0) {
		ssize_t w = write(svc->cancel_fd[1], "x", 1);
		(void)w;
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void srv_service_free(srv_service_t *svc)
{
	if (!svc)
		return;
	if (svc->reaper_started)
		srv_thread_stop(svc->reaper_stop[1], svc->reaper);
	if (svc->limiter)
		srv_limiter_close(svc->limiter);
	srv_service_cancel_all(svc);
	/* Expire everything: a time far in the future ends every idle session. */
	srv_session_expire(svc, UINT64_MAX);
	srv_pool_free(svc->pool);
	srv_state_close(&svc->state);
	close_fd(&svc->host_ns_fd);
	close_fd(&svc->own_ns_fd);
	close_fd(&svc->cancel_fd[0]);
	close_fd(&svc->cancel_fd[1]);
	close_fd(&svc->reaper_stop[0]);
	close_fd(&svc->reaper_stop[1]);
	srv_limiter_free(svc->limiter);
	srv_audit_close(svc->audit);
	srv_policy_free(svc->policy);
	pthread_mutex_destroy(&svc->lock);
	free(svc);
}

/* ---- workspaces ------------------------------------------------------------ */

/* Sandboxes of these backends are made by a daemon in the host's mount
 * namespace: their workspace mounts must be made there (see mountns.c). */
static bool backend_in_host_ns(const char *backend)
{
	return strcmp(backend, "docker") == 0 || strcmp(backend, "gvisor") == 0;
}

int srv_workspace_new(srv_service_t *svc, bool session, const char *backend, char id[33],
		      char *path, size_t pathlen, srv_err_t *err)
{
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s/%s", svc->state.inst_path,
		 session ? "sessions" : "tmp");
	int fd = srv_ws_create(session ? svc->state.sessions_fd : svc->state.tmp_fd, parent, id,
			       svc->policy->max_workspace_bytes,
			       backend_in_host_ns(backend) ? svc->host_ns_fd : -1, err);
	if (fd >= 0)
		snprintf(path, pathlen, "%s/%s", parent, id);
	return fd;
}

int srv_workspace_end(srv_service_t *svc, bool session, const char *backend, const char *id)
{
	if (backend_in_host_ns(backend) && svc->host_ns_fd >= 0) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s/%s", svc->state.inst_path,
			 session ? "sessions" : "tmp", id);
		srv_host_umount(svc->host_ns_fd, path);
	}
	return srv_ws_remove_tree(session ? svc->state.sessions_fd : svc->state.tmp_fd, id);
}

symbi_live_t *srv_live_start(srv_service_t *svc, const char *backend, const symbi_config_t *cfg,
			     symbi_error_t *err)
{
	/* A daemon makes the sandbox and binds its workspace from the host's
	 * namespace, where the workspace's tmpfs is mounted (see mountns.c):
	 * the checks of its volumes must see what the daemon will. */
	bool in_host = backend_in_host_ns(backend) && svc->host_ns_fd >= 0;
	if (in_host && srv_mountns_thread_join(svc->host_ns_fd) < 0) {
		err->code = SYMBI_E_SYSTEM;
		err->err_no = errno;
		snprintf(err->message, sizeof(err->message),
			 "cannot join the host's mount namespace for a %s sandbox: %s", backend,
			 strerror(errno));
		return NULL;
	}
	symbi_live_t *lv = symbi_live_start(cfg, err);
	if (in_host && srv_mountns_thread_join(svc->own_ns_fd) < 0)
		abort(); /* a worker left in the host's namespace would mount there */
	return lv;
}

/* ---- one execution ---------------------------------------------------------- */

/* Turns a client hang-up or the shutdown deadline into a write on the
 * execution's cancel pipe. */
struct watcher {
	int client_fd, shutdown_fd, stop_fd, cancel_w;
	const char *hangup, *why;
};

/* An execution's watcher: its thread, pipes, and the descriptor the
 * execution is given as cancel_fd (the shutdown pipe alone when the call
 * has no client to watch, or the thread could not start). */
typedef struct watch {
	struct watcher w;
	int cancel_pipe[2], stop_pipe[2];
	pthread_t thread;
	bool watching;
	int cancel_fd;
} watch_t;

static void *watcher_main(void *arg);

static void watch_start(watch_t *x, srv_service_t *svc, int client_fd, const char *hangup)
{
	*x = (watch_t){
		.w = {.client_fd = client_fd, .shutdown_fd = svc->cancel_fd[0], .stop_fd = -1,
		      .cancel_w = -1, .hangup = hangup},
		.cancel_pipe = {-1, -1}, .stop_pipe = {-1, -1}, .cancel_fd = svc->cancel_fd[0],
	};
	if (client_fd >= 0 && pipe2(x->cancel_pipe, O_CLOEXEC) == 0 &&
	    pipe2(x->stop_pipe, O_CLOEXEC) == 0) {
		x->w.stop_fd = x->stop_pipe[0];
		x->w.cancel_w = x->cancel_pipe[1];
		if (pthread_create(&x->thread, NULL, watcher_main, &x->w) == 0) {
			x->watching = true;
			x->cancel_fd = x->cancel_pipe[0];
		}
	}
}

/* Stops the thread and closes the pipes; x->w.why then says what
 * cancelled the execution, if anything did. */
static void watch_stop(watch_t *x)
{
	if (x->watching) {
		ssize_t wr = write(x->stop_pipe[1], "x", 1);
		(void)wr;
		pthread_join(x->thread, NULL);
	}
	for (int i = 0; i < 2; i++) {
		close_fd(&x->cancel_pipe[i]);
		close_fd(&x->stop_pipe[i]);
	}
}

static void *watcher_main(void *arg)
{
	struct watcher *w = arg;
	struct pollfd pfd[3] = {
		{.fd = w->stop_fd, .events = POLLIN},
		{.fd = w->shutdown_fd, .events = POLLIN},
		{.fd = w->client_fd, .events = POLLRDHUP},
	};
	for (;;) {
		int n = poll(pfd, 3, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || pfd[0].revents)
			return NULL;
		if (pfd[1].revents || pfd[2].revents) {
			w->why = pfd[1].revents ? "shutdown" : w->hangup;
			ssize_t r = write(w->cancel_w, "x", 1);
			(void)r;
			return NULL;
		}
	}
}

symbi_env_t *srv_env_from_json(json_t *env, json_t *audit_keys, srv_err_t *err)
{
	symbi_env_t *e = symbi_env_new();
	if (!e) {
		srv_fail(err, 500, "internal", "out of memory");
		return NULL;
	}
	if (!env || json_is_null(env))
		return e;
	if (!json_is_object(env)) {
		symbi_env_free(e);
		srv_fail(err, 400, "invalid_request", "env must be an object of strings");
		return NULL;
	}
	const char *k;
	json_t *v;
	symbi_error_t lerr;
	json_object_foreach(env, k, v) {
		if (!json_is_string(v)) {
			symbi_env_free(e);
			srv_fail(err, 400, "invalid_request", "env[\"%.100s\"] must be a string", k);
			return NULL;
		}
		if (symbi_env_set(e, k, json_string_value(v), &lerr) < 0) {
			symbi_env_free(e);
			srv_fail_lib(err, &lerr);
			return NULL;
		}
		/* Keys only: values may be secrets. */
		json_array_append_new(audit_keys, json_string(k));
	}
	return e;
}

char *srv_run(srv_service_t *svc, symbi_sandbox_t *sb, const srv_live_source_t *live,
	      const char *code, size_t code_len, json_t *env_json, json_t *stdin_json,
	      srv_exec_call_t *call, symbi_result_t **result_out, srv_err_t *err)
{
	char sha[65];
	srv_sha256_hex(code, code_len, sha);
	const char *backend = sb ? symbi_sandbox_backend_name(sb) : live->backend;
	json_t *keys = json_array();
	json_object_set_new(call->audit, "backend", json_string(backend));
	json_object_set_new(call->audit, "code_sha256", json_string(sha));
	json_object_set_new(call->audit, "code_bytes", json_integer((json_int_t)code_len));
	json_object_set(call->audit, "env_keys", keys);
	symbi_env_t *env = srv_env_from_json(env_json, keys, err);
	json_decref(keys);
	if (!env)
		return NULL;
	if (stdin_json && !json_is_null(stdin_json) && !json_is_string(stdin_json)) {
		symbi_env_free(env);
		srv_fail(err, 400, "invalid_request", "stdin must be a string");
		return NULL;
	}
	if (srv_limiter_acquire(svc->limiter, call->client_fd, err,
				svc->policy->retry_after_s) < 0) {
		if (err->code && strcmp(err->code, "client_disconnected") == 0)
			json_object_set_new(call->audit, "cancelled_by",
					    json_string(call->hangup_reason ? call->hangup_reason
									    : "client_disconnected"));
		symbi_env_free(env);
		return NULL;
	}
	const char *hangup = call->hangup_reason ? call->hangup_reason : "client_disconnected";
	if (call->client_fd >= 0) {
		/* The client may have given up while it waited in the queue. */
		struct pollfd pfd = {.fd = call->client_fd, .events = POLLRDHUP};
		if (poll(&pfd, 1, 0) > 0 && pfd.revents) {
			srv_limiter_release(svc->limiter);
			symbi_env_free(env);
			srv_metrics_rejection(hangup);
			json_object_set_new(call->audit, "cancelled_by", json_string(hangup));
			srv_fail(err, 400, hangup,
				 "the client went away or cancelled before the execution started");
			return NULL;
		}
	}
	watch_t watch;
	watch_start(&watch, svc, call->client_fd, hangup);
	symbi_exec_options_t opts = {
		.code = code, .code_len = code_len, .env = env,
		.stdin_data = stdin_json && json_is_string(stdin_json) ? json_string_value(stdin_json)
								      : NULL,
		.stdin_len = stdin_json && json_is_string(stdin_json) ? json_string_length(stdin_json)
								     : 0,
		.cancel_fd = watch.cancel_fd,
		.timeout_ms = live ? live->timeout_ms : 0,
		.max_output_bytes = live ? live->max_output_bytes : 0,
	};
	symbi_result_t *res = NULL;
	symbi_error_t lerr = {0};
	uint64_t t0 = srv_now_ms();
	/* A daemon's sandbox runs from the host's namespace (see mountns.c);
	 * this thread comes back to ours afterwards. */
	bool in_host = backend_in_host_ns(backend) && svc->host_ns_fd >= 0;
	int rc;
	if (in_host && srv_mountns_thread_join(svc->host_ns_fd) < 0) {
		rc = -1;
		lerr.code = SYMBI_E_SYSTEM;
		lerr.err_no = errno;
		snprintf(lerr.message, sizeof(lerr.message),
			 "cannot join the host's mount namespace for a %s sandbox: %s", backend,
			 strerror(errno));
	} else {
		symbi_live_t *lv = live ? live->get(live->ctx, &lerr) : NULL;
		rc = live && !lv ? -1
		     : lv ? symbi_live_exec(lv, &opts, &res, &lerr)
			  : symbi_sandbox_execute_opts(sb, &opts, &res, &lerr);
		if (in_host && srv_mountns_thread_join(svc->own_ns_fd) < 0)
			abort(); /* a worker left in the host's namespace would mount there */
	}
	uint64_t elapsed = srv_now_ms() - t0;
	watch_stop(&watch);
	if (!watch.watching && res && res->status == SYMBI_STATUS_CANCELLED)
		watch.w.why = "shutdown";
	srv_limiter_release(svc->limiter);
	symbi_env_free(env);
	if (rc < 0) {
		srv_metrics_execution(backend, "refused", elapsed);
		json_object_set_new(call->audit, "result", json_string("refused"));
		return srv_fail_lib(err, &lerr), NULL;
	}
	const char *status = symbi_status_name(res->status);
	srv_metrics_execution(backend, status, res->execution_time_ms);
	json_object_set_new(call->audit, "result", json_string(status));
	json_object_set_new(call->audit, "exit_code", json_integer(res->exit_code));
	json_object_set_new(call->audit, "execution_time_ms",
			    json_integer((json_int_t)res->execution_time_ms));
	if (watch.w.why)
		json_object_set_new(call->audit, "cancelled_by", json_string(watch.w.why));
	char *out = symbi_result_to_json(res, &lerr);
	if (!out)
		srv_fail_lib(err, &lerr);
	if (result_out && out)
		*result_out = res;
	else
		symbi_result_free(res);
	return out;
}

static const char *const execute_keys[] = {"code", "env", "stdin", "files", NULL};

static int get_code(json_t *req, const char **code, size_t *len, srv_err_t *err)
{
	json_t *c = json_object_get(req, "code");
	if (!json_is_string(c))
		return srv_fail(err, 400, "invalid_request", "\"code\" (a string) is required");
	*code = json_string_value(c);
	*len = json_string_length(c);
	if (memchr(*code, '\0', *len))
		return srv_fail(err, 400, "invalid_request", "\"code\" contains a NUL byte");
	return 0;
}

static symbi_live_t *give_warm(void *ctx, symbi_error_t *err)
{
	(void)err;
	return ctx;
}

char *srv_execute_once(srv_service_t *svc, srv_exec_call_t *call, srv_err_t *err)
{
	srv_exec_spec_t spec;
	if (srv_policy_resolve(svc->policy, call->req, execute_keys, false, &spec, err) < 0) {
		if (err->status == 400)
			srv_metrics_rejection("policy");
		return NULL;
	}
	json_object_set_new(call->audit, "image", json_string(spec.image));
	json_object_set_new(call->audit, "limits", srv_limits_json(&spec));
	const char *code = NULL;
	size_t code_len = 0;
	if (get_code(call->req, &code, &code_len, err) < 0)
		return NULL;
	json_t *files = json_object_get(call->req, "files");
	char id[33] = "", ws_path[4200];
	int ws_fd = -1;
	char *out = NULL;
	symbi_sandbox_t *sb = NULL;
	symbi_config_t *cfg = NULL;
	if (files && !json_is_object(files) && !json_is_null(files)) {
		srv_fail(err, 400, "invalid_request",
			 "files must be an object mapping relative paths to contents");
		return NULL;
	}
	if (files && json_object_size(files) > 0 &&
	    (ws_fd = srv_workspace_new(svc, false, spec.backend, id, ws_path, sizeof(ws_path),
				       err)) < 0)
		return NULL;
	/* The config first: it hands the workspace to the sandbox's user, and
	 * the files put there then belong to that user too. */
	if (!(cfg = srv_spec_config(&spec, ws_fd >= 0 ? ws_path : NULL, err)))
		goto out;
	if (ws_fd >= 0 && srv_ws_put_files(ws_fd, files, svc->policy->max_file_bytes, err) < 0)
		goto out;
	/* Without files, a warm sandbox made for this configuration serves
	 * it (pool.c); else one is made for it. */
	symbi_live_t *warm = ws_fd < 0 ? srv_pool_take(svc->pool, &spec) : NULL;
	symbi_error_t lerr = {0};
	if (!warm && !(sb = symbi_sandbox_new(cfg, &lerr))) {
		srv_fail_lib(err, &lerr);
		goto out;
	}
	if (warm)
		json_object_set_new(call->audit, "warm", json_true());
	srv_live_source_t source = {
		.get = give_warm, .ctx = warm, .backend = spec.backend,
		.timeout_ms = symbi_config_get_timeout_ms(cfg),
		.max_output_bytes = symbi_config_get_max_output_bytes(cfg),
	};
	out = srv_run(svc, sb, warm ? &source : NULL, code, code_len,
		      json_object_get(call->req, "env"), json_object_get(call->req, "stdin"), call,
		      NULL, err);
	if (warm)
		srv_pool_retire(svc->pool, warm);
out:
	symbi_sandbox_free(sb);
	symbi_config_free(cfg);
	if (ws_fd >= 0) {
		close(ws_fd);
		srv_workspace_end(svc, false, spec.backend, id);
	}
	return out;
}

char *srv_run_cell(srv_service_t *svc, const srv_context_source_t *cs, const char *backend,
		   const char *code, size_t code_len, uint64_t timeout_ms, srv_exec_call_t *call,
		   srv_err_t *err)
{
	char sha[65];
	srv_sha256_hex(code, code_len, sha);
	json_object_set_new(call->audit, "backend", json_string(backend));
	json_object_set_new(call->audit, "code_sha256", json_string(sha));
	json_object_set_new(call->audit, "code_bytes", json_integer((json_int_t)code_len));
	if (srv_limiter_acquire(svc->limiter, call->client_fd, err,
				svc->policy->retry_after_s) < 0)
		return NULL;
	symbi_context_t *cx = cs->get(cs->ctx, err);
	if (!cx) {
		srv_limiter_release(svc->limiter);
		return NULL;
	}
	symbi_cell_t *cell = NULL;
	symbi_error_t lerr = {0};
	uint64_t t0 = srv_now_ms();
	/* A client that goes away, or the shutdown deadline, interrupts the
	 * cell (the context keeps its state). */
	watch_t watch;
	watch_start(&watch, svc, call->client_fd,
		    call->hangup_reason ? call->hangup_reason : "client_disconnected");
	int rc = symbi_context_run_cancellable(cx, code, code_len, timeout_ms, watch.cancel_fd, NULL,
					       NULL, &cell, &lerr);
	watch_stop(&watch);
	cs->put(cs->ctx);
	srv_limiter_release(svc->limiter);
	if (rc < 0) {
		srv_metrics_execution(backend, "refused", srv_now_ms() - t0);
		json_object_set_new(call->audit, "result", json_string("refused"));
		return srv_fail_lib(err, &lerr), NULL;
	}
	const char *status = symbi_status_name(cell->status);
	srv_metrics_execution(backend, status, cell->execution_time_ms);
	json_object_set_new(call->audit, "result", json_string(status));
	json_object_set_new(call->audit, "exit_code", json_integer(cell->exit_code));
	json_object_set_new(call->audit, "execution_time_ms",
			    json_integer((json_int_t)cell->execution_time_ms));
	if (watch.w.why && cell->status == SYMBI_STATUS_CANCELLED)
		json_object_set_new(call->audit, "cancelled_by", json_string(watch.w.why));
	char *out = symbi_cell_to_json(cell, &lerr);
	symbi_cell_free(cell);
	if (!out)
		srv_fail_lib(err, &lerr);
	return out;
}
