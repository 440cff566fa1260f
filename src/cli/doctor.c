/* `symbi-sandbox doctor`: what this host offers, which backends work, which
 * limits each enforces, and for every gap the command that fixes it. The
 * probing is the library's (symbi_host_probe, symbi_sandbox_new); this file
 * only prints. Exit status 0 when the default backend can run, 1 if not. */
#include "cli.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <symbi/sandbox.h>

#define MAX_FIXES 16

struct backend_report {
	const char *name;
	bool works;
	char detail[1024]; /* the error when it does not work */
	char limits[512];
	const char *fix;
};

struct report {
	symbi_host_info_t host;
	struct backend_report backends[4];
	const char *default_backend;
	bool default_works;
	const char *fixes[MAX_FIXES];
	int nfixes;
};

static void add_fix(struct report *r, const char *fix)
{
	if (fix && r->nfixes < MAX_FIXES)
		r->fixes[r->nfixes++] = fix;
}

/* Creates a sandbox of `backend` with `fields` (name/value pairs) and, if
 * `run`, executes `exit 0` in it: the backend works only if both succeed. */
static void try_backend(struct backend_report *b, const char *const *fields, bool run)
{
	symbi_error_t err = {0};
	symbi_config_t *cfg = symbi_config_new();
	symbi_sandbox_t *sb = NULL;
	symbi_result_t *res = NULL;
	b->works = false;
	if (!cfg) {
		snprintf(b->detail, sizeof(b->detail), "out of memory");
		return;
	}
	if (symbi_config_set(cfg, "backend", b->name, &err) < 0 ||
	    symbi_config_set(cfg, "max_execution_time", "10", &err) < 0)
		goto fail;
	for (int i = 0; fields && fields[i]; i += 2)
		if (symbi_config_set(cfg, fields[i], fields[i + 1], &err) < 0)
			goto fail;
	if (!(sb = symbi_sandbox_new(cfg, &err)))
		goto fail;
	if (run) {
		if (symbi_sandbox_execute(sb, "exit 0", 6, NULL, &res, &err) < 0)
			goto fail;
		if (res->status != SYMBI_STATUS_EXITED || res->exit_code != 0) {
			snprintf(b->detail, sizeof(b->detail), "a trial run failed: %s",
				 res->error ? res->error : symbi_status_name(res->status));
			goto done;
		}
	}
	b->works = true;
	snprintf(b->detail, sizeof(b->detail), "%s", run ? "a trial run succeeded" : "available");
	goto done;
fail:
	snprintf(b->detail, sizeof(b->detail), "%s", err.message);
done:
	symbi_result_free(res);
	symbi_sandbox_free(sb);
	symbi_config_free(cfg);
}

/* What b limits, and the fix to print if it does not work. */
static void describe(struct backend_report *b, const char *limits, const char *fix)
{
	snprintf(b->limits, sizeof(b->limits), "%s", limits);
	b->fix = b->works ? NULL : fix;
}

