/* The server policy: defaults and hard maximums for every limit, and what a
 * client may ask for at all. A request over a maximum is refused, never
 * clamped. */
#include "server.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The unprivileged user the native backend runs code as (its default). */
#define SRV_NATIVE_UID 65534

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void srv_policy_free(srv_policy_t *p)
{
	if (!p)
		return;
	free(p->default_backend);
	free(p->default_image);
	free(p->default_language);
	free_strv(p->allowed_backends, p->n_backends);
	free_strv(p->allowed_images, p->n_images);
	for (size_t i = 0; i < p->n_languages; i++) {
		free(p->languages[i].name);
		free(p->languages[i].shell);
		free(p->languages[i].image);
	}
	free(p->languages);
	free(p);
}

static int add_language(srv_policy_t *p, const char *name, const char *shell, const char *image)
{
	for (size_t i = 0; i < p->n_languages; i++) {
		if (strcmp(p->languages[i].name, name) == 0) {
			free(p->languages[i].shell);
			free(p->languages[i].image);
			p->languages[i].shell = xstrdup(shell);
			p->languages[i].image = xstrdup(image);
			return 0;
		}
	}
	srv_language_t *l = realloc(p->languages, (p->n_languages + 1) * sizeof(*l));
	if (!l)
		return -1;
	p->languages = l;
	l[p->n_languages].name = xstrdup(name);
	l[p->n_languages].shell = xstrdup(shell);
	l[p->n_languages].image = xstrdup(image);
	p->n_languages++;
	return 0;
}

static srv_policy_t *policy_builtin(void)
{
	srv_policy_t *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	symbi_config_t *lib = symbi_config_new();
	/* The native backend needs no daemon and starts in milliseconds. */
	p->default_backend = strdup("native");
	p->default_image = strdup(lib ? symbi_config_get_image(lib) : "python:3.12-slim");
	symbi_config_free(lib);
	p->default_language = strdup("sh");
	p->defaults = (srv_limits_t){.timeout_s = 30, .memory_bytes = 512ull << 20, .cpus = 1,
				     .pids = 256, .max_output_bytes = 1u << 20};
	p->maximums = (srv_limits_t){.timeout_s = 300, .memory_bytes = 2ull << 30, .cpus = 2,
				     .pids = 1024, .max_output_bytes = 10u << 20};
	p->allowed_backends = calloc(3, sizeof(char *));
	if (p->allowed_backends) {
		p->allowed_backends[0] = strdup("native");
		p->allowed_backends[1] = strdup("docker");
		p->allowed_backends[2] = strdup("gvisor");
		p->n_backends = 3;
	}
	add_language(p, "sh", "sh", NULL);
	add_language(p, "bash", "bash", NULL);
	add_language(p, "python", "python3", NULL);
	p->session_idle_ttl_s = 600;
	p->max_session_idle_ttl_s = 3600;
	p->max_sessions = 64;
	p->max_body_bytes = 1u << 20;
	p->max_file_bytes = 10u << 20;
	p->max_workspace_bytes = 128ull << 20;
	p->max_sessions_per_token = 16;
	p->max_workspace_bytes_per_token = 512ull << 20;
	p->workspace_budget_bytes = 1ull << 30;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	p->max_running = n > 0 ? (size_t)n : 2;
	p->max_queued = 32;
	p->retry_after_s = 1;
	p->warm_pool = 2;
	if (!p->default_backend || !p->default_image || !p->default_language ||
	    !p->allowed_backends || p->n_languages != 3) {
		srv_policy_free(p);
		return NULL;
	}
	return p;
}

/* ---- reading the policy file ---------------------------------------------- */

/* At most 1e9: every number read here is later converted to an integer
 * type (pids, counts, retry_after, timeout in ms), where a larger double
 * would be undefined behaviour. */
static int get_number(json_t *v, const char *what, double *out, srv_err_t *err)
{
	if (!json_is_number(v) || !(json_number_value(v) >= 0 && json_number_value(v) <= 1e9))
		return srv_fail(err, 400, "invalid_request",
				"%s must be a non-negative number of at most 1e9", what);
	*out = json_number_value(v);
	return 0;
}

