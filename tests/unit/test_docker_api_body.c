/* The Engine API's create request, translated from our docker run command
 * line (docker_api_body.c): every flag docker_argv.c writes is known, each
 * lands in the field the docker CLI puts it in, variables keep their
 * values out of argv, and a flag the translation does not know makes it
 * decline (the run then goes through the CLI).
 *
 * With SYMBI_API_EQUIV_IMAGE set (tests/integration/docker_api_equiv.sh),
 * the same command lines also create real containers both ways, through
 * `docker create` and through the API, and the daemon's record of the
 * two (Config and HostConfig) must be identical. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/backend.h"
#include "core/supervise.h"
#include "backends/docker.h"
#include "backends/docker_api.h"

static const symbi_strlist_t no_list;

struct case_ {
	symbi_config_t *cfg;
	symbi_env_t *env;
	symbi_strlist_t argv, envp;
	char *profile;
	symbi_docker_create_t create;
};

static int build(struct case_ *c, const char *name, const char *image, symbi_error_t *err)
{
	symbi_docker_run_plan_t plan = {.name = name, .image = image, .image_volumes = &no_list,
					.deadline = 1234567890, .owner = "boot/1/2/3"};
	symbi_exec_request_t req = {.code = "echo hi", .code_len = 7, .env = c->env,
				    .stdin_data = "in", .stdin_len = 2, .cancel_fd = -1};
	if (symbi_docker_build_run_argv(c->cfg, &plan, &req, &c->argv, err) < 0 ||
	    symbi_docker_build_client_env(c->env, &c->envp, err) < 0)
		return -1;
	if (c->cfg->backend != SYMBI_BACKEND_GVISOR && !(c->profile = symbi_docker_seccomp_profile(err)))
		return -1;
	return symbi_docker_create_body(&c->argv, c->envp.items, c->profile, &c->create, err);
}

static void release(struct case_ *c)
{
	json_decref(c->create.body);
	free(c->profile);
	symbi_strlist_clear(&c->argv);
	symbi_strlist_clear(&c->envp);
	symbi_env_free(c->env);
	symbi_config_free(c->cfg);
}

/* The configurations under test: the defaults, with variables, a user and
 * every extra flag the translation knows; and gVisor. */
static void setup_case(struct case_ *c, int which, const char *image)
{
	symbi_error_t err;
	memset(c, 0, sizeof(*c));
	c->cfg = symbi_config_for_image(image);
	c->env = symbi_env_new();
	assert_non_null(c->cfg);
	assert_int_equal(symbi_env_set(c->env, "SECRET", "hunter2 with spaces\nand=a newline", &err), 0);
	if (which >= 1) {
		assert_int_equal(symbi_config_set(c->cfg, "user", "1000:1000", &err), 0);
		assert_int_equal(symbi_config_set(c->cfg, "memory_limit", "96m", &err), 0);
		assert_int_equal(symbi_config_set(c->cfg, "cpu_limit", "0.5", &err), 0);
		const char *flags[] = {"--label", "team=x", "--label=plain", "--hostname", "box",
				       "--init=true", "--ulimit", "nofile=100:200"};
		for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
			assert_int_equal(symbi_config_set(c->cfg, "extra_flags", flags[i], &err), 0);
	}
	if (which == 2)
		assert_int_equal(symbi_config_set(c->cfg, "backend", "gvisor", &err), 0);
}

static json_t *host_of(const struct case_ *c)
{
	return json_object_get(c->create.body, "HostConfig");
}

