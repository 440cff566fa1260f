/* The configuration as a table of typed fields: each field's name, type,
 * place in struct symbi_config, rule and the backends it means something
 * on. Every way of setting a field (its text from the CLI, a typed value
 * from C or from the JSON loader) ends in the same typed setter, so a rule
 * is written once and text and typed values give the same config. */
#include "config.h"
#include "error.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Docker refuses memory limits below 6 MiB. */
#define MIN_MEMORY_BYTES ((uint64_t)6 * 1024 * 1024)
#define MAX_SECONDS (7.0 * 24 * 3600)
/* tmpfs caps: at least one page, at most 64 GiB. */
#define MIN_TMPFS_BYTES ((uint64_t)4096)
#define MAX_TMPFS_BYTES ((uint64_t)64 << 30)

#define ON_DOCKER (1u << SYMBI_BACKEND_DOCKER)
#define ON_GVISOR (1u << SYMBI_BACKEND_GVISOR)
#define ON_NATIVE (1u << SYMBI_BACKEND_NATIVE)
#define ON_PROCESS (1u << SYMBI_BACKEND_PROCESS)
#define ON_CONTAINERS (ON_DOCKER | ON_GVISOR)
#define ON_ISOLATED (ON_DOCKER | ON_GVISOR | ON_NATIVE)
#define ON_ALL (ON_ISOLATED | ON_PROCESS)

typedef enum field_type {
	FT_STRING,   /* char *; rule: check */
	FT_BOOL,     /* bool */
	FT_DOUBLE,   /* double in [dmin, dmax] */
	FT_DURATION, /* uint64_t ms, given in seconds in [dmin, dmax] */
	FT_SIZE,     /* uint64_t bytes in [umin, umax]; text "512m" */
	FT_COUNT,    /* uint64_t in [umin, umax]; text a decimal integer */
	FT_ENUM,     /* symbi_backend_kind_t, by `names` */
	FT_LIST,     /* symbi_strlist_t, one entry per set; rule: check */
	FT_VOLUMES,  /* the volumes array */
	FT_ID_RANGE, /* native_id_range: "BASE:COUNT" */
} field_type_t;

enum {
	F_NONE_UNSETS = 1,  /* "none" or "unlimited" (and JSON null) unset it */
	F_EMPTY_UNSETS = 2, /* "" (and JSON null) unsets it */
	F_NONEMPTY = 4,
	F_ABSOLUTE = 8,        /* an absolute path */
	F_BACKEND_CHECK = 16,  /* the selected backend's check_field too */
	F_ROUND_UP = 32,       /* a duration above 0 is at least 1 ms */
};

typedef struct config_field {
	const char *name;
	field_type_t type;
	size_t offset;
	unsigned backends; /* ON_*: where it means something */
	unsigned flags;
	double dmin, dmax;
	uint64_t umin, umax;
	const char *range; /* the range, as messages show it */
	int (*check)(const char *v, symbi_error_t *err);
	const char *why_not; /* appended to the refusal on another backend */
} config_field_t;

#define AT(member) offsetof(struct symbi_config, member)

static const char *const backend_names[] = {
	[SYMBI_BACKEND_DOCKER] = "docker", [SYMBI_BACKEND_GVISOR] = "gvisor",
	[SYMBI_BACKEND_NATIVE] = "native", [SYMBI_BACKEND_PROCESS] = "process",
};

