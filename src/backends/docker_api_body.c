/* ContainerCreate's body from our own `docker run` command line
 * (docker_argv.c), so that a run through the Engine API gets exactly the
 * confinement a run through the CLI gets: the command line stays the one
 * description of a container. Each flag is translated as the docker CLI
 * translates it. A flag this file does not know (some of the extra flags)
 * makes the translation decline, and that run goes through the CLI. */
#include "docker_api.h"
#include "../core/config.h"
#include "../core/error.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct create {
	json_t *config; /* the body: Config's fields at its top level */
	json_t *host;   /* its HostConfig */
	const char *seccomp_profile;
	char *const *client_env;
	symbi_docker_create_t *out;
};

/* Stores fields, creating arrays and objects on first use. */
static int append(json_t *obj, const char *key, const char *value)
{
	json_t *array = json_object_get(obj, key);
	if (!array && (!(array = json_array()) || json_object_set_new(obj, key, array) < 0))
		return -1;
	return json_array_append_new(array, json_string(value));
}

static int put(json_t *obj, const char *key, const char *sub, json_t *value)
{
	json_t *map = json_object_get(obj, key);
	if (!map && (!(map = json_object()) || json_object_set_new(obj, key, map) < 0)) {
		json_decref(value);
		return -1;
	}
	return json_object_set_new(map, sub, value);
}

static int bad_value(const char *flag, const char *value, symbi_error_t *err)
{
	return symbi_fail(err, SYMBI_E_INVALID, 0, "cannot translate %s %.100s for the Engine API",
			  flag, value);
}

static int parse_int(const char *flag, const char *v, long long *out, symbi_error_t *err)
{
	char *end;
	errno = 0;
	*out = strtoll(v, &end, 10);
	return errno || end == v || *end ? bad_value(flag, v, err) : 0;
}

static int set_bytes(struct create *c, const char *key, const char *v, symbi_error_t *err)
{
	uint64_t bytes;
	if (symbi_parse_bytes(v, &bytes, err) < 0)
		return -1;
	if (json_object_set_new(c->host, key, json_integer((json_int_t)bytes)) < 0)
		return symbi_fail_nomem(err);
	return 0;
}

/* KEY[=VALUE] into an object (labels). */
static int set_pair(json_t *obj, const char *key, const char *v)
{
	const char *eq = strchr(v, '=');
	char *k = strndup(v, eq ? (size_t)(eq - v) : strlen(v));
	int rc = k ? put(obj, key, k, json_string(eq ? eq + 1 : "")) : -1;
	free(k);
	return rc;
}

/* NAME=SOFT[:HARD], as docker's ulimit parser reads it. */
static int add_ulimit(struct create *c, const char *flag, const char *v, symbi_error_t *err)
{
	const char *eq = strchr(v, '=');
	if (!eq)
		return bad_value(flag, v, err);
	char soft_text[32];
	const char *colon = strchr(eq + 1, ':');
	size_t soft_len = colon ? (size_t)(colon - eq - 1) : strlen(eq + 1);
	if (soft_len >= sizeof(soft_text))
		return bad_value(flag, v, err);
	memcpy(soft_text, eq + 1, soft_len);
	soft_text[soft_len] = '\0';
	long long soft, hard;
	if (parse_int(flag, soft_text, &soft, err) < 0 ||
	    parse_int(flag, colon ? colon + 1 : soft_text, &hard, err) < 0)
		return -1;
	json_t *u = json_pack("{s:s%,s:I,s:I}", "Name", v, (size_t)(eq - v), "Soft", (json_int_t)soft,
			      "Hard", (json_int_t)hard);
	json_t *list = json_object_get(c->host, "Ulimits");
	if (!u || (!list && (!(list = json_array()) ||
			     json_object_set_new(c->host, "Ulimits", list) < 0))) {
		json_decref(u);
		return symbi_fail_nomem(err);
	}
	/* As the CLI keeps them: by name, a later one replacing an earlier. */
	const char *name = json_string_value(json_object_get(u, "Name"));
	size_t at = 0;
	for (; at < json_array_size(list); at++) {
		int order = strcmp(name, json_string_value(json_object_get(json_array_get(list, at),
									   "Name")));
		if (order == 0)
			return json_array_set_new(list, at, u) == 0 ? 0 : symbi_fail_nomem(err);
		if (order < 0)
			break;
	}
	return json_array_insert_new(list, at, u) == 0 ? 0 : symbi_fail_nomem(err);
}

/* The value of a variable named by `-e NAME`: the client's, as the CLI
 * takes it from its own environment; absent there, the variable is not set. */
static int add_env(struct create *c, const char *name)
{
	size_t len = strlen(name);
	for (char *const *e = c->client_env; e && *e; e++)
		if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
			return append(c->config, "Env", *e);
	return 0;
}

