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
	fprintf(f, "backend=%d image=<%s> shell=<%s> memory=<%s> cpu=%a timeout=%llu\n",
		(int)c->backend, S(c->image), S(c->shell), S(c->memory_limit), c->cpu_limit,
		(unsigned long long)c->timeout_ms);
	fprintf(f, "network=<%s> workdir=<%s> auto_remove=%d docker=<%s> max_output=%zu\n",
		S(c->network_mode), S(c->working_dir), c->auto_remove, S(c->docker_binary),
		c->max_output_bytes);
	fprintf(f, "pids=%ld user=<%s> runtime=<%s> runsc=<%s> lang=<%s> tmp=%llu wd=%llu\n",
		c->pids_limit, S(c->user), S(c->runtime_name), S(c->runsc_binary), S(c->lang),
		(unsigned long long)c->tmp_size, (unsigned long long)c->workdir_size);
	fprintf(f, "exe=<%s> wdir=<%s> enforce=%d mem_mb=%llu cpu_s=%llu\n", S(c->executable),
		S(c->working_directory), c->enforce_resource_limits,
		(unsigned long long)c->max_memory_mb, (unsigned long long)c->max_cpu_seconds);
#undef S
	dump_list(f, "volumes", &c->volumes);
	dump_list(f, "extra_flags", &c->extra_flags);
	dump_list(f, "allowed_executables", &c->allowed_executables);
	if (fclose(f) != 0)
		abort();
	return buf;
}

#endif