static const config_field_t fields[] = {
	{"backend", FT_ENUM, AT(backend), ON_ALL, 0},
	{"image", FT_STRING, AT(image), ON_CONTAINERS, 0, .check = symbi_check_image,
	 .why_not = "the native and process backends run the host's programs"},
	{"shell", FT_STRING, AT(shell), ON_ISOLATED, F_NONEMPTY,
	 .why_not = "the process backend runs `executable`"},
	{"memory_limit", FT_SIZE, AT(memory_bytes), ON_ISOLATED, F_NONE_UNSETS,
	 .umin = MIN_MEMORY_BYTES, .umax = UINT64_MAX, .range = "6m or more, or none",
	 .why_not = "use max_memory_mb"},
	{"cpu_limit", FT_DOUBLE, AT(cpu_limit), ON_ISOLATED, F_NONE_UNSETS, 0.01, 1024,
	 .range = "0.01 to 1024, or none", .why_not = "use max_cpu_seconds"},
	{"max_execution_time", FT_DURATION, AT(timeout_ms), ON_ALL, 0, 0.001, MAX_SECONDS,
	 .range = "0.001 to 604800 seconds"},
	{"idle_timeout", FT_DURATION, AT(idle_timeout_ms), ON_ALL, F_ROUND_UP, 0, MAX_SECONDS,
	 .range = "0 for none, or up to 604800 seconds"},
	{"max_lifetime", FT_DURATION, AT(max_lifetime_ms), ON_ALL, F_ROUND_UP, 0, MAX_SECONDS,
	 .range = "0 for none, or up to 604800 seconds"},
	{"network_mode", FT_STRING, AT(network_mode), ON_ISOLATED, 0,
	 .check = symbi_check_network_mode,
	 .why_not = "the process backend shares the host's network"},
	{"volumes", FT_VOLUMES, AT(volumes), ON_ISOLATED, 0,
	 .why_not = "the process backend sees the host's files"},
	{"working_dir", FT_STRING, AT(working_dir), ON_ISOLATED, F_ABSOLUTE,
	 .why_not = "use working_directory"},
	{"auto_remove", FT_BOOL, AT(auto_remove), ON_CONTAINERS, 0},
	{"allow_writable_volume_paths", FT_BOOL, AT(allow_writable_volume_paths), ON_CONTAINERS, 0,
	 .why_not = "the native backend binds the path it checked"},
	{"allowed_named_volumes", FT_LIST, AT(allowed_named_volumes), ON_CONTAINERS, 0,
	 .check = symbi_check_volume_name, .why_not = "named volumes are a Docker feature"},
	{"docker_binary", FT_STRING, AT(docker_binary), ON_CONTAINERS, F_NONEMPTY},
	{"max_output_bytes", FT_SIZE, AT(max_output_bytes), ON_ALL, 0, .umin = 1,
	 .umax = (uint64_t)1 << 30, .range = "1 to 1g"},
	{"extra_flags", FT_LIST, AT(extra_flags), ON_CONTAINERS, F_BACKEND_CHECK,
	 .why_not = "extra_flags are docker flags"},
	{"pids_limit", FT_COUNT, AT(pids_limit), ON_ISOLATED, F_NONE_UNSETS, .umin = 1,
	 .umax = 4194304, .range = "1 to 4194304, or none"},
	{"user", FT_STRING, AT(user), ON_ISOLATED, F_EMPTY_UNSETS, .check = symbi_check_user,
	 .why_not = "the process backend runs as its caller"},
	{"runtime_name", FT_STRING, AT(runtime_name), ON_GVISOR, 0,
	 .check = symbi_check_runtime_name},
	{"runsc_binary", FT_STRING, AT(runsc_binary), ON_GVISOR, F_NONEMPTY},
	{"lang", FT_STRING, AT(lang), ON_ISOLATED, F_EMPTY_UNSETS, .check = symbi_check_lang,
	 .why_not = "it runs `executable` with the code as its argument"},
	{"tmp_size", FT_SIZE, AT(tmp_size), ON_ISOLATED, 0, .umin = MIN_TMPFS_BYTES,
	 .umax = MAX_TMPFS_BYTES, .range = "4k to 64g"},
	{"workdir_size", FT_SIZE, AT(workdir_size), ON_NATIVE, 0, .umin = MIN_TMPFS_BYTES,
	 .umax = MAX_TMPFS_BYTES, .range = "4k to 64g"},
	{"weak_limits", FT_BOOL, AT(weak_limits), ON_NATIVE, 0},
	{"native_id_range", FT_ID_RANGE, 0, ON_NATIVE, 0},
	{"executable", FT_STRING, AT(executable), ON_PROCESS, F_NONEMPTY},
	{"allowed_executables", FT_LIST, AT(allowed_executables), ON_PROCESS, F_NONEMPTY},
	{"working_directory", FT_STRING, AT(working_directory), ON_PROCESS, F_ABSOLUTE,
	 .why_not = "use working_dir"},
	{"enforce_resource_limits", FT_BOOL, AT(enforce_resource_limits), ON_PROCESS, 0},
	{"max_memory_mb", FT_COUNT, AT(max_memory_mb), ON_PROCESS, 0, .umin = 1,
	 .umax = (uint64_t)1 << 40, .range = "1 to 1099511627776", .why_not = "use memory_limit"},
	{"max_cpu_seconds", FT_COUNT, AT(max_cpu_seconds), ON_PROCESS, 0, .umin = 1,
	 .umax = (uint64_t)1 << 32, .range = "1 to 4294967296", .why_not = "use cpu_limit"},
};