static void test_every_flag_lands(void **state)
{
	(void)state;
	struct case_ c;
	symbi_error_t err = {0};
	setup_case(&c, 0, "img:1");
	assert_int_equal(build(&c, "symbi-t", "img:1", &err), 0);
	json_t *b = c.create.body, *h = host_of(&c);
	assert_string_equal(c.create.name, "symbi-t");
	assert_true(c.create.attach_stdin);
	assert_false(c.create.detached);
	assert_string_equal(json_string_value(json_object_get(b, "Image")), "img:1");
	assert_true(json_is_true(json_object_get(b, "OpenStdin")));
	assert_true(json_is_true(json_object_get(b, "StdinOnce")));
	assert_true(json_is_true(json_object_get(b, "AttachStdout")));
	assert_false(json_is_true(json_object_get(b, "Tty")));
	assert_string_equal(json_string_value(json_object_get(b, "WorkingDir")), "/workspace");
	json_t *labels = json_object_get(b, "Labels");
	assert_string_equal(json_string_value(json_object_get(labels, SYMBI_DOCKER_LABEL)), "1");
	assert_string_equal(json_string_value(json_object_get(labels, SYMBI_DOCKER_LABEL_DEADLINE)),
			    "1234567890");
	assert_string_equal(json_string_value(json_object_get(labels, SYMBI_DOCKER_LABEL_OWNER)),
			    "boot/1/2/3");
	assert_int_equal(json_integer_value(json_object_get(h, "Memory")), 512 << 20);
	assert_int_equal(json_integer_value(json_object_get(h, "MemorySwap")), 512 << 20);
	assert_int_equal(json_integer_value(json_object_get(h, "NanoCpus")), 1000000000);
	assert_int_equal(json_integer_value(json_object_get(h, "PidsLimit")), 256);
	assert_string_equal(json_string_value(json_object_get(h, "NetworkMode")), "none");
	assert_string_equal(json_string_value(json_object_get(h, "CgroupnsMode")), "private");
	assert_true(json_is_true(json_object_get(h, "ReadonlyRootfs")));
	assert_true(json_is_true(json_object_get(h, "Init")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(h, "LogConfig"), "Type")),
			    "none");
	json_t *tmpfs = json_object_get(h, "Tmpfs");
	assert_string_equal(json_string_value(json_object_get(tmpfs, "/tmp")), "rw,noexec,nosuid,size=100m");
	assert_string_equal(json_string_value(json_object_get(tmpfs, "/dev")),
			    "rw,nosuid,dev,noexec,size=1m,mode=755");
	assert_non_null(json_object_get(tmpfs, "/dev/shm"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(h, "CapDrop"), 0)), "ALL");
	json_t *opts = json_object_get(h, "SecurityOpt");
	assert_int_equal(json_array_size(opts), 2);
	assert_string_equal(json_string_value(json_array_get(opts, 0)), "no-new-privileges");
	/* The profile itself, as the CLI sends what the file holds. */
	const char *seccomp = json_string_value(json_array_get(opts, 1));
	assert_int_equal(strncmp(seccomp, "seccomp=", 8), 0);
	assert_string_equal(seccomp + 8, c.profile);
	/* The variable's value, renamed, exactly; the command line is the
	 * CLI's, from the image on. */
	json_t *env = json_object_get(b, "Env");
	assert_int_equal(json_array_size(env), 1);
	assert_string_equal(json_string_value(json_array_get(env, 0)),
			    "SYMBI_ENV_SECRET=hunter2 with spaces\nand=a newline");
	json_t *cmd = json_object_get(b, "Cmd");
	size_t image_at = 0;
	while (strcmp(c.argv.items[image_at], "img:1") != 0)
		image_at++;
	assert_int_equal(json_array_size(cmd), c.argv.len - image_at - 1);
	for (size_t i = 0; i < json_array_size(cmd); i++)
		assert_string_equal(json_string_value(json_array_get(cmd, i)), c.argv.items[image_at + 1 + i]);
	release(&c);
}

static void test_extra_flags_and_gvisor(void **state)
{
	(void)state;
	struct case_ c;
	symbi_error_t err = {0};
	setup_case(&c, 1, "img");
	assert_int_equal(build(&c, "n", "img", &err), 0);
	json_t *b = c.create.body, *h = host_of(&c);
	assert_string_equal(json_string_value(json_object_get(b, "User")), "1000:1000");
	assert_string_equal(json_string_value(json_object_get(b, "Hostname")), "box");
	assert_string_equal(json_string_value(json_object_get(json_object_get(b, "Labels"), "team")), "x");
	assert_string_equal(json_string_value(json_object_get(json_object_get(b, "Labels"), "plain")), "");
	assert_int_equal(json_integer_value(json_object_get(h, "Memory")), 96 << 20);
	assert_int_equal(json_integer_value(json_object_get(h, "NanoCpus")), 500000000);
	json_t *u = json_array_get(json_object_get(h, "Ulimits"), 0);
	assert_string_equal(json_string_value(json_object_get(u, "Name")), "nofile");
	assert_int_equal(json_integer_value(json_object_get(u, "Soft")), 100);
	assert_int_equal(json_integer_value(json_object_get(u, "Hard")), 200);
	release(&c);

	setup_case(&c, 2, "img");
	assert_int_equal(build(&c, "n", "img", &err), 0);
	h = host_of(&c);
	assert_string_equal(json_string_value(json_object_get(h, "Runtime")), "runsc");
	/* gVisor keeps its own syscall filter: no profile is sent. */
	json_t *opts = json_object_get(h, "SecurityOpt");
	assert_int_equal(json_array_size(opts), 1);
	assert_string_equal(json_string_value(json_array_get(opts, 0)), "no-new-privileges");
	/* The process limit is an nproc ulimit, the host's a backstop. */
	bool nproc = false;
	json_t *lim;
	size_t i;
	json_array_foreach(json_object_get(h, "Ulimits"), i, lim)
		nproc |= strcmp(json_string_value(json_object_get(lim, "Name")), "nproc") == 0 &&
			 json_integer_value(json_object_get(lim, "Soft")) == 256;
	assert_true(nproc);
	assert_int_equal(json_integer_value(json_object_get(h, "PidsLimit")), SYMBI_GVISOR_HOST_PIDS(256));
	release(&c);
}

