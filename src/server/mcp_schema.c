/* The MCP tools' descriptions and JSON Schemas (tools/list): every argument
 * and every limit the server accepts, with the policy's maximums, so that a
 * client can check a call before making it. */
#include "server.h"

#include <string.h>


static json_t *schema_props(void)
{
	return json_object();
}

static json_t *prop(const char *type, const char *description)
{
	return json_pack("{s:s,s:s}", "type", type, "description", description);
}

static json_t *tool(const char *name, const char *title, const char *description, json_t *props,
		    const char *const *required)
{
	json_t *req = json_array();
	for (size_t i = 0; required && required[i]; i++)
		json_array_append_new(req, json_string(required[i]));
	return json_pack("{s:s,s:s,s:s,s:{s:s,s:o,s:o,s:b}}", "name", name, "title", title,
			 "description", description, "inputSchema", "type", "object", "properties",
			 props, "required", req, "additionalProperties", 0);
}

static json_t *enum_of(char *const *names, size_t n)
{
	json_t *e = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(e, json_string(names[i]));
	return e;
}

/* Every sandbox choice and limit a request may carry, with the policy's
 * maximums (srv_policy_resolve accepts exactly these). */
static void add_limit_props(const srv_policy_t *pol, json_t *props, bool session)
{
	const srv_limits_t *mx = &pol->maximums;
	char d[256];
	json_t *v = prop("string", "Backend that runs the code (only those working on this host).");
	json_object_set_new(v, "enum", enum_of(pol->allowed_backends, pol->n_backends));
	json_object_set_new(props, "backend", v);
	json_object_set_new(props, "image", prop("string", "Container image (docker/gvisor), if the "
							    "policy allows it."));
	v = prop("string", "Language of the code (picks the interpreter and image).");
	json_t *langs = json_array();
	for (size_t i = 0; i < pol->n_languages; i++)
		json_array_append_new(langs, json_string(pol->languages[i].name));
	json_object_set_new(v, "enum", langs);
	json_object_set_new(props, "language", v);
	json_object_set_new(props, "shell", prop("string", "Interpreter run as SHELL -c CODE "
							    "(instead of the language's)."));
	snprintf(d, sizeof(d), "Wall-clock limit%s in seconds (default %g, at most %g).",
		 session ? " per execution" : "", pol->defaults.timeout_s, mx->timeout_s);
	v = prop("number", d);
	json_object_set_new(v, "exclusiveMinimum", json_integer(0));
	json_object_set_new(v, "maximum", json_real(mx->timeout_s));
	json_object_set_new(props, "timeout", v);
	snprintf(d, sizeof(d), "Memory limit: bytes, or a size like \"256m\" (at least 6m, at "
		 "most %llu bytes).", (unsigned long long)mx->memory_bytes);
	json_object_set_new(props, "memory", json_pack("{s:[s,s],s:s}", "type", "string", "integer",
						       "description", d));
	snprintf(d, sizeof(d), "CPU limit (default %g, at most %g).", pol->defaults.cpus, mx->cpus);
	v = prop("number", d);
	json_object_set_new(v, "exclusiveMinimum", json_integer(0));
	json_object_set_new(v, "maximum", json_real(mx->cpus));
	json_object_set_new(props, "cpus", v);
	snprintf(d, sizeof(d), "Most processes at once (default %lld).",
		 (long long)pol->defaults.pids);
	v = prop("integer", d);
	json_object_set_new(v, "minimum", json_integer(1));
	json_object_set_new(v, "maximum", json_integer((json_int_t)mx->pids));
	json_object_set_new(props, "pids", v);
	snprintf(d, sizeof(d), "Most bytes kept of stdout and of stderr: bytes or a size like "
		 "\"64k\" (at most %llu).", (unsigned long long)mx->max_output_bytes);
	json_object_set_new(props, "max_output_bytes",
			    json_pack("{s:[s,s],s:s}", "type", "string", "integer", "description", d));
	json_t *nets = json_pack("[s]", "none");
	if (pol->allow_network)
		json_array_append_new(nets, json_string("bridge"));
	if (pol->allow_host_network)
		json_array_append_new(nets, json_string("host"));
	v = prop("string", "Network access (\"none\" unless the policy allows more).");
	json_object_set_new(v, "enum", nets);
	json_object_set_new(props, "network", v);
	if (session) {
		snprintf(d, sizeof(d), "Seconds of inactivity after which the session ends (default "
			 "%g, at most %g).", pol->session_idle_ttl_s, pol->max_session_idle_ttl_s);
		v = prop("number", d);
		json_object_set_new(v, "exclusiveMinimum", json_integer(0));
		json_object_set_new(v, "maximum", json_real(pol->max_session_idle_ttl_s));
		json_object_set_new(props, "idle_ttl", v);
	}
}

