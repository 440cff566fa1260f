/* Request bodies against the server policy (srv_policy_resolve, the
 * checks every /v1/execute, /v1/sessions and MCP call goes through).
 * The first byte picks the policy (built-in, or one that allows networks
 * and extra images) and whether the request opens a session; the rest is
 * the JSON body. Invariants: a refusal is a 400 with a code and a message;
 * an accepted request never exceeds a maximum, names an allowed backend,
 * image and network, and its library configuration is either built or
 * refused with a 400. */
#include "fuzz.h"
#include "server/server.h"

#include <math.h>

static srv_policy_t *policies[2];

static const char open_policy[] =
	"{\"allow_network\":true,\"allow_host_network\":true,\"allowed_images\":[\"busybox\","
	"\"alpine:3\"],\"languages\":{\"node\":{\"shell\":\"node\",\"image\":\"node:22\"}},"
	"\"maximums\":{\"timeout\":3600,\"memory\":\"8g\",\"cpus\":8,\"pids\":4096,"
	"\"max_output_bytes\":\"100m\"},\"max_session_idle_ttl\":86400}";

static void load_policies(void)
{
	srv_err_t err = {0};
	policies[0] = srv_policy_load(NULL, &err);
	const char *path = fuzz_write_file("open-policy.json", (const uint8_t *)open_policy,
					   strlen(open_policy));
	policies[1] = srv_policy_load(path, &err);
	FUZZ_CHECK(policies[0] && policies[1], "policy: %s", err.message);
}

static bool image_ok(const srv_policy_t *p, const char *image)
{
	bool ok = strcmp(image, p->default_image) == 0;
	for (size_t i = 0; i < p->n_images; i++)
		ok = ok || strcmp(image, p->allowed_images[i]) == 0;
	for (size_t i = 0; i < p->n_languages; i++)
		ok = ok || (p->languages[i].image && strcmp(image, p->languages[i].image) == 0);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (!policies[0])
		load_policies();
	const srv_policy_t *p = policies[data[0] & 1];
	bool session = data[0] & 2;
	json_t *req = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
	if (!req)
		return 0;
	static const char *const extra_keys[] = {"code", "env", "stdin", "files", NULL};
	srv_exec_spec_t spec;
	srv_err_t err = {0};
	int rc = srv_policy_resolve(p, req, extra_keys, session, &spec, &err);
	json_decref(req);
	if (rc < 0) {
		FUZZ_CHECK(rc == -1 && err.status == 400 && err.code != NULL, "status %d",
			   err.status);
		FUZZ_CHECK_MESSAGE(err.message, sizeof(err.message));
		return 0;
	}
	const srv_limits_t *l = &spec.limits, *m = &p->maximums;
	FUZZ_CHECK(l->timeout_s > 0 && l->timeout_s <= m->timeout_s, "timeout %g", l->timeout_s);
	FUZZ_CHECK(l->memory_bytes >= (6u << 20) && l->memory_bytes <= m->memory_bytes, "memory");
	FUZZ_CHECK(l->cpus > 0 && l->cpus <= m->cpus, "cpus %g", l->cpus);
	FUZZ_CHECK(l->pids > 0 && l->pids <= m->pids, "pids");
	FUZZ_CHECK(l->max_output_bytes > 0 && l->max_output_bytes <= m->max_output_bytes, "output");
	FUZZ_CHECK(!session || (spec.idle_ttl_s > 0 && spec.idle_ttl_s <= p->max_session_idle_ttl_s),
		   "idle_ttl %g", spec.idle_ttl_s);
	FUZZ_CHECK(memchr(spec.backend, 0, sizeof(spec.backend)) &&
			   memchr(spec.image, 0, sizeof(spec.image)) &&
			   memchr(spec.shell, 0, sizeof(spec.shell)) &&
			   memchr(spec.network, 0, sizeof(spec.network)),
		   "unterminated string in the spec");
	FUZZ_CHECK(srv_policy_backend_allowed(p, spec.backend), "backend %s", spec.backend);
	FUZZ_CHECK(image_ok(p, spec.image), "image %s", spec.image);
	FUZZ_CHECK(strcmp(spec.network, "none") == 0 ||
			   (strcmp(spec.network, "bridge") == 0 && p->allow_network) ||
			   (strcmp(spec.network, "host") == 0 && p->allow_host_network),
		   "network %s", spec.network);
	symbi_config_t *cfg = srv_spec_config(&spec, NULL, &err);
	if (cfg) {
		FUZZ_CHECK(strcmp(symbi_config_get_network_mode(cfg), spec.network) == 0, "network");
		/* The image reaches only backends that run one (native refuses it). */
		FUZZ_CHECK(!symbi_config_field_honoured(cfg, "image") ||
				   strcmp(symbi_config_get_image(cfg), spec.image) == 0,
			   "image");
		symbi_error_t verr = {0};
		FUZZ_CHECK(symbi_config_validate(cfg, &verr) == 0 ||
				   !strstr(verr.message, "means nothing"),
			   "the server set a field its backend ignores: %s", verr.message);
		symbi_config_free(cfg);
	} else {
		FUZZ_CHECK(err.status == 400 && err.message[0], "spec_config: %d %s", err.status,
			   err.message);
	}
	json_t *limits = srv_limits_json(&spec);
	FUZZ_CHECK(limits != NULL, "srv_limits_json");
	json_decref(limits);
	return 0;
}
