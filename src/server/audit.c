/* The audit log: one JSON object per line, hash-chained.
 *
 * Every entry carries "seq", "prev" (the previous entry's hash; 64 zeros for
 * the first) and "hash" = SHA-256 of the entry without "hash", serialized
 * compactly with sorted keys and ASCII-only escapes. Changing, removing,
 * inserting or reordering a line breaks the chain at that line. Entries hold
 * no floating-point numbers so that the serialization is canonical. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CANON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)
static const char zero_hash[] =
	"0000000000000000000000000000000000000000000000000000000000000000";

struct srv_audit {
	pthread_mutex_t lock;
	int fd;
	json_int_t seq;
	char last[65];
};

/* The hash of an entry (whose "hash" member is ignored). */
static int entry_hash(json_t *entry, char out[65])
{
	json_t *copy = json_copy(entry);
	if (!copy)
		return -1;
	json_object_del(copy, "hash");
	char *text = json_dumps(copy, CANON_FLAGS);
	json_decref(copy);
	if (!text)
		return -1;
	srv_sha256_hex(text, strlen(text), out);
	free(text);
	return 0;
}

/* Reads the last line of the file to continue its chain. */
static int audit_resume(srv_audit_t *a, const char *path, srv_err_t *err)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return srv_fail(err, 500, "internal", "audit log %s: %s", path, strerror(errno));
	char *line = NULL, *last = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (n > 1) {
			free(last);
			last = strdup(line);
		}
	}
	free(line);
	fclose(f);
	if (!last)
		return 0;
	json_t *e = json_loads(last, 0, NULL);
	free(last);
	json_t *h = json_object_get(e, "hash"), *s = json_object_get(e, "seq");
	if (!json_is_string(h) || json_string_length(h) != 64 || !json_is_integer(s) ||
	    json_integer_value(s) == LLONG_MAX) {
		json_decref(e);
		return srv_fail(err, 500, "internal",
				"audit log %s: the last line is not an audit entry; refusing to "
				"continue a broken chain (check it with 'symbi-sandbox audit verify')",
				path);
	}
	memcpy(a->last, json_string_value(h), 65);
	a->seq = json_integer_value(s);
	json_decref(e);
	return 0;
}

srv_audit_t *srv_audit_open(const char *path, srv_err_t *err)
{
	srv_audit_t *a = calloc(1, sizeof(*a));
	if (!a) {
		srv_fail(err, 500, "internal", "out of memory");
		return NULL;
	}
	memcpy(a->last, zero_hash, 65);
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (a->fd < 0) {
		srv_fail(err, 500, "internal", "audit log %s: %s", path, strerror(errno));
		free(a);
		return NULL;
	}
	if (audit_resume(a, path, err) < 0) {
		close(a->fd);
		free(a);
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
	pthread_mutex_lock(&a->lock);
	json_object_set_new(entry, "seq", json_integer(a->seq + 1));
	json_object_set_new(entry, "prev", json_string(a->last));
	char hash[65];
	int rc = -1;
	if (entry_hash(entry, hash) == 0) {
		json_object_set_new(entry, "hash", json_string(hash));
		char *text = json_dumps(entry, CANON_FLAGS);
		if (text) {
			size_t len = strlen(text);
			text[len] = '\n';
			/* One write(2) per line on an O_APPEND descriptor. */
			ssize_t w = write(a->fd, text, len + 1);
			if (w == (ssize_t)len + 1) {
				a->seq++;
				memcpy(a->last, hash, 65);
				rc = 0;
			}
			free(text);
		}
	}
	pthread_mutex_unlock(&a->lock);
	if (rc < 0)
		fprintf(stderr, "symbi-sandbox: cannot append to the audit log: %s\n",
			strerror(errno));
	json_decref(entry);
	return rc;
}

long srv_audit_verify(const char *path, char *msg, size_t msglen)
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
	long lineno = 0, count = 0;
	json_int_t seq = 0;
	long rc = -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[n - 1] != '\n') {
			snprintf(msg, msglen, "line %ld: incomplete line (no newline at the end)",
				 lineno);
			goto out;
		}
		json_error_t jerr;
		json_t *e = json_loadb(line, (size_t)n, 0, &jerr);
		if (!json_is_object(e)) {
			json_decref(e);
			snprintf(msg, msglen, "line %ld: not a JSON object", lineno);
			goto out;
		}
		json_t *h = json_object_get(e, "hash"), *p = json_object_get(e, "prev"),
		       *s = json_object_get(e, "seq");
		char want[65];
		if (!json_is_string(h) || !json_is_string(p) || !json_is_integer(s)) {
			snprintf(msg, msglen, "line %ld: missing hash, prev or seq", lineno);
		} else if (count > 0 && (seq == LLONG_MAX || json_integer_value(s) != seq + 1)) {
			snprintf(msg, msglen, "line %ld: sequence number %lld does not follow %lld",
				 lineno, (long long)json_integer_value(s), (long long)seq);
		} else if (strcmp(json_string_value(p), prev) != 0) {
			snprintf(msg, msglen,
				 "line %ld: chain broken: its \"prev\" is not the hash of the line "
				 "before (a line was changed, removed or inserted)", lineno);
		} else if (entry_hash(e, want) < 0 || strcmp(want, json_string_value(h)) != 0) {
			snprintf(msg, msglen,
				 "line %ld: content does not match its hash (the line was changed)",
				 lineno);
		} else {
			memcpy(prev, want, 65);
			seq = json_integer_value(s);
			count++;
			json_decref(e);
			continue;
		}
		json_decref(e);
		goto out;
	}
	rc = count;
	snprintf(msg, msglen, "%ld entries, chain intact; last hash %s", count, prev);
out:
	free(line);
	fclose(f);
	return rc;
}