static int get_size(json_t *v, const char *what, uint64_t *out, srv_err_t *err)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && srv_parse_size(json_string_value(v), out) == 0)
		return 0;
	return srv_fail(err, 400, "invalid_request",
			"%s must be a size in bytes or a string such as \"512m\"", what);
}

static int get_strv(json_t *v, const char *what, char ***out, size_t *n, srv_err_t *err)
{
	if (!json_is_array(v))
		return srv_fail(err, 400, "invalid_request", "%s must be an array of strings", what);
	char **list = calloc(json_array_size(v) + 1, sizeof(char *));
	if (!list)
		return srv_fail(err, 500, "internal", "out of memory");
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || !(list[i] = strdup(json_string_value(e)))) {
			free_strv(list, i);
			return srv_fail(err, 400, "invalid_request", "%s must be an array of strings",
					what);
		}
	}
	free_strv(*out, *n);
	*out = list;
	*n = json_array_size(v);
	return 0;
}

static int read_limits(json_t *obj, const char *what, srv_limits_t *l, srv_err_t *err)
{
	if (!json_is_object(obj))
		return srv_fail(err, 400, "invalid_request", "policy: %s must be an object", what);
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v) {
		char name[96];
		snprintf(name, sizeof(name), "policy: %s.%s", what, k);
		double d;
		uint64_t u;
		if (strcmp(k, "timeout") == 0) {
			if (get_number(v, name, &l->timeout_s, err) < 0)
				return -1;
		} else if (strcmp(k, "memory") == 0) {
			if (get_size(v, name, &l->memory_bytes, err) < 0)
				return -1;
		} else if (strcmp(k, "cpus") == 0) {
			if (get_number(v, name, &l->cpus, err) < 0)
				return -1;
		} else if (strcmp(k, "pids") == 0) {
			if (get_number(v, name, &d, err) < 0)
				return -1;
			l->pids = (int64_t)d;
		} else if (strcmp(k, "max_output_bytes") == 0) {
			if (get_size(v, name, &u, err) < 0)
				return -1;
			l->max_output_bytes = u;
		} else {
			return srv_fail(err, 400, "invalid_request", "%s: unknown key", name);
		}
	}
	return 0;
}

