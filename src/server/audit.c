/* The audit log: one JSON object per line, hash-chained.
 *
 * The canonical form of an entry (docs/audit-log.md has it in full, with a
 * verifier in Python): jansson's JSON_COMPACT | JSON_SORT_KEYS |
 * JSON_ENSURE_ASCII, i.e. no whitespace, keys in byte order, every
 * non-ASCII character as \uXXXX with upper-case hex (surrogate pairs beyond
 * the BMP). Every line is exactly the canonical form of its entry, which
 * carries "seq" (1, 2, ...), "prev" (the previous entry's hash; 64 zeros for
 * the first) and "hash" = hex SHA-256, or HMAC-SHA-256 with the key of
 * --audit-key-file (then "alg":"hmac-sha256"), of the canonical form of the
 * entry without "hash". Entries hold no floating-point numbers.
 *
 * Several processes may append to one log: each append takes an exclusive
 * flock, reads the file's last line and continues the chain from it. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define CANON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)
#define HMAC_ALG "hmac-sha256"
static const char zero_hash[] =
	"0000000000000000000000000000000000000000000000000000000000000000";

struct srv_audit {
	pthread_mutex_t lock;
	int fd;
	unsigned char *key;
	size_t keylen;
};

/* The hash of an entry, which has no "hash" member: the callers remove it
 * (a copy without it, made for each entry written or verified, was a fifth
 * of fuzz_audit's time). */
static int entry_hash(json_t *entry, const unsigned char *key, size_t keylen, char out[65])
{
	char *text = json_dumps(entry, CANON_FLAGS);
	if (!text)
		return -1;
	if (key) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int n = 0;
		if (!HMAC(EVP_sha256(), key, (int)keylen, (unsigned char *)text, strlen(text), md,
			  &n) || n != 32) {
			free(text);
			return -1;
		}
		srv_hex(md, n, out);
	} else {
		srv_sha256_hex(text, strlen(text), out);
	}
	free(text);
	return 0;
}

int srv_audit_load_key(const char *path, unsigned char **key, size_t *keylen, srv_err_t *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > 4096) {
		int e = fd < 0 ? errno : EINVAL;
		if (fd >= 0)
			close(fd);
		return srv_fail(err, 400, "invalid_request",
				"audit key file %s: %s (a regular file of at most 4096 bytes)", path,
				strerror(e));
	}
	unsigned char *k = malloc((size_t)st.st_size + 1);
	ssize_t n = k ? read(fd, k, (size_t)st.st_size) : -1;
	close(fd);
	while (n > 0 && (k[n - 1] == '\n' || k[n - 1] == '\r'))
		n--;
	if (n < 16) {
		free(k);
		return srv_fail(err, 400, "invalid_request",
				"audit key file %s: the key must be at least 16 bytes (e.g. openssl "
				"rand -hex 32)", path);
	}
	if (st.st_mode & 077)
		fprintf(stderr, "symbi-sandbox: warning: %s is readable by other users (chmod 600 "
			"it)\n", path);
	*key = k;
	*keylen = (size_t)n;
	return 0;
}

/* The last line of the open file (without its newline), or NULL if the file
 * is empty; *bad is set if the file does not end with a newline. */
static char *last_line(int fd, bool *bad)
{
	*bad = false;
	off_t end = lseek(fd, 0, SEEK_END);
	if (end <= 0)
		return NULL;
	char c;
	if (pread(fd, &c, 1, end - 1) != 1 || c != '\n') {
		*bad = true;
		return NULL;
	}
	off_t start = end - 1;
	char buf[4096];
	while (start > 0) {
		off_t from = start > (off_t)sizeof(buf) ? start - (off_t)sizeof(buf) : 0;
		ssize_t n = pread(fd, buf, (size_t)(start - from), from);
		if (n != start - from) {
			*bad = true;
			return NULL;
		}
		char *nl = memrchr(buf, '\n', (size_t)n);
		if (nl) {
			start = from + (nl - buf) + 1;
			break;
		}
		start = from;
	}
	size_t len = (size_t)(end - 1 - start);
	char *line = malloc(len + 1);
	if (!line || pread(fd, line, len, start) != (ssize_t)len) {
		free(line);
		*bad = true;
		return NULL;
	}
	line[len] = '\0';
	return line;
}