#define NFIELDS (sizeof(fields) / sizeof(fields[0]))
_Static_assert(NFIELDS <= 64, "set_fields has one bit per field");

#define SLOT(cfg, f, type) ((type *)((char *)(cfg) + (f)->offset))

static const config_field_t *find_field(const char *name)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

static void mark_set(symbi_config_t *cfg, const config_field_t *f)
{
	cfg->set_fields |= (uint64_t)1 << (f - fields);
}

/* Unset is what a backend that ignores the field has anyway. */
static void mark_unset(symbi_config_t *cfg, const config_field_t *f)
{
	cfg->set_fields &= ~((uint64_t)1 << (f - fields));
}

static int lookup(const symbi_config_t *cfg, const char *name, const config_field_t **out,
		  symbi_error_t *err)
{
	if (!cfg || !name)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "configuration: NULL argument");
	*out = find_field(name);
	if (!*out)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "unknown configuration field \"%.100s\"",
				  name);
	return 0;
}

static int wrong_type(const config_field_t *f, const char *given, symbi_error_t *err)
{
	static const char *const takes[] = {
		[FT_STRING] = "a string", [FT_BOOL] = "true or false", [FT_DOUBLE] = "a number",
		[FT_DURATION] = "a number of seconds", [FT_SIZE] = "a size in bytes",
		[FT_COUNT] = "an integer", [FT_ENUM] = "a backend name", [FT_LIST] = "strings",
		[FT_VOLUMES] = "volumes", [FT_ID_RANGE] = "\"BASE:COUNT\"",
	};
	return symbi_fail(err, SYMBI_E_INVALID, 0, "%s takes %s, not %s", f->name, takes[f->type],
			  given);
}

/* ---- typed setters: where every rule lives ------------------------------ */

static int store_string(char **dst, const char *v, symbi_error_t *err)
{
	char *copy = v ? strdup(v) : NULL;
	if (v && !copy)
		return symbi_fail_nomem(err);
	free(*dst);
	*dst = copy;
	return 0;
}

/* `shown` is the value as the caller wrote it, for messages. */
static int out_of_range(const config_field_t *f, const char *shown, symbi_error_t *err)
{
	return symbi_fail(err, SYMBI_E_INVALID, 0, "%s %.100s is out of range (%s)", f->name, shown,
			  f->range);
}

static int set_u64_field(symbi_config_t *cfg, const config_field_t *f, uint64_t v,
			 const char *text, symbi_error_t *err)
{
	char shown[32];
	snprintf(shown, sizeof(shown), "%" PRIu64, v);
	if (v < f->umin || v > f->umax)
		return out_of_range(f, text ? text : shown, err);
	if (f->offset == AT(memory_bytes)) {
		/* docker gets the limit as it was written. */
		if (store_string(&cfg->memory_limit, text ? text : shown, err) < 0)
			return -1;
		cfg->memory_bytes = v;
	} else if (f->offset == AT(max_output_bytes)) {
		cfg->max_output_bytes = (size_t)v;
	} else if (f->offset == AT(pids_limit)) {
		cfg->pids_limit = (long)v;
	} else {
		*SLOT(cfg, f, uint64_t) = v;
	}
	return 0;
}