/* An allowed extra flag the translation does not know: the run goes
 * through the CLI (1), with nothing to free. */
static void test_unknown_flag_declines(void **state)
{
	(void)state;
	const char *unknown[] = {"--health-cmd", "--dns", "--platform", "--no-healthcheck"};
	for (size_t k = 0; k < sizeof(unknown) / sizeof(unknown[0]); k++) {
		struct case_ c;
		symbi_error_t err = {0};
		setup_case(&c, 0, "img");
		assert_int_equal(symbi_config_set(c.cfg, "extra_flags", unknown[k], &err), 0);
		if (strcmp(unknown[k], "--no-healthcheck") != 0)
			assert_int_equal(symbi_config_set(c.cfg, "extra_flags", "v", &err), 0);
		assert_int_equal(build(&c, "n", "img", &err), 1);
		assert_null(c.create.body);
		release(&c);
	}
}

/* Malformed command lines are errors, not crashes. */
static void test_malformed(void **state)
{
	(void)state;
	const char *lines[][6] = {
		{"docker", "ps", NULL},
		{"docker", "run", "--name", NULL},
		{"docker", "run", "--name", "n", NULL},        /* no image */
		{"docker", "run", "--memory", "lots", "img", NULL},
		{"docker", "run", "--cpus", "-1", "img", NULL},
		{"docker", "run", "--ulimit", "nofile", "img", NULL},
		{"docker", "run", "--init=maybe", "img", NULL},
		{"docker", "run", "img", NULL},               /* no name */
	};
	for (size_t k = 0; k < sizeof(lines) / sizeof(lines[0]); k++) {
		symbi_strlist_t argv = {0};
		for (size_t i = 0; lines[k][i]; i++)
			assert_int_equal(symbi_strlist_push(&argv, lines[k][i]), 0);
		symbi_docker_create_t create;
		symbi_error_t err = {0};
		assert_int_equal(symbi_docker_create_body(&argv, NULL, "{}", &create, &err), -1);
		assert_null(create.body);
		assert_true(err.message[0] != '\0');
		symbi_strlist_clear(&argv);
	}
}

/* An image name that is not a plain reference never reaches a request
 * path (where "../" would make it another endpoint's): the CLI words the
 * refusal. The engine here is empty, so a request would crash. */
static void test_image_names_stay_in_their_path(void **state)
{
	(void)state;
	symbi_engine_t empty;
	memset(&empty, 0, sizeof(empty));
	const char *names[] = {"../containers/x", "a/../../containers/x", "/abs", "./x", "x?all=1",
			       "x#y", "x y", "x%2e%2e", "a/.hidden", ""};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char out[64];
		symbi_error_t err = {0};
		assert_int_equal(symbi_docker_api_image(&empty, names[i], out, sizeof(out), &err), 1);
	}
}

/* --- against the real daemon ------------------------------------------ */

/* The daemon's record of a container, without what differs by nature
 * between two containers (ids, names, dates, the generated hostname). */
static json_t *record(const symbi_engine_t *e, const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "/containers/%s/json", name);
	json_t *reply = NULL;
	symbi_error_t err;
	assert_int_equal(symbi_engine_request(e, "GET", path, NULL, &reply, &err), 200);
	json_t *r = json_pack("{s:O,s:O}", "Config", json_object_get(reply, "Config"), "HostConfig",
			      json_object_get(reply, "HostConfig"));
	json_object_del(json_object_get(r, "Config"), "Hostname");
	json_decref(reply);
	return r;
}