static void add_exec_props(const srv_policy_t *pol, json_t *props, bool limits)
{
	json_object_set_new(props, "code", prop("string", "The program text, run as SHELL -c CODE."));
	if (limits)
		add_limit_props(pol, props, false);
	json_t *env = prop("object", "Environment variables for the program.");
	json_object_set_new(env, "additionalProperties", json_pack("{s:s}", "type", "string"));
	json_object_set_new(props, "env", env);
	json_object_set_new(props, "stdin", prop("string", "Standard input of the program."));
	char d[200];
	snprintf(d, sizeof(d), "Files to place in the workspace first: relative path -> UTF-8 "
		 "text (each at most %zu bytes; binary files: session_write_file).",
		 pol->max_file_bytes);
	json_t *files = prop("object", d);
	json_object_set_new(files, "additionalProperties", json_pack("{s:s}", "type", "string"));
	json_object_set_new(props, "files", files);
}

/* The result object (the CLI's --json) as a JSON Schema: the outputSchema of
 * the tools that run code, so that clients can validate structuredContent. */
static json_t *result_schema(void)
{
	return json_pack(
		"{s:s,s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s,s:i},s:{s:s},s:{s:s},s:{s:s},"
		"s:{s:s,s:[s,s,s,s,s,s]},s:{s:[s,s]},s:{s:[s,s]}},s:[s,s,s,s,s,s,s,s,s,s]}",
		"type", "object", "properties", "exit_code", "type", "integer", "stdout", "type",
		"string", "stderr", "type", "string", "execution_time_ms", "type", "integer",
		"minimum", 0, "success", "type", "boolean", "stdout_truncated", "type", "boolean",
		"stderr_truncated", "type", "boolean", "status", "type", "string", "enum", "exited",
		"signaled", "timeout", "oom", "error", "cancelled", "signal", "type", "integer", "null", "error",
		"type", "string", "null", "required", "exit_code", "stdout", "stderr",
		"execution_time_ms", "success", "stdout_truncated", "stderr_truncated", "status",
		"signal", "error");
}

static json_t *ids(bool process)
{
	json_t *p = schema_props();
	json_object_set_new(p, "session_id", prop("string", "The session's id."));
	if (process)
		json_object_set_new(p, "process_id",
				    prop("string", "The process's id (from process_start)."));
	return p;
}

