/* The configuration object shared by every backend. */
#ifndef SYMBI_CORE_CONFIG_H
#define SYMBI_CORE_CONFIG_H

#include <symbi/sandbox.h>

#include "strlist.h"

#define SYMBI_DEFAULT_MAX_OUTPUT_BYTES ((size_t)10 * 1024 * 1024)
#define SYMBI_DEFAULT_PIDS_LIMIT 256
/* The native backend's default host id range for runs of a root caller:
 * 0x70000000 + 64Ki, in what systemd's UIDS-GIDS document leaves unused
 * (above its container ranges 524288-1879048191 and far above useradd's
 * /etc/subuid ranges 100000-600100000; below the foreign range and 2^31). */
#define SYMBI_DEFAULT_ID_RANGE_BASE 1879048192u
#define SYMBI_DEFAULT_ID_RANGE_COUNT 65536u

/* One volume, parsed and checked when it is set (volume.c); backends use
 * its parts and never split its text again. */
typedef struct symbi_volume {
	char *spec;   /* as given ("host:target[:mode]"), for messages and list_get */
	char *host;   /* normalised absolute host path, or a named volume's name */
	char *target; /* normalised absolute container path */
	char *mode;   /* docker's options as given ("ro", "rw,z"), or NULL */
	bool named;   /* host is a docker volume name, not a path */
	bool read_only;
} symbi_volume_t;

struct symbi_config {
	symbi_backend_kind_t backend;
	char *image;
	char *shell;
	char *memory_limit; /* NULL: no limit; as given, for docker and the getter */
	uint64_t memory_bytes; /* memory_limit in bytes, 0 when unset */
	double cpu_limit;   /* < 0: no limit */
	uint64_t timeout_ms;
	/* Live sandboxes: ended after this long without a request or a
	 * waited-for process, and this long after their start (0: never). */
	uint64_t idle_timeout_ms, max_lifetime_ms;
	char *network_mode;
	symbi_volume_t *volumes;
	size_t nvolumes;
	char *working_dir;
	bool auto_remove;
	char *docker_binary;
	size_t max_output_bytes;
	symbi_strlist_t extra_flags;
	long pids_limit; /* 0: no limit */
	char *user;      /* NULL: the image's user */
	char *runtime_name;
	char *runsc_binary;
	/* docker/gvisor volumes: named volumes that may be mounted (none by
	 * default), and whether a host path with a component writable by
	 * someone other than root may be (no by default). */
	symbi_strlist_t allowed_named_volumes;
	bool allow_writable_volume_paths;
	/* native backend */
	char *lang;            /* NULL: the shell runs the code; else sh, bash, python, node
				* (native, docker, gvisor; the process backend refuses it) */
	uint64_t tmp_size;     /* bytes of the /tmp tmpfs */
	uint64_t workdir_size; /* bytes of the working directory's tmpfs */
	bool weak_limits;      /* without cgroups, accept per-process rlimits */
	/* Host uids/gids a root caller hands out, one per live run (native_id_range). */
	uint32_t id_range_base, id_range_count;
	/* process backend (the reference's native runner) */
	char *executable;
	symbi_strlist_t allowed_executables;
	char *working_directory;
	bool enforce_resource_limits;
	uint64_t max_memory_mb;
	uint64_t max_cpu_seconds;
	/* The fields set explicitly, one bit per entry of the field table
	 * (config_fields.c): validate refuses those the backend ignores. */
	uint64_t set_fields;
};

/* The table's checks of a whole configuration: each field's rule again
 * (a config built by copy or by the C API passes the same rules) and no
 * explicitly set field that the selected backend ignores. */
int symbi_config_check_fields(const symbi_config_t *cfg, symbi_error_t *err);

/* What a config owns (strings, lists, volumes), by the field table:
 * freed, or deep-copied into dst (a shallow copy of src; on failure dst
 * owns what was copied and nothing of src's). */
void symbi_config_free_owned(symbi_config_t *cfg);
int symbi_config_copy_owned(symbi_config_t *dst, const symbi_config_t *src);

/* How the JSON loader hands a field its value (config_json.c). */
typedef enum symbi_field_kind {
	SYMBI_FIELD_TEXT,   /* a string (a JSON integer is taken as its digits) */
	SYMBI_FIELD_BOOL,   /* symbi_config_set_bool */
	SYMBI_FIELD_NUMBER, /* symbi_config_set_u64 / _double */
	SYMBI_FIELD_SECONDS, /* a duration: symbi_config_set_double */
	SYMBI_FIELD_LIST,   /* an array of strings, each symbi_config_set */
} symbi_field_kind_t;
/* -1 for an unknown field; *nullable: JSON null unsets it. */
int symbi_config_field_kind(const char *field, symbi_field_kind_t *kind, bool *nullable);

/* The rules of string fields (config_rules.c), named by the field table. */
int symbi_check_image(const char *v, symbi_error_t *err);
int symbi_check_network_mode(const char *v, symbi_error_t *err);
int symbi_check_user(const char *v, symbi_error_t *err);
int symbi_check_runtime_name(const char *v, symbi_error_t *err);
int symbi_check_lang(const char *v, symbi_error_t *err);
int symbi_check_volume_name(const char *v, symbi_error_t *err);
int symbi_check_absolute(const char *field, const char *v, symbi_error_t *err);
int symbi_parse_id_range(const char *v, uint32_t *base, uint32_t *count, symbi_error_t *err);

/* Parses a docker-style size ("512m", "1.5g", "1024", "2GiB") into bytes. */
int symbi_parse_bytes(const char *text, uint64_t *out, symbi_error_t *err);

/* Parses and checks a `host:container[:mode]` volume spec (see README):
 * blocklist on the normalised and the symlink-resolved host path, named
 * volume syntax, absolute container path, known options. Fills *out, which
 * the caller empties with symbi_volume_clear(). */
int symbi_volume_parse(const char *spec, symbi_volume_t *out, symbi_error_t *err);
/* The same checks for a host path, a container path and ro/rw given apart
 * (neither may contain ':', which docker's -v would split on). */
int symbi_volume_make(const char *host, const char *target, bool read_only, symbi_volume_t *out,
		      symbi_error_t *err);
/* At use: resolves the host path's symlinks again and applies the
 * blocklist to what it is now; a named volume's name is copied as is. */
int symbi_volume_resolve(const symbi_volume_t *v, char *resolved, size_t size, symbi_error_t *err);
void symbi_volume_clear(symbi_volume_t *v);
int symbi_volume_copy(symbi_volume_t *dst, const symbi_volume_t *src);

/* Fails unless host networking may be used now (never in production, and
 * never when SYMBIONT_ENV cannot be parsed). */
int symbi_host_network_allowed(symbi_error_t *err);

/* The program that runs the code: lang's interpreter (python3 for python)
 * or, without lang, the shell. Every backend that honours lang asks this. */
const char *symbi_config_interpreter(const symbi_config_t *cfg);
/* The interpreter's option that takes code as an argument: -e for node,
 * -c for the shells and python3. */
const char *symbi_config_code_flag(const symbi_config_t *cfg);

/* The checks of the backend cfg selects (its check_config and check_field,
 * src/core/backend.h), reached through the dispatch in sandbox.c so
 * that the configuration code includes no backend. */
int symbi_backend_check_config(const symbi_config_t *cfg, symbi_error_t *err);
int symbi_backend_check_field(const symbi_config_t *cfg, const char *field, const char *value,
			      symbi_error_t *err);

#endif
