/* The service faces' building blocks without a network or a sandbox: sizes
 * and secrets, workspace path handling (symlinks, FIFOs, escapes), policy
 * resolution (defaults, maximums refused, not clamped), the audit chain and
 * the E2B face's wire pieces (paths onto the workspace, Connect envelopes).
 * The server code lives in the CLI, not the library, so its files are
 * compiled into this test directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "server/util.c"
#include "server/policy.c"
#include "server/audit.c"
#include "server/workspace.c"
#include "server/mountns.c"
#include "server/limiter.c"
#include "server/metrics.c"
#include "server/e2b_wire.c"

#include <sys/socket.h>
#include <sys/stat.h>

#include <symbi/sandbox.h>

#include "test_helpers.h"

static char tmpdir[64];

static int make_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/symbi-unit-server.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmp(void **state)
{
	(void)state;
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	int rc = srv_ws_remove_tree(fd, tmpdir + 5);
	close(fd);
	return rc;
}

static void test_sizes_and_secrets(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(srv_parse_size("512m", &v), 0);
	assert_true(v == 512ull << 20);
	assert_int_equal(srv_parse_size("1GiB", &v), 0);
	assert_true(v == 1ull << 30);
	assert_int_equal(srv_parse_size("1048576", &v), 0);
	assert_true(v == 1048576);
	assert_int_equal(srv_parse_size("-1m", &v), -1);
	assert_int_equal(srv_parse_size("12q", &v), -1);
	assert_int_equal(srv_parse_size("", &v), -1);
	assert_true(srv_secret_equal("0123456789abcdef", "0123456789abcdef"));
	assert_false(srv_secret_equal("0123456789abcdef", "0123456789abcdeg"));
	assert_false(srv_secret_equal("0123456789abcdef", "0123456789abcde"));
	assert_false(srv_secret_equal("", "x"));
	char hex[65];
	srv_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	char id[33];
	assert_int_equal(srv_random_hex(id, 16), 0);
	assert_int_equal(strlen(id), 32);
}

static void test_path_check(void **state)
{
	(void)state;
	srv_err_t err;
	const char *good[] = {"a", "a/b.txt", "dir/sub/file", ".hidden", "a..b", "..a"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(srv_path_check(good[i], &err), 0);
	const char *bad[] = {"", "/etc/passwd", "..", "../x", "a/../b", "a/..", "./a", "a/./b",
			     "a//b", "a/", "/"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(srv_path_check(bad[i], &err), -1);
		assert_int_equal(err.status, 400);
		assert_string_equal(err.code, "invalid_path");
	}
	/* Bytes and sizes: not UTF-8, a NUL (C0 80, see http.c), too deep, too long. */
	char deep[200] = "", longp[SRV_MAX_PATH_BYTES + 2], comp[NAME_MAX + 2];
	for (int i = 0; i <= SRV_MAX_PATH_DEPTH; i++)
		strcat(deep, i ? "/d" : "d");
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	memset(comp, 'c', sizeof(comp) - 1);
	comp[sizeof(comp) - 1] = '\0';
	const char *bad_bytes[] = {"\xff\xfe.bin", "x\xC0\x80.txt", "a/\xed\xa0\x80", deep, longp,
				   comp};
	const char *why[] = {"UTF-8", "NUL", "UTF-8", "components", "bytes long", "component is"};
	for (size_t i = 0; i < sizeof(bad_bytes) / sizeof(bad_bytes[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(srv_path_check(bad_bytes[i], &err), -1);
		assert_int_equal(err.status, 400);
		assert_non_null(strstr(err.message, why[i]));
		/* The error's JSON is valid and not empty whatever the message quotes. */
		char *j = srv_err_json(&err);
		assert_non_null(j);
		free(j);
	}
	deep[strlen(deep) - 2] = '\0'; /* exactly SRV_MAX_PATH_DEPTH components */
	assert_int_equal(srv_path_check(deep, &err), 0);
	assert_int_equal(srv_path_check("caf\xc3\xa9/\xe2\x82\xac.txt", &err), 0);
}

/* A tree far deeper than any recursion or descriptor budget, with
 * directories whose permissions were taken away, is removed completely and
 * leaves no descriptor open. */
static void test_remove_deep_tree(void **state)
{
	(void)state;
	int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(mkdirat(dfd, "deep", 0700), 0);
	int fd = openat(dfd, "deep", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < 3000; i++) {
		assert_int_equal(mkdirat(fd, "d", 0700), 0);
		int f = openat(fd, "file", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		assert_true(f >= 0);
		close(f);
		if (i % 500 == 0)
			assert_int_equal(mkdirat(fd, "side", 0), 0); /* mode 000 */
		int sub = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(sub >= 0);
		close(fd);
		fd = sub;
	}
	assert_int_equal(symlinkat(tmpdir, fd, "up"), 0);
	close(fd);
	int before = count_fds();
	assert_int_equal(srv_ws_remove_tree(dfd, "deep"), 0);
	assert_int_equal(count_fds(), before);
	assert_int_equal(faccessat(dfd, "deep", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(errno, ENOENT);
	close(dfd);
}

static void test_workspace_files(void **state)
{
	(void)state;
	srv_err_t err;
	int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	char outside[128];
	snprintf(outside, sizeof(outside), "%s/outside", tmpdir);
	assert_int_equal(mkdir(outside, 0700), 0);
	char id[33];
	int ws = srv_ws_create(dfd, tmpdir, id, 0, -1, &err);
	assert_true(ws >= 0);
	struct stat st;
	assert_int_equal(fstat(ws, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	assert_int_equal(srv_ws_write(ws, "d/e/f.txt", "hello", 5, &err), 0);
	size_t len = 0;
	char *data = srv_ws_read(ws, "d/e/f.txt", 100, &len, &err);
	assert_non_null(data);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "hello", 5);
	free(data);
	assert_null(srv_ws_read(ws, "d/e/f.txt", 4, &len, &err));
	assert_int_equal(err.status, 413);
	assert_null(srv_ws_read(ws, "missing", 100, &len, &err));
	assert_int_equal(err.status, 404);

	/* What sandboxed code could plant. */
	assert_int_equal(symlinkat(outside, ws, "link"), 0);
	assert_int_equal(symlinkat("/etc/passwd", ws, "passwd"), 0);
	assert_int_equal(mkfifoat(ws, "fifo", 0600), 0);
	assert_int_equal(srv_ws_write(ws, "link/pwned", "x", 1, &err), -1);
	assert_int_equal(err.status, 400);
	snprintf(outside, sizeof(outside), "%s/outside/pwned", tmpdir);
	assert_int_equal(access(outside, F_OK), -1);
	assert_int_equal(srv_ws_write(ws, "passwd", "x", 1, &err), -1);
	assert_null(srv_ws_read(ws, "passwd", 1 << 20, &len, &err));
	assert_int_equal(err.status, 400);
	assert_null(srv_ws_read(ws, "fifo", 100, &len, &err)); /* must not block */
	assert_int_equal(err.status, 400);
	assert_int_equal(srv_ws_write(ws, "fifo", "x", 1, &err), -1);
	assert_null(srv_ws_list(ws, "link", &err));
	assert_int_equal(err.status, 400);

	json_t *l = srv_ws_list(ws, NULL, &err);
	assert_non_null(l);
	json_t *entries = json_object_get(l, "entries");
	assert_int_equal(json_array_size(entries), 4);
	assert_string_equal(json_string_value(json_object_get(json_array_get(entries, 0), "name")), "d");
	assert_string_equal(json_string_value(json_object_get(json_array_get(entries, 2), "type")),
			    "symlink");
	json_decref(l);

	json_t *files = json_pack("{s:s,s:s}", "x/y", "1", "../z", "2");
	assert_int_equal(srv_ws_put_files(ws, files, 100, &err), -1);
	json_decref(files);
	close(ws);
	assert_int_equal(srv_ws_remove_tree(dfd, id), 0);
	assert_int_equal(faccessat(dfd, id, F_OK, 0), -1);
	assert_int_equal(faccessat(dfd, "outside", F_OK, 0), 0); /* links were not followed */
	close(dfd);
}

static void test_policy(void **state)
{
	(void)state;
	srv_err_t err = {0};
	srv_policy_t *p = srv_policy_load(NULL, &err);
	assert_non_null(p);
	assert_string_equal(p->default_backend, "native");
	srv_exec_spec_t spec;
	json_t *req = json_pack("{s:s}", "code", "x");
	static const char *const keys[] = {"code", NULL};
	assert_int_equal(srv_policy_resolve(p, req, keys, false, &spec, &err), 0);
	assert_true(spec.limits.timeout_s == 30);
	assert_string_equal(spec.network, "none");
	assert_string_equal(spec.shell, "sh");
	json_decref(req);

	struct { const char *json; int ok; const char *code; } cases[] = {
		{"{\"timeout\": 300}", 1, NULL},
		{"{\"timeout\": 301}", 0, "limit_exceeded"},
		{"{\"max_execution_time\": 301}", 0, "limit_exceeded"},
		{"{\"memory\": \"2g\"}", 1, NULL},
		{"{\"memory\": \"3g\"}", 0, "limit_exceeded"},
		{"{\"memory_limit\": 1}", 0, "invalid_request"},
		{"{\"cpus\": 2.5}", 0, "limit_exceeded"},
		{"{\"pids\": 1025}", 0, "limit_exceeded"},
		{"{\"pids\": 1.5}", 0, "invalid_request"},
		{"{\"network\": \"host\"}", 0, "policy_violation"},
		{"{\"network\": \"bridge\"}", 0, "policy_violation"},
		{"{\"network\": \"container:x\"}", 0, "invalid_request"},
		{"{\"volumes\": [\"/srv:/srv\"]}", 0, "policy_violation"},
		{"{\"image\": \"evil/image\"}", 0, "policy_violation"},
		{"{\"backend\": \"process\"}", 0, "policy_violation"},
		{"{\"language\": \"python\"}", 1, NULL},
		{"{\"language\": \"cobol\"}", 0, "invalid_request"},
		{"{\"surprise\": 1}", 0, "invalid_request"},
		{"{\"idle_ttl\": 5}", 0, "invalid_request"}, /* sessions only */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		req = json_loads(cases[i].json, 0, NULL);
		assert_non_null(req);
		memset(&err, 0, sizeof(err));
		int rc = srv_policy_resolve(p, req, NULL, false, &spec, &err);
		if (rc != (cases[i].ok ? 0 : -1))
			fail_msg("%s: rc %d (%s)", cases[i].json, rc, err.message);
		if (!cases[i].ok) {
			assert_int_equal(err.status, 400);
			assert_string_equal(err.code, cases[i].code);
		}
		json_decref(req);
	}
	req = json_pack("{s:i}", "idle_ttl", 3601);
	assert_int_equal(srv_policy_resolve(p, req, NULL, true, &spec, &err), -1);
	assert_string_equal(err.code, "limit_exceeded");
	json_decref(req);
	srv_policy_free(p);

	char path[128];
	snprintf(path, sizeof(path), "%s/policy.json", tmpdir);
	FILE *f = fopen(path, "w");
	fputs("{\"defaults\": {\"timeout\": 50}, \"maximums\": {\"timeout\": 40}}", f);
	fclose(f);
	assert_null(srv_policy_load(path, &err)); /* a default above its maximum */
	f = fopen(path, "w");
	fputs("{\"allow_host_network\": true, \"maximums\": {\"timeout\": 5}, "
	      "\"defaults\": {\"timeout\": 5}, \"allowed_images\": [\"a/b\"]}", f);
	fclose(f);
	p = srv_policy_load(path, &err);
	assert_non_null(p);
	req = json_pack("{s:s,s:s}", "network", "host", "image", "a/b");
	assert_int_equal(srv_policy_resolve(p, req, NULL, false, &spec, &err), 0);
	json_decref(req);
	srv_policy_free(p);
	f = fopen(path, "w");
	fputs("{\"maximum\": {}}", f);
	fclose(f);
	assert_null(srv_policy_load(path, &err));
	assert_non_null(strstr(err.message, "unknown key"));
	unlink(path);
}

static void test_audit_chain(void **state)
{
	(void)state;
	char path[128], msg[512];
	snprintf(path, sizeof(path), "%s/audit.log", tmpdir);
	srv_err_t err;
	for (int round = 0; round < 2; round++) { /* the second round continues the chain */
		srv_audit_t *a = srv_audit_open(path, NULL, &err);
		assert_non_null(a);
		for (int i = 0; i < 3; i++)
			assert_int_equal(srv_audit_append(a, json_pack("{s:s,s:i,s:s}", "event", "test",
								       "i", i, "text", "caf\xc3\xa9")), 0);
		srv_audit_close(a);
	}
	assert_int_equal(srv_audit_verify(path, NULL, 0, NULL, msg, sizeof(msg)), 6);

	/* Change one byte of line 4. */
	FILE *f = fopen(path, "r+");
	char line[1024];
	long off = 0;
	for (int i = 0; i < 3; i++) {
		assert_non_null(fgets(line, sizeof(line), f));
		off += (long)strlen(line);
	}
	assert_non_null(fgets(line, sizeof(line), f));
	char *p = strstr(line, "\"i\":0");
	assert_non_null(p);
	fseek(f, off + (p - line) + 4, SEEK_SET);
	fputc('7', f);
	fclose(f);
	assert_int_equal(srv_audit_verify(path, NULL, 0, NULL, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "line 4"));
	/* A log that does not end in an entry is not continued. */
	f = fopen(path, "a");
	fputs("garbage\n", f);
	fclose(f);
	assert_null(srv_audit_open(path, NULL, &err));
	unlink(path);
}

/* Two handles on one file (two processes) interleave into one chain; a keyed
 * chain needs its key; a known head catches a cut; duplicates are refused. */
static void test_audit_writers_keys_heads(void **state)
{
	(void)state;
	char path[128], keyf[128], msg[512];
	snprintf(path, sizeof(path), "%s/shared.log", tmpdir);
	snprintf(keyf, sizeof(keyf), "%s/key", tmpdir);
	srv_err_t err;
	srv_audit_t *a = srv_audit_open(path, NULL, &err), *b = srv_audit_open(path, NULL, &err);
	assert_non_null(a);
	assert_non_null(b);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(srv_audit_append(a, json_pack("{s:i}", "a", i)), 0);
		assert_int_equal(srv_audit_append(b, json_pack("{s:i}", "b", i)), 0);
	}
	srv_audit_close(a);
	srv_audit_close(b);
	assert_int_equal(srv_audit_verify(path, NULL, 0, NULL, msg, sizeof(msg)), 10);
	char head[65];
	assert_non_null(strstr(msg, "head "));
	memcpy(head, strstr(msg, "head ") + 5, 64);
	head[64] = '\0';
	assert_int_equal(srv_audit_verify(path, NULL, 0, head, msg, sizeof(msg)), 10);
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(srv_audit_verify(path, NULL, 0, head, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "expected head"));

	FILE *f = fopen(keyf, "w");
	fputs("0123456789abcdef0123\n", f);
	fclose(f);
	chmod(keyf, 0600);
	a = srv_audit_open(path, keyf, &err);
	assert_non_null(a);
	assert_int_equal(srv_audit_append(a, json_pack("{s:s}", "who", "alice")), 0);
	srv_audit_close(a);
	unsigned char *key;
	size_t keylen;
	assert_int_equal(srv_audit_load_key(keyf, &key, &keylen, &err), 0);
	assert_int_equal(keylen, 20); /* the newline is not part of it */
	assert_int_equal(srv_audit_verify(path, key, keylen, NULL, msg, sizeof(msg)), 1);
	assert_int_equal(srv_audit_verify(path, NULL, 0, NULL, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "--key-file"));
	key[0] ^= 1;
	assert_int_equal(srv_audit_verify(path, key, keylen, NULL, msg, sizeof(msg)), -1);
	free(key);

	f = fopen(path, "w");
	fputs("{\"who\":\"mallory\",\"who\":\"alice\"}\n", f);
	fclose(f);
	assert_int_equal(srv_audit_verify(path, NULL, 0, NULL, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "duplicate"));
	unlink(path);
	unlink(keyf);
}

/* Base64 round trips and refuses what is not strict base64; library field
 * names become the API's in error messages. */
static void test_base64_and_wording(void **state)
{
	(void)state;
	const char bin[] = "\0\xff\x01binary\0";
	char *enc = srv_base64_encode(bin, sizeof(bin));
	assert_non_null(enc);
	char *dec;
	size_t n;
	assert_int_equal(srv_base64_decode(enc, strlen(enc), &dec, &n), 0);
	assert_int_equal(n, sizeof(bin));
	assert_memory_equal(dec, bin, n);
	free(dec);
	free(enc);
	for (size_t len = 0; len < 4; len++) { /* each padding length */
		enc = srv_base64_encode("abc", len);
		assert_int_equal(srv_base64_decode(enc, strlen(enc), &dec, &n), 0);
		assert_int_equal(n, len);
		free(dec);
		free(enc);
	}
	const char *bad[] = {"abc", "ab=c", "a=bc", "%%%%", "ab c", "abc\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(srv_base64_decode(bad[i], strlen(bad[i]), &dec, &n), -1);

	symbi_error_t lerr = {.code = SYMBI_E_INVALID};
	snprintf(lerr.message, sizeof(lerr.message),
		 "max_execution_time 0 is out of range; memory_limit, cpu_limit, pids_limit, "
		 "network_mode; my_memory_limit stays");
	srv_err_t err;
	srv_fail_lib(&err, &lerr);
	assert_string_equal(err.message, "timeout 0 is out of range; memory, cpus, pids, network; "
					 "my_memory_limit stays");
}

/* A queued request whose client hangs up leaves the queue (its place is not
 * kept), and the next client takes it. */
static void test_limiter_forgets_gone_clients(void **state)
{
	(void)state;
	srv_limiter_t *l = srv_limiter_new(1, 1);
	srv_err_t err;
	assert_int_equal(srv_limiter_acquire(l, -1, &err, 1), 0); /* the slot */
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]); /* the queued client is already gone */
	assert_int_equal(srv_limiter_acquire(l, sv[0], &err, 1), -1);
	assert_string_equal(err.code, "client_disconnected");
	size_t running, queued;
	srv_limiter_stats(l, &running, &queued);
	assert_int_equal(queued, 0);
	srv_limiter_release(l);
	assert_int_equal(srv_limiter_acquire(l, -1, &err, 1), 0);
	srv_limiter_release(l);
	close(sv[0]);
	srv_limiter_free(l);
}

/* The E2B SDK's paths: under the home they map onto the workspace; any
 * other absolute path is refused (403), and so is every escape. */
static void test_e2b_paths(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
		int status;
	} cases[] = {
		{"a/b.txt", "a/b.txt", 0},       {"/home/user/a/b", "a/b", 0},
		{"~/a/", "a", 0},                {"/home/user", "", 0},
		{"/home/user/", "", 0},          {"~", "", 0},
		{"/etc/passwd", NULL, 403},      {"/home/userx/a", NULL, 403},
		{"/tmp/x", NULL, 403},           {"../x", NULL, 400},
		{"a/../../b", NULL, 400},        {"/home/user/../root", NULL, 400},
		{"/home/user//etc", NULL, 400},  {"a/./b", NULL, 400},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[64] = "unset";
		srv_err_t err = {0};
		int rc = e2b_ws_path(cases[i].in, out, sizeof(out), &err);
		if (cases[i].out) {
			assert_int_equal(rc, 0);
			assert_string_equal(out, cases[i].out);
		} else {
			assert_int_equal(rc, -1);
			assert_int_equal(err.status, cases[i].status);
		}
	}
	char small[4];
	srv_err_t err = {0};
	assert_int_equal(e2b_ws_path("abcdef", small, sizeof(small), &err), -1);
	assert_int_equal(err.status, 400);
}

static void test_e2b_envelope_and_codes(void **state)
{
	(void)state;
	size_t len = 0;
	char *f = e2b_envelope(2, json_pack("{s:{}}", "end"), &len);
	assert_non_null(f);
	assert_int_equal(len, 5 + 10);
	assert_memory_equal(f, "\x02\x00\x00\x00\x0a{\"end\":{}}", len);
	free(f);
	assert_null(e2b_envelope(0, NULL, &len));
	static const struct {
		int status;
		const char *code;
	} map[] = {{400, "invalid_argument"}, {401, "unauthenticated"}, {403, "permission_denied"},
		   {404, "not_found"},        {409, "failed_precondition"}, {413, "resource_exhausted"},
		   {429, "resource_exhausted"}, {503, "unavailable"},       {500, "internal"}};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		srv_err_t err = {.status = map[i].status};
		assert_string_equal(e2b_rpc_code(&err), map[i].code);
	}
}

/* Single entries of a workspace: mkdir -p, rename, remove, lstat; never
 * through a symlink the sandbox planted. */
static void test_workspace_entries(void **state)
{
	(void)state;
	srv_err_t err = {0};
	int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char id[33];
	int ws = srv_ws_create(dfd, tmpdir, id, 0, -1, &err);
	assert_true(ws >= 0);
	bool existed = true;
	assert_int_equal(srv_ws_mkdirs(ws, "m/n/o", &existed, &err), 0);
	assert_false(existed);
	assert_int_equal(srv_ws_mkdirs(ws, "m/n/o", &existed, &err), 0);
	assert_true(existed);
	assert_int_equal(srv_ws_write(ws, "m/f", "x", 1, &err), 0);
	assert_int_equal(srv_ws_mkdirs(ws, "m/f", &existed, &err), -1);
	assert_int_equal(err.status, 400);
	struct stat st;
	assert_int_equal(srv_ws_stat(ws, "m/n/o", &st, &err), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(srv_ws_stat(ws, "", &st, &err), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(srv_ws_stat(ws, "nope", &st, &err), -1);
	assert_int_equal(err.status, 404);

	assert_int_equal(srv_ws_rename(ws, "m/f", "p/q/g", &err), 0);
	assert_int_equal(srv_ws_stat(ws, "m/f", &st, &err), -1);
	size_t len = 0;
	char *data = srv_ws_read(ws, "p/q/g", 10, &len, &err);
	assert_non_null(data);
	assert_memory_equal(data, "x", 1);
	free(data);
	assert_int_equal(srv_ws_rename(ws, "missing", "z", &err), -1);
	assert_int_equal(err.status, 404);

	/* A link the sandbox made: lstat sees the link; nothing goes through it. */
	assert_int_equal(symlinkat(tmpdir, ws, "link"), 0);
	assert_int_equal(srv_ws_stat(ws, "link", &st, &err), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(srv_ws_stat(ws, "link/outside", &st, &err), -1);
	assert_int_equal(err.status, 400);
	assert_int_equal(srv_ws_mkdirs(ws, "link/new", &existed, &err), -1);
	assert_int_equal(srv_ws_rename(ws, "p/q/g", "link/g", &err), -1);
	assert_int_equal(srv_ws_remove(ws, "link/outside", &err), -1);
	assert_int_equal(srv_ws_remove(ws, "link", &err), 0); /* the link, not its target */
	assert_int_equal(stat(tmpdir, &st), 0);

	assert_int_equal(srv_ws_remove(ws, "m", &err), 0);
	assert_int_equal(srv_ws_stat(ws, "m/n", &st, &err), -1);
	assert_int_equal(srv_ws_remove(ws, "never/was", &err), 0);
	assert_int_equal(srv_ws_remove(ws, "../x", &err), -1);
	close(ws);
	assert_int_equal(srv_ws_remove_tree(dfd, id), 0);
	close(dfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes_and_secrets),
		cmocka_unit_test(test_path_check),
		cmocka_unit_test(test_workspace_files),
		cmocka_unit_test(test_remove_deep_tree),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_audit_chain),
		cmocka_unit_test(test_audit_writers_keys_heads),
		cmocka_unit_test(test_base64_and_wording),
		cmocka_unit_test(test_limiter_forgets_gone_clients),
		cmocka_unit_test(test_e2b_paths),
		cmocka_unit_test(test_e2b_envelope_and_codes),
		cmocka_unit_test(test_workspace_entries),
	};
	return cmocka_run_group_tests_name("server", tests, make_tmp, remove_tmp);
}