static int apply_policy(srv_policy_t *p, json_t *root, srv_err_t *err)
{
	if (!json_is_object(root))
		return srv_fail(err, 400, "invalid_request", "policy: the file must hold a JSON object");
	const char *k;
	json_t *v;
	json_object_foreach(root, k, v) {
		double d;
		uint64_t u;
		if (strcmp(k, "defaults") == 0 || strcmp(k, "maximums") == 0) {
			if (read_limits(v, k, k[0] == 'd' ? &p->defaults : &p->maximums, err) < 0)
				return -1;
		} else if (strcmp(k, "default_backend") == 0 || strcmp(k, "default_image") == 0 ||
			   strcmp(k, "default_language") == 0) {
			if (!json_is_string(v) || !json_string_length(v))
				return srv_fail(err, 400, "invalid_request",
						"policy: %s must be a non-empty string", k);
			char **slot = k[8] == 'b' ? &p->default_backend
				      : k[8] == 'i' ? &p->default_image : &p->default_language;
			free(*slot);
			*slot = strdup(json_string_value(v));
		} else if (strcmp(k, "allowed_backends") == 0) {
			if (get_strv(v, "policy: allowed_backends", &p->allowed_backends, &p->n_backends,
				     err) < 0)
				return -1;
		} else if (strcmp(k, "allowed_images") == 0) {
			if (get_strv(v, "policy: allowed_images", &p->allowed_images, &p->n_images,
				     err) < 0)
				return -1;
		} else if (strcmp(k, "languages") == 0) {
			if (!json_is_object(v))
				return srv_fail(err, 400, "invalid_request",
						"policy: languages must be an object");
			const char *name;
			json_t *lang;
			json_object_foreach(v, name, lang) {
				json_t *shell = json_object_get(lang, "shell");
				json_t *image = json_object_get(lang, "image");
				if (!json_is_string(shell) || (image && !json_is_string(image)))
					return srv_fail(err, 400, "invalid_request",
							"policy: languages.%s needs a \"shell\" string "
							"and an optional \"image\" string", name);
				add_language(p, name, json_string_value(shell),
					     image ? json_string_value(image) : NULL);
			}
		} else if (strcmp(k, "allow_network") == 0 || strcmp(k, "allow_host_network") == 0 ||
			   strcmp(k, "allow_host_volumes") == 0) {
			if (!json_is_boolean(v))
				return srv_fail(err, 400, "invalid_request",
						"policy: %s must be true or false", k);
			bool b = json_is_true(v);
			if (strcmp(k, "allow_network") == 0)
				p->allow_network = b;
			else if (strcmp(k, "allow_host_network") == 0)
				p->allow_host_network = b;
			else
				p->allow_host_volumes = b;
		} else if (strcmp(k, "session_idle_ttl") == 0) {
			if (get_number(v, "policy: session_idle_ttl", &p->session_idle_ttl_s, err) < 0)
				return -1;
		} else if (strcmp(k, "max_session_idle_ttl") == 0) {
			if (get_number(v, "policy: max_session_idle_ttl", &p->max_session_idle_ttl_s,
				       err) < 0)
				return -1;
		} else if (strcmp(k, "max_sessions_per_token") == 0) {
			if (get_number(v, k, &d, err) < 0)
				return -1;
			p->max_sessions_per_token = (size_t)d;
		} else if (strcmp(k, "max_workspace_bytes_per_token") == 0 ||
			   strcmp(k, "workspace_budget_bytes") == 0) {
			if (get_size(v, k, &u, err) < 0)
				return -1;
			*(k[0] == 'm' ? &p->max_workspace_bytes_per_token : &p->workspace_budget_bytes) = u;
		} else if (strcmp(k, "warm_pool") == 0) {
			if (get_number(v, k, &d, err) < 0)
				return -1;
			if (d > 8)
				return srv_fail(err, 400, "invalid_request",
						"policy: warm_pool is at most 8 (sandboxes kept ready per "
						"configuration)");
			p->warm_pool = (size_t)d;
		} else if (strcmp(k, "max_sessions") == 0 || strcmp(k, "max_running") == 0 ||
			   strcmp(k, "max_queued") == 0 || strcmp(k, "retry_after") == 0) {
			if (get_number(v, k, &d, err) < 0)
				return -1;
			if (strcmp(k, "max_sessions") == 0)
				p->max_sessions = (size_t)d;
			else if (strcmp(k, "max_running") == 0)
				p->max_running = (size_t)d;
			else if (strcmp(k, "max_queued") == 0)
				p->max_queued = (size_t)d;
			else
				p->retry_after_s = (unsigned)d;
		} else if (strcmp(k, "max_body_bytes") == 0 || strcmp(k, "max_file_bytes") == 0 ||
			   strcmp(k, "max_workspace_bytes") == 0) {
			if (get_size(v, k, &u, err) < 0)
				return -1;
			if (k[4] == 'b')
				p->max_body_bytes = (size_t)u;
			else if (k[4] == 'f')
				p->max_file_bytes = (size_t)u;
			else
				p->max_workspace_bytes = u;
		} else {
			return srv_fail(err, 400, "invalid_request", "policy: unknown key \"%s\"", k);
		}
	}
	return 0;
}

