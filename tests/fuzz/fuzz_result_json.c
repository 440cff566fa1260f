/* symbi_result_to_json(): arbitrary program output (any bytes, NULs,
 * broken UTF-8) into the JSON every front end prints. The input is split
 * into stdout, stderr and error at the first two \xff\xfe markers; a few
 * header bytes set the numbers and flags.
 * Invariants: the output always parses back with jansson (which accepts
 * only valid UTF-8), every field comes back with its value, and the text
 * fields are the input exactly when the input is valid UTF-8 (jansson's
 * validator is the oracle) and otherwise the input with each bad byte
 * replaced by U+FFFD: here checked as "valid, at least as long, with a
 * U+FFFD, the same ASCII bytes in the same order, and repaired again
 * unchanged". */
#include "fuzz.h"

#include <symbi/sandbox.h>
#include <jansson.h>
#include <stdbool.h>

static const uint8_t *split(const uint8_t *p, const uint8_t *end, size_t *len)
{
	for (const uint8_t *q = p; q + 1 < end; q++) {
		if (q[0] == 0xff && q[1] == 0xfe) {
			*len = (size_t)(q - p);
			return q + 2;
		}
	}
	*len = (size_t)(end - p);
	return end;
}

static void check_text(json_t *o, const char *key, const uint8_t *in, size_t len,
		       const symbi_result_t *res)
{
	json_t *s = json_object_get(o, key);
	FUZZ_CHECK(json_is_string(s), "%s is not a string", key);
	const char *got = json_string_value(s);
	size_t got_len = json_string_length(s);
	json_t *valid = json_stringn((const char *)in, len); /* NULL unless valid UTF-8 */
	if (valid) {
		FUZZ_CHECK(got_len == len && memcmp(got, in, len) == 0,
			   "%s: valid UTF-8 not kept byte for byte", key);
		json_decref(valid);
		return;
	}
	FUZZ_CHECK(got_len >= len, "%s: repaired text shorter than the input", key);
	FUZZ_CHECK(memmem(got, got_len, "\xEF\xBF\xBD", 3) != NULL,
		   "%s: invalid input but no U+FFFD", key);
	size_t i = 0, j = 0;
	for (;; i++, j++) {
		while (i < len && in[i] >= 0x80)
			i++;
		while (j < got_len && (unsigned char)got[j] >= 0x80)
			j++;
		if (i == len || j == got_len)
			break;
		FUZZ_CHECK(in[i] == (unsigned char)got[j], "%s: ASCII byte %zu changed", key, i);
	}
	FUZZ_CHECK(i == len && j == got_len, "%s: ASCII bytes lost or added", key);
	/* Repairing the repaired text changes nothing. */
	symbi_result_t again = *res;
	again.stdout_data = (char *)got;
	again.stdout_len = got_len;
	again.stderr_data = NULL;
	again.stderr_len = 0;
	again.error = NULL;
	char *text = symbi_result_to_json(&again, NULL);
	FUZZ_CHECK(text != NULL, "second conversion failed");
	json_t *o2 = json_loads(text, JSON_ALLOW_NUL, NULL);
	FUZZ_CHECK(o2 != NULL, "second conversion is not JSON");
	json_t *s2 = json_object_get(o2, "stdout");
	FUZZ_CHECK(json_string_length(s2) == got_len &&
			   memcmp(json_string_value(s2), got, got_len) == 0,
		   "%s: repair is not idempotent", key);
	json_decref(o2);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8)
		return 0;
	symbi_result_t res = {0};
	memcpy(&res.exit_code, data, 4);
	res.status = (symbi_status_t)(data[4] % 5);
	res.signal = data[5] % 65;
	res.success = data[6] & 1;
	res.stdout_truncated = data[6] & 2;
	res.stderr_truncated = data[6] & 4;
	bool has_error = data[6] & 8;
	res.execution_time_ms = (uint64_t)data[7] * 1000003u;
	const uint8_t *p = data + 8, *end = data + size;
	size_t out_len, err_len, msg_len;
	const uint8_t *out = p;
	p = split(p, end, &out_len);
	const uint8_t *errb = p;
	p = split(p, end, &err_len);
	const uint8_t *msg = p;
	msg_len = (size_t)(end - p);
	/* The library hands out NUL-terminated buffers (sandbox.h). */
	res.stdout_data = fuzz_strndup(out, out_len);
	res.stdout_len = out_len;
	res.stderr_data = fuzz_strndup(errb, err_len);
	res.stderr_len = err_len;
	res.error = has_error ? fuzz_strndup(msg, msg_len) : NULL;

	symbi_error_t err = {0};
	char *text = symbi_result_to_json(&res, &err);
	FUZZ_CHECK(text != NULL, "conversion failed: %s", err.message);
	json_error_t jerr;
	json_t *o = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	FUZZ_CHECK(json_is_object(o), "output is not a JSON object: %s", jerr.text);
	FUZZ_CHECK(json_integer_value(json_object_get(o, "exit_code")) == res.exit_code,
		   "exit_code");
	FUZZ_CHECK(json_integer_value(json_object_get(o, "execution_time_ms")) ==
			   (json_int_t)res.execution_time_ms,
		   "execution_time_ms");
	FUZZ_CHECK(json_is_true(json_object_get(o, "success")) == res.success, "success");
	FUZZ_CHECK(json_is_true(json_object_get(o, "stdout_truncated")) == res.stdout_truncated,
		   "stdout_truncated");
	FUZZ_CHECK(json_is_true(json_object_get(o, "stderr_truncated")) == res.stderr_truncated,
		   "stderr_truncated");
	FUZZ_CHECK(strcmp(json_string_value(json_object_get(o, "status")),
			  symbi_status_name(res.status)) == 0,
		   "status");
	json_t *sig = json_object_get(o, "signal");
	FUZZ_CHECK(res.signal ? json_integer_value(sig) == res.signal : json_is_null(sig), "signal");
	check_text(o, "stdout", out, out_len, &res);
	check_text(o, "stderr", errb, err_len, &res);
	if (has_error)
		/* error is a C string: it ends at its first NUL. */
		check_text(o, "error", msg, strlen(res.error), &res);
	else
		FUZZ_CHECK(json_is_null(json_object_get(o, "error")), "error should be null");
	FUZZ_CHECK(json_object_size(o) == 10, "%zu fields", json_object_size(o));
	json_decref(o);
	free(text);
	free(res.stdout_data);
	free(res.stderr_data);
	free(res.error);
	return 0;
}
