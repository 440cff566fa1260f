/* extra_flags policy. The reference appended extra_flags verbatim, so
 * `--privileged` or a smuggled `--mount` undid the sandbox. We accept only
 * flags known not to weaken isolation, and explain every refusal. */
#include "extra_flags.h"
#include "docker.h"
#include "../core/error.h"

#include <string.h>

struct flag_rule {
	const char *name; /* without the leading "--" */
	bool takes_value;
};

/* Flags that cannot weaken isolation or the limits we set. */
static const struct flag_rule allowed_flags[] = {
	{"label", true},        {"hostname", true},        {"domainname", true},
	{"init", false},        {"stop-signal", true},     {"stop-timeout", true},
	{"ulimit", true},       {"shm-size", true},        {"platform", true},
	{"pull", true},
	{"cpu-shares", true},   {"cpuset-cpus", true},     {"cpuset-mems", true},
	{"blkio-weight", true}, {"group-add", true},
	{"health-cmd", true},   {"health-interval", true}, {"health-retries", true},
	{"health-timeout", true}, {"health-start-period", true}, {"no-healthcheck", false},
	{"add-host", true},     {"dns", true},             {"dns-search", true},
	{"dns-option", true},   {"runtime", true},
};

struct refusal {
	const char *name;
	const char *why;
};

/* Refusals with a reason; anything else not on the allowlist is refused
 * with a generic message. Prefix entries end in '*'. */
static const struct refusal refused_flags[] = {
	{"privileged", "it gives the container every capability and all devices"},
	{"cap-add", "it gives capabilities back after --cap-drop ALL"},
	{"security-opt", "it can disable seccomp, AppArmor or no-new-privileges"},
	{"pid", "it can share the host's process namespace"},
	{"ipc", "it can share the host's IPC namespace"},
	{"uts", "it can share the host's UTS namespace"},
	{"userns", "it can share the host's user namespace"},
	{"cgroupns", "it can share the host's cgroup namespace"},
	{"cgroup-parent", "it can move the container out of its resource limits"},
	{"device*", "it exposes host devices"},
	{"gpus", "it exposes host devices"},
	{"volume", "mounts go through the validated volumes field"},
	{"mount", "mounts go through the validated volumes field"},
	{"volumes-from", "mounts go through the validated volumes field"},
	{"tmpfs", "the sandbox's /tmp is fixed"},
	{"network", "networking goes through the validated network_mode field"},
	{"net", "networking goes through the validated network_mode field"},
	{"network-alias", "networking goes through the validated network_mode field"},
	{"link", "networking goes through the validated network_mode field"},
	{"publish*", "it exposes ports on the host"},
	{"expose", "it exposes ports on the host"},
	{"sysctl", "it changes kernel parameters"},
	{"oom-kill-disable", "it disables the memory limit's enforcement"},
	{"oom-score-adj", "it makes host processes the OOM killer's victims"},
	{"memory*", "limits go through memory_limit"},
	{"kernel-memory", "limits go through memory_limit"},
	{"cpus", "limits go through cpu_limit"},
	{"cpu-quota", "limits go through cpu_limit"},
	{"cpu-period", "limits go through cpu_limit"},
	{"pids-limit", "limits go through pids_limit"},
	{"read-only", "the root filesystem is always read-only"},
	{"user", "the user goes through the user field"},
	{"workdir", "the working directory goes through working_dir"},
	{"env*", "environment variables go through the env map, never argv"},
	{"entrypoint", "it replaces the sandbox's start-up"},
	{"name", "the sandbox names its containers"},
	{"rm", "the sandbox removes its containers"},
	{"detach", "the sandbox must wait for the program"},
	{"interactive", "the sandbox owns the container's stdin"},
	{"tty", "it would merge stdout and stderr"},
	{"attach", "the sandbox owns the container's streams"},
	{"sig-proxy", "the sandbox owns the container's signals"},
	{"isolation", "it is for Windows containers"},
	{"log-driver", "the output goes only to the sandbox (a log driver would store it on the "
		       "daemon's disk or send it over the network, whatever network_mode says)"},
	{"log-opt", "the output goes only to the sandbox (a log driver would store it on the "
		    "daemon's disk or send it over the network, whatever network_mode says)"},
};

/* --ulimit TYPE=SOFT[:HARD]: these let an unprivileged program raise its
 * scheduling priority (real-time or nice) over the host's processes, past
 * the CPU limit. */
static const char *const refused_ulimits[] = {"rtprio", "nice"};

static int check_ulimit(const char *value, symbi_error_t *err)
{
	size_t len = strcspn(value, "=");
	for (size_t i = 0; i < sizeof(refused_ulimits) / sizeof(refused_ulimits[0]); i++)
		if (strlen(refused_ulimits[i]) == len && strncmp(value, refused_ulimits[i], len) == 0)
			return symbi_fail(err, SYMBI_E_SECURITY, 0,
					  "extra flag --ulimit %.100s is refused: it raises the program's "
					  "scheduling priority over the host's processes", value);
	/* The gvisor backend's process limit is an nproc ulimit. */
	if (len == 5 && strncmp(value, "nproc", 5) == 0)
		return symbi_fail(err, SYMBI_E_SECURITY, 0,
				  "extra flag --ulimit %.100s is refused: limits go through pids_limit",
				  value);
	return 0;
}

/* --label KEY[=VALUE]: the sandbox's own labels (what its cleanup finds
 * containers by, their deadline and owner) cannot be set or overridden. */
