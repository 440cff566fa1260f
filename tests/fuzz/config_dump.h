/* Every field of a configuration as one string, so that harnesses can say
 * "unchanged" and "equal" exactly. Reads the struct (src/core/config.h). */
#ifndef SYMBI_FUZZ_CONFIG_DUMP_H
#define SYMBI_FUZZ_CONFIG_DUMP_H

#include "core/config.h"

#include <stdio.h>
#include <stdlib.h>

static inline void dump_list(FILE *f, const char *name, const symbi_strlist_t *l)
{
	fprintf(f, "%s[%zu]", name, l->len);
	for (size_t i = 0; i < l->len; i++)
		fprintf(f, "<%s>", l->items[i]);
	fputc('\n', f);
}

/* Caller frees. */
static inline char *config_dump(const symbi_config_t *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		abort();
#define S(x) ((x) ? (x) : "(null)")
	fprintf(f, "backend=%d image=<%s> shell=<%s> memory=<%s>%llu cpu=%a timeout=%llu\n",
		(int)c->backend, S(c->image), S(c->shell), S(c->memory_limit),
		(unsigned long long)c->memory_bytes, c->cpu_limit, (unsigned long long)c->timeout_ms);
	fprintf(f, "network=<%s> workdir=<%s> auto_remove=%d docker=<%s> max_output=%zu\n",
		S(c->network_mode), S(c->working_dir), c->auto_remove, S(c->docker_binary),
		c->max_output_bytes);
	fprintf(f, "pids=%ld user=<%s> runtime=<%s> runsc=<%s> lang=<%s> tmp=%llu wd=%llu\n",
		c->pids_limit, S(c->user), S(c->runtime_name), S(c->runsc_binary), S(c->lang),
		(unsigned long long)c->tmp_size, (unsigned long long)c->workdir_size);
	fprintf(f, "exe=<%s> wdir=<%s> enforce=%d mem_mb=%llu cpu_s=%llu\n", S(c->executable),
		S(c->working_directory), c->enforce_resource_limits,
		(unsigned long long)c->max_memory_mb, (unsigned long long)c->max_cpu_seconds);
	fprintf(f, "idle=%llu lifetime=%llu weak=%d ids=%u:%u writable=%d set=%llx\n",
		(unsigned long long)c->idle_timeout_ms, (unsigned long long)c->max_lifetime_ms,
		c->weak_limits, c->id_range_base, c->id_range_count, c->allow_writable_volume_paths,
		(unsigned long long)c->set_fields);
	fprintf(f, "volumes[%zu]", c->nvolumes);
	for (size_t i = 0; i < c->nvolumes; i++)
		fprintf(f, "<%s|%s|%s|%s|%d|%d>", c->volumes[i].spec, c->volumes[i].host,
			c->volumes[i].target, S(c->volumes[i].mode), c->volumes[i].named,
			c->volumes[i].read_only);
	fputc('\n', f);
	dump_list(f, "allowed_named_volumes", &c->allowed_named_volumes);
	dump_list(f, "extra_flags", &c->extra_flags);
	dump_list(f, "allowed_executables", &c->allowed_executables);
#undef S
	if (fclose(f) != 0)
		abort();
	return buf;
}

#endif