static void probe_backends(struct report *r)
{
	const symbi_host_info_t *h = &r->host;
	struct backend_report *native = &r->backends[0], *process = &r->backends[1],
			      *docker = &r->backends[2], *gvisor = &r->backends[3];
	native->name = "native";
	try_backend(native, NULL, true);
	/* Without cgroups the native backend refuses memory and pids limits
	 * unless weak_limits accepts rlimits: say which applies here. */
	bool weak = !h->is_root && (!h->cgroup_memory || !h->cgroup_pids);
	if (weak && !native->works) {
		struct backend_report with_weak = {.name = "native"};
		const char *fields[] = {"weak_limits", "true", NULL};
		try_backend(&with_weak, fields, true);
		if (with_weak.works)
			snprintf(native->detail, sizeof(native->detail),
				 "refuses to run with memory or pids limits: no cgroup can be made, so "
				 "they cannot be totals; runs with --weak-limits (per-process rlimits)");
	}
	snprintf(native->limits, sizeof(native->limits),
		 "wall clock; memory (%s); processes (%s); cpu (%s); file size, open files, no "
		 "core dumps (rlimits); namespaces, fresh root, no capabilities, seccomp",
		 h->cgroup_memory ? "cgroup, oom reported"
			 : "no cgroup: refused, or RLIMIT_AS per process with --weak-limits",
		 h->cgroup_pids ? "cgroup"
			 : "no cgroup: refused, or RLIMIT_NPROC per process with --weak-limits",
		 h->cgroup_cpu ? "cgroup" : "not enforced");
	native->fix = !h->namespaces
			      ? "namespaces: run on a host or VM (not inside an unprivileged container), "
				"or use --backend docker"
		      : !h->is_root && !h->user_namespaces
			      ? "user namespaces: sysctl -w user.max_user_namespaces=15000 (on Ubuntu also "
				"sysctl -w kernel.apparmor_restrict_unprivileged_userns=0), or run as root"
			      : NULL;

	/* The process backend refuses an empty allowlist; a throw-away
	 * working directory keeps the check from leaving one behind. */
	char dir[] = "/tmp/symbi-doctor.XXXXXX";
	process->name = "process";
	if (mkdtemp(dir)) {
		const char *fields[] = {"executable", "sh", "allowed_executables", "sh",
					"working_directory", dir, NULL};
		try_backend(process, fields, true);
		rmdir(dir);
	} else {
		snprintf(process->detail, sizeof(process->detail), "cannot create a temporary directory");
	}
	describe(process, "wall clock; RLIMIT_AS, RLIMIT_CPU, RLIMIT_FSIZE; process-group kill; NO isolation",
		 "process: refused in production unless SYMBIONT_ALLOW_UNISOLATED=1 (prefer the native "
		 "backend)");

	docker->name = "docker";
	try_backend(docker, NULL, false);
	describe(docker,
		 "wall clock; memory (oom reported); cpus; pids; read-only root; no capabilities; "
		 "the native backend's seccomp allow list",
		 "docker: install docker.io and start dockerd (scripts/setup starts a test daemon)");
	gvisor->name = "gvisor";
	try_backend(gvisor, NULL, false);
	describe(gvisor, "as docker, plus gVisor's user-space kernel",
		 "gvisor: install runsc and register it as a runtime in /etc/docker/daemon.json, then "
		 "restart dockerd");

	symbi_config_t *cfg = symbi_config_new();
	symbi_backend_kind_t kind = cfg ? symbi_config_get_backend(cfg) : SYMBI_BACKEND_DOCKER;
	symbi_config_free(cfg);
	r->default_backend = kind == SYMBI_BACKEND_NATIVE    ? "native"
			     : kind == SYMBI_BACKEND_PROCESS ? "process"
			     : kind == SYMBI_BACKEND_GVISOR  ? "gvisor"
							     : "docker";
	for (int i = 0; i < 4; i++) {
		if (strcmp(r->backends[i].name, r->default_backend) == 0)
			r->default_works = r->backends[i].works;
		if (!r->backends[i].works)
			add_fix(r, r->backends[i].fix);
	}
	if (h->namespaces && (!h->cgroup_memory || !h->cgroup_pids || !h->cgroup_cpu))
		add_fix(r, "cgroups: run as root, or on a cgroup v2 host from a leaf cgroup of a "
			   "subtree delegated to this user (systemd-run --user --scope -p "
			   "Delegate=yes, then move into a child cgroup of the scope), so that "
			   "memory, pids and cpu limits use cgroups (without them the native backend "
			   "refuses memory and pids limits unless --weak-limits accepts per-process "
			   "rlimits)");
	if (!h->seccomp)
		add_fix(r, "seccomp: use a kernel built with CONFIG_SECCOMP_FILTER=y");
	if (!h->run_identity)
		add_fix(r, "run identity: apt-get install uidmap, then give yourself subordinate ids "
			   "(usermod --add-subuids 200000-265535 --add-subgids 200000-265535 USER), "
			   "or run as root, so that each native run gets a host uid of its own");
	if (!h->landlock_abi)
		add_fix(r, "landlock (not used yet; optional): boot with lsm=landlock,... on the kernel "
			   "command line");
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

static void print_table(const struct report *r)
{
	const symbi_host_info_t *h = &r->host;
	char cg[64];
	snprintf(cg, sizeof(cg), "%s", h->cgroup_version == 0 ? "none"
				       : h->cgroup_version == 1 ? "v1" : "v2");
	printf("Host\n");
	printf("  %-18s %-6s %s\n", "kernel", "", h->kernel);
	printf("  %-18s %-6s\n", "root", yes_no(h->is_root));
	printf("  %-18s %-6s %s\n", "namespaces", yes_no(h->namespaces), h->namespaces_detail);
	printf("  %-18s %-6s %s\n", "user namespaces", yes_no(h->user_namespaces),
	       h->user_namespaces_detail);
	printf("  %-18s %-6s %s\n", "run identity", h->run_identity ? "own" : "SHARED",
	       h->run_identity_detail);
	printf("  %-18s %-6s %s\n", "cgroups", cg, h->cgroup_detail);
	printf("  %-18s %-6s\n", "  memory", yes_no(h->cgroup_memory));
	printf("  %-18s %-6s\n", "  pids", yes_no(h->cgroup_pids));
	printf("  %-18s %-6s\n", "  cpu", yes_no(h->cgroup_cpu));
	printf("  %-18s %-6s libseccomp %s\n", "seccomp", yes_no(h->seccomp), h->libseccomp_version);
	if (h->landlock_abi)
		printf("  %-18s %-6s ABI %d (not used yet)\n", "landlock", "yes", h->landlock_abi);
	else
		printf("  %-18s %-6s\n", "landlock", "no");
	printf("\nBackends\n");
	for (int i = 0; i < 4; i++) {
		const struct backend_report *b = &r->backends[i];
		printf("  %-8s %-4s %s%s\n", b->name, b->works ? "ok" : "NO",
		       strcmp(b->name, r->default_backend) == 0 ? "(default) " : "", b->detail);
		printf("  %-8s %-4s limits: %s\n", "", "", b->limits);
	}
	if (r->nfixes) {
		printf("\nFixes\n");
		for (int i = 0; i < r->nfixes; i++)
			printf("  - %s\n", r->fixes[i]);
	}
	printf("\nThe default backend (%s) %s.\n", r->default_backend,
	       r->default_works ? "works" : "CANNOT run on this host");
}

static int print_json(const struct report *r)
{
	const symbi_host_info_t *h = &r->host;
	json_t *controllers = json_pack("{s:b,s:b,s:b}", "memory", h->cgroup_memory, "pids",
					h->cgroup_pids, "cpu", h->cgroup_cpu);
	json_t *host = json_pack(
		"{s:s,s:b,s:{s:b,s:s},s:{s:b,s:s},s:{s:b,s:s},s:{s:i,s:o,s:s},s:{s:b,s:s},"
		"s:{s:b,s:i}}",
		"kernel", h->kernel, "root", h->is_root, "namespaces", "available", h->namespaces,
		"detail", h->namespaces_detail, "user_namespaces", "available", h->user_namespaces,
		"detail", h->user_namespaces_detail, "run_identity", "per_run", h->run_identity,
		"detail", h->run_identity_detail, "cgroups", "version", h->cgroup_version,
		"controllers", controllers, "detail", h->cgroup_detail, "seccomp", "available",
		h->seccomp, "libseccomp", h->libseccomp_version, "landlock", "available",
		h->landlock_abi > 0, "abi", h->landlock_abi);
	json_t *backends = json_array();
	for (int i = 0; i < 4; i++) {
		const struct backend_report *b = &r->backends[i];
		json_array_append_new(backends,
				      json_pack("{s:s,s:b,s:b,s:s,s:s}", "name", b->name, "works",
						b->works, "default",
						strcmp(b->name, r->default_backend) == 0, "detail",
						b->detail, "limits", b->limits));
	}
	json_t *fixes = json_array();
	for (int i = 0; i < r->nfixes; i++)
		json_array_append_new(fixes, json_string(r->fixes[i]));
	json_t *root = json_pack("{s:o,s:o,s:s,s:b,s:o}", "host", host, "backends", backends,
				 "default_backend", r->default_backend, "default_works",
				 r->default_works, "fixes", fixes);
	char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	if (!text) {
		fprintf(stderr, "symbi-sandbox doctor: out of memory\n");
		return CLI_EXIT_SANDBOX_FAILED;
	}
	printf("%s\n", text);
	free(text);
	return 0;
}

static void doctor_usage(FILE *out)
{
	fputs("Usage: symbi-sandbox doctor [--json]\n"
	      "\n"
	      "Reports what this host offers (namespaces, user namespaces, cgroups and their\n"
	      "controllers, seccomp, landlock), which backends work (each is tried), which\n"
	      "limits each enforces, and how to fix each gap.\n"
	      "\n"
	      "  --json      one JSON object instead of the table\n"
	      "  -h, --help  show this help\n"
	      "\n"
	      "Exit status: 0 if the default backend can run here, 1 if not.\n",
	      out);
}

int cli_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool json = false;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'j') {
			json = true;
		} else if (opt == 'h') {
			doctor_usage(stdout);
			return 0;
		} else {
			doctor_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		doctor_usage(stderr);
		return 2;
	}
	struct report r;
	memset(&r, 0, sizeof(r));
	symbi_error_t err = {0};
	if (symbi_host_probe(&r.host, &err) < 0) {
		fprintf(stderr, "symbi-sandbox doctor: %s\n", err.message);
		return CLI_EXIT_SANDBOX_FAILED;
	}
	probe_backends(&r);
	if (json) {
		int rc = print_json(&r);
		if (rc)
			return rc;
	} else {
		print_table(&r);
	}
	return r.default_works ? 0 : 1;
}
