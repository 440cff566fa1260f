/* The server's policy file (srv_policy_load, src/server/policy.c).
 * Invariants: a refused file gives a 400 with a code and a message; an
 * accepted policy is consistent (every default above zero and within its
 * maximum, the default backend allowed, the default language known), and
 * an empty request resolves against it (what the server checks at start) to
 * exactly the default backend, shell and image. */
#include "fuzz.h"
#include "server/server.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_write_file("policy.json", data, size);
	srv_err_t err = {0};
	srv_policy_t *p = srv_policy_load(path, &err);
	if (!p) {
		FUZZ_CHECK(err.status == 400 && err.code != NULL, "status %d", err.status);
		FUZZ_CHECK_MESSAGE(err.message, sizeof(err.message));
		return 0;
	}
	const srv_limits_t *d = &p->defaults, *m = &p->maximums;
	FUZZ_CHECK(d->timeout_s > 0 && d->timeout_s <= m->timeout_s && isfinite(m->timeout_s),
		   "timeout %g/%g", d->timeout_s, m->timeout_s);
	FUZZ_CHECK(d->memory_bytes > 0 && d->memory_bytes <= m->memory_bytes, "memory");
	FUZZ_CHECK(d->cpus > 0 && d->cpus <= m->cpus, "cpus");
	FUZZ_CHECK(d->pids > 0 && d->pids <= m->pids, "pids");
	FUZZ_CHECK(d->max_output_bytes > 0 && d->max_output_bytes <= m->max_output_bytes,
		   "max_output_bytes");
	FUZZ_CHECK(p->max_running >= 1, "max_running");
	FUZZ_CHECK(srv_policy_backend_allowed(p, p->default_backend), "default backend");
	srv_exec_spec_t spec;
	json_t *empty = json_object();
	srv_err_t rerr = {0};
	int rc = srv_policy_resolve(p, empty, NULL, false, &spec, &rerr);
	json_decref(empty);
	FUZZ_CHECK(rc == 0, "an empty request does not resolve: %s", rerr.message);
	/* ... to exactly the defaults (nothing cut short on the way). */
	const srv_language_t *lang = NULL;
	for (size_t i = 0; i < p->n_languages; i++)
		if (strcmp(p->languages[i].name, p->default_language) == 0)
			lang = &p->languages[i];
	FUZZ_CHECK(lang && strcmp(spec.shell, lang->shell) == 0, "shell \"%s\"", spec.shell);
	FUZZ_CHECK(strcmp(spec.image, lang->image ? lang->image : p->default_image) == 0,
		   "image \"%s\"", spec.image);
	FUZZ_CHECK(strcmp(spec.backend, p->default_backend) == 0, "backend \"%s\"", spec.backend);
	symbi_config_t *cfg = srv_spec_config(&spec, NULL, &rerr);
	if (cfg)
		symbi_config_free(cfg);
	else
		FUZZ_CHECK(rerr.status == 400 && rerr.message[0], "spec_config: %d %s", rerr.status,
			   rerr.message);
	json_t *limits = srv_limits_json(&spec);
	FUZZ_CHECK(limits != NULL, "srv_limits_json");
	json_decref(limits);
	srv_policy_free(p);
	return 0;
}