static int check_policy(srv_policy_t *p, srv_err_t *err)
{
	const srv_limits_t *d = &p->defaults, *m = &p->maximums;
	if (d->timeout_s <= 0 || d->timeout_s > m->timeout_s)
		return srv_fail(err, 400, "invalid_request",
				"policy: defaults.timeout must be > 0 and <= maximums.timeout");
	if (d->memory_bytes == 0 || d->memory_bytes > m->memory_bytes)
		return srv_fail(err, 400, "invalid_request",
				"policy: defaults.memory must be > 0 and <= maximums.memory");
	if (d->cpus <= 0 || d->cpus > m->cpus)
		return srv_fail(err, 400, "invalid_request",
				"policy: defaults.cpus must be > 0 and <= maximums.cpus");
	if (d->pids <= 0 || d->pids > m->pids)
		return srv_fail(err, 400, "invalid_request",
				"policy: defaults.pids must be > 0 and <= maximums.pids");
	if (d->max_output_bytes == 0 || d->max_output_bytes > m->max_output_bytes)
		return srv_fail(err, 400, "invalid_request",
				"policy: defaults.max_output_bytes must be > 0 and <= "
				"maximums.max_output_bytes");
	if (p->session_idle_ttl_s <= 0 || p->session_idle_ttl_s > p->max_session_idle_ttl_s)
		return srv_fail(err, 400, "invalid_request",
				"policy: session_idle_ttl must be > 0 and <= max_session_idle_ttl");
	if (p->max_running == 0)
		return srv_fail(err, 400, "invalid_request", "policy: max_running must be >= 1");
	/* A request's spec holds these in fixed buffers: a longer value would be
	 * cut there, refusing every request or running another shell. */
	srv_exec_spec_t spec;
	bool too_long = strlen(p->default_backend) >= sizeof(spec.backend) ||
			strlen(p->default_image) >= sizeof(spec.image);
	for (size_t i = 0; i < p->n_languages; i++)
		too_long = too_long || strlen(p->languages[i].shell) >= sizeof(spec.shell) ||
			   (p->languages[i].image && strlen(p->languages[i].image) >= sizeof(spec.image));
	if (too_long)
		return srv_fail(err, 400, "invalid_request",
				"policy: default_backend must be shorter than %zu bytes, default_image "
				"and the languages' shells and images shorter than %zu",
				sizeof(spec.backend), sizeof(spec.image));
	if (!srv_policy_backend_allowed(p, p->default_backend))
		return srv_fail(err, 400, "invalid_request",
				"policy: default_backend \"%s\" is not in allowed_backends",
				p->default_backend);
	bool lang_ok = false;
	for (size_t i = 0; i < p->n_languages; i++)
		lang_ok |= strcmp(p->languages[i].name, p->default_language) == 0;
	if (!lang_ok)
		return srv_fail(err, 400, "invalid_request",
				"policy: default_language \"%s\" is not a known language",
				p->default_language);
	return 0;
}

srv_policy_t *srv_policy_load(const char *path, srv_err_t *err)
{
	srv_policy_t *p = policy_builtin();
	if (!p) {
		srv_fail(err, 500, "internal", "out of memory");
		return NULL;
	}
	if (path) {
		json_error_t jerr;
		json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
		if (!root) {
			srv_fail(err, 400, "invalid_request", "policy %s: %s (line %d)", path, jerr.text,
				 jerr.line);
			srv_policy_free(p);
			return NULL;
		}
		int rc = apply_policy(p, root, err);
		json_decref(root);
		if (rc < 0) {
			srv_policy_free(p);
			return NULL;
		}
	}
	if (check_policy(p, err) < 0) {
		srv_policy_free(p);
		return NULL;
	}
	return p;
}

bool srv_policy_backend_allowed(const srv_policy_t *p, const char *backend)
{
	for (size_t i = 0; i < p->n_backends; i++)
		if (strcmp(p->allowed_backends[i], backend) == 0)
			return true;
	return false;
}

static bool image_allowed(const srv_policy_t *p, const char *image)
{
	if (strcmp(image, p->default_image) == 0)
		return true;
	for (size_t i = 0; i < p->n_images; i++)
		if (strcmp(p->allowed_images[i], image) == 0)
			return true;
	for (size_t i = 0; i < p->n_languages; i++)
		if (p->languages[i].image && strcmp(p->languages[i].image, image) == 0)
			return true;
	return false;
}

