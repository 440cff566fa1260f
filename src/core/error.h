/* Internal helpers for filling symbi_error_t. */
#ifndef SYMBI_CORE_ERROR_H
#define SYMBI_CORE_ERROR_H

#include <symbi/sandbox.h>

/* Fills *err (if non-NULL) and returns -1, so that callers can write
 * `return symbi_fail(err, SYMBI_E_INVALID, 0, "...")`. */
int symbi_fail(symbi_error_t *err, symbi_error_code_t code, int err_no,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Prefixes the message already in *err with more context. */
int symbi_fail_prefix(symbi_error_t *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline void symbi_error_clear(symbi_error_t *err)
{
	if (err) {
		err->code = SYMBI_OK;
		err->err_no = 0;
		err->message[0] = '\0';
	}
}

#define symbi_fail_nomem(err) symbi_fail((err), SYMBI_E_NOMEM, 12, "out of memory")

#endif
