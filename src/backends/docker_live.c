/* Live sandboxes on the docker and gvisor backends: one long-running
 * container per sandbox, started by the docker CLI with exactly the
 * one-shot run's confinement (docker_argv.c), its main process a sleep;
 * each process is an exec through the Engine API (docker_engine.c).
 *
 * Every process runs under a tiny /bin/sh wrapper that prints its pid (in
 * the container's pid namespace) as the first line on stdout and execs the
 * program: the pid the Engine API reports is a host pid under runc and the
 * runsc client's under gVisor, so neither can be signalled alike; the
 * in-container pid can, by another exec (signal_exec). A pump thread per
 * process carries the hijacked stream: stdout/stderr frames to the
 * supervision's pipes, its stdin to the stream (half-closed at EOF); when
 * the stream ends it asks the daemon for the exit code. Detached
 * processes get a pump too (their output is dropped), so that their end is
 * known. This file is the container's half; docker_exec.c the
 * processes'. */
#include "docker_live.h"
#include "docker_api.h"
#include "../core/error.h"
#include "../core/supervise.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the container ------------------------------------------------------- */

static void set_ended(docker_live_t *lv, const char *why)
{
	pthread_mutex_lock(&lv->lock);
	if (!lv->ended[0])
		snprintf(lv->ended, sizeof(lv->ended), "%s", why);
	pthread_cond_broadcast(&lv->cond);
	pthread_mutex_unlock(&lv->lock);
}

/* Ends every process's stream (see kill_container). */
static void end_streams(docker_live_t *lv)
{
	pthread_mutex_lock(&lv->lock);
	for (symbi_live_node_t *n = lv->procs.head; n; n = n->next) {
		docker_proc_t *p = n->proc;
		if (p->conn >= 0)
			shutdown(p->conn, SHUT_RDWR);
	}
	pthread_mutex_unlock(&lv->lock);
}

/* Kills the container, waits until it has stopped, then ends every
 * process's stream: under gVisor the daemon keeps an exec's stream open
 * after its container died (under runc it has closed by then). */
static void kill_container(docker_live_t *lv)
{
	if (!lv->id[0])
		return;
	char path[256];
	json_t *reply;
	symbi_error_t ignored;
	snprintf(path, sizeof(path), "/containers/%s/kill?signal=KILL", lv->id);
	long status = symbi_engine_request(&lv->engine, "POST", path, NULL, &reply, &ignored);
	json_decref(reply);
	if (status == 204) {
		snprintf(path, sizeof(path), "/containers/%s/wait?condition=not-running", lv->id);
		symbi_engine_request(&lv->engine, "POST", path, NULL, &reply, &ignored);
		json_decref(reply);
	}
	end_streams(lv);
}

long docker_live_oom_kills(const docker_live_t *lv)
{
	if (!lv->memory_events[0])
		return -1;
	FILE *f = fopen(lv->memory_events, "re");
	if (!f)
		return -1;
	char key[64];
	long v, found = -1;
	while (fscanf(f, "%63s %ld", key, &v) == 2)
		if (strcmp(key, "oom_kill") == 0)
			found = v;
	fclose(f);
	return found;
}

/* The file that counts the container's OOM kills on the host ("oom_kill
 * N"): memory.oom_control of its cgroup v1 memory controller, or
 * memory.events of its cgroup v2 group, from its main process's
 * /proc/PID/cgroup. Under gVisor this is the sandbox's cgroup. */
static void find_cgroup(docker_live_t *lv, long pid)
{
	char path[64], line[PATH_MAX], found[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/%ld/cgroup", pid);
	FILE *f = pid > 0 ? fopen(path, "re") : NULL;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *controllers = strchr(line, ':');
		char *group = controllers ? strchr(controllers + 1, ':') : NULL;
		if (!group)
			continue;
		*group++ = '\0';
		controllers++;
		bool v1 = strcmp(controllers, "memory") == 0;
		if (v1)
			snprintf(found, sizeof(found), "/sys/fs/cgroup/memory%.4000s/memory.oom_control", group);
		else if (!controllers[0] && !lv->memory_events[0])
			snprintf(found, sizeof(found), "/sys/fs/cgroup%.4000s/memory.events", group);
		else
			continue;
		if (access(found, R_OK) == 0)
			snprintf(lv->memory_events, sizeof(lv->memory_events), "%s", found);
	}
	fclose(f);
}

/* The container as the daemon sees it: running, on the runtime asked for
 * (gvisor: runsc; never trusted unseen). */
