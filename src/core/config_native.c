/* Configuration fields of the native backend and of the process backend
 * (the reference's NativeConfig), set from their textual form like every
 * other field. */
#include "config.h"
#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* tmpfs caps: at least one page, at most 64 GiB. */
#define MIN_TMPFS_BYTES ((uint64_t)4096)
#define MAX_TMPFS_BYTES ((uint64_t)64 << 30)

static int set_str(char **dst, const char *v, symbi_error_t *err)
{
	char *copy = v ? strdup(v) : NULL;
	if (v && !copy)
		return symbi_fail_nomem(err);
	free(*dst);
	*dst = copy;
	return 0;
}

static int parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out, const char *field,
		     symbi_error_t *err)
{
	char *end = NULL;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < min || n > max)
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "%s must be an integer from %llu to %llu, not \"%.100s\"", field,
				  (unsigned long long)min, (unsigned long long)max, v);
	*out = n;
	return 0;
}

static int parse_bool(const char *v, bool *out, const char *field, symbi_error_t *err)
{
	if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*out = true;
	else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*out = false;
	else
		return symbi_fail(err, SYMBI_E_INVALID, 0, "%s must be true or false, not \"%.100s\"",
				  field, v);
	return 0;
}

static int parse_tmpfs_size(const char *v, uint64_t *out, const char *field, symbi_error_t *err)
{
	uint64_t bytes;
	if (symbi_parse_bytes(v, &bytes, err) < 0)
		return symbi_fail_prefix(err, "%s", field);
	if (bytes < MIN_TMPFS_BYTES || bytes > MAX_TMPFS_BYTES)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "%s \"%.100s\" is out of range (4k to 64g)",
				  field, v);
	*out = bytes;
	return 0;
}

/* "BASE:COUNT": host ids BASE to BASE+COUNT-1, all below 2^31 (larger ids
 * break programs that take uid_t as signed) and never 0 or 65535. */
static int parse_id_range(const char *v, symbi_config_t *cfg, symbi_error_t *err)
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
	cfg->id_range_base = (uint32_t)base;
	cfg->id_range_count = (uint32_t)count;
	return 0;
}

const char *symbi_config_interpreter(const symbi_config_t *cfg)
{
	if (!cfg->lang)
		return cfg->shell;
	return strcmp(cfg->lang, "python") == 0 ? "python3" : cfg->lang; /* sh, bash, node */
}

int symbi_config_set_native_field(symbi_config_t *cfg, const char *field, const char *v,
				  symbi_error_t *err)
{
	if (strcmp(field, "lang") == 0) {
		if (!*v)
			return set_str(&cfg->lang, NULL, err);
		static const char *const langs[] = {"sh", "bash", "python", "node"};
		for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
			if (strcmp(v, langs[i]) == 0)
				return set_str(&cfg->lang, v, err);
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "lang \"%.100s\" is not supported (use sh, bash, python or node; or "
				  "set shell to an interpreter that takes -c CODE)", v);
	}
	if (strcmp(field, "tmp_size") == 0)
		return parse_tmpfs_size(v, &cfg->tmp_size, field, err);
	if (strcmp(field, "workdir_size") == 0)
		return parse_tmpfs_size(v, &cfg->workdir_size, field, err);
	if (strcmp(field, "native_id_range") == 0)
		return parse_id_range(v, cfg, err);
	if (strcmp(field, "executable") == 0) {
		if (!*v)
			return symbi_fail(err, SYMBI_E_INVALID, 0, "executable must not be empty");
		return set_str(&cfg->executable, v, err);
	}
	if (strcmp(field, "allowed_executables") == 0) {
		if (!*v)
			return symbi_fail(err, SYMBI_E_INVALID, 0, "allowed_executables entries must not be empty");
		return symbi_strlist_push(&cfg->allowed_executables, v) < 0 ? symbi_fail_nomem(err) : 0;
	}
	if (strcmp(field, "working_directory") == 0) {
		if (v[0] != '/')
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "working_directory \"%.100s\" must be an absolute path", v);
		return set_str(&cfg->working_directory, v, err);
	}
	if (strcmp(field, "enforce_resource_limits") == 0)
		return parse_bool(v, &cfg->enforce_resource_limits, field, err);
	if (strcmp(field, "weak_limits") == 0)
		return parse_bool(v, &cfg->weak_limits, field, err);
	if (strcmp(field, "max_memory_mb") == 0)
		return parse_u64(v, 1, (uint64_t)1 << 40, &cfg->max_memory_mb, field, err);
	if (strcmp(field, "max_cpu_seconds") == 0)
		return parse_u64(v, 1, (uint64_t)1 << 32, &cfg->max_cpu_seconds, field, err);
	return 1;
}