/* Where the chain stands in the file: its last seq and hash. */
static int chain_head(int fd, json_int_t *seq, char last[65])
{
	bool bad;
	char *line = last_line(fd, &bad);
	*seq = 0;
	memcpy(last, zero_hash, 65);
	if (!line)
		return bad ? -1 : 0;
	json_t *e = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
	free(line);
	json_t *h = json_object_get(e, "hash"), *s = json_object_get(e, "seq");
	int rc = -1;
	/* A last seq of LLONG_MAX cannot be continued (seq + 1 would
	 * overflow: found by fuzz_audit). */
	if (json_is_string(h) && json_string_length(h) == 64 && json_is_integer(s) &&
	    json_integer_value(s) < LLONG_MAX) {
		memcpy(last, json_string_value(h), 65);
		*seq = json_integer_value(s);
		rc = 0;
	}
	json_decref(e);
	return rc;
}

srv_audit_t *srv_audit_open(const char *path, const char *key_file, srv_err_t *err)
{
	srv_audit_t *a = calloc(1, sizeof(*a));
	if (!a) {
		srv_fail(err, 500, "internal", "out of memory");
		return NULL;
	}
	if (key_file && srv_audit_load_key(key_file, &a->key, &a->keylen, err) < 0) {
		free(a);
		return NULL;
	}
	a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (a->fd < 0) {
		srv_fail(err, 500, "internal", "audit log %s: %s", path, strerror(errno));
		free(a->key);
		free(a);
		return NULL;
	}
	json_int_t seq;
	char last[65];
	flock(a->fd, LOCK_SH);
	int rc = chain_head(a->fd, &seq, last);
	flock(a->fd, LOCK_UN);
	if (rc < 0) {
		srv_fail(err, 500, "internal",
			 "audit log %s: the last line is not an audit entry; refusing to continue a "
			 "broken chain (check it with 'symbi-sandbox audit verify')", path);
		srv_audit_close(a);
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	return a;
}

void srv_audit_close(srv_audit_t *a)
{
	if (!a)
		return;
	close(a->fd);
	if (a->key) {
		OPENSSL_cleanse(a->key, a->keylen);
		free(a->key);
	}
	pthread_mutex_destroy(&a->lock);
	free(a);
}

int srv_audit_append(srv_audit_t *a, json_t *entry)
{
	if (!a || !entry) {
		json_decref(entry);
		return 0;
	}
	char ts[32];
	srv_timestamp(ts);
	json_object_set_new(entry, "time", json_string(ts));
	if (a->key)
		json_object_set_new(entry, "alg", json_string(HMAC_ALG));
	int rc = -1;
	const char *why = "cannot serialize the entry";
	pthread_mutex_lock(&a->lock);
	/* Other processes may share the file: the lock orders the appends and
	 * the chain continues from whatever line is last now. */
	while (flock(a->fd, LOCK_EX) < 0 && errno == EINTR)
		;
	json_int_t seq;
	char last[65], hash[65];
	if (chain_head(a->fd, &seq, last) < 0) {
		why = "its last line is not an audit entry";
	} else {
		json_object_set_new(entry, "seq", json_integer(seq + 1));
		json_object_set_new(entry, "prev", json_string(last));
		json_object_del(entry, "hash"); /* one given by the caller is replaced */
		char *text = NULL;
		if (entry_hash(entry, a->key, a->keylen, hash) == 0) {
			json_object_set_new(entry, "hash", json_string(hash));
			text = json_dumps(entry, CANON_FLAGS);
		}
		if (text) {
			size_t len = strlen(text);
			text[len] = '\n';
			ssize_t w = write(a->fd, text, len + 1);
			if (w == (ssize_t)len + 1)
				rc = 0;
			else
				why = strerror(w < 0 ? errno : EIO);
			free(text);
		}
	}
	flock(a->fd, LOCK_UN);
	pthread_mutex_unlock(&a->lock);
	if (rc < 0)
		fprintf(stderr, "symbi-sandbox: cannot append to the audit log: %s\n", why);
	json_decref(entry);
	return rc;
}

/* Checks one line (without its newline) against the chain so far. */
static bool verify_line(const char *line, size_t len, long lineno, json_int_t *seq, char prev[65],
			const unsigned char *key, size_t keylen, char *msg, size_t msglen)
{
	json_error_t jerr;
	json_t *e = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr), *h = NULL;
	bool ok = false;
	if (!json_is_object(e)) {
		snprintf(msg, msglen, "line %ld: not a JSON object without duplicate keys (%s)",
			 lineno, jerr.text);
		goto out;
	}
	char *canon = json_dumps(e, CANON_FLAGS);
	bool canonical = canon && strlen(canon) == len && memcmp(canon, line, len) == 0;
	free(canon);
	/* The entry is hashed without its "hash" member: take it out (keeping
	 * a reference to compare with). */
	h = json_incref(json_object_get(e, "hash"));
	json_object_del(e, "hash");
	json_t *p = json_object_get(e, "prev"), *s = json_object_get(e, "seq"),
	       *alg = json_object_get(e, "alg");
	char want[65];
	if (!canonical) {
		snprintf(msg, msglen, "line %ld: not in canonical form (see docs/audit-log.md)",
			 lineno);
	} else if (!json_is_string(h) || !json_is_string(p) || !json_is_integer(s)) {
		snprintf(msg, msglen, "line %ld: missing hash, prev or seq", lineno);
	} else if (*seq == LLONG_MAX || json_integer_value(s) != *seq + 1) {
		snprintf(msg, msglen, "line %ld: sequence number %lld does not follow %lld", lineno,
			 (long long)json_integer_value(s), (long long)*seq);
	} else if (strcmp(json_string_value(p), prev) != 0) {
		snprintf(msg, msglen,
			 "line %ld: chain broken: its \"prev\" is not the hash of the line before (a "
			 "line was changed, removed or inserted)", lineno);
	} else if (key && !(json_is_string(alg) && strcmp(json_string_value(alg), HMAC_ALG) == 0)) {
		snprintf(msg, msglen, "line %ld: not keyed (\"alg\":\"%s\" expected)", lineno,
			 HMAC_ALG);
	} else if (!key && alg) {
		snprintf(msg, msglen, "line %ld: keyed with HMAC: give the key with --key-file",
			 lineno);
	} else if (entry_hash(e, key, keylen, want) < 0 || strcmp(want, json_string_value(h)) != 0) {
		snprintf(msg, msglen, "line %ld: content does not match its hash (the line was "
			 "changed%s)", lineno, key ? ", or the key is wrong" : "");
	} else {
		memcpy(prev, want, 65);
		*seq = json_integer_value(s);
		ok = true;
	}
out:
	json_decref(h);
	json_decref(e);
	return ok;
}

long srv_audit_verify(const char *path, const unsigned char *key, size_t keylen,
		      const char *expect_head, char *msg, size_t msglen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char prev[65];
	memcpy(prev, zero_hash, 65);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0, rc = -1;
	json_int_t seq = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[n - 1] != '\n') {
			snprintf(msg, msglen, "line %ld: incomplete line (no newline at the end)",
				 lineno);
			goto out;
		}
		if (!verify_line(line, (size_t)n - 1, lineno, &seq, prev, key, keylen, msg, msglen))
			goto out;
	}
	if (expect_head && strcmp(expect_head, prev) != 0) {
		snprintf(msg, msglen,
			 "the chain is intact but ends at %s, not at the expected head %s: lines were "
			 "removed from the end, or the log was rewritten", prev, expect_head);
		goto out;
	}
	rc = lineno;
	snprintf(msg, msglen, "%ld entries, chain intact; head %s", lineno, prev);
out:
	free(line);
	fclose(f);
	return rc;
}