static int set_double_field(symbi_config_t *cfg, const config_field_t *f, double v,
			    const char *text, symbi_error_t *err)
{
	char shown[64];
	snprintf(shown, sizeof(shown), "%g", v);
	if (!text)
		text = shown;
	switch (f->type) {
	case FT_DOUBLE:
	case FT_DURATION:
		if (!isfinite(v))
			return symbi_fail(err, SYMBI_E_INVALID, 0, "%s must be a number, not \"%.100s\"",
					  f->name, text);
		if (v < f->dmin || v > f->dmax)
			return out_of_range(f, text, err);
		if (f->type == FT_DOUBLE) {
			*SLOT(cfg, f, double) = v;
			return 0;
		}
		uint64_t ms = (uint64_t)llround(v * 1000.0);
		if ((f->flags & F_ROUND_UP) && v > 0 && ms == 0)
			ms = 1;
		*SLOT(cfg, f, uint64_t) = ms;
		return 0;
	case FT_SIZE:
	case FT_COUNT:
		/* A whole number given as a double (JSON 4096.0) is that integer. */
		if (!isfinite(v) || v != floor(v))
			return symbi_fail(err, SYMBI_E_INVALID, 0, "%s must be an integer, not %.100s",
					  f->name, text);
		if (v < 0 || v >= 18446744073709551616.0)
			return out_of_range(f, text, err);
		return set_u64_field(cfg, f, (uint64_t)v, NULL, err);
	default:
		return wrong_type(f, "a number", err);
	}
}

static int unset_field(symbi_config_t *cfg, const config_field_t *f, symbi_error_t *err)
{
	if (!(f->flags & (F_NONE_UNSETS | F_EMPTY_UNSETS)))
		return symbi_fail(err, SYMBI_E_INVALID, 0, "%s cannot be unset", f->name);
	if (f->offset == AT(memory_bytes)) {
		store_string(&cfg->memory_limit, NULL, err);
		cfg->memory_bytes = 0;
	} else if (f->offset == AT(cpu_limit)) {
		cfg->cpu_limit = -1;
	} else if (f->offset == AT(pids_limit)) {
		cfg->pids_limit = 0;
	} else {
		store_string(SLOT(cfg, f, char *), NULL, err);
	}
	return 0;
}

static int add_volume(symbi_config_t *cfg, symbi_volume_t *v, symbi_error_t *err)
{
	symbi_volume_t *grown = realloc(cfg->volumes, (cfg->nvolumes + 1) * sizeof(*grown));
	if (!grown) {
		symbi_volume_clear(v);
		return symbi_fail_nomem(err);
	}
	cfg->volumes = grown;
	cfg->volumes[cfg->nvolumes++] = *v;
	return 0;
}

/* A string, list entry or other text-only field: its rule, then stored. */
static int set_text_field(symbi_config_t *cfg, const config_field_t *f, const char *v,
			  symbi_error_t *err)
{
	if ((f->flags & F_NONEMPTY) && !*v)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "%s must not be empty", f->name);
	if ((f->flags & F_ABSOLUTE) && symbi_check_absolute(f->name, v, err) < 0)
		return -1;
	if (f->check && f->check(v, err) < 0)
		return -1;
	if ((f->flags & F_BACKEND_CHECK) && symbi_backend_check_field(cfg, f->name, v, err) < 0)
		return -1;
	switch (f->type) {
	case FT_STRING:
		return store_string(SLOT(cfg, f, char *), v, err);
	case FT_LIST:
		return symbi_strlist_push(SLOT(cfg, f, symbi_strlist_t), v) < 0 ? symbi_fail_nomem(err)
										 : 0;
	case FT_VOLUMES: {
		symbi_volume_t vol;
		if (symbi_volume_parse(v, &vol, err) < 0)
			return -1;
		return add_volume(cfg, &vol, err);
	}
	case FT_ID_RANGE:
		return symbi_parse_id_range(v, &cfg->id_range_base, &cfg->id_range_count, err);
	case FT_ENUM:
		for (size_t i = 0; i < sizeof(backend_names) / sizeof(backend_names[0]); i++)
			if (strcmp(v, backend_names[i]) == 0) {
				cfg->backend = (symbi_backend_kind_t)i;
				return 0;
			}
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "unknown backend \"%.100s\" (available: docker, gvisor, native, "
				  "process)", v);
	default:
		return wrong_type(f, "a string", err);
	}
}

