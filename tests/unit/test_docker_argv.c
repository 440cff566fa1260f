/* How the docker command line is built (no engine needed): hardening flags
 * present, environment values never in argv, every variable renamed past
 * the client, env keys identifiers, the sandbox's labels protected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

#include "core/backend.h"
#include "backends/docker.h"
#include "core/stream.h"

static bool argv_has(const symbi_strlist_t *l, const char *a, const char *b)
{
	for (size_t i = 0; i < l->len; i++)
		if (strcmp(l->items[i], a) == 0 && (!b || (i + 1 < l->len && strcmp(l->items[i + 1], b) == 0)))
			return true;
	return false;
}

static ssize_t argv_index(const symbi_strlist_t *l, const char *a)
{
	for (size_t i = 0; i < l->len; i++)
		if (strcmp(l->items[i], a) == 0)
			return (ssize_t)i;
	return -1;
}

static const symbi_strlist_t no_list;

static symbi_docker_run_plan_t plan_for(const char *name, const char *image)
{
	return (symbi_docker_run_plan_t){.name = name, .image = image, .image_volumes = &no_list,
					 .volumes = NULL, .deadline = 1234567890,
					 .owner = "boot/1/2/3"};
}

static void test_hardening_flags(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	symbi_config_t *cfg = symbi_config_for_image("img:1");
	symbi_strlist_t argv = {0};
	symbi_exec_request_t req = {.code = "x", .code_len = 1, .cancel_fd = -1};
	symbi_docker_run_plan_t plan = plan_for("symbi-test", "img:1");
	assert_int_equal(symbi_docker_build_run_argv(cfg, &plan, &req, &argv, &err), 0);
	assert_string_equal(argv.items[0], "docker");
	assert_string_equal(argv.items[1], "run");
	assert_true(argv_has(&argv, "--memory", "512m"));
	assert_true(argv_has(&argv, "--memory-swap", "512m"));
	assert_true(argv_has(&argv, "--cpus", "1"));
	assert_true(argv_has(&argv, "--pids-limit", "256"));
	assert_true(argv_has(&argv, "--network", "none"));
	assert_true(argv_has(&argv, "--cgroupns", "private"));
	assert_true(argv_has(&argv, "--workdir", "/workspace"));
	assert_true(argv_has(&argv, "--read-only", NULL));
	assert_true(argv_has(&argv, "--tmpfs", "/tmp:rw,noexec,nosuid,size=100m"));
	assert_true(argv_has(&argv, "--security-opt", "no-new-privileges"));
	/* our allow list, read by the client from its fd 3 */
	assert_true(argv_has(&argv, "--security-opt", "seccomp=/proc/self/fd/3"));
	assert_true(argv_has(&argv, "--cap-drop", "ALL"));
	assert_true(argv_has(&argv, "--name", "symbi-test"));
	assert_true(argv_has(&argv, "--label", SYMBI_DOCKER_LABEL "=1"));
	assert_true(argv_has(&argv, "--label", SYMBI_DOCKER_LABEL_DEADLINE "=1234567890"));
	assert_true(argv_has(&argv, "--label", SYMBI_DOCKER_LABEL_OWNER "=boot/1/2/3"));
	assert_true(argv_has(&argv, "--tmpfs", "/dev:rw,nosuid,dev,noexec,size=1m,mode=755"));
	assert_true(argv_has(&argv, "--tmpfs", "/dev/shm:rw,noexec,nosuid,nodev,size=64m"));
	assert_false(argv_has(&argv, "--rm", NULL)); /* we remove it after inspecting */
	/* The image comes after every flag, then the bootstrap and the shell;
	 * the code itself is not in argv at all. */
	ssize_t image = argv_index(&argv, "img:1");
	assert_true(image > 0);
	assert_string_equal(argv.items[image + 1], "/bin/sh");
	assert_string_equal(argv.items[argv.len - 1], "sh");
	assert_int_equal(argv_index(&argv, "x"), -1);
	symbi_strlist_clear(&argv);
	symbi_config_free(cfg);
}

