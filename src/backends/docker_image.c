/* The image a run uses, inspected before it starts: its ID (the run uses
 * exactly the image that was inspected, even if the tag moves) and the
 * VOLUMEs it declares, each of which gets a capped tmpfs instead of an
 * anonymous volume on the daemon's disk. The `--pull` extra flag is acted
 * on here, since the run itself names the image by ID. */
#include "docker.h"
#include "docker_api.h"
#include "../core/error.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* "missing" (docker's default), "always" or "never". */
static const char *pull_policy(const symbi_config_t *cfg)
{
	const symbi_strlist_t *f = &cfg->extra_flags;
	const char *policy = "missing";
	for (size_t i = 0; i < f->len; i++) {
		if (strncmp(f->items[i], "--pull=", 7) == 0)
			policy = f->items[i] + 7;
		else if (strcmp(f->items[i], "--pull") == 0 && i + 1 < f->len)
			policy = f->items[++i];
	}
	return policy;
}

/* Returns like a command: 0 when found, -1 with err when docker did not
 * answer, anything else when there is no such image (the CLI's message in
 * out->error). */
static int inspect(const symbi_config_t *cfg, const symbi_engine_t *engine,
		   symbi_docker_output_t *out, symbi_error_t *err)
{
	if (engine) {
		int rc = symbi_docker_api_image(engine, cfg->image, out->text, sizeof(out->text), err);
		/* Not found: the CLI, which words the message. */
		if (rc <= 0)
			return rc;
	}
	return symbi_docker_command(cfg, out, err, "image", "inspect", "--format",
				    "{{.Id}}|{{json .Config.Volumes}}", cfg->image, NULL);
}

static int parse(const char *image, const char *text, char *id, size_t id_size, symbi_strlist_t *volumes,
		 symbi_error_t *err)
{
	const char *bar = strchr(text, '|');
	if (!bar || (size_t)(bar - text) >= id_size || bar == text)
		return symbi_fail(err, SYMBI_E_SYSTEM, 0, "unexpected `docker image inspect` output");
	memcpy(id, text, (size_t)(bar - text));
	id[bar - text] = '\0';
	json_error_t jerr;
	json_t *decl = json_loads(bar + 1, JSON_DECODE_ANY, &jerr);
	if (!decl || !(json_is_object(decl) || json_is_null(decl))) {
		json_decref(decl);
		return symbi_fail(err, SYMBI_E_SYSTEM, 0, "unexpected `docker image inspect` output");
	}
	const char *path;
	json_t *value;
	json_object_foreach(decl, path, value) {
		(void)value;
		/* Docker itself refuses relative VOLUME paths at run time; one
		 * with a ':' could not be expressed as --tmpfs. */
		if (path[0] != '/' || strchr(path, ':') || strchr(path, ',')) {
			json_decref(decl);
			return symbi_fail(err, SYMBI_E_SECURITY, 0,
					  "image %.200s declares VOLUME \"%.200s\", which cannot be "
					  "covered by a tmpfs; refusing", image, path);
		}
		if (symbi_strlist_push(volumes, path) < 0) {
			json_decref(decl);
			return symbi_fail_nomem(err);
		}
	}
	json_decref(decl);
	return 0;
}

int symbi_docker_image_resolve(const symbi_config_t *cfg, const symbi_engine_t *engine,
			       char *id, size_t id_size,
			       symbi_strlist_t *volumes, char *why, size_t why_size,
			       symbi_error_t *err)
{
	symbi_docker_output_t *out = malloc(sizeof(*out));
	if (!out)
		return symbi_fail_nomem(err);
	const char *policy = pull_policy(cfg);
	int rc = 1;
	int status = 1;
	if (strcmp(policy, "always") != 0 && (status = inspect(cfg, engine, out, err)) < 0)
		goto fail;
	if (status != 0 && strcmp(policy, "never") != 0) {
		status = symbi_docker_command(cfg, out, err, "pull", "-q", cfg->image, NULL);
		if (status < 0)
			goto fail;
		if (status != 0) {
			snprintf(why, why_size, "%s", out->error[0] ? out->error : "docker pull failed");
			goto out;
		}
		if ((status = inspect(cfg, engine, out, err)) < 0)
			goto fail;
	}
	if (status != 0) {
		snprintf(why, why_size, "%s", out->error[0] ? out->error : "docker image inspect failed");
		goto out;
	}
	rc = parse(cfg->image, out->text, id, id_size, volumes, err);
	goto out;
fail:
	rc = -1;
out:
	free(out);
	return rc;
}