static int check_container(docker_live_t *lv, symbi_error_t *err)
{
	char path[256];
	snprintf(path, sizeof(path), "/containers/%s/json", lv->id);
	json_t *reply;
	long status = symbi_engine_request(&lv->engine, "GET", path, NULL, &reply, err);
	if (status < 0)
		return -1;
	int rc = 0;
	json_t *state = json_object_get(reply, "State");
	const char *runtime = json_string_value(json_object_get(json_object_get(reply, "HostConfig"),
								"Runtime"));
	if (status != 200)
		rc = symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "cannot inspect the live sandbox's container: %s",
				symbi_engine_message(reply));
	else if (!json_is_true(json_object_get(state, "Running")))
		rc = symbi_fail(err, SYMBI_E_UNAVAILABLE, 0,
				"the live sandbox's container ended as it started (%.300s)",
				json_string_value(json_object_get(state, "Error")) ?: "no error recorded");
	else if (lv->cfg->backend == SYMBI_BACKEND_GVISOR &&
		 (!runtime || strcmp(runtime, lv->cfg->runtime_name) != 0))
		rc = symbi_fail(err, SYMBI_E_SECURITY, 0,
				"the container runs with runtime '%s', not '%s': the gvisor backend "
				"refuses a sandbox without gVisor", runtime ? runtime : "?",
				lv->cfg->runtime_name);
	else
		find_cgroup(lv, (long)json_integer_value(json_object_get(state, "Pid")));
	json_decref(reply);
	return rc;
}

/* The same command line through the Engine API (docker_api.h), when the
 * backend uses it (api) and the line translates: 0, 1 for "through the
 * CLI", or -1. */
static int start_through_api(docker_live_t *lv, bool api, const symbi_strlist_t *argv,
			     symbi_error_t *err)
{
	char *profile = NULL;
	if (!api)
		return 1;
	if (lv->cfg->backend != SYMBI_BACKEND_GVISOR && !(profile = symbi_docker_seccomp_profile(err)))
		return -1;
	symbi_docker_create_t create;
	int rc = symbi_docker_create_body(argv, lv->control_env.items, profile, &create, err);
	free(profile);
	if (rc != 0)
		return rc;
	lv->created = true;
	rc = symbi_docker_api_create(&lv->engine, &create, lv->id, sizeof(lv->id), err) < 0 ||
	     symbi_docker_api_start(&lv->engine, lv->id, err) < 0 ? -1 : 0;
	if (rc < 0)
		symbi_fail_prefix(err, "cannot start the live sandbox's container: ");
	json_decref(create.body);
	return rc;
}

/* `docker run -d`, its seccomp profile on descriptor 3 (not under gVisor,
 * which keeps its own); the container's id is what it prints. Through the
 * Engine API instead when the backend has it (api). */
static int run_container(docker_live_t *lv, const symbi_docker_run_plan_t *plan, bool api,
			 symbi_error_t *err)
{
	const symbi_config_t *cfg = lv->cfg;
	symbi_strlist_t argv = {0};
	int profile_fd = 0, rc = -1;
	if (symbi_docker_build_live_argv(cfg, plan, &argv, err) < 0)
		goto out;
	int through_api = start_through_api(lv, api, &argv, err);
	if (through_api <= 0) {
		rc = through_api;
		goto out;
	}
	if (cfg->backend != SYMBI_BACKEND_GVISOR && (profile_fd = symbi_docker_seccomp_memfd(err)) < 0) {
		profile_fd = 0;
		goto out;
	}
	symbi_supervise_opts_t o = {
		.path = lv->docker_path, .argv = argv.items, .envp = lv->control_env.items,
		.max_output_bytes = 4096, .timeout_ms = SYMBI_DOCKER_CONTROL_TIMEOUT_MS,
		.cancel_fd = -1, .fd3 = profile_fd,
	};
	symbi_supervise_outcome_t oc;
	lv->created = true;
	if (symbi_supervise(&o, &oc, err) < 0)
		goto out;
	size_t len = oc.out.len;
	while (len && (oc.out.data[len - 1] == '\n' || oc.out.data[len - 1] == '\r'))
		len--;
	if (WIFEXITED(oc.wait_status) && WEXITSTATUS(oc.wait_status) == 0 && len &&
	    len < sizeof(lv->id)) {
		memcpy(lv->id, oc.out.data, len);
		lv->id[len] = '\0';
		rc = 0;
	} else {
		size_t elen = oc.err.len;
		while (elen && (oc.err.data[elen - 1] == '\n' || oc.err.data[elen - 1] == ' '))
			elen--;
		symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "cannot start the live sandbox's container: %.800s",
			   elen ? oc.err.data : oc.timed_out ? "docker run did not finish in time"
							     : "docker run failed");
	}
	symbi_stream_free(&oc.out);
	symbi_stream_free(&oc.err);
out:
	if (profile_fd > 0)
		close(profile_fd);
	symbi_strlist_clear(&argv);
	return rc;
}

/* The monitor: ends the sandbox at max_lifetime, or once it has been idle
 * (no process running but detached ones) for idle_timeout. */
