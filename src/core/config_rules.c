/* The rules of the configuration's string fields, one function each; the
 * field table (config_fields.c) names them, and validate applies the ones
 * a config copied or built in C could otherwise skip. */
#include "config.h"
#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Characters docker accepts in an image reference; the leading character
 * rule also keeps the image from being read as a docker flag. */
int symbi_check_image(const char *v, symbi_error_t *err)
{
	if (!*v)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "Docker image must not be empty");
	bool ok = isalnum((unsigned char)v[0]);
	for (const char *p = v; ok && *p; p++)
		ok = isalnum((unsigned char)*p) || strchr("._/:@+-", *p) != NULL;
	if (!ok)
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "Docker image \"%.200s\" is not a valid image reference", v);
	return 0;
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

static bool is_plain_name(const char *v)
{
	if (!*v || !isalnum((unsigned char)v[0]))
		return false;
	for (const char *p = v; *p; p++)
		if (!is_name_char(*p))
			return false;
	return true;
}

int symbi_check_network_mode(const char *v, symbi_error_t *err)
{
	if (strcmp(v, "none") == 0 || strcmp(v, "bridge") == 0 || strcmp(v, "host") == 0)
		return 0;
	if (strncmp(v, "container:", 10) == 0 && is_plain_name(v + 10))
		return 0;
	return symbi_fail(err, SYMBI_E_INVALID, 0,
			  "network_mode \"%.100s\" is not allowed: use none, bridge, host or "
			  "container:NAME", v);
}

/* `name|uid[:group|gid]`, as docker's --user takes it. */
int symbi_check_user(const char *v, symbi_error_t *err)
{
	const char *colon = strchr(v, ':');
	bool ok = *v && colon != v;
	for (const char *p = v; ok && *p; p++)
		ok = is_name_char(*p) || (p == colon && p[1] != '\0');
	if (!ok)
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "user \"%.100s\" must be NAME, UID, NAME:GROUP or UID:GID", v);
	return 0;
}

int symbi_check_runtime_name(const char *v, symbi_error_t *err)
{
	if (!is_plain_name(v))
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "runtime_name \"%.100s\" is not a valid runtime name", v);
	return 0;
}

int symbi_check_lang(const char *v, symbi_error_t *err)
{
	static const char *const langs[] = {"sh", "bash", "python", "node"};
	for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
		if (strcmp(v, langs[i]) == 0)
			return 0;
	return symbi_fail(err, SYMBI_E_INVALID, 0,
			  "lang \"%.100s\" is not supported (use sh, bash, python or node; or "
			  "set shell to an interpreter that takes -c CODE)", v);
}

/* An allowed_named_volumes entry: what a volume's host part may be when it
 * is not a path (volume.c holds docker's rule for names). */
int symbi_check_volume_name(const char *v, symbi_error_t *err)
{
	symbi_volume_t vol;
	symbi_error_t why;
	if (v[0] == '/' || !*v || strchr(v, ':') ||
	    symbi_volume_make(v, "/x", false, &vol, &why) < 0)
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "allowed_named_volumes entry \"%.100s\" is not a volume name", v);
	symbi_volume_clear(&vol);
	return 0;
}

int symbi_check_absolute(const char *field, const char *v, symbi_error_t *err)
{
	if (v[0] != '/')
		return symbi_fail(err, SYMBI_E_INVALID, 0, "%s \"%.100s\" must be an absolute path",
				  field, v);
	return 0;
}

/* "BASE:COUNT": host ids BASE to BASE+COUNT-1, all below 2^31 (larger ids
 * break programs that take uid_t as signed) and never 0 or 65535. */
int symbi_parse_id_range(const char *v, uint32_t *base_out, uint32_t *count_out,
			 symbi_error_t *err)
{
	char *end = NULL;
	errno = 0;
	unsigned long long base = strtoull(v, &end, 10), count = 0;
	bool ok = !errno && end != v && *end == ':' && isdigit((unsigned char)v[0]);
	if (ok) {
		const char *c = end + 1;
		count = strtoull(c, &end, 10);
		ok = !errno && end != c && !*end && isdigit((unsigned char)c[0]);
	}
	if (!ok || base == 0 || count == 0 || base + count > ((unsigned long long)1 << 31) ||
	    (base <= 65535 && 65535 < base + count))
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "native_id_range \"%.100s\" must be BASE:COUNT with 1 <= BASE, "
				  "COUNT >= 1, BASE+COUNT <= 2147483648 and 65535 outside the range", v);
	*base_out = (uint32_t)base;
	*count_out = (uint32_t)count;
	return 0;
}

const char *symbi_config_interpreter(const symbi_config_t *cfg)
{
	if (!cfg->lang)
		return cfg->shell;
	return strcmp(cfg->lang, "python") == 0 ? "python3" : cfg->lang; /* sh, bash, node */
}

const char *symbi_config_code_flag(const symbi_config_t *cfg)
{
	return cfg->lang && strcmp(cfg->lang, "node") == 0 ? "-e" : "-c";
}