/* ---- resolving one request ------------------------------------------------- */

/* Request keys and their reference aliases. */
static const struct {
	const char *name, *alias;
} request_keys[] = {
	{"backend", NULL}, {"image", NULL}, {"language", NULL}, {"shell", NULL},
	{"timeout", "max_execution_time"}, {"memory", "memory_limit"}, {"cpus", "cpu_limit"},
	{"pids", "pids_limit"}, {"max_output_bytes", NULL}, {"network", "network_mode"},
	{"volumes", NULL},
};

static json_t *req_get(json_t *req, const char *name)
{
	for (size_t i = 0; i < sizeof(request_keys) / sizeof(request_keys[0]); i++) {
		if (strcmp(request_keys[i].name, name) != 0)
			continue;
		json_t *v = json_object_get(req, name);
		if (!v && request_keys[i].alias)
			v = json_object_get(req, request_keys[i].alias);
		return json_is_null(v) ? NULL : v;
	}
	return json_object_get(req, name);
}

static int check_keys(json_t *req, const char *const *allowed, bool session, srv_err_t *err)
{
	const char *k;
	json_t *v;
	json_object_foreach(req, k, v) {
		bool known = session && strcmp(k, "idle_ttl") == 0;
		for (size_t i = 0; !known && i < sizeof(request_keys) / sizeof(request_keys[0]); i++)
			known = strcmp(k, request_keys[i].name) == 0 ||
				(request_keys[i].alias && strcmp(k, request_keys[i].alias) == 0);
		for (size_t i = 0; !known && allowed && allowed[i]; i++)
			known = strcmp(k, allowed[i]) == 0;
		if (!known)
			return srv_fail(err, 400, "invalid_request", "unknown field \"%.100s\"", k);
	}
	return 0;
}

static int over(srv_err_t *err, const char *what, const char *asked, const char *max)
{
	return srv_fail(err, 400, "limit_exceeded",
			"%s %s is above the server's maximum of %s", what, asked, max);
}

