/* Docker-compatible size strings: "512m", "1.5g", "2GiB", "1024". */
#include "config.h"
#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int symbi_parse_bytes(const char *text, uint64_t *out, symbi_error_t *err)
{
	const char *p = text;
	if (!p || !isdigit((unsigned char)*p))
		goto bad;
	errno = 0;
	char *end = NULL;
	double number = strtod(p, &end);
	if (errno != 0 || end == p || !isfinite(number))
		goto bad;
	p = end;
	double mult = 1;
	switch (tolower((unsigned char)*p)) {
	case 'k': mult = 1024.0; p++; break;
	case 'm': mult = 1024.0 * 1024; p++; break;
	case 'g': mult = 1024.0 * 1024 * 1024; p++; break;
	case 't': mult = 1024.0 * 1024 * 1024 * 1024; p++; break;
	default: break;
	}
	if (mult > 1 && tolower((unsigned char)*p) == 'i')
		p++;
	if (tolower((unsigned char)*p) == 'b')
		p++;
	if (*p != '\0')
		goto bad;
	double bytes = number * mult;
	if (bytes >= 9.2e18)
		goto bad;
	*out = (uint64_t)bytes;
	return 0;
bad:
	return symbi_fail(err, SYMBI_E_INVALID, 0,
			  "invalid size \"%.100s\": expected a number with an optional unit "
			  "b, k, m, g or t (for example 512m)", text ? text : "");
}

int symbi_parse_size(const char *text, uint64_t *out, symbi_error_t *err)
{
	return symbi_parse_bytes(text, out, err);
}
