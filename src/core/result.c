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
	case SYMBI_STATUS_CANCELLED: return "cancelled";
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

/* The fields every result shape shares, named as in the reference. */
static json_t *result_object(int exit_code, const char *out, size_t out_len, const char *errs,
			     size_t err_len, uint64_t ms, bool success, bool out_trunc,
			     bool err_trunc, symbi_status_t status, int sig, const char *error)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int bad = 0;
	bad |= json_object_set_new(o, "exit_code", json_integer(exit_code));
	bad |= json_object_set_new(o, "stdout", json_text(out, out_len));
	bad |= json_object_set_new(o, "stderr", json_text(errs, err_len));
	bad |= json_object_set_new(o, "execution_time_ms", json_integer((json_int_t)ms));
	bad |= json_object_set_new(o, "success", json_boolean(success));
	bad |= json_object_set_new(o, "stdout_truncated", json_boolean(out_trunc));
	bad |= json_object_set_new(o, "stderr_truncated", json_boolean(err_trunc));
	bad |= json_object_set_new(o, "status", json_string(symbi_status_name(status)));
	bad |= json_object_set_new(o, "signal", sig ? json_integer(sig) : json_null());
	bad |= json_object_set_new(o, "error", error ? json_text(error, strlen(error)) : json_null());
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static char *dump(json_t *o, symbi_error_t *err)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		symbi_fail_nomem(err);
	return text;
}

char *symbi_result_to_json(const symbi_result_t *res, symbi_error_t *err)
{
	return dump(result_object(res->exit_code, res->stdout_data, res->stdout_len,
				  res->stderr_data, res->stderr_len, res->execution_time_ms,
				  res->success, res->stdout_truncated, res->stderr_truncated,
				  res->status, res->signal, res->error),
		    err);
}

static json_t *text_or_null(const char *s)
{
	return s ? json_text(s, strlen(s)) : json_null();
}

char *symbi_cell_to_json(const symbi_cell_t *c, symbi_error_t *err)
{
	if (!c) {
		symbi_fail(err, SYMBI_E_INVALID, 0, "symbi_cell_to_json: NULL cell");
		return NULL;
	}
	json_t *o = result_object(c->exit_code, c->stdout_data, c->stdout_len, c->stderr_data,
				  c->stderr_len, c->execution_time_ms,
				  c->status == SYMBI_STATUS_EXITED && c->exit_code == 0 && !c->error_name,
				  c->stdout_truncated, c->stderr_truncated, c->status, 0, c->error);
	if (o) {
		int bad = json_object_set_new(o, "value", text_or_null(c->value));
		json_t *e = c->error_name ? json_object() : json_null();
		if (c->error_name) {
			bad |= json_object_set_new(e, "name", text_or_null(c->error_name));
			bad |= json_object_set_new(e, "value", text_or_null(c->error_value));
			bad |= json_object_set_new(e, "traceback", text_or_null(c->traceback));
		}
		bad |= json_object_set_new(o, "exception", e);
		if (bad) {
			json_decref(o);
			o = NULL;
		}
	}
	return dump(o, err);
}