static void *monitor_main(void *arg)
{
	docker_live_t *lv = arg;
	const symbi_config_t *cfg = lv->cfg;
	pthread_mutex_lock(&lv->lock);
	while (!lv->stopping && !lv->ended[0]) {
		uint64_t at = UINT64_MAX;
		const char *why = NULL;
		if (cfg->max_lifetime_ms) {
			at = lv->started_ms + cfg->max_lifetime_ms;
			why = "the sandbox's max_lifetime passed";
		}
		if (cfg->idle_timeout_ms && lv->busy == 0 && lv->active_ms + cfg->idle_timeout_ms < at) {
			at = lv->active_ms + cfg->idle_timeout_ms;
			why = "the sandbox was idle for its idle_timeout";
		}
		uint64_t now = symbi_monotonic_ms();
		if (why && now >= at) {
			snprintf(lv->ended, sizeof(lv->ended), "%s", why);
			pthread_mutex_unlock(&lv->lock);
			kill_container(lv);
			return NULL;
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t wait_ms = why ? at - now : 60000;
		ts.tv_sec += (time_t)(wait_ms / 1000);
		ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&lv->cond, &lv->lock, &ts);
	}
	pthread_mutex_unlock(&lv->lock);
	return NULL;
}

/* Waits for the container to stop, for whatever reason (our kill, the
 * OOM killer, runsc dying, someone's docker rm), and says so: the reason
 * goes in `ended` unless one is there already. */
static void *waiter_main(void *arg)
{
	docker_live_t *lv = arg;
	/* The reply to ContainerWait (its headers were read at the start):
	 * a body, chunked, with the status, once the container stopped. */
	char body[4096];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(lv->waiter_fd, body + len, sizeof(body) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		body[len] = '\0';
		if (strstr(body, "\r\n0\r\n\r\n"))
			break; /* the last chunk: the connection itself stays open */
		if (len == sizeof(body) - 1)
			len = 0; /* not a reply of ours: keep reading to its end */
	}
	body[len] = '\0';
	const char *code = strstr(body, "\"StatusCode\":");
	char path[256], why[200];
	json_t *reply;
	symbi_error_t ignored;
	bool oom = false;
	snprintf(path, sizeof(path), "/containers/%s/json", lv->id);
	if (symbi_engine_request(&lv->engine, "GET", path, NULL, &reply, &ignored) == 200)
		oom = json_is_true(json_object_get(json_object_get(reply, "State"), "OOMKilled"));
	json_decref(reply);
	if (oom)
		snprintf(why, sizeof(why), "the sandbox's container was killed for exceeding the memory limit");
	else if (code)
		snprintf(why, sizeof(why), "the sandbox's container ended (status %ld)", strtol(code + 13, NULL, 10));
	else
		snprintf(why, sizeof(why), "the Docker daemon stopped answering for the sandbox's container");
	set_ended(lv, why);
	end_streams(lv);
	return NULL;
}