static int copy_str(char *dst, size_t cap, json_t *v, const char *what, srv_err_t *err)
{
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return srv_fail(err, 400, "invalid_request",
				"%s must be a non-empty string of fewer than %zu bytes", what, cap);
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int srv_policy_resolve(const srv_policy_t *p, json_t *req, const char *const *allowed_keys,
		       bool session, srv_exec_spec_t *spec, srv_err_t *err)
{
	if (!json_is_object(req))
		return srv_fail(err, 400, "invalid_request", "the request body must be a JSON object");
	if (check_keys(req, allowed_keys, session, err) < 0)
		return -1;
	memset(spec, 0, sizeof(*spec));
	spec->limits = p->defaults;
	spec->idle_ttl_s = p->session_idle_ttl_s;
	snprintf(spec->backend, sizeof(spec->backend), "%s", p->default_backend);
	snprintf(spec->image, sizeof(spec->image), "%s", p->default_image);
	snprintf(spec->network, sizeof(spec->network), "none");
	json_t *v;
	char a[64], b[64];

	if ((v = req_get(req, "backend"))) {
		if (copy_str(spec->backend, sizeof(spec->backend), v, "backend", err) < 0)
			return -1;
		if (!srv_policy_backend_allowed(p, spec->backend))
			return srv_fail(err, 400, "policy_violation",
					"backend \"%s\" is not allowed by the server policy",
					spec->backend);
	}
	const char *lang_name = p->default_language;
	if ((v = req_get(req, "language"))) {
		if (!json_is_string(v))
			return srv_fail(err, 400, "invalid_request", "language must be a string");
		lang_name = json_string_value(v);
	}
	const srv_language_t *lang = NULL;
	for (size_t i = 0; i < p->n_languages; i++)
		if (strcmp(p->languages[i].name, lang_name) == 0)
			lang = &p->languages[i];
	if (!lang) {
		char names[256] = "";
		for (size_t i = 0; i < p->n_languages; i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 i ? ", " : "", p->languages[i].name);
		return srv_fail(err, 400, "invalid_request",
				"unknown language \"%.64s\"; known languages: %s", lang_name, names);
	}
	snprintf(spec->shell, sizeof(spec->shell), "%s", lang->shell);
	if (lang->image)
		snprintf(spec->image, sizeof(spec->image), "%s", lang->image);
	if ((v = req_get(req, "shell")) &&
	    copy_str(spec->shell, sizeof(spec->shell), v, "shell", err) < 0)
		return -1;
	if ((v = req_get(req, "image")) &&
	    copy_str(spec->image, sizeof(spec->image), v, "image", err) < 0)
		return -1;
	if (!image_allowed(p, spec->image))
		return srv_fail(err, 400, "policy_violation",
				"image \"%s\" is not allowed by the server policy", spec->image);

	srv_limits_t *l = &spec->limits;
	const srv_limits_t *m = &p->maximums;
	if ((v = req_get(req, "timeout"))) {
		if (get_number(v, "timeout", &l->timeout_s, err) < 0)
			return -1;
		if (l->timeout_s <= 0)
			return srv_fail(err, 400, "invalid_request", "timeout must be > 0 seconds");
		if (l->timeout_s > m->timeout_s) {
			snprintf(a, sizeof(a), "%gs", l->timeout_s);
			snprintf(b, sizeof(b), "%gs", m->timeout_s);
			return over(err, "timeout", a, b);
		}
	}
	if ((v = req_get(req, "memory"))) {
		if (get_size(v, "memory", &l->memory_bytes, err) < 0)
			return -1;
		if (l->memory_bytes < (6u << 20))
			return srv_fail(err, 400, "invalid_request", "memory must be at least 6m");
		if (l->memory_bytes > m->memory_bytes) {
			snprintf(a, sizeof(a), "%llu bytes", (unsigned long long)l->memory_bytes);
			snprintf(b, sizeof(b), "%llu bytes", (unsigned long long)m->memory_bytes);
			return over(err, "memory", a, b);
		}
	}
	if ((v = req_get(req, "cpus"))) {
		if (get_number(v, "cpus", &l->cpus, err) < 0)
			return -1;
		if (l->cpus <= 0)
			return srv_fail(err, 400, "invalid_request", "cpus must be > 0");
		if (l->cpus > m->cpus) {
			snprintf(a, sizeof(a), "%g", l->cpus);
			snprintf(b, sizeof(b), "%g", m->cpus);
			return over(err, "cpus", a, b);
		}
	}
	if ((v = req_get(req, "pids"))) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			return srv_fail(err, 400, "invalid_request", "pids must be a positive integer");
		l->pids = json_integer_value(v);
		if (l->pids > m->pids) {
			snprintf(a, sizeof(a), "%lld", (long long)l->pids);
			snprintf(b, sizeof(b), "%lld", (long long)m->pids);
			return over(err, "pids", a, b);
		}
	}
	if ((v = req_get(req, "max_output_bytes"))) {
		if (get_size(v, "max_output_bytes", &l->max_output_bytes, err) < 0)
			return -1;
		if (l->max_output_bytes == 0)
			return srv_fail(err, 400, "invalid_request", "max_output_bytes must be > 0");
		if (l->max_output_bytes > m->max_output_bytes) {
			snprintf(a, sizeof(a), "%llu", (unsigned long long)l->max_output_bytes);
			snprintf(b, sizeof(b), "%llu", (unsigned long long)m->max_output_bytes);
			return over(err, "max_output_bytes", a, b);
		}
	}
	if ((v = req_get(req, "network"))) {
		if (copy_str(spec->network, sizeof(spec->network), v, "network", err) < 0)
			return -1;
		if (strcmp(spec->network, "none") == 0) {
		} else if (strcmp(spec->network, "host") == 0) {
			if (!p->allow_host_network)
				return srv_fail(err, 400, "policy_violation",
						"host networking is not allowed by the server policy");
		} else if (strcmp(spec->network, "bridge") == 0) {
			if (!p->allow_network)
				return srv_fail(err, 400, "policy_violation",
						"network access is not allowed by the server policy");
		} else {
			return srv_fail(err, 400, "invalid_request",
					"network must be \"none\", \"bridge\" or \"host\"");
		}
	}
	if ((v = req_get(req, "volumes")))
		return srv_fail(err, 400, "policy_violation",
				"host volumes cannot be requested through this API%s",
				p->allow_host_volumes ? "" : " (and the server policy forbids them)");
	if (session && (v = json_object_get(req, "idle_ttl")) && !json_is_null(v)) {
		if (get_number(v, "idle_ttl", &spec->idle_ttl_s, err) < 0)
			return -1;
		if (spec->idle_ttl_s <= 0)
			return srv_fail(err, 400, "invalid_request", "idle_ttl must be > 0 seconds");
		if (spec->idle_ttl_s > p->max_session_idle_ttl_s) {
			snprintf(a, sizeof(a), "%gs", spec->idle_ttl_s);
			snprintf(b, sizeof(b), "%gs", p->max_session_idle_ttl_s);
			return over(err, "idle_ttl", a, b);
		}
	}
	return 0;
}

