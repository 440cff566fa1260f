/* The audit log (src/server/audit.c): `audit verify` and the server
 * continuing a log at start. The first byte picks the mode.
 * Raw mode: the rest is a log file. Verify must answer (a count, or -1 and
 * a message naming a line); the server then opens it (continuing the
 * chain from its last line) and appends one entry; a log that verified
 * with N entries must open, and verify with N + 1 after the append.
 * Chain mode: each line of the rest that is a JSON object is appended as
 * an entry to a fresh log; the log must verify with exactly that many
 * entries, whatever the entries hold (the chain's "seq", "prev" and
 * "hash" members included). */
#include "fuzz.h"
#include "server/server.h"

#include <limits.h>
#include <stdbool.h>
#include <unistd.h>

static long verify(const char *path, char *msg, size_t cap)
{
	long n = srv_audit_verify(path, NULL, 0, NULL, msg, cap);
	FUZZ_CHECK(n >= -1, "verify returned %ld", n);
	FUZZ_CHECK_MESSAGE(msg, cap);
	return n;
}

/* The "seq" of the log's last line: a chain ending at the largest integer
 * verifies but cannot be continued. */
static bool ends_at_max_seq(const uint8_t *data, size_t size)
{
	size_t start = size > 1 ? size - 1 : 0;
	while (start > 0 && data[start - 1] != '\n')
		start--;
	json_t *e = json_loadb((const char *)data + start, size - start, 0, NULL);
	bool max = json_integer_value(json_object_get(e, "seq")) == LLONG_MAX;
	json_decref(e);
	return max;
}

static void raw_mode(const uint8_t *data, size_t size)
{
	const char *path = fuzz_write_file("audit.log", data, size);
	char msg[512];
	long n = verify(path, msg, sizeof(msg));
	FUZZ_CHECK(n < 0 || strncmp(msg, "line", 4) != 0, "success reads like an error: %s", msg);
	FUZZ_CHECK(n >= 0 || strncmp(msg, "line ", 5) == 0, "the failure names no line: %s", msg);
	srv_err_t err = {0};
	srv_audit_t *a = srv_audit_open(path, NULL, &err);
	if (!a) {
		FUZZ_CHECK(n <= 0 || ends_at_max_seq(data, size), "a log that verifies (%ld entries) cannot be continued: %s", n,
			   err.message);
		FUZZ_CHECK_MESSAGE(err.message, sizeof(err.message));
		return;
	}
	int rc = srv_audit_append(a, json_pack("{s:s}", "event", "fuzz"));
	srv_audit_close(a);
	FUZZ_CHECK(rc == 0, "append failed");
	if (n >= 0) {
		long m = verify(path, msg, sizeof(msg));
		FUZZ_CHECK(m == n + 1, "verified %ld, then %ld after one append: %s", n, m, msg);
	}
}

static void chain_mode(const uint8_t *data, size_t size)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/chain.log", fuzz_tmpdir());
	unlink(path);
	srv_err_t err = {0};
	srv_audit_t *a = srv_audit_open(path, NULL, &err);
	FUZZ_CHECK(a != NULL, "open %s: %s", path, err.message);
	long appended = 0;
	const uint8_t *p = data, *end = data + size;
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_t *e = json_loadb((const char *)p, len, 0, NULL);
		if (json_is_object(e)) {
			FUZZ_CHECK(srv_audit_append(a, e) == 0, "append failed");
			appended++;
		} else {
			json_decref(e);
		}
		p += len + 1;
	}
	srv_audit_close(a);
	char msg[512];
	long n = verify(path, msg, sizeof(msg));
	FUZZ_CHECK(n == appended, "appended %ld entries, verify says %ld: %s", appended, n, msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		chain_mode(data + 1, size - 1);
	else
		raw_mode(data + 1, size - 1);
	return 0;
}