static int check_label(const char *value, symbi_error_t *err)
{
	size_t n = strlen(SYMBI_DOCKER_LABEL);
	if (strncmp(value, SYMBI_DOCKER_LABEL, n) == 0)
		return symbi_fail(err, SYMBI_E_SECURITY, 0,
				  "extra flag --label %.100s is refused: labels under "
				  SYMBI_DOCKER_LABEL " are the sandbox's own (its cleanup relies on them)",
				  value);
	return 0;
}

/* Checks the value of a flag that takes one. */
static int check_value(const struct flag_rule *rule, const char *value, symbi_error_t *err)
{
	if (strcmp(rule->name, "ulimit") == 0)
		return check_ulimit(value, err);
	if (strcmp(rule->name, "label") == 0)
		return check_label(value, err);
	return 0;
}

static const struct flag_rule *find_allowed(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(allowed_flags) / sizeof(allowed_flags[0]); i++)
		if (strlen(allowed_flags[i].name) == len && strncmp(allowed_flags[i].name, name, len) == 0)
			return &allowed_flags[i];
	return NULL;
}

static const char *refusal_reason(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(refused_flags) / sizeof(refused_flags[0]); i++) {
		const char *r = refused_flags[i].name;
		size_t rlen = strlen(r);
		bool prefix = r[rlen - 1] == '*';
		if (prefix ? (len >= rlen - 1 && strncmp(name, r, rlen - 1) == 0)
			   : (len == rlen && strncmp(name, r, len) == 0))
			return refused_flags[i].why;
	}
	return NULL;
}

/* Looks up a flag entry ("--name" or "--name=value"). */
static int check_flag(const char *entry, symbi_backend_kind_t backend, bool known_backend,
		      const struct flag_rule **rule, bool *has_inline_value, symbi_error_t *err)
{
	if (entry[0] != '-' || entry[1] != '-' || entry[2] == '\0')
		return symbi_fail(err, SYMBI_E_SECURITY, 0,
				  "extra flag \"%.100s\" is refused: only long options (--name or "
				  "--name=value) are accepted", entry);
	const char *name = entry + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	*has_inline_value = eq != NULL;
	const char *why = refusal_reason(name, len);
	if (why)
		return symbi_fail(err, SYMBI_E_SECURITY, 0, "extra flag \"%.100s\" is refused: %s",
				  entry, why);
	*rule = find_allowed(name, len);
	if (!*rule)
		return symbi_fail(err, SYMBI_E_SECURITY, 0,
				  "extra flag \"%.100s\" is refused: it is not on the list of flags "
				  "known not to weaken isolation (see README: extra_flags)", entry);
	if (known_backend && backend == SYMBI_BACKEND_GVISOR && strcmp((*rule)->name, "runtime") == 0)
		return symbi_fail(err, SYMBI_E_SECURITY, 0,
				  "extra flag \"%.100s\" is refused: the gvisor backend sets the runtime "
				  "(use runtime_name)", entry);
	if (!(*rule)->takes_value && eq && strcmp(eq + 1, "true") != 0 && strcmp(eq + 1, "false") != 0)
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "extra flag \"%.100s\": --%s takes true or false", entry, (*rule)->name);
	if (eq && strcmp((*rule)->name, "init") == 0 && strcmp(eq + 1, "false") == 0)
		return symbi_fail(err, SYMBI_E_SECURITY, 0,
				  "extra flag \"%.100s\" is refused: the sandbox always runs an init "
				  "as PID 1", entry);
	if (eq && (*rule)->takes_value)
		return check_value(*rule, eq + 1, err);
	return 0;
}

int symbi_docker_extra_flag_check(const char *entry, symbi_error_t *err)
{
	if (entry[0] != '-')
		return 0; /* a value; its pairing is checked with the whole list */
	const struct flag_rule *rule;
	bool inline_value;
	return check_flag(entry, SYMBI_BACKEND_DOCKER, false, &rule, &inline_value, err);
}

int symbi_extra_flags_check_field(const char *field, const char *value, symbi_error_t *err)
{
	return strcmp(field, "extra_flags") == 0 ? symbi_docker_extra_flag_check(value, err) : 0;
}

int symbi_extra_flags_check_config(const symbi_config_t *cfg, symbi_error_t *err)
{
	return symbi_docker_extra_flags_check(&cfg->extra_flags, cfg->backend, err);
}

int symbi_docker_extra_flags_check(const symbi_strlist_t *flags, symbi_backend_kind_t backend,
				   symbi_error_t *err)
{
	for (size_t i = 0; i < flags->len; i++) {
		const char *entry = flags->items[i];
		if (entry[0] != '-')
			return symbi_fail(err, SYMBI_E_SECURITY, 0,
					  "extra flag \"%.100s\" is refused: it is not a flag, nor the value "
					  "of one (it would be read as the image or the command)", entry);
		const struct flag_rule *rule;
		bool inline_value;
		if (check_flag(entry, backend, true, &rule, &inline_value, err) < 0)
			return -1;
		if (rule->takes_value && !inline_value) {
			if (i + 1 == flags->len)
				return symbi_fail(err, SYMBI_E_INVALID, 0,
						  "extra flag \"%.100s\" needs a value", entry);
			i++; /* the value, whatever it looks like */
			if (check_value(rule, flags->items[i], err) < 0)
				return -1;
		}
	}
	return 0;
}