static int set_bool_field(symbi_config_t *cfg, const config_field_t *f, bool value,
			  symbi_error_t *err)
{
	if (f->type != FT_BOOL)
		return wrong_type(f, "true or false", err);
	*SLOT(cfg, f, bool) = value;
	return 0;
}

static int set_integer(symbi_config_t *cfg, const config_field_t *f, uint64_t value,
		       symbi_error_t *err)
{
	if (f->type == FT_SIZE || f->type == FT_COUNT)
		return set_u64_field(cfg, f, value, NULL, err);
	if (f->type == FT_DOUBLE)
		return set_double_field(cfg, f, (double)value, NULL, err);
	return wrong_type(f, "an integer", err);
}

/* ---- text: parsed into the typed value, then the typed setter ----------- */

static int parse_bool(const config_field_t *f, const char *v, bool *out, symbi_error_t *err)
{
	if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0)
		*out = true;
	else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcasecmp(v, "no") == 0)
		*out = false;
	else
		return symbi_fail(err, SYMBI_E_INVALID, 0, "%s must be true or false, not \"%.100s\"",
				  f->name, v);
	return 0;
}

/* "none", "unlimited" or "" where they unset the field. */
static bool is_unset_text(const config_field_t *f, const char *v)
{
	return ((f->flags & F_NONE_UNSETS) &&
		(strcasecmp(v, "none") == 0 || strcasecmp(v, "unlimited") == 0)) ||
	       ((f->flags & F_EMPTY_UNSETS) && !*v);
}

static int set_from_text(symbi_config_t *cfg, const config_field_t *f, const char *v,
			 symbi_error_t *err)
{
	if (is_unset_text(f, v))
		return unset_field(cfg, f, err);
	char *end = NULL;
	switch (f->type) {
	case FT_BOOL: {
		bool b = false;
		return parse_bool(f, v, &b, err) < 0 ? -1 : set_bool_field(cfg, f, b, err);
	}
	case FT_DOUBLE:
	case FT_DURATION: {
		errno = 0;
		double d = strtod(v, &end);
		if (errno != 0 || end == v || *end != '\0' || !isfinite(d))
			return symbi_fail(err, SYMBI_E_INVALID, 0, "%s must be a number, not \"%.100s\"",
					  f->name, v);
		return set_double_field(cfg, f, d, v, err);
	}
	case FT_SIZE: {
		uint64_t bytes;
		if (symbi_parse_bytes(v, &bytes, err) < 0)
			return symbi_fail_prefix(err, "%s", f->name);
		return set_u64_field(cfg, f, bytes, v, err);
	}
	case FT_COUNT: {
		errno = 0;
		unsigned long long n = strtoull(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || v[0] == '+')
			return symbi_fail(err, SYMBI_E_INVALID, 0,
					  "%s must be an integer, not \"%.100s\"", f->name, v);
		return set_u64_field(cfg, f, n, v, err);
	}
	default:
		return set_text_field(cfg, f, v, err);
	}
}

int symbi_config_set(symbi_config_t *cfg, const char *field, const char *value,
		     symbi_error_t *err)
{
	const config_field_t *f;
	if (lookup(cfg, field, &f, err) < 0)
		return -1;
	if (!value)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "symbi_config_set: NULL value");
	if (set_from_text(cfg, f, value, err) < 0)
		return -1;
	is_unset_text(f, value) ? mark_unset(cfg, f) : mark_set(cfg, f);
	return 0;
}

int symbi_config_set_bool(symbi_config_t *cfg, const char *field, bool value,
			  symbi_error_t *err)
{
	const config_field_t *f;
	if (lookup(cfg, field, &f, err) < 0 || set_bool_field(cfg, f, value, err) < 0)
		return -1;
	mark_set(cfg, f);
	return 0;
}