static void test_env_values_not_in_argv(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	symbi_config_t *cfg = symbi_config_new();
	symbi_env_t *env = symbi_env_new();
	assert_int_equal(symbi_env_set(env, "SECRET", "hunter2 with spaces\nand a newline", &err), 0);
	assert_int_equal(symbi_env_set(env, "PATH", "/custom/bin", &err), 0);
	assert_int_equal(symbi_env_set(env, "HOME", "/workspace", &err), 0);
	symbi_strlist_t argv = {0}, envp = {0};
	symbi_exec_request_t req = {.code = "", .env = env, .cancel_fd = -1};
	symbi_docker_run_plan_t plan = plan_for("n", "img");
	assert_int_equal(symbi_docker_build_run_argv(cfg, &plan, &req, &argv, &err), 0);
	/* Every variable is renamed past the client, HOME and PATH included,
	 * and named back by the bootstrap. */
	assert_true(argv_has(&argv, "-e", "SYMBI_ENV_SECRET"));
	assert_true(argv_has(&argv, "-e", "SYMBI_ENV_PATH"));
	assert_true(argv_has(&argv, "-e", "SYMBI_ENV_HOME"));
	assert_false(argv_has(&argv, "-e", "PATH"));
	assert_false(argv_has(&argv, "-e", "HOME"));
	assert_non_null(strstr(argv.items[argv.len - 2],
			       "PATH=$SYMBI_ENV_PATH; export PATH; unset SYMBI_ENV_PATH; "));
	for (size_t i = 0; i < argv.len; i++)
		assert_null(strstr(argv.items[i], "hunter2"));
	assert_int_equal(symbi_docker_build_client_env(env, &envp, &err), 0);
	assert_string_equal(envp.items[0], "SYMBI_ENV_SECRET=hunter2 with spaces\nand a newline");
	assert_string_equal(envp.items[1], "SYMBI_ENV_PATH=/custom/bin");
	assert_string_equal(envp.items[2], "SYMBI_ENV_HOME=/workspace");
	/* The client's own PATH and DOCKER_CONFIG are fixed, never the
	 * program's. */
	bool path = false, config = false;
	for (size_t i = 0; i < envp.len; i++) {
		assert_false(strcmp(envp.items[i], "HOME=/workspace") == 0);
		path = path || strcmp(envp.items[i], "PATH=" SYMBI_DOCKER_CONTROL_PATH) == 0;
		config = config || strncmp(envp.items[i], "DOCKER_CONFIG=/", 15) == 0;
	}
	assert_true(path);
	assert_true(config);
	symbi_strlist_clear(&argv);
	symbi_strlist_clear(&envp);
	symbi_env_free(env);
	symbi_config_free(cfg);
}

/* Without HOME and DOCKER_CONFIG (a service, `env -i`) the client's config
 * directory is one nobody can plant. */
static void test_docker_config_always_pinned(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	char *config = getenv("DOCKER_CONFIG") ? strdup(getenv("DOCKER_CONFIG")) : NULL;
	unsetenv("HOME");
	unsetenv("DOCKER_CONFIG");
	symbi_strlist_t envp = {0};
	assert_int_equal(symbi_docker_control_env(&envp, &err), 0);
	assert_true(argv_has(&envp, "DOCKER_CONFIG=" SYMBI_DOCKER_NO_CONFIG, NULL));
	symbi_strlist_clear(&envp);
	setenv("HOME", "/srv/home", 1);
	assert_int_equal(symbi_docker_control_env(&envp, &err), 0);
	assert_true(argv_has(&envp, "DOCKER_CONFIG=/srv/home/.docker", NULL));
	symbi_strlist_clear(&envp);
	setenv("DOCKER_CONFIG", "/etc/docker-client", 1);
	assert_int_equal(symbi_docker_control_env(&envp, &err), 0);
	assert_true(argv_has(&envp, "DOCKER_CONFIG=/etc/docker-client", NULL));
	symbi_strlist_clear(&envp);
	home ? setenv("HOME", home, 1) : unsetenv("HOME");
	config ? setenv("DOCKER_CONFIG", config, 1) : unsetenv("DOCKER_CONFIG");
	free(home);
	free(config);
}

