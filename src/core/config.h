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

struct symbi_config {
	symbi_backend_kind_t backend;
	char *image;
	char *shell;
	char *memory_limit; /* NULL: no limit */
	double cpu_limit;   /* < 0: no limit */
	uint64_t timeout_ms;
	/* Live sandboxes: ended after this long without a request or a
	 * waited-for process, and this long after their start (0: never). */
	uint64_t idle_timeout_ms, max_lifetime_ms;
	char *network_mode;
	symbi_strlist_t volumes;
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
};

/* The native and process backends' fields (config_native.c). Returns 1 if
 * `field` is not one of them, else 0 or -1 like symbi_config_set(). */
int symbi_config_set_native_field(symbi_config_t *cfg, const char *field, const char *v,
				  symbi_error_t *err);

/* Parses a docker-style size ("512m", "1.5g", "1024", "2GiB") into bytes. */
int symbi_parse_bytes(const char *text, uint64_t *out, symbi_error_t *err);

/* Checks a `host:container[:mode]` volume spec (see README) and, when out is
 * non-NULL, returns in *out the spec to hand to the engine: host path
 * normalised and resolved through symlinks. Caller frees *out. */
int symbi_volume_check(const char *spec, char **out, symbi_error_t *err);

/* Fails unless host networking may be used now (never in production, and
 * never when SYMBIONT_ENV cannot be parsed). */
int symbi_host_network_allowed(symbi_error_t *err);

/* The program that runs the code: lang's interpreter (python3 for python)
 * or, without lang, the shell. Every backend that honours lang asks this. */
const char *symbi_config_interpreter(const symbi_config_t *cfg);

/* The checks of the backend cfg selects (its check_config and check_field,
 * src/core/backend.h), reached through the dispatch in sandbox.c so
 * that the configuration code includes no backend. */
int symbi_backend_check_config(const symbi_config_t *cfg, symbi_error_t *err);
int symbi_backend_check_field(const symbi_config_t *cfg, const char *field, const char *value,
			      symbi_error_t *err);

#endif
