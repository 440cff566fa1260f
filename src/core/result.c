#include "result.h"
#include "error.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void symbi_result_free(symbi_result_t *res)
{
	if (!res)
		return;
	free(res->stdout_data);
	free(res->stderr_data);
	free(res->error);
	free(res);
}

const char *symbi_status_name(symbi_status_t status)
{
	switch (status) {
	case SYMBI_STATUS_EXITED: return "exited";
	case SYMBI_STATUS_SIGNALED: return "signaled";
	case SYMBI_STATUS_TIMEOUT: return "timeout";
	case SYMBI_STATUS_OOM: return "oom";
	case SYMBI_STATUS_ERROR: return "error";
	}
	return "error";
}

void symbi_result_set_exit(symbi_result_t *res, symbi_status_t status, int exit_code, int sig)
{
	res->status = status;
	res->exit_code = exit_code;
	res->signal = sig;
	res->success = status == SYMBI_STATUS_EXITED && exit_code == 0;
}

symbi_result_t *symbi_result_new_error(const char *message, uint64_t elapsed_ms)
{
	symbi_result_t *res = calloc(1, sizeof(*res));
	if (!res)
		return NULL;
	res->stdout_data = strdup("");
	res->stderr_data = strdup(message);
	res->error = strdup(message);
	if (!res->stdout_data || !res->stderr_data || !res->error) {
		symbi_result_free(res);
		return NULL;
	}
	res->stderr_len = strlen(message);
	res->execution_time_ms = elapsed_ms;
	symbi_result_set_exit(res, SYMBI_STATUS_ERROR, -1, 0);
	return res;
}

symbi_result_t *symbi_result_from_outcome(symbi_supervise_outcome_t *oc)
{
	symbi_result_t *res = calloc(1, sizeof(*res));
	if (!res)
		return NULL;
	res->stdout_truncated = symbi_stream_truncated(&oc->out);
	res->stderr_truncated = symbi_stream_truncated(&oc->err);
	res->stdout_data = symbi_stream_finish(&oc->out, &res->stdout_len);
	res->stderr_data = symbi_stream_finish(&oc->err, &res->stderr_len);
	if (!res->stdout_data || !res->stderr_data) {
		symbi_result_free(res);
		return NULL;
	}
	res->execution_time_ms = oc->elapsed_ms;
	symbi_result_set_exit(res, SYMBI_STATUS_EXITED, -1, 0);
	return res;
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if invalid. */
static size_t utf8_sequence_length(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];
	size_t n;
	unsigned int min;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) { n = 2; min = 0x80; }
	else if (c >= 0xE0 && c <= 0xEF) { n = 3; min = 0x800; }
	else if (c >= 0xF0 && c <= 0xF4) { n = 4; min = 0x10000; }
	else return 0;
	if (avail < n)
		return 0;
	unsigned int cp = c & (0x7F >> n);
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

/* Copies p as valid UTF-8 into out (when not NULL), each byte of an
 * invalid sequence becoming the 3-byte U+FFFD; returns the length. */
static size_t utf8_repair(const unsigned char *p, size_t len, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_sequence_length(p + i, len - i);
		const void *piece = n ? (const void *)(p + i) : "\xEF\xBF\xBD";
		size_t size = n ? n : 3;
		if (out)
			memcpy(out + o, piece, size);
		o += size;
		i += n ? n : 1;
	}
	return o;
}

char *symbi_utf8_lossy(const char *data, size_t len, size_t *out_len)
{
	/* Measured first: a worst-case buffer (3 bytes per input byte) would
	 * be 30 MiB for 10 MiB of output. */
	const unsigned char *p = (const unsigned char *)data;
	size_t n = utf8_repair(p, len, NULL);
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	utf8_repair(p, len, out);
	out[n] = '\0';
	if (out_len)
		*out_len = n;
	return out;
}

static json_t *json_text(const char *data, size_t len)
{
	size_t clean_len;
	char *clean = symbi_utf8_lossy(data ? data : "", data ? len : 0, &clean_len);
	if (!clean)
		return NULL;
	/* NUL bytes are valid UTF-8; JSON carries them as \u0000. */
	json_t *s = json_stringn_nocheck(clean, clean_len);
	free(clean);
	return s;
}

char *symbi_result_to_json(const symbi_result_t *res, symbi_error_t *err)
{
	json_t *o = json_object();
	if (!o)
		goto nomem;
	int bad = 0;
	bad |= json_object_set_new(o, "exit_code", json_integer(res->exit_code));
	bad |= json_object_set_new(o, "stdout", json_text(res->stdout_data, res->stdout_len));
	bad |= json_object_set_new(o, "stderr", json_text(res->stderr_data, res->stderr_len));
	bad |= json_object_set_new(o, "execution_time_ms", json_integer((json_int_t)res->execution_time_ms));
	bad |= json_object_set_new(o, "success", json_boolean(res->success));
	bad |= json_object_set_new(o, "stdout_truncated", json_boolean(res->stdout_truncated));
	bad |= json_object_set_new(o, "stderr_truncated", json_boolean(res->stderr_truncated));
	bad |= json_object_set_new(o, "status", json_string(symbi_status_name(res->status)));
	bad |= json_object_set_new(o, "signal", res->signal ? json_integer(res->signal) : json_null());
	bad |= json_object_set_new(o, "error", res->error ? json_text(res->error, strlen(res->error)) : json_null());
	if (bad) {
		json_decref(o);
		goto nomem;
	}
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		goto nomem;
	return text;
nomem:
	symbi_fail_nomem(err);
	return NULL;
}
