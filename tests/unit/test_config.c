/* Configuration: the reference's defaults, builders and validation, and the
 * flaws we fix (volume normalisation and symlinks, extra_flags). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <symbi/sandbox.h>

static symbi_config_t *cfg_new(void)
{
	symbi_config_t *cfg = symbi_config_new();
	assert_non_null(cfg);
	return cfg;
}

/* extra_flags and the named-volume fields mean something on docker only. */
static symbi_config_t *docker_cfg(void)
{
	symbi_config_t *cfg = cfg_new();
	symbi_error_t err = {0};
	assert_int_equal(symbi_config_set(cfg, "backend", "docker", &err), 0);
	return cfg;
}

static void test_defaults(void **state)
{
	(void)state;
	symbi_config_t *cfg = cfg_new();
	assert_string_equal(symbi_config_get_image(cfg), "python:3.12-slim");
	assert_string_equal(symbi_config_get_network_mode(cfg), "none");
	assert_string_equal(symbi_config_get_memory_limit(cfg), "512m");
	assert_true(symbi_config_get_cpu_limit(cfg) == 1.0);
	assert_int_equal(symbi_config_get_timeout_ms(cfg), 300000);
	assert_int_equal(symbi_config_get_max_output_bytes(cfg), 10 * 1024 * 1024);
	assert_int_equal(symbi_config_get_backend(cfg), SYMBI_BACKEND_NATIVE);
	symbi_config_free(cfg);
}

static void test_builders(void **state)
{
	(void)state;
	symbi_error_t err;
	symbi_config_t *cfg = symbi_config_for_image("node:20-alpine");
	assert_non_null(cfg);
	assert_int_equal(symbi_config_with_network(cfg, &err), 0);
	assert_int_equal(symbi_config_with_memory(cfg, "1g", &err), 0);
	assert_int_equal(symbi_config_with_cpu(cfg, 2.0, &err), 0);
	assert_int_equal(symbi_config_with_volume(cfg, "/data:/data:ro", &err), 0);
	assert_string_equal(symbi_config_get_image(cfg), "node:20-alpine");
	assert_string_equal(symbi_config_get_network_mode(cfg), "bridge");
	assert_string_equal(symbi_config_get_memory_limit(cfg), "1g");
	assert_true(symbi_config_get_cpu_limit(cfg) == 2.0);
	assert_int_equal(symbi_config_list_count(cfg, "volumes"), 1);
	assert_string_equal(symbi_config_list_get(cfg, "volumes", 0), "/data:/data:ro");
	symbi_config_free(cfg);
}

static void expect_volume_refused(const char *spec, const char *needle)
{
	symbi_error_t err = {0};
	symbi_config_t *cfg = cfg_new();
	assert_int_equal(symbi_config_with_volume(cfg, spec, &err), -1);
	if (!strstr(err.message, needle))
		fail_msg("volume %s: message \"%s\" lacks \"%s\"", spec, err.message, needle);
	assert_int_equal(symbi_config_list_count(cfg, "volumes"), 0);
	symbi_config_free(cfg);
}

static void test_volume_refusals(void **state)
{
	(void)state;
	expect_volume_refused("/var/run/docker.sock:/sock", "dangerous host path");
	expect_volume_refused("/etc:/data:ro", "dangerous host path");
	expect_volume_refused("/home/../etc:/mnt", "'..'");
	expect_volume_refused("/proc:/proc", "dangerous host path");
	expect_volume_refused("/data", "missing container path");
	expect_volume_refused(":/data", "empty host path");
	expect_volume_refused("/:/host", "host root");
	/* The reference's textual check let these through. */
	expect_volume_refused("//etc:/x", "\"/etc\"");
	expect_volume_refused("/./etc/:/x", "\"/etc\"");
	expect_volume_refused("/etc/./ssl//:/x", "\"/etc\"");
	expect_volume_refused("///:/x", "host root");
	expect_volume_refused("./data:/x", "neither an absolute host path");
	expect_volume_refused("~/data:/x", "neither an absolute host path");
	expect_volume_refused("/tmp:relative", "must be absolute");
	expect_volume_refused("/tmp:/x:shared", "unsupported mode");
	/* A parent of a dangerous path exposes it: /var holds /var/lib/docker. */
	expect_volume_refused("/var:/x", "dangerous host path");
	expect_volume_refused("/var/lib/:/x", "dangerous host path");
	expect_volume_refused("/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs:/x",
			      "\"/var/lib/containerd\"");
	/* The host's programs (its docker client), homes, spools, our state. */
	expect_volume_refused("/usr:/x", "\"/usr\"");
	expect_volume_refused("/usr/local/bin:/x", "\"/usr\"");
	expect_volume_refused("/home/someone:/x", "\"/home\"");
	expect_volume_refused("/var/spool/cron:/x", "\"/var/spool\"");
	expect_volume_refused("/var/lib/symbi-sandbox-test:/x", "\"/var/lib/symbi-sandbox-test\"");
	expect_volume_refused("/run/symbi-sandbox/volumes:/x", "\"/run\"");
}

