/* The MCP tools for a session's background processes (process_start,
 * process_list, process_output, process_signal, process_write_stdin): the
 * same calls as the HTTP processes API, with its limits; output is what is
 * buffered so far (MCP answers once, it does not stream). */
#include "server.h"

#include <string.h>

static const char *const tool_names[] = {"process_start", "process_list", "process_output",
					 "process_signal", "process_write_stdin", NULL};

/* Refuses any argument not in `keys` (the input schemas are strict). */
static int only_keys(json_t *args, const char *const *keys, srv_err_t *err)
{
	const char *k;
	json_t *v;
	json_object_foreach(args, k, v) {
		bool known = false;
		for (size_t i = 0; keys[i]; i++)
			known |= strcmp(k, keys[i]) == 0;
		if (!known)
			return srv_fail(err, 400, "invalid_params", "unknown argument \"%.100s\"", k);
	}
	return 0;
}

static const char *need_string(json_t *args, const char *key, srv_err_t *err)
{
	const char *s = json_string_value(json_object_get(args, key));
	if (!s)
		srv_fail(err, 400, "invalid_params", "\"%s\" (a string) is required", key);
	return s;
}

/* A copy of args without the ids. */
static json_t *body_of(json_t *args)
{
	json_t *c = json_copy(args);
	json_object_del(c, "session_id");
	json_object_del(c, "process_id");
	return c;
}

bool srv_mcp_is_process_tool(const char *name)
{
	for (size_t i = 0; tool_names[i]; i++)
		if (strcmp(name, tool_names[i]) == 0)
			return true;
	return false;
}

json_t *srv_mcp_process_tool(srv_service_t *svc, const char *name, json_t *args,
			     srv_exec_call_t *call, srv_err_t *err)
{
	static const char *const list_keys[] = {"session_id", NULL};
	static const char *const output_keys[] = {"session_id", "process_id", "wait", NULL};
	static const char *const signal_keys[] = {"session_id", "process_id", "signal", NULL};
	static const char *const stdin_keys[] = {"session_id", "process_id", "data", "encoding",
						 "eof", NULL};
	const char *sid = need_string(args, "session_id", err);
	if (!sid)
		return NULL;
	/* An id is short: a client's megabyte is not copied into the audit log. */
	json_object_set_new(call->audit, "session", srv_json_text(sid, strnlen(sid, 128)));
	bool start = strcmp(name, "process_start") == 0, list = strcmp(name, "process_list") == 0;
	bool output = strcmp(name, "process_output") == 0;
	bool signal = strcmp(name, "process_signal") == 0;
	if ((list && only_keys(args, list_keys, err) < 0) ||
	    (output && only_keys(args, output_keys, err) < 0) ||
	    (signal && only_keys(args, signal_keys, err) < 0) ||
	    (!start && !list && !output && !signal && only_keys(args, stdin_keys, err) < 0))
		return NULL;
	const char *pid = NULL;
	if (!start && !list && !(pid = need_string(args, "process_id", err)))
		return NULL;
	json_t *wait = json_object_get(args, "wait");
	double max_wait = svc->policy->maximums.timeout_s + 5;
	if (wait && (!json_is_number(wait) || !(json_number_value(wait) >= 0) ||
		     json_number_value(wait) > max_wait))
		return srv_fail(err, 400, "invalid_params", "wait is a number of seconds from 0 to %g",
				max_wait), NULL;
	srv_session_t *s = srv_session_acquire(svc, sid, call->who, err);
	if (!s)
		return NULL;
	srv_session_view_t ps = srv_session_view(s);
	json_t *out = NULL, *body = body_of(args);
	if (start || list) {
		out = start ? srv_proc_start(svc, &ps, body, call, err) : srv_proc_list(ps.procs);
		srv_session_release(svc, s);
		json_decref(body);
		return out;
	}
	json_object_set_new(call->audit, "process", srv_json_text(pid, strnlen(pid, 128)));
	srv_proc_t *p = srv_proc_find(ps.procs, pid, err);
	srv_session_release(svc, s); /* a wait holds the process alone */
	if (p && output) {
		if (wait)
			srv_proc_wait(svc, p, (uint64_t)(json_number_value(wait) * 1000),
				      call->client_fd);
		out = srv_proc_output(p);
	} else if (p && signal) {
		out = srv_proc_signal(p, body, call->audit, err);
	} else if (p) {
		out = srv_proc_stdin(p, body, call->audit, err);
	}
	srv_proc_put(p);
	json_decref(body);
	return out;
}