int symbi_config_set_double(symbi_config_t *cfg, const char *field, double value,
			    symbi_error_t *err)
{
	const config_field_t *f;
	if (lookup(cfg, field, &f, err) < 0 || set_double_field(cfg, f, value, NULL, err) < 0)
		return -1;
	mark_set(cfg, f);
	return 0;
}

int symbi_config_set_u64(symbi_config_t *cfg, const char *field, uint64_t value,
			 symbi_error_t *err)
{
	const config_field_t *f;
	if (lookup(cfg, field, &f, err) < 0 || set_integer(cfg, f, value, err) < 0)
		return -1;
	mark_set(cfg, f);
	return 0;
}

int symbi_config_unset(symbi_config_t *cfg, const char *field, symbi_error_t *err)
{
	const config_field_t *f;
	if (lookup(cfg, field, &f, err) < 0 || unset_field(cfg, f, err) < 0)
		return -1;
	mark_unset(cfg, f);
	return 0;
}

int symbi_config_add_volume(symbi_config_t *cfg, const char *host, const char *target,
			    bool read_only, symbi_error_t *err)
{
	if (!cfg)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "configuration: NULL argument");
	symbi_volume_t vol;
	if (symbi_volume_make(host, target, read_only, &vol, err) < 0 ||
	    add_volume(cfg, &vol, err) < 0)
		return -1;
	mark_set(cfg, find_field("volumes"));
	return 0;
}

int symbi_config_set_user_ids(symbi_config_t *cfg, uint32_t uid, uint32_t gid,
			      symbi_error_t *err)
{
	const config_field_t *f;
	if (lookup(cfg, "user", &f, err) < 0)
		return -1;
	/* Stored as docker's --user takes it; the native backend reads it back. */
	char ids[32];
	snprintf(ids, sizeof(ids), "%" PRIu32 ":%" PRIu32, uid, gid);
	if (store_string(&cfg->user, ids, err) < 0)
		return -1;
	mark_set(cfg, f);
	return 0;
}

/* ---- JSON values, typed ------------------------------------------------- */

int symbi_config_field_kind(const char *field, symbi_field_kind_t *kind, bool *nullable)
{
	const config_field_t *f = find_field(field);
	if (!f)
		return -1;
	static const symbi_field_kind_t kinds[] = {
		[FT_STRING] = SYMBI_FIELD_TEXT, [FT_BOOL] = SYMBI_FIELD_BOOL,
		[FT_DOUBLE] = SYMBI_FIELD_NUMBER, [FT_DURATION] = SYMBI_FIELD_SECONDS,
		[FT_SIZE] = SYMBI_FIELD_NUMBER, [FT_COUNT] = SYMBI_FIELD_NUMBER,
		[FT_ENUM] = SYMBI_FIELD_TEXT, [FT_LIST] = SYMBI_FIELD_LIST,
		[FT_VOLUMES] = SYMBI_FIELD_LIST, [FT_ID_RANGE] = SYMBI_FIELD_TEXT,
	};
	*kind = kinds[f->type];
	*nullable = (f->flags & (F_NONE_UNSETS | F_EMPTY_UNSETS)) != 0;
	return 0;
}

/* ---- lists -------------------------------------------------------------- */

static void clear_volumes(symbi_config_t *cfg)
{
	for (size_t i = 0; i < cfg->nvolumes; i++)
		symbi_volume_clear(&cfg->volumes[i]);
	free(cfg->volumes);
	cfg->volumes = NULL;
	cfg->nvolumes = 0;
}

int symbi_config_clear_list(symbi_config_t *cfg, const char *field, symbi_error_t *err)
{
	const config_field_t *f;
	if (lookup(cfg, field, &f, err) < 0)
		return -1;
	if (f->type == FT_VOLUMES)
		clear_volumes(cfg);
	else if (f->type == FT_LIST)
		symbi_strlist_clear(SLOT(cfg, f, symbi_strlist_t));
	else
		return symbi_fail(err, SYMBI_E_INVALID, 0, "\"%.100s\" is not a list field", field);
	mark_unset(cfg, f); /* empty, as every backend that ignores it has it */
	return 0;
}