static int live_start(void *state, const symbi_config_t *cfg, void **out, symbi_error_t *err)
{
	*out = NULL;
	docker_live_t *lv = calloc(1, sizeof(*lv));
	if (!lv)
		return symbi_fail_nomem(err);
	lv->cfg = cfg;
	lv->reaper = (symbi_docker_reaper_t){-1, -1};
	lv->waiter_fd = -1;
	pthread_mutex_init(&lv->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&lv->cond, &ca);
	pthread_condattr_destroy(&ca);
	lv->procs = (symbi_live_procs_t){.lock = &lv->lock, .ended = docker_proc_ended,
					 .release = docker_proc_join_release};
	*out = lv; /* from here on the caller kills and frees on failure */
	char image_id[160], why[1024] = "";
	symbi_strlist_t image_volumes = {0};
	if (symbi_engine_open(&lv->engine, err) < 0 ||
	    symbi_docker_container_name(lv->name, sizeof(lv->name), err) < 0 ||
	    symbi_docker_owner(lv->owner, sizeof(lv->owner), err) < 0 ||
	    symbi_docker_control_env(&lv->control_env, err) < 0)
		return -1;
	if (symbi_find_executable(cfg->docker_binary, lv->docker_path, sizeof(lv->docker_path)) < 0)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, errno,
				  "cannot run docker: the docker client '%s' was not found", cfg->docker_binary);
	if (symbi_docker_volumes_prepare(cfg, lv->name, lv->owner, &lv->volumes, err) < 0)
		return -1;
	/* The backend's Engine API client, if it has one (state). */
	int found = symbi_docker_image_resolve(cfg, state, image_id, sizeof(image_id),
					       &image_volumes, why, sizeof(why), err);
	if (found > 0)
		symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "%s", why);
	/* The watchdog removes the container should we die. */
	if (found != 0 || symbi_docker_reaper_start(&lv->reaper, lv->docker_path, lv->name, 0,
						     lv->control_env.items, err) < 0) {
		symbi_strlist_clear(&image_volumes);
		return -1;
	}
	symbi_docker_run_plan_t plan = {
		.name = lv->name, .image = image_id, .image_volumes = &image_volumes,
		.volumes = &lv->volumes, .owner = lv->owner, .live = true,
		.deadline = cfg->max_lifetime_ms
				    ? (long long)time(NULL) + (long long)(cfg->max_lifetime_ms / 1000) +
					      1 + LIVE_DEADLINE_SLACK_S
				    : 0,
	};
	int rc = run_container(lv, &plan, state != NULL, err);
	symbi_strlist_clear(&image_volumes);
	if (rc < 0 || check_container(lv, err) < 0)
		return -1;
	lv->started_ms = lv->active_ms = symbi_monotonic_ms();
	/* Sent here, so that the sandbox's descriptors are all open when
	 * start returns. */
	char path[256];
	snprintf(path, sizeof(path), "/containers/%s/wait?condition=not-running", lv->id);
	json_t *empty = json_object();
	lv->waiter_fd = empty ? symbi_engine_hijack(&lv->engine, path, empty, err) : symbi_fail_nomem(err);
	json_decref(empty);
	if (lv->waiter_fd < 0)
		return -1;
	if (pthread_create(&lv->waiter, NULL, waiter_main, lv) != 0)
		return symbi_fail(err, SYMBI_E_SYSTEM, 0, "cannot start the live sandbox's waiter");
	lv->have_waiter = true;
	if ((cfg->max_lifetime_ms || cfg->idle_timeout_ms) &&
	    pthread_create(&lv->monitor, NULL, monitor_main, lv) != 0)
		return symbi_fail(err, SYMBI_E_SYSTEM, 0, "cannot start the live sandbox's monitor");
	lv->have_monitor = cfg->max_lifetime_ms || cfg->idle_timeout_ms;
	return 0;
}

static void live_kill(void *live)
{
	docker_live_t *lv = live;
	set_ended(lv, "the sandbox was stopped");
	kill_container(lv);
}

static void live_free(void *live)
{
	docker_live_t *lv = live;
	if (!lv)
		return;
	pthread_mutex_lock(&lv->lock);
	lv->stopping = true;
	pthread_cond_broadcast(&lv->cond);
	pthread_mutex_unlock(&lv->lock);
	if (lv->have_monitor)
		pthread_join(lv->monitor, NULL);
	if (lv->created) {
		/* With its anonymous volumes; by name, as the id may be unknown. */
		char path[256];
		snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", lv->name);
		json_t *reply;
		symbi_error_t ignored;
		long status = symbi_engine_request(&lv->engine, "DELETE", path, NULL, &reply, &ignored);
		json_decref(reply);
		if (status != 204 && status != 404)
			symbi_docker_command(lv->cfg, NULL, &ignored, "rm", "-fv", lv->name, NULL);
	}
	if (lv->have_waiter)
		pthread_join(lv->waiter, NULL); /* the container is gone: it returns */
	if (lv->waiter_fd >= 0)
		close(lv->waiter_fd);
	symbi_live_procs_release_all(&lv->procs);
	symbi_docker_reaper_release(&lv->reaper);
	symbi_docker_volumes_release(&lv->volumes);
	symbi_strlist_clear(&lv->control_env);
	symbi_engine_close(&lv->engine);
	pthread_cond_destroy(&lv->cond);
	pthread_mutex_destroy(&lv->lock);
	free(lv);
}

const char *docker_live_ended(void *live)
{
	docker_live_t *lv = live;
	pthread_mutex_lock(&lv->lock);
	const char *why = lv->ended[0] ? lv->ended : NULL;
	pthread_mutex_unlock(&lv->lock);
	return why;
}

/* A process's pid in the container while it runs, else 0; with lv->lock
 * held. */
static int running_pid(void *proc)
{
	const docker_proc_t *p = proc;
	return p->finished ? 0 : p->pid;
}

static size_t live_list(void *live, int *pids, size_t max)
{
	return symbi_live_procs_list(&((docker_live_t *)live)->procs, running_pid, pids, max);
}

const symbi_live_ops_t symbi_docker_live_ops = {
	.start = live_start,
	.kill = live_kill,
	.free = live_free,
	.ended = docker_live_ended,
	.list = live_list,
	.spawn = docker_live_spawn,
	.wait = docker_proc_wait,
	.signal = docker_proc_signal,
	.write_stdin = docker_proc_write_stdin,
	.close_stdin = docker_proc_close_stdin,
	.id = docker_proc_id,
	.proc_free = docker_proc_free,
};