symbi_config_t *srv_spec_config(const srv_exec_spec_t *spec, const char *workspace,
				srv_err_t *err)
{
	symbi_config_t *cfg = symbi_config_new();
	if (!cfg) {
		srv_fail(err, 500, "internal", "out of memory");
		return NULL;
	}
	symbi_error_t lerr = {0};
	const srv_limits_t *l = &spec->limits;
#define SET(call)                     \
	do {                          \
		if ((call) < 0)       \
			goto fail;    \
	} while (0)
	SET(symbi_config_set(cfg, "backend", spec->backend, &lerr));
	/* The image is the containers' (native runs the host's interpreters,
	 * which the shell names); a backend that ignores it is not given it. */
	if (symbi_config_field_honoured(cfg, "image"))
		SET(symbi_config_set(cfg, "image", spec->image, &lerr));
	SET(symbi_config_set(cfg, "shell", spec->shell, &lerr));
	SET(symbi_config_set(cfg, "network_mode", spec->network, &lerr));
	SET(symbi_config_set_double(cfg, "max_execution_time", l->timeout_s, &lerr));
	SET(l->memory_bytes ? symbi_config_set_u64(cfg, "memory_limit", l->memory_bytes, &lerr)
			    : symbi_config_unset(cfg, "memory_limit", &lerr));
	SET(symbi_config_set_double(cfg, "cpu_limit", l->cpus, &lerr));
	SET(symbi_config_set_u64(cfg, "pids_limit", (uint64_t)l->pids, &lerr));
	SET(symbi_config_set_u64(cfg, "max_output_bytes", l->max_output_bytes, &lerr));
	if (workspace) {
		const char *target = spec->workdir[0] ? spec->workdir : "/workspace";
		SET(symbi_config_add_volume(cfg, workspace, target, false, &lerr));
		SET(symbi_config_set(cfg, "working_dir", target, &lerr));
		if (strcmp(spec->backend, "native") == 0) {
			/* The native backend runs code as an unprivileged user: as
			 * root we hand it the workspace (and what we put there, see
			 * workspace.c); otherwise its user namespace maps our uid to
			 * the sandbox's, and the workspace is already its own. */
			if (geteuid() == 0) {
				SET(symbi_config_set_user_ids(cfg, SRV_NATIVE_UID, SRV_NATIVE_UID, &lerr));
				if (chown(workspace, SRV_NATIVE_UID, SRV_NATIVE_UID) < 0) {
					srv_fail(err, 500, "internal", "workspace: chown: %s",
						 strerror(errno));
					symbi_config_free(cfg);
					return NULL;
				}
			}
		} else if (getuid() != 0) {
			/* Files the sandbox writes into the workspace must stay ours. */
			SET(symbi_config_set_user_ids(cfg, getuid(), getgid(), &lerr));
		}
	}
#undef SET
	return cfg;
fail:
	symbi_config_free(cfg);
	srv_fail_lib(err, &lerr);
	return NULL;
}