/* Prints the fields of a and b (objects) that differ, cut short. */
static void print_differences(const char *what, json_t *a, json_t *b)
{
	const char *key;
	json_t *va;
	json_object_foreach(a, key, va) {
		json_t *vb = json_object_get(b, key);
		if (json_equal(va, vb))
			continue;
		char *ta = json_dumps(va, JSON_ENCODE_ANY | JSON_COMPACT);
		char *tb = vb ? json_dumps(vb, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
		fprintf(stderr, "%s.%s: CLI %.300s, API %.300s\n", what, key, ta ? ta : "?",
			tb ? tb : "(absent)");
		free(ta);
		free(tb);
	}
	json_object_foreach(b, key, va)
		if (!json_object_get(a, key))
			fprintf(stderr, "%s.%s: absent from the CLI's\n", what, key);
}

static void create_both_ways(int which, const char *image)
{
	symbi_engine_t e;
	symbi_error_t err = {0};
	assert_int_equal(symbi_engine_open(&e, &err), 0);
	struct case_ c;
	setup_case(&c, which, image);
	char cli_name[64], api_name[64];
	assert_int_equal(symbi_docker_container_name(cli_name, sizeof(cli_name), &err), 0);
	assert_int_equal(symbi_docker_container_name(api_name, sizeof(api_name), &err), 0);
	/* --hostname box in case 1 is the same on both: compared then. */
	assert_int_equal(build(&c, api_name, image, &err), 0);
	char path[128];
	snprintf(path, sizeof(path), "/containers/create?name=%s", api_name);
	json_t *reply = NULL;
	long status = symbi_engine_request(&e, "POST", path, c.create.body, &reply, &err);
	json_decref(reply);
	assert_int_equal(status, 201);
	/* The CLI's, from the same line: `docker create`, the profile from a
	 * file as the CLI reads fd 3. */
	char profile_path[] = "/tmp/symbi-api-equiv-XXXXXX";
	int fd = mkstemp(profile_path);
	assert_true(fd >= 0);
	if (c.profile)
		assert_int_equal(write(fd, c.profile, strlen(c.profile)), (ssize_t)strlen(c.profile));
	close(fd);
	char seccomp_opt[128];
	snprintf(seccomp_opt, sizeof(seccomp_opt), "seccomp=%s", profile_path);
	free(c.argv.items[1]);
	c.argv.items[1] = strdup("create");
	for (size_t i = 0; i < c.argv.len; i++) {
		if (strcmp(c.argv.items[i], api_name) == 0) {
			free(c.argv.items[i]);
			c.argv.items[i] = strdup(cli_name);
		} else if (strcmp(c.argv.items[i], SYMBI_DOCKER_SECCOMP_OPT) == 0) {
			free(c.argv.items[i]);
			c.argv.items[i] = strdup(seccomp_opt);
		}
	}
	char errbuf[4096] = "";
	int ws = symbi_run_quiet("docker", c.argv.items, c.envp.items, 60000, errbuf, sizeof(errbuf), &err);
	unlink(profile_path);
	if (ws != 0)
		fprintf(stderr, "docker create: %s\n", errbuf);
	json_t *cli = ws == 0 ? record(&e, cli_name) : NULL;
	json_t *api = record(&e, api_name);
	bool same = cli && json_equal(cli, api);
	if (!same && cli) {
		fprintf(stderr, "case %d: the two containers differ\n", which);
		print_differences("Config", json_object_get(cli, "Config"), json_object_get(api, "Config"));
		print_differences("HostConfig", json_object_get(cli, "HostConfig"),
				  json_object_get(api, "HostConfig"));
	}
	json_decref(cli);
	json_decref(api);
	symbi_docker_api_remove(&e, cli_name);
	symbi_docker_api_remove(&e, api_name);
	release(&c);
	symbi_engine_close(&e);
	assert_int_equal(ws, 0);
	assert_true(same);
}

static void test_daemon_records_the_same(void **state)
{
	(void)state;
	const char *image = getenv("SYMBI_API_EQUIV_IMAGE");
	for (int which = 0; which < 3; which++) {
		if (which == 2 && !getenv("SYMBI_API_EQUIV_GVISOR"))
			continue;
		create_both_ways(which, image);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_flag_lands),
		cmocka_unit_test(test_extra_flags_and_gvisor),
		cmocka_unit_test(test_unknown_flag_declines),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_image_names_stay_in_their_path),
	};
	/* The daemon's part runs from tests/integration/docker_api_equiv.sh,
	 * which requires the engine (and fails without it). */
	const struct CMUnitTest daemon_tests[] = {
		cmocka_unit_test(test_daemon_records_the_same),
	};
	const char *image = getenv("SYMBI_API_EQUIV_IMAGE");
	if (image && image[0])
		return cmocka_run_group_tests(daemon_tests, NULL, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