void symbi_config_free_owned(symbi_config_t *cfg)
{
	clear_volumes(cfg);
	free(cfg->memory_limit);
	for (size_t i = 0; i < NFIELDS; i++)
		if (fields[i].type == FT_LIST)
			symbi_strlist_clear(SLOT(cfg, &fields[i], symbi_strlist_t));
		else if (fields[i].type == FT_STRING)
			free(*SLOT(cfg, &fields[i], char *));
}

int symbi_config_copy_owned(symbi_config_t *dst, const symbi_config_t *src)
{
	/* First nothing is shared with src, so that a failure can be freed. */
	dst->volumes = NULL;
	dst->nvolumes = 0;
	dst->memory_limit = NULL;
	for (size_t i = 0; i < NFIELDS; i++)
		if (fields[i].type == FT_LIST)
			*SLOT(dst, &fields[i], symbi_strlist_t) = (symbi_strlist_t){0};
		else if (fields[i].type == FT_STRING)
			*SLOT(dst, &fields[i], char *) = NULL;
	if (src->memory_limit && !(dst->memory_limit = strdup(src->memory_limit)))
		return -1;
	for (size_t i = 0; i < NFIELDS; i++) {
		const void *from = (const char *)src + fields[i].offset;
		if (fields[i].type == FT_LIST &&
		    symbi_strlist_copy(SLOT(dst, &fields[i], symbi_strlist_t), from) < 0)
			return -1;
		const char *text = fields[i].type == FT_STRING ? *(char *const *)from : NULL;
		if (text && !(*SLOT(dst, &fields[i], char *) = strdup(text)))
			return -1;
	}
	if (src->nvolumes) {
		dst->volumes = calloc(src->nvolumes, sizeof(*dst->volumes));
		if (!dst->volumes)
			return -1;
		for (; dst->nvolumes < src->nvolumes; dst->nvolumes++)
			if (symbi_volume_copy(&dst->volumes[dst->nvolumes], &src->volumes[dst->nvolumes]) < 0)
				return -1;
	}
	return 0;
}

size_t symbi_config_list_count(const symbi_config_t *cfg, const char *field)
{
	const config_field_t *f = find_field(field);
	if (!f || (f->type != FT_LIST && f->type != FT_VOLUMES))
		return 0;
	return f->type == FT_VOLUMES ? cfg->nvolumes
				     : ((const symbi_strlist_t *)((const char *)cfg + f->offset))->len;
}

const char *symbi_config_list_get(const symbi_config_t *cfg, const char *field, size_t i)
{
	if (i >= symbi_config_list_count(cfg, field))
		return NULL;
	const config_field_t *f = find_field(field);
	return f->type == FT_VOLUMES ? cfg->volumes[i].spec
				     : ((const symbi_strlist_t *)((const char *)cfg + f->offset))->items[i];
}

/* ---- validate ----------------------------------------------------------- */

bool symbi_config_field_honoured(const symbi_config_t *cfg, const char *field)
{
	const config_field_t *f = cfg && field ? find_field(field) : NULL;
	return f && (f->backends & (1u << cfg->backend));
}

int symbi_config_check_fields(const symbi_config_t *cfg, symbi_error_t *err)
{
	for (size_t i = 0; i < NFIELDS; i++) {
		const config_field_t *f = &fields[i];
		if (!(cfg->set_fields & ((uint64_t)1 << i)) || (f->backends & (1u << cfg->backend)))
			continue;
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "%s means nothing on the %s backend%s%s; leave it unset there "
				  "(it applies to:%s%s%s%s)", f->name, backend_names[cfg->backend],
				  f->why_not ? ": " : "", f->why_not ? f->why_not : "",
				  f->backends & ON_DOCKER ? " docker" : "",
				  f->backends & ON_GVISOR ? " gvisor" : "",
				  f->backends & ON_NATIVE ? " native" : "",
				  f->backends & ON_PROCESS ? " process" : "");
	}
	return 0;
}
