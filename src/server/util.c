/* Small helpers shared by the service faces: errors, hashing, ids, sizes, clocks. */
#include "server.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

int srv_fail(srv_err_t *err, int status, const char *code, const char *fmt, ...)
{
	if (!err)
		return -1;
	err->status = status;
	err->code = code;
	err->retry_after = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* The library's configuration fields and the names clients know them by. */
static const char *const api_names[][2] = {
	{"max_execution_time", "timeout"}, {"memory_limit", "memory"}, {"cpu_limit", "cpus"},
	{"pids_limit", "pids"}, {"network_mode", "network"},
};

static bool ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Copies `msg` into out, naming fields as the API does (whole words only). */
static void api_wording(const char *msg, char *out, size_t outlen)
{
	size_t k = 0;
	for (const char *p = msg; *p && k + 1 < outlen;) {
		const char *to = NULL;
		size_t n = 0;
		for (size_t i = 0; !to && i < sizeof(api_names) / sizeof(api_names[0]); i++) {
			n = strlen(api_names[i][0]);
			if (strncmp(p, api_names[i][0], n) == 0 && !ident_char(p[n]) &&
			    (p == msg || !ident_char(p[-1])))
				to = api_names[i][1];
		}
		if (to) {
			k += (size_t)snprintf(out + k, outlen - k, "%s", to);
			p += n;
		} else {
			out[k++] = *p++;
		}
	}
	out[k < outlen ? k : outlen - 1] = '\0';
}

int srv_fail_lib(srv_err_t *err, const symbi_error_t *lerr)
{
	char msg[sizeof(err->message)];
	api_wording(lerr->message, msg, sizeof(msg));
	switch (lerr->code) {
	case SYMBI_E_INVALID:
		return srv_fail(err, 400, "invalid_request", "%s", msg);
	case SYMBI_E_SECURITY:
		return srv_fail(err, 400, "policy_violation", "%s", msg);
	case SYMBI_E_UNAVAILABLE:
		return srv_fail(err, 503, "backend_unavailable", "%s", msg);
	default:
		return srv_fail(err, 500, "internal", "%s", msg);
	}
}

bool srv_utf8_valid(const char *s, size_t n)
{
	/* jansson validates strictly (no overlong forms, no surrogates). */
	json_t *t = json_stringn(s, n);
	json_decref(t);
	return t != NULL;
}

json_t *srv_json_text(const char *s, size_t n)
{
	if (srv_utf8_valid(s, n))
		return json_stringn(s, n);
	/* Not UTF-8: every byte outside printable ASCII, and '%' itself, as %XX,
	 * so that the form is unambiguous and reversible. */
	char *out = malloc(3 * n + 1);
	if (!out)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];
		if (b >= 0x20 && b < 0x7f && b != '%')
			out[k++] = (char)b;
		else
			k += (size_t)snprintf(out + k, 4, "%%%02X", b);
	}
	json_t *t = json_stringn(out, k);
	free(out);
	return t;
}

char *srv_err_json(const srv_err_t *err)
{
	/* The message may quote client bytes (cut at any byte): never let it
	 * make the answer invalid or empty. */
	json_t *o = json_pack("{s:{s:s,s:o}}", "error", "code", err->code ? err->code : "internal",
			      "message", srv_json_text(err->message, strlen(err->message)));
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

void srv_hex(const unsigned char *bytes, size_t n, char *out)
{
	/* A table, not snprintf("%02x") per byte: the audit log hashes every
	 * entry it writes or verifies, and 32 snprintf calls cost more than
	 * the SHA-256 itself. */
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 0xf];
	}
	out[2 * n] = '\0';
}

void srv_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		n = 0;
	srv_hex(md, n, out);
}

bool srv_secret_equal(const char *a, const char *b)
{
	/* Comparing fixed-size digests keeps the time independent of where the
	 * strings differ and of their lengths. */
	unsigned char da[EVP_MAX_MD_SIZE], db[EVP_MAX_MD_SIZE];
	unsigned int na = 0, nb = 0;
	if (EVP_Digest(a, strlen(a), da, &na, EVP_sha256(), NULL) != 1 ||
	    EVP_Digest(b, strlen(b), db, &nb, EVP_sha256(), NULL) != 1 || na != nb)
		return false;
	return CRYPTO_memcmp(da, db, na) == 0;
}

int srv_random_hex(char *out, size_t nbytes)
{
	unsigned char buf[64];
	if (nbytes > sizeof(buf))
		return -1;
	size_t got = 0;
	while (got < nbytes) {
		ssize_t r = getrandom(buf + got, nbytes - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	srv_hex(buf, nbytes, out);
	return 0;
}

int srv_parse_size(const char *text, uint64_t *out)
{
	return symbi_parse_size(text, out, NULL);
}

void srv_cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &ca);
	pthread_condattr_destroy(&ca);
}

int srv_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *lock, uint64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_cond_timedwait(cond, lock, &ts);
}

bool srv_client_gone(int fd)
{
	struct pollfd p = {fd, POLLRDHUP, 0};
	return fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

void srv_block_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

uint64_t srv_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void srv_timestamp(char out[32])
{
	srv_timestamp_at(srv_wall_ms(), out);
}

uint64_t srv_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void srv_timestamp_at(uint64_t wall_ms, char out[32])
{
	time_t secs = (time_t)(wall_ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03uZ", (unsigned)(wall_ms % 1000));
}

char *srv_base64_encode(const void *data, size_t len)
{
	if (len > (SIZE_MAX / 4) * 3 - 3 || len > INT32_MAX / 2)
		return NULL;
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

int srv_base64_decode(const char *text, size_t len, char **out, size_t *outlen)
{
	/* Strict: a multiple of 4 characters from the standard alphabet, padded. */
	if (len % 4 || len > INT32_MAX / 2)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		bool pad = c == '=' && i >= len - 2 && (i == len - 1 || text[len - 1] == '=');
		if (!pad && !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return -1;
	}
	unsigned char *b = malloc(len / 4 * 3 + 1);
	if (!b)
		return -1;
	int n = len ? EVP_DecodeBlock(b, (const unsigned char *)text, (int)len) : 0;
	if (n < 0) {
		free(b);
		return -1;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	if (len && text[len - 1] == '=')
		n--;
	if (len > 1 && text[len - 2] == '=')
		n--;
	*out = (char *)b;
	*outlen = (size_t)n;
	return 0;
}

int srv_buf_append(char **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 4096;
		while (c < *len + n + 1)
			c *= 2;
		char *b = realloc(*buf, c);
		if (!b)
			return -1;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

size_t srv_copy_out(const char *src, size_t len, size_t *off, char *buf, size_t max)
{
	size_t n = len - *off < max ? len - *off : max;
	memcpy(buf, src + *off, n);
	*off += n;
	return n;
}

bool srv_path_id(const char *p, char *id, size_t idlen, const char **rest)
{
	const char *slash = strchr(p, '/');
	size_t n = slash ? (size_t)(slash - p) : strlen(p);
	if (n == 0 || n >= idlen)
		return false;
	memcpy(id, p, n);
	id[n] = '\0';
	*rest = slash ? slash : "";
	return true;
}

void srv_thread_stop(int stop_fd, pthread_t t)
{
	ssize_t w = write(stop_fd, "x", 1);
	(void)w;
	pthread_join(t, NULL);
}

void srv_write_ready_file(const char *path, unsigned port)
{
	if (!path)
		return;
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (f) {
		fprintf(f, "%u\n", port);
		fclose(f);
		rename(tmp, path); /* whole or absent for whoever waits for it */
	}
}