static int security_opt(struct create *c, const char *v, symbi_error_t *err)
{
	if (strcmp(v, SYMBI_DOCKER_SECCOMP_OPT) != 0)
		return append(c->host, "SecurityOpt", v) < 0 ? symbi_fail_nomem(err) : 0;
	/* The CLI reads the file and sends the profile itself. */
	if (!c->seccomp_profile)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "no seccomp profile for the Engine API");
	char *opt;
	if (asprintf(&opt, "seccomp=%s", c->seccomp_profile) < 0)
		return symbi_fail_nomem(err);
	int rc = append(c->host, "SecurityOpt", opt);
	free(opt);
	return rc < 0 ? symbi_fail_nomem(err) : 0;
}

static int set_bool(const char *flag, const char *v, bool *out, symbi_error_t *err)
{
	if (!v || strcmp(v, "true") == 0)
		*out = true;
	else if (strcmp(v, "false") == 0)
		*out = false;
	else
		return bad_value(flag, v, err);
	return 0;
}

/* One flag with its value (NULL for a flag without). */
static int apply(struct create *c, const char *flag, const char *v, symbi_error_t *err)
{
	json_t *cf = c->config, *hc = c->host;
	int rc = 0;
	bool b;
	if (strcmp(flag, "-i") == 0) {
		c->out->attach_stdin = true;
		rc = json_object_set_new(cf, "OpenStdin", json_true()) |
		     json_object_set_new(cf, "StdinOnce", json_true()) |
		     json_object_set_new(cf, "AttachStdin", json_true());
	} else if (strcmp(flag, "-d") == 0) {
		c->out->detached = true;
	} else if (strcmp(flag, "--name") == 0) {
		if (strlen(v) >= sizeof(c->out->name))
			return bad_value(flag, v, err);
		strcpy(c->out->name, v);
	} else if (strcmp(flag, "--label") == 0) {
		rc = set_pair(cf, "Labels", v);
	} else if (strcmp(flag, "--log-driver") == 0) {
		rc = json_object_set_new(hc, "LogConfig", json_pack("{s:s,s:{}}", "Type", v, "Config"));
	} else if (strcmp(flag, "--init") == 0) {
		if (set_bool(flag, v, &b, err) < 0)
			return -1;
		rc = json_object_set_new(hc, "Init", json_boolean(b));
	} else if (strcmp(flag, "--read-only") == 0) {
		if (set_bool(flag, v, &b, err) < 0)
			return -1;
		rc = json_object_set_new(hc, "ReadonlyRootfs", json_boolean(b));
	} else if (strcmp(flag, "--memory") == 0) {
		return set_bytes(c, "Memory", v, err);
	} else if (strcmp(flag, "--memory-swap") == 0) {
		return set_bytes(c, "MemorySwap", v, err);
	} else if (strcmp(flag, "--cpus") == 0) {
		char *end;
		double cpus = strtod(v, &end);
		if (end == v || *end || !(cpus > 0) || cpus > 1e6)
			return bad_value(flag, v, err);
		rc = json_object_set_new(hc, "NanoCpus", json_integer((json_int_t)llround(cpus * 1e9)));
	} else if (strcmp(flag, "--pids-limit") == 0) {
		long long n;
		if (parse_int(flag, v, &n, err) < 0)
			return -1;
		rc = json_object_set_new(hc, "PidsLimit", json_integer(n));
	} else if (strcmp(flag, "--ulimit") == 0) {
		return add_ulimit(c, flag, v, err);
	} else if (strcmp(flag, "--network") == 0) {
		rc = json_object_set_new(hc, "NetworkMode", json_string(v));
	} else if (strcmp(flag, "--cgroupns") == 0) {
		rc = json_object_set_new(hc, "CgroupnsMode", json_string(v));
	} else if (strcmp(flag, "--workdir") == 0) {
		rc = json_object_set_new(cf, "WorkingDir", json_string(v));
	} else if (strcmp(flag, "--user") == 0) {
		rc = json_object_set_new(cf, "User", json_string(v));
	} else if (strcmp(flag, "--hostname") == 0) {
		rc = json_object_set_new(cf, "Hostname", json_string(v));
	} else if (strcmp(flag, "--runtime") == 0) {
		rc = json_object_set_new(hc, "Runtime", json_string(v));
	} else if (strcmp(flag, "--tmpfs") == 0) {
		/* PATH[:OPTIONS] */
		const char *colon = strchr(v, ':');
		char *path = strndup(v, colon ? (size_t)(colon - v) : strlen(v));
		rc = path ? put(hc, "Tmpfs", path, json_string(colon ? colon + 1 : "")) : -1;
		free(path);
	} else if (strcmp(flag, "--security-opt") == 0) {
		return security_opt(c, v, err);
	} else if (strcmp(flag, "--cap-drop") == 0) {
		rc = append(hc, "CapDrop", v);
	} else if (strcmp(flag, "-e") == 0) {
		rc = add_env(c, v);
	} else if (strcmp(flag, "-v") == 0) {
		rc = append(hc, "Binds", v);
	} else {
		return 1;
	}
	return rc < 0 ? symbi_fail_nomem(err) : 0;
}