/* The background processes of a session (mcp_processes.c). */
static void add_process_tools(const srv_policy_t *pol, json_t *tools)
{
	static const char *const req_sid[] = {"session_id", NULL};
	static const char *const req_pid[] = {"session_id", "process_id", NULL};
	static const char *const req_signal[] = {"session_id", "process_id", "signal", NULL};
	char d[300];
	json_t *p = ids(false);
	json_object_set_new(p, "code", prop("string", "The program text (give code or argv)."));
	json_t *v = prop("array", "The program and its arguments, instead of code.");
	json_object_set_new(v, "items", json_pack("{s:s}", "type", "string"));
	json_object_set_new(v, "minItems", json_integer(1));
	json_object_set_new(v, "maxItems", json_integer(256));
	json_object_set_new(p, "argv", v);
	json_object_set_new(p, "language",
			    json_pack("{s:s,s:s,s:[s,s]}", "type", "string", "description",
				      "Run code with python3 or sh (default: the session's "
				      "interpreter).", "enum", "python", "sh"));
	json_t *env = prop("object", "Environment variables for the program.");
	json_object_set_new(env, "additionalProperties", json_pack("{s:s}", "type", "string"));
	json_object_set_new(p, "env", env);
	json_object_set_new(p, "cwd", prop("string", "Working directory (absolute, in the sandbox; "
						     "default /workspace)."));
	snprintf(d, sizeof(d), "Seconds after which the process is killed (default: the session's "
		 "timeout; at most %g).", pol->maximums.timeout_s);
	v = prop("number", d);
	json_object_set_new(v, "exclusiveMinimum", json_integer(0));
	json_object_set_new(v, "maximum", json_real(pol->maximums.timeout_s));
	json_object_set_new(p, "timeout", v);
	json_object_set_new(p, "stdin_open", prop("boolean", "Keep stdin open for "
							     "process_write_stdin."));
	snprintf(d, sizeof(d), "Starts a program in the session's sandbox (native backend) and "
		 "returns its id at once; it runs on between calls until it ends, is signaled, or "
		 "the session ends. At most %d run at once in a session.", SRV_PROCS_RUNNING_MAX);
	json_array_append_new(tools, tool("process_start", "Start a background process", d, p,
					  req_sid));

	json_array_append_new(tools, tool("process_list", "List background processes",
					  "Lists the session's processes: id, command, state "
					  "(running or exited) and, once ended, status and exit code.",
					  ids(false), req_sid));

	p = ids(true);
	snprintf(d, sizeof(d), "Wait at most this many seconds for the process to end first "
		 "(default 0, at most %g).", pol->maximums.timeout_s + 5);
	v = prop("number", d);
	json_object_set_new(v, "minimum", json_integer(0));
	json_object_set_new(v, "maximum", json_real(pol->maximums.timeout_s + 5));
	json_object_set_new(p, "wait", v);
	json_array_append_new(tools, tool("process_output", "Read a process's output",
					  "Returns the process's stdout and stderr buffered so far "
					  "(from its start, up to the session's max_output_bytes "
					  "each; *_truncated says when more was dropped), its state "
					  "and, once ended, its result (without stdout and stderr, "
					  "which are those above).", p, req_pid));

	p = ids(true);
	json_object_set_new(p, "signal",
			    json_pack("{s:s,s:s,s:[s,s,s,s,s,s,s,s,s]}", "type", "string",
				      "description", "The signal's name.", "enum", "TERM", "KILL",
				      "INT", "HUP", "QUIT", "USR1", "USR2", "STOP", "CONT"));
	json_array_append_new(tools, tool("process_signal", "Signal a process",
					  "Sends a signal to the process (and its process group).",
					  p, req_signal));

	p = ids(true);
	snprintf(d, sizeof(d), "Bytes for the process's stdin: text, or base64 with encoding "
		 "\"base64\" (at most %u bytes may wait to be read).", SRV_PROC_STDIN_PENDING_MAX);
	json_object_set_new(p, "data", prop("string", d));
	json_object_set_new(p, "encoding", json_pack("{s:s,s:s,s:[s,s],s:s}", "type", "string",
						     "description", "How data is written.", "enum",
						     "utf-8", "base64", "default", "utf-8"));
	json_object_set_new(p, "eof", prop("boolean", "Close stdin once data is written."));
	json_array_append_new(tools, tool("process_write_stdin", "Write to a process's stdin",
					  "Queues data for the stdin of a process started with "
					  "stdin_open, and closes it with eof.", p, req_pid));
}