json_t *srv_limits_json(const srv_exec_spec_t *spec)
{
	char cpus[32];
	snprintf(cpus, sizeof(cpus), "%g", spec->limits.cpus);
	return json_pack("{s:I,s:I,s:s,s:I,s:I,s:s}", "timeout_ms",
			 (json_int_t)(spec->limits.timeout_s * 1000), "memory_bytes",
			 (json_int_t)spec->limits.memory_bytes, "cpus", cpus, "pids",
			 (json_int_t)spec->limits.pids, "max_output_bytes",
			 (json_int_t)spec->limits.max_output_bytes, "network", spec->network);
}

int srv_policy_override(srv_policy_t *p, const char *backend, const char *image, srv_err_t *err)
{
	if (backend) {
		if (!srv_policy_backend_allowed(p, backend)) {
			char **b = realloc(p->allowed_backends, (p->n_backends + 1) * sizeof(char *));
			if (!b)
				return srv_fail(err, 500, "internal", "out of memory");
			p->allowed_backends = b;
			if (!(b[p->n_backends] = strdup(backend)))
				return srv_fail(err, 500, "internal", "out of memory");
			p->n_backends++;
		}
		char *v = strdup(backend);
		if (!v)
			return srv_fail(err, 500, "internal", "out of memory");
		free(p->default_backend);
		p->default_backend = v;
	}
	if (image) {
		char *v = strdup(image);
		if (!v)
			return srv_fail(err, 500, "internal", "out of memory");
		free(p->default_image);
		p->default_image = v;
	}
	return 0;
}

/* Whether a sandbox of `backend` (NULL: the default) with the defaults can be made. */
static int probe_backend(const srv_policy_t *p, const char *backend, srv_err_t *err)
{
	srv_exec_spec_t spec;
	json_t *req = backend ? json_pack("{s:s}", "backend", backend) : json_object();
	int rc = srv_policy_resolve(p, req, NULL, false, &spec, err);
	json_decref(req);
	if (rc < 0)
		return -1;
	symbi_config_t *cfg = srv_spec_config(&spec, NULL, err);
	if (!cfg)
		return -1;
	symbi_error_t lerr = {0};
	symbi_sandbox_t *sb = symbi_sandbox_new(cfg, &lerr);
	symbi_config_free(cfg);
	if (!sb)
		return srv_fail_lib(err, &lerr);
	symbi_sandbox_free(sb);
	return 0;
}

int srv_policy_probe_default(const srv_policy_t *p, srv_err_t *err)
{
	return probe_backend(p, NULL, err);
}

void srv_policy_probe_backends(srv_policy_t *p, const char *prog)
{
	/* Probe all first: resolving a request walks the whole list. */
	bool works[64] = {0};
	size_t n = p->n_backends < 64 ? p->n_backends : 64;
	for (size_t i = 0; i < n; i++) {
		srv_err_t err = {0};
		works[i] = probe_backend(p, p->allowed_backends[i], &err) == 0;
		if (!works[i])
			fprintf(stderr, "%s: backend \"%s\" does not work here, not offered: %s\n",
				prog, p->allowed_backends[i], err.message);
	}
	size_t kept = 0;
	for (size_t i = 0; i < p->n_backends; i++) {
		if (i < n && !works[i]) {
			free(p->allowed_backends[i]);
			continue;
		}
		p->allowed_backends[kept++] = p->allowed_backends[i];
	}
	for (size_t i = kept; i < p->n_backends; i++)
		p->allowed_backends[i] = NULL;
	p->n_backends = kept;
	if (kept && !srv_policy_backend_allowed(p, p->default_backend)) {
		fprintf(stderr, "%s: the default backend \"%s\" does not work here; using \"%s\"\n",
			prog, p->default_backend, p->allowed_backends[0]);
		char *d = strdup(p->allowed_backends[0]);
		if (d) {
			free(p->default_backend);
			p->default_backend = d;
		}
	}
}