/* The flags docker_argv.c writes, and the extra flags translated here;
 * true when the flag takes a value. */
static const struct {
	const char *flag;
	bool value;
} known_flags[] = {
	{"-i", false},          {"-d", false},        {"--init", false},    {"--read-only", false},
	{"--name", true},       {"--label", true},    {"--log-driver", true}, {"--memory", true},
	{"--memory-swap", true}, {"--cpus", true},    {"--pids-limit", true}, {"--ulimit", true},
	{"--network", true},    {"--cgroupns", true}, {"--workdir", true},  {"--user", true},
	{"--hostname", true},   {"--runtime", true},  {"--tmpfs", true},    {"--security-opt", true},
	{"--cap-drop", true},   {"-e", true},         {"-v", true},
};

static int known(const char *arg, size_t len, bool *takes_value)
{
	for (size_t i = 0; i < sizeof(known_flags) / sizeof(known_flags[0]); i++)
		if (strlen(known_flags[i].flag) == len && strncmp(known_flags[i].flag, arg, len) == 0) {
			*takes_value = known_flags[i].value;
			return 1;
		}
	return 0;
}

/* What the CLI sends when no flag sets them: empty lists rather than
 * none, and "no" restart policy, so that the daemon's record of a
 * container is the same whichever way it was created. */
static int cli_defaults(json_t *host)
{
	static const char *const empty_lists[] = {
		"Dns", "DnsOptions", "DnsSearch", "BlkioWeightDevice", "BlkioDeviceReadBps",
		"BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "Devices",
		"Ulimits",
	};
	for (size_t i = 0; i < sizeof(empty_lists) / sizeof(empty_lists[0]); i++)
		if (!json_object_get(host, empty_lists[i]) &&
		    json_object_set_new(host, empty_lists[i], json_array()) < 0)
			return -1;
	return json_object_set_new(host, "PortBindings", json_object()) |
	       json_object_set_new(host, "RestartPolicy",
				   json_pack("{s:s,s:i}", "Name", "no", "MaximumRetryCount", 0));
}

int symbi_docker_create_body(const symbi_strlist_t *argv, char *const *client_env,
			     const char *seccomp_profile, symbi_docker_create_t *out,
			     symbi_error_t *err)
{
	memset(out, 0, sizeof(*out));
	struct create c = {.config = json_object(), .host = json_object(),
			   .seccomp_profile = seccomp_profile, .client_env = client_env, .out = out};
	int rc = -1;
	if (!c.config || !c.host) {
		symbi_fail_nomem(err);
		goto done;
	}
	if (argv->len < 2 || strcmp(argv->items[1], "run") != 0) {
		symbi_fail(err, SYMBI_E_INVALID, 0, "not a docker run command line");
		goto done;
	}
	size_t i = 2;
	for (; i < argv->len && argv->items[i][0] == '-'; i++) {
		const char *arg = argv->items[i];
		const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
		bool takes_value;
		if (!known(arg, len, &takes_value)) {
			rc = 1; /* the CLI's to translate */
			goto done;
		}
		char flag[32];
		snprintf(flag, sizeof(flag), "%.*s", (int)len, arg);
		const char *value = eq ? eq + 1 : NULL;
		if (takes_value && !value) {
			if (i + 1 >= argv->len) {
				symbi_fail(err, SYMBI_E_INVALID, 0, "%s needs a value", flag);
				goto done;
			}
			value = argv->items[++i];
		}
		int applied = apply(&c, flag, value, err);
		if (applied != 0) {
			rc = applied;
			goto done;
		}
	}
	if (i >= argv->len || !out->name[0]) {
		symbi_fail(err, SYMBI_E_INVALID, 0, "a docker run command line without %s",
			   out->name[0] ? "an image" : "a name");
		goto done;
	}
	json_t *cmd = json_array();
	if (json_object_set_new(c.config, "Image", json_string(argv->items[i++])) < 0 ||
	    json_object_set_new(c.config, "Cmd", cmd) < 0) {
		symbi_fail_nomem(err);
		goto done;
	}
	for (; i < argv->len; i++)
		if (json_array_append_new(cmd, json_string(argv->items[i])) < 0) {
			symbi_fail_nomem(err);
			goto done;
		}
	bool attached = !out->detached;
	if (json_object_set_new(c.config, "AttachStdout", json_boolean(attached)) < 0 ||
	    json_object_set_new(c.config, "AttachStderr", json_boolean(attached)) < 0 ||
	    json_object_set_new(c.config, "Tty", json_false()) < 0 || cli_defaults(c.host) < 0 ||
	    json_object_set(c.config, "HostConfig", c.host) < 0) {
		symbi_fail_nomem(err);
		goto done;
	}
	out->body = c.config;
	c.config = NULL;
	rc = 0;
done:
	json_decref(c.config);
	json_decref(c.host);
	return rc;
}