/* Env keys are identifiers, on every backend (the map refuses the rest). */
static void test_env_keys_are_identifiers(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	symbi_env_t *env = symbi_env_new();
	const char *bad[] = {"BASH_FUNC_x%%", "1ABC", "A-B", "A.B", "A B", "A=B", "\xc3\xa9", "A\nB", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(symbi_env_set(env, bad[i], "v", &err), -1);
		assert_int_equal(err.code, SYMBI_E_INVALID);
	}
	assert_non_null(strstr(err.message, "must not be empty"));
	assert_int_equal(symbi_env_set(env, "BASH_FUNC_x%%", "() { id; }", &err), -1);
	assert_non_null(strstr(err.message, "must be identifiers"));
	const char *good[] = {"_", "a", "_1", "Z9_z", "PATH"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(symbi_env_set(env, good[i], "v", &err), 0);
	assert_int_equal(symbi_env_count(env), 5);
	symbi_env_free(env);
}

/* The labels cleanup relies on cannot be set by extra flags, in any
 * spelling. */
static void test_protected_labels(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	assert_int_equal(symbi_docker_extra_flag_check("--label=io.symbi.sandbox=0", &err), -1);
	assert_int_equal(err.code, SYMBI_E_SECURITY);
	symbi_strlist_t flags = {0};
	symbi_strlist_push(&flags, "--label");
	symbi_strlist_push(&flags, "io.symbi.sandbox.deadline=99999999999");
	assert_int_equal(symbi_docker_extra_flags_check(&flags, SYMBI_BACKEND_DOCKER, &err), -1);
	assert_non_null(strstr(err.message, "the sandbox's own"));
	symbi_strlist_clear(&flags);
	symbi_strlist_push(&flags, "--label=io.symbi.sandbox");
	assert_int_equal(symbi_docker_extra_flags_check(&flags, SYMBI_BACKEND_DOCKER, &err), -1);
	symbi_strlist_clear(&flags);
	symbi_strlist_push(&flags, "--ulimit=nproc=100000");
	assert_int_equal(symbi_docker_extra_flags_check(&flags, SYMBI_BACKEND_GVISOR, &err), -1);
	symbi_strlist_clear(&flags);
	symbi_strlist_push(&flags, "--label");
	symbi_strlist_push(&flags, "team=a");
	assert_int_equal(symbi_docker_extra_flags_check(&flags, SYMBI_BACKEND_DOCKER, &err), 0);
	symbi_strlist_clear(&flags);
}

/* Image VOLUMEs get a capped tmpfs, except where a -v or /tmp is. */
static void test_image_volumes_covered(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	symbi_config_t *cfg = symbi_config_new();
	symbi_strlist_t image_volumes = {0}, argv = {0};
	symbi_strlist_push(&image_volumes, "/data");
	symbi_strlist_push(&image_volumes, "/tmp");
	symbi_strlist_push(&image_volumes, "/mounted");
	symbi_docker_mount_t mount = {"/run/symbi-sandbox/volumes/n/0", "/mounted", "ro"};
	symbi_docker_volumes_t volumes = {.mounts = &mount, .nmounts = 1};
	symbi_docker_run_plan_t plan = plan_for("n", "sha256:abc");
	plan.image_volumes = &image_volumes;
	plan.volumes = &volumes;
	symbi_exec_request_t req = {.code = "", .cancel_fd = -1};
	assert_int_equal(symbi_docker_build_run_argv(cfg, &plan, &req, &argv, &err), 0);
	assert_true(argv_has(&argv, "--tmpfs", "/data:" SYMBI_DOCKER_IMAGE_VOLUME_TMPFS));
	assert_false(argv_has(&argv, "--tmpfs", "/tmp:" SYMBI_DOCKER_IMAGE_VOLUME_TMPFS));
	assert_false(argv_has(&argv, "--tmpfs", "/mounted:" SYMBI_DOCKER_IMAGE_VOLUME_TMPFS));
	assert_true(argv_has(&argv, "-v", "/run/symbi-sandbox/volumes/n/0:/mounted:ro"));
	assert_true(argv_index(&argv, "sha256:abc") > 0);
	symbi_strlist_clear(&argv);
	symbi_strlist_clear(&image_volumes);
	symbi_config_free(cfg);
}

static void test_docker_env_keys_reserved(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	symbi_env_t *env = symbi_env_new();
	assert_int_equal(symbi_env_set(env, "DOCKER_HOST", "tcp://evil:2375", &err), 0);
	assert_int_equal(symbi_docker_env_check(env, &err), -1);
	assert_non_null(strstr(err.message, "DOCKER_HOST"));
	symbi_env_free(env);
	env = symbi_env_new();
	assert_int_equal(symbi_env_set(env, "SYMBI_ENV_X", "1", &err), 0);
	assert_int_equal(symbi_docker_env_check(env, &err), -1);
	symbi_env_free(env);
}

static void test_gvisor_runtime_and_limits_unset(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	symbi_config_t *cfg = symbi_config_new();
	assert_int_equal(symbi_config_set(cfg, "backend", "gvisor", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "memory_limit", "none", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "user", "1000:1000", &err), 0);
	symbi_strlist_t argv = {0};
	symbi_exec_request_t req = {.code = "", .cancel_fd = -1};
	symbi_docker_run_plan_t plan = plan_for("n", "img");
	assert_int_equal(symbi_docker_build_run_argv(cfg, &plan, &req, &argv, &err), 0);
	assert_true(argv_has(&argv, "--runtime=runsc", NULL));
	/* gVisor keeps its own seccomp filter */
	assert_false(argv_has(&argv, "--security-opt", "seccomp=/proc/self/fd/3"));
	assert_true(argv_has(&argv, "--security-opt", "no-new-privileges"));
	/* gVisor's kernel counts the program's processes; the host limit
	 * only backs it up (it also counts gVisor's own tasks). */
	assert_true(argv_has(&argv, "--ulimit", "nproc=256"));
	assert_true(argv_has(&argv, "--pids-limit", "4224"));
	assert_true(argv_has(&argv, "--user", "1000:1000"));
	assert_int_equal(argv_index(&argv, "--memory"), -1);
	/* An outer shell records the program's exit (gvisor_exit.c): /bin/sh
	 * -c OUTER SHELL INNER, the inner taking stderr back from fd 3. */
	ssize_t image = argv_index(&argv, "img");
	assert_true(image > 0 && (size_t)image + 6 == argv.len);
	assert_string_equal(argv.items[image + 1], "/bin/sh");
	assert_string_equal(argv.items[image + 2], "-c");
	assert_non_null(strstr(argv.items[image + 3], "IFS= read -r SYMBI_EXIT_"));
	assert_non_null(strstr(argv.items[image + 3], "kill -KILL -1; echo \"symbi-sandbox-bootstrap $SYMBI_EXIT_ exit $s\" >&3; exit $s"));
	assert_string_equal(argv.items[image + 4], "sh");
	assert_true(strncmp(argv.items[image + 5], "exec 2>&3 3>&-; IFS= read -r SYMBI_ENV_", 39) == 0);
	symbi_strlist_clear(&argv);
	symbi_config_free(cfg);
}

/* lang picks the program that runs the code file, as on the native
 * backend: python runs under python3, never under the shell. */
static void test_lang_runs_its_interpreter(void **state)
{
	(void)state;
	static const struct { const char *backend, *lang, *program; } cases[] = {
		{"docker", "python", "python3"}, {"docker", "node", "node"},
		{"docker", "bash", "bash"},      {"docker", NULL, "sh"},
		{"gvisor", "python", "python3"}, {"gvisor", NULL, "sh"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		symbi_error_t err = {0};
		symbi_config_t *cfg = symbi_config_for_image("img");
		assert_int_equal(symbi_config_set(cfg, "backend", cases[i].backend, &err), 0);
		if (cases[i].lang)
			assert_int_equal(symbi_config_set(cfg, "lang", cases[i].lang, &err), 0);
		assert_int_equal(symbi_config_validate(cfg, &err), 0);
		symbi_strlist_t argv = {0};
		symbi_exec_request_t req = {.code = "print(1)", .code_len = 8, .cancel_fd = -1};
		symbi_docker_run_plan_t plan = plan_for("n", "img");
		assert_int_equal(symbi_docker_build_run_argv(cfg, &plan, &req, &argv, &err), 0);
		/* $0 of the bootstrap: last on docker, before the inner script
		 * under gVisor's outer shell. */
		bool gvisor = strcmp(cases[i].backend, "gvisor") == 0;
		assert_string_equal(argv.items[argv.len - (gvisor ? 2 : 1)], cases[i].program);
		assert_int_equal(argv_index(&argv, "sh") == -1, strcmp(cases[i].program, "sh") != 0);
		symbi_strlist_clear(&argv);
		symbi_config_free(cfg);
	}
}

/* tmp_size caps /tmp on docker too (it was a fixed 100m there). */
static void test_tmp_size(void **state)
{
	(void)state;
	static const char *const sizes[][2] = {
		{"1g", "/tmp:rw,noexec,nosuid,size=1024m"}, {"5000", "/tmp:rw,noexec,nosuid,size=5000"},
	};
	for (size_t i = 0; i < 2; i++) {
		symbi_error_t err = {0};
		symbi_config_t *cfg = symbi_config_for_image("img");
		assert_int_equal(symbi_config_set(cfg, "backend", "docker", &err), 0);
		assert_int_equal(symbi_config_set(cfg, "tmp_size", sizes[i][0], &err), 0);
		symbi_strlist_t argv = {0};
		symbi_exec_request_t req = {.code = "", .cancel_fd = -1};
		symbi_docker_run_plan_t plan = plan_for("n", "img");
		assert_int_equal(symbi_docker_build_run_argv(cfg, &plan, &req, &argv, &err), 0);
		assert_true(argv_has(&argv, "--tmpfs", sizes[i][1]));
		symbi_strlist_clear(&argv);
		symbi_config_free(cfg);
	}
}

/* The process backend runs `executable`; lang would mean nothing there. */
static void test_process_refuses_lang(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	symbi_config_t *cfg = symbi_config_new();
	assert_int_equal(symbi_config_set(cfg, "backend", "process", &err), 0);
	assert_int_equal(symbi_config_validate(cfg, &err), 0);
	assert_int_equal(symbi_config_set(cfg, "lang", "python", &err), 0);
	assert_int_equal(symbi_config_validate(cfg, &err), -1);
	assert_int_equal(err.code, SYMBI_E_INVALID);
	assert_string_equal(err.message, "lang means nothing on the process backend: it runs "
					 "`executable` with the code as its argument; leave it unset "
					 "there (it applies to: docker gvisor native)");
	/* Its extra_flags are still held to the docker policy. */
	assert_int_equal(symbi_config_set(cfg, "lang", "", &err), 0);
	assert_int_equal(symbi_config_set(cfg, "extra_flags", "--label", &err), 0);
	assert_int_equal(symbi_config_validate(cfg, &err), -1);
	assert_string_equal(err.message, "extra flag \"--label\" needs a value");
	symbi_config_free(cfg);
}

static void stream_write(symbi_stream_t *s, const char *text)
{
	assert_int_equal(symbi_stream_append(s, text, strlen(text)), 0);
}

static void test_gvisor_exit_line(void **state)
{
	(void)state;
	const char *secret = "0123456789abcdef0123456789abcdef";
	const char *line = "symbi-sandbox-bootstrap 0123456789abcdef0123456789abcdef exit 137\n";
	symbi_stream_t s;
	/* found at the end, taken out of the output */
	symbi_stream_init(&s, 1000);
	stream_write(&s, "program output\n");
	stream_write(&s, line);
	assert_int_equal(symbi_gvisor_take_exit(&s, secret), 137);
	assert_int_equal(s.len, 15);
	assert_int_equal(s.total, 15);
	symbi_stream_free(&s);
	/* written in small pieces, past the cap: still found, cap honest */
	symbi_stream_init(&s, 10);
	stream_write(&s, "0123456789");
	for (const char *p = line; *p; p++) {
		char c[2] = {*p, 0};
		stream_write(&s, c);
	}
	assert_int_equal(symbi_gvisor_take_exit(&s, secret), 137);
	assert_false(symbi_stream_truncated(&s));
	symbi_stream_free(&s);
	/* straddling the cap: the kept part of the line is cut */
	symbi_stream_init(&s, 20);
	stream_write(&s, "abc");
	stream_write(&s, line);
	assert_int_equal(symbi_gvisor_take_exit(&s, secret), 137);
	assert_int_equal(s.len, 3);
	assert_memory_equal(s.data, "abc", 3);
	symbi_stream_free(&s);
	/* absent: another secret, not last, no newline, not a number */
	const char *bad[] = {
		"symbi-sandbox-bootstrap ffffffffffffffffffffffffffffffff exit 0\n",
		"symbi-sandbox-bootstrap 0123456789abcdef0123456789abcdef exit 0\nmore\n",
		"symbi-sandbox-bootstrap 0123456789abcdef0123456789abcdef exit 0",
		"symbi-sandbox-bootstrap 0123456789abcdef0123456789abcdef exit x\n",
		"symbi-sandbox-bootstrap 0123456789abcdef0123456789abcdef exit 999\n",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		symbi_stream_init(&s, 1000);
		stream_write(&s, bad[i]);
		assert_int_equal(symbi_gvisor_take_exit(&s, secret), -1);
		assert_int_equal(s.total, strlen(bad[i]));
		symbi_stream_free(&s);
	}
}

/* The rule of `profile` for syscall `name` with `action`, NULL if none. */
static json_t *profile_entry(json_t *profile, const char *name, const char *action, int nargs)
{
	size_t i, j;
	json_t *entry, *n;
	json_array_foreach(json_object_get(profile, "syscalls"), i, entry) {
		if (strcmp(json_string_value(json_object_get(entry, "action")), action) != 0 ||
		    (nargs >= 0 && (int)json_array_size(json_object_get(entry, "args")) != nargs))
			continue;
		json_array_foreach(json_object_get(entry, "names"), j, n)
			if (strcmp(json_string_value(n), name) == 0)
				return entry;
	}
	return NULL;
}

static void test_seccomp_profile(void **state)
{
	(void)state;
	symbi_error_t err = {0};
	char *text = symbi_docker_seccomp_profile(&err);
	assert_non_null(text);
	json_error_t jerr;
	json_t *p = json_loads(text, 0, &jerr);
	free(text);
	assert_non_null(p);
	/* Refused by default with ENOSYS, 64-bit ABIs only. */
	assert_string_equal(json_string_value(json_object_get(p, "defaultAction")), "SCMP_ACT_ERRNO");
	assert_int_equal(json_integer_value(json_object_get(p, "defaultErrnoRet")), ENOSYS);
	json_t *arch = json_array_get(json_object_get(p, "archMap"), 0);
	assert_string_equal(json_string_value(json_object_get(arch, "architecture")), "SCMP_ARCH_X86_64");
	assert_int_equal(json_array_size(json_object_get(arch, "subArchitectures")), 0);
	/* The allow list, and what is not on it. */
	assert_non_null(profile_entry(p, "read", "SCMP_ACT_ALLOW", 0));
	assert_non_null(profile_entry(p, "execve", "SCMP_ACT_ALLOW", 0));
	const char *absent[] = {"mount", "ptrace", "bpf", "io_uring_setup", "clone3", "keyctl",
				"memfd_secret", "socket", "ioctl", "clone", "personality"};
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		assert_null(profile_entry(p, absent[i], "SCMP_ACT_ALLOW", 0));
	/* Engines that ignore defaultErrnoRet get ENOSYS rules by name. */
	json_t *enosys = profile_entry(p, "clone3", "SCMP_ACT_ERRNO", 0);
	assert_non_null(enosys);
	assert_int_equal(json_integer_value(json_object_get(enosys, "errnoRet")), ENOSYS);
	assert_ptr_equal(profile_entry(p, "mount", "SCMP_ACT_ERRNO", 0), enosys);
	assert_null(profile_entry(p, "read", "SCMP_ACT_ERRNO", -1));
	assert_non_null(profile_entry(p, "unshare", "SCMP_ACT_ERRNO", 0));
	/* Argument filters: AF_VSOCK (40) falls in a refused block, with
	 * EAFNOSUPPORT; AF_INET is allowed by value. */
	size_t i;
	json_t *entry;
	bool vsock_refused = false, inet_allowed = false;
	json_array_foreach(json_object_get(p, "syscalls"), i, entry) {
		if (strcmp(json_string_value(json_array_get(json_object_get(entry, "names"), 0)), "socket"))
			continue;
		json_t *a = json_array_get(json_object_get(entry, "args"), 0);
		uint64_t mask = (uint64_t)json_integer_value(json_object_get(a, "value"));
		uint64_t value = (uint64_t)json_integer_value(json_object_get(a, "valueTwo"));
		assert_string_equal(json_string_value(json_object_get(a, "op")), "SCMP_CMP_MASKED_EQ");
		bool allow = !strcmp(json_string_value(json_object_get(entry, "action")), "SCMP_ACT_ALLOW");
		if (!allow)
			assert_int_equal(json_integer_value(json_object_get(entry, "errnoRet")), EAFNOSUPPORT);
		if ((40 & mask) == value)
			vsock_refused = !allow;
		if ((AF_INET & mask) == value)
			inet_allowed = allow;
	}
	assert_true(vsock_refused);
	assert_true(inet_allowed);
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hardening_flags),
		cmocka_unit_test(test_env_values_not_in_argv),
		cmocka_unit_test(test_docker_env_keys_reserved),
		cmocka_unit_test(test_docker_config_always_pinned),
		cmocka_unit_test(test_env_keys_are_identifiers),
		cmocka_unit_test(test_protected_labels),
		cmocka_unit_test(test_image_volumes_covered),
		cmocka_unit_test(test_gvisor_runtime_and_limits_unset),
		cmocka_unit_test(test_gvisor_exit_line),
		cmocka_unit_test(test_lang_runs_its_interpreter),
		cmocka_unit_test(test_process_refuses_lang),
		cmocka_unit_test(test_tmp_size),
		cmocka_unit_test(test_seccomp_profile),
	};
	return cmocka_run_group_tests_name("docker_argv", tests, NULL, NULL);
}
