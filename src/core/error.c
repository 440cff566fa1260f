#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *symbi_strerror(symbi_error_code_t code)
{
	switch (code) {
	case SYMBI_OK: return "ok";
	case SYMBI_E_INVALID: return "invalid";
	case SYMBI_E_SECURITY: return "security";
	case SYMBI_E_UNAVAILABLE: return "unavailable";
	case SYMBI_E_SYSTEM: return "system";
	case SYMBI_E_NOMEM: return "nomem";
	}
	return "unknown";
}

int symbi_fail(symbi_error_t *err, symbi_error_code_t code, int err_no,
	       const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	if (n >= 0 && err_no != 0 && (size_t)n < sizeof(err->message))
		snprintf(err->message + n, sizeof(err->message) - (size_t)n,
			 ": %s", strerror(err_no));
	err->code = code;
	err->err_no = err_no;
	return -1;
}

int symbi_fail_prefix(symbi_error_t *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char old[sizeof(err->message)];
	memcpy(old, err->message, sizeof(old));
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	/* "PREFIX: OLD", cut to fit. */
	size_t room = sizeof(err->message) - 1;
	size_t used = n < 0 ? 0 : (size_t)n;
	if (used > room)
		used = room;
	for (const char *sep = ": "; *sep && used < room; sep++)
		err->message[used++] = *sep;
	size_t take = strnlen(old, sizeof(old) - 1);
	if (take > room - used)
		take = room - used;
	memcpy(err->message + used, old, take);
	err->message[used + take] = '\0';
	return -1;
}