json_t *srv_mcp_tools_list(const srv_policy_t *pol)
{
	json_t *tools = json_array();
	static const char *const req_code[] = {"code", NULL};
	static const char *const req_sid[] = {"session_id", NULL};
	static const char *const req_sid_code[] = {"session_id", "code", NULL};
	static const char *const req_sid_path[] = {"session_id", "path", NULL};
	static const char *const req_write[] = {"session_id", "path", "content", NULL};

	json_t *p = schema_props();
	add_exec_props(pol, p, true);
	json_array_append_new(
		tools, tool("execute_code", "Execute code in a sandbox",
			    "Runs code once in a fresh isolated sandbox (no network, hard limits) and "
			    "returns exit_code, stdout, stderr, execution_time_ms, status.",
			    p, req_code));

	p = schema_props();
	add_limit_props(pol, p, true);
	json_array_append_new(
		tools, tool("session_create", "Create a sandbox session",
			    "Creates a session whose /workspace files persist between executions. "
			    "Returns its id.", p, NULL));

	p = schema_props();
	json_object_set_new(p, "session_id", prop("string", "The session's id."));
	add_exec_props(pol, p, false);
	json_object_set_new(p, "context",
			    json_pack("{s:s,s:s,s:[s,s]}", "type", "string", "description",
				      "Run the code as a cell of the session's python or sh context, "
				      "whose variables, imports and functions persist between calls; "
				      "the answer adds the last expression's value and any exception "
				      "(native backend; no env or stdin).",
				      "enum", "python", "sh"));
	json_array_append_new(
		tools, tool("session_execute", "Execute code in a session",
			    "Runs code in the session; files in /workspace (the working directory) "
			    "are kept between calls, and on the native backend the sandbox itself "
			    "(/tmp, background processes); with context, interpreter state too.",
			    p, req_sid_code));

	p = schema_props();
	json_object_set_new(p, "session_id", prop("string", "The session's id."));
	json_object_set_new(p, "path", prop("string", "Path relative to the workspace."));
	char d[200];
	snprintf(d, sizeof(d), "The file's content: text, or base64 with encoding \"base64\" "
		 "(at most %zu bytes once decoded).", pol->max_file_bytes);
	json_object_set_new(p, "content", prop("string", d));
	json_object_set_new(p, "encoding", json_pack("{s:s,s:s,s:[s,s],s:s}", "type", "string",
						     "description", "How content is written.", "enum",
						     "utf-8", "base64", "default", "utf-8"));
	json_array_append_new(tools, tool("session_write_file", "Write a file",
					  "Writes a file into the session's workspace.", p,
					  req_write));

	p = schema_props();
	json_object_set_new(p, "session_id", prop("string", "The session's id."));
	json_object_set_new(p, "path", prop("string", "Path relative to the workspace."));
	json_object_set_new(p, "encoding",
			    json_pack("{s:s,s:s,s:[s,s,s],s:s}", "type", "string", "description",
				      "How to return the content: utf-8 (fails if it is not text), "
				      "base64, or auto (utf-8 if the file is valid UTF-8, else "
				      "base64); the answer's encoding field says which.",
				      "enum", "auto", "utf-8", "base64", "default", "auto"));
	json_array_append_new(tools, tool("session_read_file", "Read a file",
					  "Reads a file from the session's workspace.", p,
					  req_sid_path));

	p = schema_props();
	json_object_set_new(p, "session_id", prop("string", "The session's id."));
	json_object_set_new(p, "path", prop("string", "Directory relative to the workspace "
						      "(default: the workspace itself)."));
	json_array_append_new(tools, tool("session_list_files", "List files",
					  "Lists a directory of the session's workspace.", p,
					  req_sid));

	p = schema_props();
	json_object_set_new(p, "session_id", prop("string", "The session's id."));
	json_array_append_new(tools, tool("session_close", "Close a session",
					  "Ends the session and deletes its workspace.", p, req_sid));
	add_process_tools(pol, tools);
	size_t i;
	json_t *t;
	json_array_foreach(tools, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		if (strcmp(name, "execute_code") == 0 || strcmp(name, "session_execute") == 0)
			json_object_set_new(t, "outputSchema", result_schema());
	}
	return json_pack("{s:o}", "tools", tools);
}

