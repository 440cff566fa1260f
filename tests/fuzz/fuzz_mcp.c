/* MCP JSON-RPC lines (src/server/mcp.c), fed as the stdio loop feeds them:
 * the input is split into lines and each goes to handle_line(). The file is
 * #included for its static functions; tools/call would start a thread that
 * runs a sandbox, so pthread_create is replaced by one that fails (the
 * server's own "cannot start the call" path, with its clean-up).
 * Invariants: every reply is one line of JSON, an object or a non-empty
 * array of objects, each with "jsonrpc": "2.0", an "id" and exactly one of
 * "result" and "error"; at most one reply line per input line; a request
 * object with a string or integer id gets its id back. */
#include <pthread.h>

#include "fuzz.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

static int fail_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
			       void *arg)
{
	(void)t;
	(void)attr;
	(void)fn;
	(void)arg;
	return EAGAIN;
}
#define pthread_create fail_pthread_create
#include "server/mcp.c"
#undef pthread_create

static struct mcp mcp;
static srv_service_t svc;
static int out_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	srv_err_t err = {0};
	svc.policy = srv_policy_load(NULL, &err);
	FUZZ_CHECK(svc.policy != NULL, "policy: %s", err.message);
	mcp.svc = &svc;
	mcp.tools = srv_mcp_tools_list(svc.policy); /* as srv_mcp_serve does */
	FUZZ_CHECK(mcp.tools != NULL, "tools/list");
	pthread_mutex_init(&mcp.out_lock, NULL);
	pthread_mutex_init(&mcp.calls_lock, NULL);
	pthread_cond_init(&mcp.calls_done, NULL);
	/* Replies go to stdout: make stdout a memory file read back below. */
	out_fd = memfd_create("mcp-out", MFD_CLOEXEC);
	FUZZ_CHECK(out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) == STDOUT_FILENO, "memfd");
	return 0;
}

static void check_reply(json_t *r)
{
	FUZZ_CHECK(json_is_object(r), "a reply is not an object");
	FUZZ_CHECK(json_is_string(json_object_get(r, "jsonrpc")) &&
			   strcmp(json_string_value(json_object_get(r, "jsonrpc")), "2.0") == 0,
		   "jsonrpc");
	FUZZ_CHECK(json_object_get(r, "id") != NULL, "no id");
	FUZZ_CHECK((json_object_get(r, "result") != NULL) != (json_object_get(r, "error") != NULL),
		   "not exactly one of result and error");
	json_t *e = json_object_get(r, "error");
	FUZZ_CHECK(!e || (json_is_integer(json_object_get(e, "code")) &&
			  json_is_string(json_object_get(e, "message"))),
		   "malformed error");
}

/* Reads back and empties what the handlers wrote. */
static char *take_output(size_t *len)
{
	off_t end = lseek(STDOUT_FILENO, 0, SEEK_CUR);
	FUZZ_CHECK(end >= 0, "lseek");
	char *buf = malloc((size_t)end + 1);
	FUZZ_CHECK(buf && pread(STDOUT_FILENO, buf, (size_t)end, 0) == end, "pread");
	buf[end] = '\0';
	FUZZ_CHECK(ftruncate(STDOUT_FILENO, 0) == 0 && lseek(STDOUT_FILENO, 0, SEEK_SET) == 0,
		   "truncate");
	*len = (size_t)end;
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t lines = 0;
	json_t *single_id = NULL; /* the id of a lone request line, if any */
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		handle_line(&mcp, p, len);
		lines++;
		if (lines == 1 && !nl) {
			json_t *msg = json_loadb(p, len, JSON_ALLOW_NUL, NULL);
			json_t *id = json_object_get(msg, "id");
			if (json_is_string(json_object_get(msg, "method")) &&
			    (json_is_string(id) || json_is_integer(id)))
				single_id = json_incref(id);
			json_decref(msg);
		}
		p += len + 1;
	}
	FUZZ_CHECK(mcp.inflight == NULL && mcp.calls == 0, "a call was left registered");
	size_t len;
	char *out = take_output(&len);
	size_t replies = 0;
	for (char *line = out; line < out + len;) {
		char *nl = memchr(line, '\n', (size_t)(out + len - line));
		FUZZ_CHECK(nl != NULL, "a reply does not end its line");
		json_error_t jerr;
		json_t *r = json_loadb(line, (size_t)(nl - line), JSON_ALLOW_NUL, &jerr);
		FUZZ_CHECK(r != NULL, "a reply is not JSON: %s", jerr.text);
		if (json_is_array(r)) {
			FUZZ_CHECK(json_array_size(r) > 0, "an empty batch reply");
			size_t i;
			json_t *e;
			json_array_foreach(r, i, e)
				check_reply(e);
		} else {
			check_reply(r);
			if (single_id)
				FUZZ_CHECK(json_equal(json_object_get(r, "id"), single_id),
					   "the reply has another id");
		}
		json_decref(r);
		replies++;
		line = nl + 1;
	}
	FUZZ_CHECK(replies <= lines, "%zu replies to %zu lines", replies, lines);
	json_decref(single_id);
	free(out);
	return 0;
}