/* The docker backends' volume policy fields. */
static void test_volume_policy_fields(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	symbi_config_t *cfg = symbi_config_new();
	assert_int_equal(symbi_config_load_json(cfg, "{\"allowed_named_volumes\": [\"cache\", \"pip-cache\"], "
						     "\"allow_writable_volume_paths\": true}", &err), 0);
	assert_int_equal(symbi_config_list_count(cfg, "allowed_named_volumes"), 2);
	assert_string_equal(symbi_config_list_get(cfg, "allowed_named_volumes", 1), "pip-cache");
	assert_int_equal(symbi_config_set(cfg, "allowed_named_volumes", "/etc", &err), -1);
	assert_int_equal(symbi_config_set(cfg, "allowed_named_volumes", "./x", &err), -1);
	assert_int_equal(symbi_config_set(cfg, "allow_writable_volume_paths", "maybe", &err), -1);
	symbi_config_t *copy = symbi_config_copy(cfg);
	assert_int_equal(symbi_config_list_count(copy, "allowed_named_volumes"), 2);
	assert_int_equal(symbi_config_clear_list(copy, "allowed_named_volumes", &err), 0);
	assert_int_equal(symbi_config_list_count(copy, "allowed_named_volumes"), 0);
	symbi_config_free(copy);
	symbi_config_free(cfg);
}

static void test_volume_symlinks(void **state)
{
	(void)state;
	char dir[] = "/tmp/symbi-unit-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char link[128], sub[256];
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink("/etc", link), 0);
	/* The link itself, a path beneath it, and a not-yet-existing path
	 * beneath it (docker would create it inside /etc). */
	snprintf(sub, sizeof(sub), "%s:/x", link);
	expect_volume_refused(sub, "after resolving symlinks");
	snprintf(sub, sizeof(sub), "%s/ssl:/x", link);
	expect_volume_refused(sub, "after resolving symlinks");
	snprintf(sub, sizeof(sub), "%s/newdir/deeper:/x", link);
	expect_volume_refused(sub, "after resolving symlinks");
	/* A symlink whose target has a ':' would change docker's split. */
	char colon_dir[128], colon_link[128];
	snprintf(colon_dir, sizeof(colon_dir), "%s/a:", dir);
	assert_int_equal(mkdir(colon_dir, 0700), 0);
	snprintf(colon_link, sizeof(colon_link), "%s/colon", dir);
	assert_int_equal(symlink(colon_dir, colon_link), 0);
	snprintf(sub, sizeof(sub), "%s:/x", colon_link);
	expect_volume_refused(sub, "contains ':'");
	unlink(colon_link);
	rmdir(colon_dir);
	/* A symlink to a harmless place is fine. */
	char ok_link[128];
	snprintf(ok_link, sizeof(ok_link), "%s/ok", dir);
	assert_int_equal(symlink(dir, ok_link), 0);
	snprintf(sub, sizeof(sub), "%s:/x:ro", ok_link);
	symbi_error_t err = {0};
	symbi_config_t *cfg = cfg_new();
	assert_int_equal(symbi_config_with_volume(cfg, sub, &err), 0);
	symbi_config_free(cfg);
	unlink(link);
	unlink(ok_link);
	rmdir(dir);
}

static void test_volume_allowed(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	symbi_config_t *cfg = cfg_new();
	assert_int_equal(symbi_config_with_volume(cfg, "myvol:/data", &err), 0);
	assert_int_equal(symbi_config_with_volume(cfg, "/srv/data:/data:ro", &err), 0);
	assert_int_equal(symbi_config_with_volume(cfg, "/etcetera:/x", &err), 0);
	symbi_config_free(cfg);
}

