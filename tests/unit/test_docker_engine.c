/* The Engine API client's pure parts (docker_engine.c): the multiplexed
 * stream of an exec, fed in pieces as they come off the socket, and where
 * the daemon's socket is. The requests themselves are tested against the
 * real daemon (tests/integration/live_docker.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "backends/docker_engine.h"

struct collected {
	char out[256], err[256];
	size_t out_len, err_len;
	int pieces;
};

static void collect(void *ctx, int stream, const char *data, size_t len)
{
	struct collected *c = ctx;
	char *buf = stream == 1 ? c->out : c->err;
	size_t *n = stream == 1 ? &c->out_len : &c->err_len;
	assert_true(stream == 1 || stream == 2);
	assert_true(*n + len < sizeof(c->out));
	memcpy(buf + *n, data, len);
	*n += len;
	c->pieces++;
}

/* A frame: type, three zero bytes, the length big-endian, the payload. */
static size_t frame(unsigned char *out, int type, const char *payload, size_t len)
{
	unsigned char h[8] = {(unsigned char)type, 0, 0, 0, (unsigned char)(len >> 24),
			      (unsigned char)(len >> 16), (unsigned char)(len >> 8), (unsigned char)len};
	memcpy(out, h, 8);
	memcpy(out + 8, payload, len);
	return 8 + len;
}

static void test_demux_whole_and_split(void **state)
{
	(void)state;
	unsigned char buf[512];
	size_t n = frame(buf, 1, "hello\n", 6);
	n += frame(buf + n, 2, "oops\n", 5);
	n += frame(buf + n, 1, "", 0);
	char big[300];
	memset(big, 'x', sizeof(big));
	n += frame(buf + n, 1, big, 200);
	/* Fed at once, one byte at a time, or in pieces that cut headers: the
	 * same streams. */
	const size_t steps[] = {n, 1, 3, 11};
	for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		size_t step = steps[k];
		symbi_engine_demux_t d = {0};
		struct collected c = {0};
		for (size_t off = 0; off < n; off += step)
			assert_int_equal(symbi_engine_demux_feed(&d, (const char *)buf + off,
								 off + step <= n ? step : n - off, collect, &c), 0);
		assert_int_equal(c.out_len, 6 + 200);
		assert_memory_equal(c.out, "hello\n", 6);
		assert_int_equal(strspn(c.out + 6, "x"), 200);
		assert_int_equal(c.err_len, 5);
		assert_memory_equal(c.err, "oops\n", 5);
		assert_int_equal(d.remaining, 0);
		assert_int_equal(d.have, 0);
	}
}

static void test_demux_refuses_unknown_streams(void **state)
{
	(void)state;
	unsigned char buf[64];
	size_t n = frame(buf, 7, "x", 1);
	symbi_engine_demux_t d = {0};
	struct collected c = {0};
	assert_int_equal(symbi_engine_demux_feed(&d, (const char *)buf, n, collect, &c), -1);
	assert_int_equal(c.pieces, 0);
}

static void test_socket_path(void **state)
{
	(void)state;
	char path[108];
	symbi_error_t err = {0};
	unsetenv("DOCKER_HOST");
	assert_int_equal(symbi_engine_socket(path, sizeof(path), &err), 0);
	assert_string_equal(path, "/var/run/docker.sock");
	setenv("DOCKER_HOST", "unix:///run/other.sock", 1);
	assert_int_equal(symbi_engine_socket(path, sizeof(path), &err), 0);
	assert_string_equal(path, "/run/other.sock");
	setenv("DOCKER_HOST", "tcp://127.0.0.1:2375", 1);
	assert_int_equal(symbi_engine_socket(path, sizeof(path), &err), -1);
	assert_int_equal(err.code, SYMBI_E_UNAVAILABLE);
	assert_non_null(strstr(err.message, "unix://"));
	setenv("DOCKER_HOST", "unix://relative.sock", 1);
	assert_int_equal(symbi_engine_socket(path, sizeof(path), &err), -1);
	unsetenv("DOCKER_HOST");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demux_whole_and_split),
		cmocka_unit_test(test_demux_refuses_unknown_streams),
		cmocka_unit_test(test_socket_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