static void test_validate_catches_json_volume(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	symbi_config_t *cfg = cfg_new();
	/* JSON goes through the same checks as the builder. */
	assert_int_equal(symbi_config_load_json(cfg, "{\"volumes\": [\"/var/run/docker.sock:/sock\"]}", &err), -1);
	assert_non_null(strstr(err.message, "dangerous"));
	assert_int_equal(symbi_config_list_count(cfg, "volumes"), 0);
	symbi_config_free(cfg);
}

static void expect_flag(const char *flag, int expected, const char *needle)
{
	symbi_error_t err = {0};
	symbi_config_t *cfg = docker_cfg();
	int rc = symbi_config_set(cfg, "extra_flags", flag, &err);
	if (rc == 0)
		rc = symbi_config_validate(cfg, &err);
	if (rc != expected)
		fail_msg("extra flag %s: got %d (%s), expected %d", flag, rc, err.message, expected);
	if (needle && !strstr(err.message, needle))
		fail_msg("extra flag %s: message \"%s\" lacks \"%s\"", flag, err.message, needle);
	symbi_config_free(cfg);
}

static void test_extra_flags(void **state)
{
	(void)state;
	const char *refused[] = {
		"--privileged", "--cap-add=SYS_ADMIN", "--cap-add", "--security-opt=seccomp=unconfined",
		"--security-opt", "--pid=host", "--ipc=host", "--uts=host", "--userns=host",
		"--device=/dev/sda", "--device-read-bps=/dev/sda:1mb", "--mount=type=bind,src=/etc,dst=/x",
		"--volume=/etc:/x", "-v", "-v/etc:/x", "--volumes-from=other", "--network=host",
		"--net=host", "--memory=100g", "--pids-limit=-1", "--oom-kill-disable",
		"--read-only=false", "--env=SECRET=x", "--entrypoint=/bin/sh", "--cgroup-parent=/",
		"--sysctl=net.ipv4.ip_forward=1", "--tmpfs=/tmp:exec", "--gpus=all", "--whatever",
		"--publish=80:80", "-p", "--user=0",
		/* The daemon would keep or forward the output (syslog, gelf,
		 * fluentd reach the network whatever network_mode says). */
		"--log-driver=json-file", "--log-driver", "--log-opt=syslog-address=udp://10.0.0.1:514",
		/* Priority over the host's processes. */
		"--ulimit=rtprio=99", "--ulimit=nice=40",
		/* The init the sandbox always runs. */
		"--init=false",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		expect_flag(refused[i], -1, "refused");
	expect_flag("--label=a=b", 0, NULL);
	expect_flag("--init", 0, NULL);
	expect_flag("--pull=never", 0, NULL);
	expect_flag("--hostname=box", 0, NULL);
	expect_flag("--ulimit=nofile=1024:2048", 0, NULL);
}

static void test_extra_flag_pairs(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	symbi_config_t *cfg = docker_cfg();
	/* A split value is fine after a flag that takes one... */
	assert_int_equal(symbi_config_set(cfg, "extra_flags", "--label", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "extra_flags", "x=y", &err), 0);
	assert_int_equal(symbi_config_validate(cfg, &err), 0);
	/* ...but a bare word anywhere else would become the image. */
	assert_int_equal(symbi_config_set(cfg, "extra_flags", "alpine", &err), 0);
	assert_int_equal(symbi_config_validate(cfg, &err), -1);
	assert_non_null(strstr(err.message, "not a flag"));
	symbi_config_free(cfg);
	/* A split --ulimit value is checked like an inline one. */
	cfg = docker_cfg();
	assert_int_equal(symbi_config_set(cfg, "extra_flags", "--ulimit", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "extra_flags", "rtprio=99", &err), 0);
	assert_int_equal(symbi_config_validate(cfg, &err), -1);
	assert_non_null(strstr(err.message, "scheduling priority"));
	symbi_config_free(cfg);
	/* gVisor's runtime cannot be swapped. */
	cfg = cfg_new();
	assert_int_equal(symbi_config_set(cfg, "backend", "gvisor", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "extra_flags", "--runtime=runc", &err), 0);
	assert_int_equal(symbi_config_validate(cfg, &err), -1);
	assert_non_null(strstr(err.message, "gvisor backend sets the runtime"));
	symbi_config_free(cfg);
}

static void test_field_validation(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	symbi_config_t *cfg = cfg_new();
	const char *bad[][2] = {
		{"image", ""}, {"image", "--privileged"}, {"image", "a b"},
		{"memory_limit", "lots"}, {"memory_limit", "1k"}, {"memory_limit", "-5m"},
		{"cpu_limit", "0"}, {"cpu_limit", "nan"}, {"cpu_limit", "abc"},
		{"max_execution_time", "0"}, {"max_execution_time", "-1"},
		{"network_mode", "weird"}, {"network_mode", "container:"},
		{"network_mode", "container:a b"}, {"working_dir", "relative"},
		{"max_output_bytes", "0"}, {"pids_limit", "0"}, {"pids_limit", "x"},
		{"user", "root;rm"}, {"user", ":1"}, {"backend", "vmware"},
		{"auto_remove", "maybe"}, {"no_such_field", "1"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (symbi_config_set(cfg, bad[i][0], bad[i][1], &err) != -1)
			fail_msg("%s=%s was accepted", bad[i][0], bad[i][1]);
		assert_true(err.message[0] != '\0');
	}
	/* Unchanged by the failures. */
	assert_string_equal(symbi_config_get_image(cfg), "python:3.12-slim");
	assert_string_equal(symbi_config_get_memory_limit(cfg), "512m");
	const char *good[][2] = {
		{"memory_limit", "2g"}, {"memory_limit", "1.5GiB"}, {"cpu_limit", "0.5"},
		{"max_execution_time", "2.5"}, {"network_mode", "container:db"},
		{"user", "1000:1000"}, {"user", "nobody"}, {"max_output_bytes", "1m"},
		{"pids_limit", "64"}, {"backend", "gvisor"},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (symbi_config_set(cfg, good[i][0], good[i][1], &err) != 0)
			fail_msg("%s=%s was refused: %s", good[i][0], good[i][1], err.message);
	}
	assert_int_equal(symbi_config_get_timeout_ms(cfg), 2500);
	assert_int_equal(symbi_config_get_max_output_bytes(cfg), 1024 * 1024);
	symbi_config_free(cfg);
}

static void test_json_load(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	symbi_config_t *cfg = cfg_new();
	const char *json = "{\"image\": \"alpine:3\", \"shell\": \"bash\", \"memory_limit\": null,"
			   " \"cpu_limit\": 0.5, \"max_execution_time\": {\"secs\": 3, \"nanos\": 500000000},"
			   " \"network_mode\": \"none\", \"volumes\": [\"/srv:/srv:ro\"],"
			   " \"working_dir\": \"/w\", \"auto_remove\": true, \"docker_binary\": \"docker\","
			   " \"max_output_bytes\": 4096, \"extra_flags\": [\"--label\", \"k=v\"],"
			   " \"pids_limit\": 32, \"user\": \"1000\"}";
	assert_int_equal(symbi_config_load_json(cfg, json, &err), 0);
	assert_string_equal(symbi_config_get_image(cfg), "alpine:3");
	assert_null(symbi_config_get_memory_limit(cfg));
	assert_int_equal(symbi_config_get_timeout_ms(cfg), 3500);
	assert_int_equal(symbi_config_get_max_output_bytes(cfg), 4096);
	assert_int_equal(symbi_config_list_count(cfg, "extra_flags"), 2);
	/* All or nothing. */
	assert_int_equal(symbi_config_load_json(cfg, "{\"image\": \"b\", \"bogus\": 1}", &err), -1);
	assert_non_null(strstr(err.message, "bogus"));
	assert_string_equal(symbi_config_get_image(cfg), "alpine:3");
	assert_int_equal(symbi_config_load_json(cfg, "{\"cpu_limit\": \"x\"", &err), -1);
	assert_int_equal(symbi_config_load_json(cfg, "[1]", &err), -1);
	assert_int_equal(symbi_config_load_json(cfg, "{\"volumes\": \"/srv:/srv\"}", &err), -1);
	symbi_config_free(cfg);
}

static void test_deploy_env(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	symbi_deploy_env_t env;
	struct { const char *in; symbi_deploy_env_t out; } cases[] = {
		{"development", SYMBI_ENV_DEVELOPMENT}, {" Dev ", SYMBI_ENV_DEVELOPMENT},
		{"LOCAL", SYMBI_ENV_DEVELOPMENT}, {"", SYMBI_ENV_DEVELOPMENT},
		{"staging", SYMBI_ENV_STAGING}, {"stage", SYMBI_ENV_STAGING},
		{"Preview", SYMBI_ENV_STAGING}, {"production", SYMBI_ENV_PRODUCTION},
		{"\tPROD\n", SYMBI_ENV_PRODUCTION}, {"test", SYMBI_ENV_TEST}, {"ci", SYMBI_ENV_TEST},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(symbi_deploy_env_parse(cases[i].in, &env, &err), 0);
		assert_int_equal(env, cases[i].out);
	}
	assert_int_equal(symbi_deploy_env_parse(NULL, &env, &err), 0);
	assert_int_equal(env, SYMBI_ENV_DEVELOPMENT);
	assert_int_equal(symbi_deploy_env_parse("prodcution", &env, &err), -1);
	assert_string_equal(err.message,
			    "SYMBIONT_ENV has unknown value \"prodcution\"; allowed values are: "
			    "development, staging, production, test");
}

static void test_host_network_guard(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	symbi_config_t *cfg = cfg_new();
	assert_int_equal(symbi_config_set(cfg, "network_mode", "host", &err), 0);
	setenv("SYMBIONT_ENV", "production", 1);
	assert_int_equal(symbi_config_validate(cfg, &err), -1);
	assert_non_null(strstr(err.message, "disabled in production"));
	setenv("SYMBIONT_ENV", "prodcution", 1); /* a typo must fail closed */
	assert_int_equal(symbi_config_validate(cfg, &err), -1);
	assert_non_null(strstr(err.message, "SYMBIONT_ENV parse failed"));
	setenv("SYMBIONT_ENV", "development", 1);
	assert_int_equal(symbi_config_validate(cfg, &err), 0);
	/* Joining another container's network can mean the host's. */
	assert_int_equal(symbi_config_set(cfg, "network_mode", "container:hostnet", &err), 0);
	assert_int_equal(symbi_config_validate(cfg, &err), 0);
	setenv("SYMBIONT_ENV", "prod", 1);
	assert_int_equal(symbi_config_validate(cfg, &err), -1);
	assert_non_null(strstr(err.message, "disabled in production"));
	setenv("SYMBIONT_ENV", "prodcution", 1);
	assert_int_equal(symbi_config_validate(cfg, &err), -1);
	assert_non_null(strstr(err.message, "SYMBIONT_ENV parse failed"));
	unsetenv("SYMBIONT_ENV");
	symbi_config_free(cfg);
}

static void test_env_map(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	symbi_env_t *env = symbi_env_new();
	assert_int_equal(symbi_env_set(env, "A", "1", &err), 0);
	assert_int_equal(symbi_env_set(env, "A", "2", &err), 0);
	assert_int_equal(symbi_env_count(env), 1);
	assert_string_equal(symbi_env_value(env, 0), "2");
	assert_int_equal(symbi_env_set(env, "", "x", &err), -1);
	assert_int_equal(symbi_env_set(env, "A=B", "x", &err), -1);
	assert_int_equal(symbi_env_set(env, "A\nB", "x", &err), -1);
	assert_int_equal(symbi_env_set(env, "A\rB", "x", &err), -1);
	assert_int_equal(symbi_env_set(env, "BASH_FUNC_f%%", "() { id; }", &err), -1);
	assert_int_equal(symbi_env_set(env, "9LIVES", "x", &err), -1);
	assert_int_equal(symbi_env_set(env, "MULTI", "line1\nline2 'q' \"d\" $x", &err), 0);
	assert_int_equal(symbi_env_count(env), 2);
	symbi_env_free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_builders),
		cmocka_unit_test(test_volume_refusals),
		cmocka_unit_test(test_volume_policy_fields),
		cmocka_unit_test(test_volume_symlinks),
		cmocka_unit_test(test_volume_allowed),
		cmocka_unit_test(test_validate_catches_json_volume),
		cmocka_unit_test(test_extra_flags),
		cmocka_unit_test(test_extra_flag_pairs),
		cmocka_unit_test(test_field_validation),
		cmocka_unit_test(test_json_load),
		cmocka_unit_test(test_deploy_env),
		cmocka_unit_test(test_host_network_guard),
		cmocka_unit_test(test_env_map),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
