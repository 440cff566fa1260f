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
 * known. */
#include "backend.h"
#include "docker.h"
#include "docker_engine.h"
#include "../core/error.h"
#include "../core/result.h"
#include "../core/supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Code above this goes nowhere yet: it travels as one argv string, which
 * the kernel caps at 128 KiB. */
#define LIVE_CODE_MAX (100 * 1024)
/* How long the exit code may lag behind the end of the stream. */
#define LIVE_EXIT_WAIT_MS 10000
/* After its deadline, a container may still exist this long (removal). */
#define LIVE_DEADLINE_SLACK_S 60

typedef struct docker_proc docker_proc_t;

typedef struct docker_live {
	const symbi_config_t *cfg;
	char name[64];
	char id[128];
	char sock[108];
	char owner[256];
	char docker_path[PATH_MAX];
	symbi_strlist_t control_env;
	symbi_docker_volumes_t volumes;
	symbi_docker_reaper_t reaper;
	char memory_events[PATH_MAX]; /* counts its OOM kills; "" if unknown */
	bool created;    /* docker run -d may have made the container */
	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t cond;
	docker_proc_t *procs;
	int busy;        /* processes running that are not detached */
	uint64_t started_ms, active_ms;
	bool stopping;   /* the monitor is to end */
	bool have_monitor, have_waiter;
	pthread_t monitor;
	pthread_t waiter; /* notices the container's end, whatever ended it */
	int waiter_fd;    /* its ContainerWait request */
	char ended[256];
} docker_live_t;

struct docker_proc {
	docker_live_t *lv;
	docker_proc_t *next;
	char exec_id[128];
	int conn;          /* the hijacked stream */
	int out_fd, err_fd, in_fd; /* the supervision's ends; -1 when closed */
	int done[2];       /* pipe: readable once the pump is done */
	pthread_t pump;
	bool have_pump;
	bool detached, orphan;
	/* Set by the pump under lv->lock. */
	int pid;           /* in the container; 0 until read */
	bool finished, code_known, sandbox_gone;
	int exit_code;
	char gone[256];
	char pidline[24];
	size_t pidlen;
	bool pid_read;
	long oom_before;
	uint64_t timeout_ms;
	symbi_supervision_t *sup;
	int stdin_fd;      /* stdin_open: ours to write to */
	char *input;
	json_t *body;      /* the exec to create, until spawn takes it */
	symbi_engine_demux_t demux;
};

static void proc_release(docker_proc_t *p);

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
	for (docker_proc_t *p = lv->procs; p; p = p->next)
		if (p->conn >= 0)
			shutdown(p->conn, SHUT_RDWR);
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
	long status = symbi_engine_request(lv->sock, "POST", path, NULL, &reply, &ignored);
	json_decref(reply);
	if (status == 204) {
		snprintf(path, sizeof(path), "/containers/%s/wait?condition=not-running", lv->id);
		symbi_engine_request(lv->sock, "POST", path, NULL, &reply, &ignored);
		json_decref(reply);
	}
	end_streams(lv);
}

static long oom_kills(const docker_live_t *lv)
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
	long status = symbi_engine_request(lv->sock, "GET", path, NULL, &reply, err);
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

/* `docker run -d`, its seccomp profile on descriptor 3 (not under gVisor,
 * which keeps its own); the container's id is what it prints. */
static int run_container(docker_live_t *lv, const symbi_docker_run_plan_t *plan, symbi_error_t *err)
{
	const symbi_config_t *cfg = lv->cfg;
	symbi_strlist_t argv = {0};
	int profile_fd = 0, rc = -1;
	if (cfg->backend != SYMBI_BACKEND_GVISOR && (profile_fd = symbi_docker_seccomp_memfd(err)) < 0) {
		profile_fd = 0;
		goto out;
	}
	if (symbi_docker_build_live_argv(cfg, plan, &argv, err) < 0)
		goto out;
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
	if (symbi_engine_request(lv->sock, "GET", path, NULL, &reply, &ignored) == 200)
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
	(void)state;
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
	*out = lv; /* from here on the caller kills and frees on failure */
	char image_id[160], why[1024] = "";
	symbi_strlist_t image_volumes = {0};
	if (symbi_engine_socket(lv->sock, sizeof(lv->sock), err) < 0 ||
	    symbi_docker_container_name(lv->name, sizeof(lv->name), err) < 0 ||
	    symbi_docker_owner(lv->owner, sizeof(lv->owner), err) < 0 ||
	    symbi_docker_control_env(&lv->control_env, err) < 0)
		return -1;
	if (symbi_find_executable(cfg->docker_binary, lv->docker_path, sizeof(lv->docker_path)) < 0)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, errno,
				  "cannot run docker: the docker client '%s' was not found", cfg->docker_binary);
	if (symbi_docker_volumes_prepare(cfg, lv->name, lv->owner, &lv->volumes, err) < 0)
		return -1;
	int found = symbi_docker_image_resolve(cfg, image_id, sizeof(image_id), &image_volumes, why,
					       sizeof(why), err);
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
		.volumes = &lv->volumes.specs, .owner = lv->owner, .live = true,
		.deadline = cfg->max_lifetime_ms
				    ? (long long)time(NULL) + (long long)(cfg->max_lifetime_ms / 1000) +
					      1 + LIVE_DEADLINE_SLACK_S
				    : 0,
	};
	int rc = run_container(lv, &plan, err);
	symbi_strlist_clear(&image_volumes);
	if (rc < 0 || check_container(lv, err) < 0)
		return -1;
	lv->started_ms = lv->active_ms = symbi_monotonic_ms();
	/* Sent here, so that the sandbox's descriptors are all open when
	 * start returns. */
	char path[256];
	snprintf(path, sizeof(path), "/containers/%s/wait?condition=not-running", lv->id);
	json_t *empty = json_object();
	lv->waiter_fd = empty ? symbi_engine_hijack(lv->sock, path, empty, err) : symbi_fail_nomem(err);
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

/* Waits for a process's pump to be done (its stream ends when the
 * container is gone) and frees it. */
static void proc_join_release(docker_proc_t *p)
{
	if (p->have_pump)
		pthread_join(p->pump, NULL);
	p->have_pump = false;
	proc_release(p);
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
		long status = symbi_engine_request(lv->sock, "DELETE", path, NULL, &reply, &ignored);
		json_decref(reply);
		if (status != 204 && status != 404)
			symbi_docker_command(lv->cfg, NULL, &ignored, "rm", "-fv", lv->name, NULL);
	}
	if (lv->have_waiter)
		pthread_join(lv->waiter, NULL); /* the container is gone: it returns */
	if (lv->waiter_fd >= 0)
		close(lv->waiter_fd);
	/* Only orphans are left: every other handle was freed before. */
	while (lv->procs) {
		docker_proc_t *p = lv->procs;
		lv->procs = p->next;
		proc_join_release(p);
	}
	symbi_docker_reaper_release(&lv->reaper);
	symbi_docker_volumes_release(&lv->volumes);
	symbi_strlist_clear(&lv->control_env);
	pthread_cond_destroy(&lv->cond);
	pthread_mutex_destroy(&lv->lock);
	free(lv);
}

static const char *live_ended(void *live)
{
	docker_live_t *lv = live;
	pthread_mutex_lock(&lv->lock);
	const char *why = lv->ended[0] ? lv->ended : NULL;
	pthread_mutex_unlock(&lv->lock);
	return why;
}

/* Frees the records of detached processes whose handle is gone and which
 * ended. Called with lv->lock held; returns with it held. */
static void prune_orphans_locked(docker_live_t *lv)
{
	for (docker_proc_t **pp = &lv->procs; *pp;) {
		docker_proc_t *p = *pp;
		if (p->orphan && p->finished) {
			*pp = p->next;
			pthread_mutex_unlock(&lv->lock);
			proc_join_release(p);
			pthread_mutex_lock(&lv->lock);
			pp = &lv->procs; /* the list may have changed meanwhile */
			continue;
		}
		pp = &p->next;
	}
}

static size_t live_list(void *live, int *pids, size_t max)
{
	docker_live_t *lv = live;
	size_t n = 0;
	pthread_mutex_lock(&lv->lock);
	prune_orphans_locked(lv);
	for (docker_proc_t *p = lv->procs; p; p = p->next) {
		if (p->finished || p->pid <= 0)
			continue;
		if (n < max)
			pids[n] = p->pid;
		n++;
	}
	pthread_mutex_unlock(&lv->lock);
	return n;
}

/* ---- one exec -------------------------------------------------------------- */

/* The wrapper: its pid first, then the program. */
static const char wrapper[] = "echo $$; exec \"$@\"";

/* Signals a process (tree: and every descendant, each stopped as it is
 * found, so that none escapes by forking or being reparented) by an exec
 * of /bin/sh in the container, as its user. The tree is found from
 * /proc/PID/stat's parent field, which gVisor has too (it has no
 * /proc/PID/task/TID/children). */
static const char signal_script[] =
	"s=$1; q=$2; all=; [ \"$3\" = tree ] || { kill -\"$s\" \"$q\"; exit; }; "
	"while [ -n \"$q\" ]; do set -- $q; p=$1; shift; q=\"$*\"; "
	"kill -STOP \"$p\" 2>/dev/null; all=\"$all $p\"; "
	"for f in /proc/[0-9]*/stat; do read -r l < \"$f\" 2>/dev/null || continue; "
	"r=${l##*) }; set -- $r; [ \"$2\" = \"$p\" ] || continue; "
	"c=${f#/proc/}; q=\"$q ${c%/stat}\"; done; done; "
	"kill -\"$s\" $all 2>/dev/null; kill -CONT $all 2>/dev/null; true";

/* Creates an exec; its id in id. */
static int exec_create(docker_live_t *lv, json_t *body, char *id, size_t size, symbi_error_t *err)
{
	char path[256];
	snprintf(path, sizeof(path), "/containers/%s/exec", lv->id);
	json_t *reply;
	long status = symbi_engine_request(lv->sock, "POST", path, body, &reply, err);
	json_decref(body);
	if (status < 0) {
		json_decref(reply);
		return -1;
	}
	const char *got = json_string_value(json_object_get(reply, "Id"));
	int rc = 0;
	if (status != 201 || !got || strlen(got) >= size) {
		const char *why = live_ended(lv);
		rc = why ? symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "the live sandbox has ended: %s", why)
			 : symbi_fail(err, SYMBI_E_UNAVAILABLE, 0,
				      "the Docker daemon refused the exec (HTTP %ld): %s", status,
				      symbi_engine_message(reply));
	} else {
		snprintf(id, size, "%s", got);
	}
	json_decref(reply);
	return rc;
}

static int start_stream(docker_live_t *lv, const char *exec_id, symbi_error_t *err)
{
	char path[256];
	snprintf(path, sizeof(path), "/exec/%s/start", exec_id);
	json_t *body = json_pack("{s:b, s:b}", "Detach", 0, "Tty", 0);
	if (!body)
		return symbi_fail_nomem(err);
	int fd = symbi_engine_hijack(lv->sock, path, body, err);
	json_decref(body);
	return fd;
}

static int signal_exec(docker_live_t *lv, int pid, int sig, bool tree, symbi_error_t *err)
{
	char s[16], t[16];
	snprintf(s, sizeof(s), "%d", sig);
	snprintf(t, sizeof(t), "%d", pid);
	json_t *body = json_pack("{s:b, s:b, s:b, s:[s, s, s, s, s, s, s]}", "AttachStdin", 0,
				 "AttachStdout", 0, "AttachStderr", 0, "Cmd", "/bin/sh", "-c",
				 signal_script, "sh", s, t, tree ? "tree" : "one");
	if (!body)
		return symbi_fail_nomem(err);
	char id[128];
	if (exec_create(lv, body, id, sizeof(id), err) < 0)
		return -1;
	int fd = start_stream(lv, id, err);
	if (fd < 0)
		return -1;
	/* Done when the daemon closes the stream. */
	char buf[256];
	for (;;) {
		struct pollfd pf = {fd, POLLIN, 0};
		int r = poll(&pf, 1, 10000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || read(fd, buf, sizeof(buf)) <= 0)
			break;
	}
	close(fd);
	return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A piece of a frame: the wrapper's pid line first, then output. */
static void on_frame(void *ctx, int stream, const char *data, size_t len)
{
	docker_proc_t *p = ctx;
	if (stream == 1 && !p->pid_read) {
		while (len && !p->pid_read) {
			char c = *data++;
			len--;
			if (c == '\n' || p->pidlen + 1 >= sizeof(p->pidline)) {
				p->pidline[p->pidlen] = '\0';
				pthread_mutex_lock(&p->lv->lock);
				p->pid = atoi(p->pidline);
				p->pid_read = true;
				pthread_cond_broadcast(&p->lv->cond);
				pthread_mutex_unlock(&p->lv->lock);
			} else {
				p->pidline[p->pidlen++] = c;
			}
		}
	}
	int *fd = stream == 2 ? &p->err_fd : stream == 1 ? &p->out_fd : NULL;
	if (len && fd && *fd >= 0 && write_all(*fd, data, len) < 0)
		close_fd(fd); /* nobody reads it any more */
}

/* The exec's exit code, once the daemon has it. */
static void read_exit(docker_proc_t *p)
{
	docker_live_t *lv = p->lv;
	char path[256];
	snprintf(path, sizeof(path), "/exec/%s/json", p->exec_id);
	uint64_t give_up = symbi_monotonic_ms() + LIVE_EXIT_WAIT_MS;
	for (long pause_us = 500;; pause_us = pause_us < 20000 ? pause_us * 2 : pause_us) {
		json_t *reply;
		symbi_error_t ignored;
		long status = symbi_engine_request(lv->sock, "GET", path, NULL, &reply, &ignored);
		bool running = json_is_true(json_object_get(reply, "Running"));
		json_t *code = json_object_get(reply, "ExitCode");
		if (status == 200 && !running && json_is_integer(code)) {
			p->exit_code = (int)json_integer_value(code);
			p->code_known = true;
		}
		json_decref(reply);
		/* Under gVisor an exec of a dead container stays "running". */
		if (status != 200 || !running || symbi_monotonic_ms() >= give_up || live_ended(lv))
			return;
		struct timespec ts = {0, pause_us * 1000};
		nanosleep(&ts, NULL);
	}
}

static void *pump_main(void *arg)
{
	docker_proc_t *p = arg;
	docker_live_t *lv = p->lv;
	sigset_t pipe_set;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
	/* stdin waits in `pending` while the stream cannot take it, so that a
	 * process that writes without reading never blocks us. */
	char buf[65536], pending[65536];
	size_t pend_off = 0, pend_len = 0;
	bool in_eof = p->in_fd < 0;
	fcntl(p->conn, F_SETFL, fcntl(p->conn, F_GETFL) | O_NONBLOCK);
	for (;;) {
		struct pollfd pf[2] = {{p->conn, POLLIN | (pend_len ? POLLOUT : 0), 0},
				       {pend_len || in_eof ? -1 : p->in_fd, POLLIN, 0}};
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents & POLLOUT && pend_len) {
			ssize_t n = send(p->conn, pending + pend_off, pend_len, MSG_NOSIGNAL);
			if (n > 0) {
				pend_off += (size_t)n;
				pend_len -= (size_t)n;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				pend_len = 0;
				in_eof = true;
				close_fd(&p->in_fd);
			}
		}
		if (pf[1].revents) {
			ssize_t n = read(p->in_fd, pending, sizeof(pending));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				in_eof = true;
				close_fd(&p->in_fd);
				shutdown(p->conn, SHUT_WR); /* the process's stdin ends */
			} else {
				pend_off = 0;
				pend_len = (size_t)n;
			}
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(p->conn, buf, sizeof(buf), 0);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0 || symbi_engine_demux_feed(&p->demux, buf, (size_t)n, on_frame, p) < 0)
				break;
		}
	}
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	close_fd(&p->in_fd);
	read_exit(p);
	pthread_mutex_lock(&lv->lock);
	if (lv->ended[0] && (!p->code_known || p->exit_code == 128 + SIGKILL)) {
		p->sandbox_gone = true;
		snprintf(p->gone, sizeof(p->gone), "%s", lv->ended);
	}
	p->finished = p->pid_read = true;
	if (!p->detached) {
		lv->busy--;
		lv->active_ms = symbi_monotonic_ms();
	}
	pthread_cond_broadcast(&lv->cond);
	pthread_mutex_unlock(&lv->lock);
	if (write(p->done[1], "x", 1) < 0) {
		/* the pipe is ours and empty: cannot fail */
	}
	return NULL;
}

/* Creates the exec, starts it with its stream and its pump, and waits for
 * its pid. stdio as the supervision gives it (stdin -1: none). */
static int proc_start(docker_proc_t *p, json_t *body, const int stdio[3], symbi_error_t *err)
{
	docker_live_t *lv = p->lv;
	if (exec_create(lv, body, p->exec_id, sizeof(p->exec_id), err) < 0)
		return -1;
	if ((p->conn = start_stream(lv, p->exec_id, err)) < 0)
		return -1;
	/* Our own copies: the supervision closes its ends once we return. */
	if ((stdio[0] >= 0 && (p->in_fd = fcntl(stdio[0], F_DUPFD_CLOEXEC, 3)) < 0) ||
	    (stdio[1] >= 0 && (p->out_fd = fcntl(stdio[1], F_DUPFD_CLOEXEC, 3)) < 0) ||
	    (stdio[2] >= 0 && (p->err_fd = fcntl(stdio[2], F_DUPFD_CLOEXEC, 3)) < 0))
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot keep the process's streams");
	if (stdio[0] < 0)
		shutdown(p->conn, SHUT_WR);
	pthread_mutex_lock(&lv->lock);
	if (!p->detached)
		lv->busy++;
	pthread_mutex_unlock(&lv->lock);
	if (pthread_create(&p->pump, NULL, pump_main, p) != 0) {
		pthread_mutex_lock(&lv->lock);
		if (!p->detached)
			lv->busy--;
		pthread_mutex_unlock(&lv->lock);
		return symbi_fail(err, SYMBI_E_SYSTEM, 0, "cannot start the process's stream thread");
	}
	p->have_pump = true;
	pthread_mutex_lock(&lv->lock);
	while (!p->pid_read)
		pthread_cond_wait(&lv->cond, &lv->lock);
	bool started = p->pid > 0;
	pthread_mutex_unlock(&lv->lock);
	if (started)
		return 0;
	/* The wrapper never ran: the stream ended first. */
	pthread_join(p->pump, NULL);
	p->have_pump = false;
	const char *why = live_ended(lv);
	return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "%s%s",
			  why ? "the live sandbox has ended: " : "the process did not start in the container",
			  why ? why : "");
}

static int proc_wait_fd(void *ctx)
{
	return ((docker_proc_t *)ctx)->done[0];
}

static int proc_reap(void *ctx, int *wait_status)
{
	docker_proc_t *p = ctx;
	pthread_mutex_lock(&p->lv->lock);
	bool done = p->finished;
	pthread_mutex_unlock(&p->lv->lock);
	if (!done)
		return 0;
	/* The daemon reports a death by signal as 128 + the signal. */
	int code = p->code_known ? p->exit_code : 128 + SIGKILL;
	*wait_status = code > 128 && code < 128 + 65 ? code - 128 : (code & 0xff) << 8;
	return 1;
}

static void proc_on_timeout(void *ctx)
{
	docker_proc_t *p = ctx;
	symbi_error_t ignored;
	if (p->pid > 0)
		signal_exec(p->lv, p->pid, SIGKILL, true, &ignored);
}

static void proc_release(docker_proc_t *p)
{
	close_fd(&p->conn);
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	close_fd(&p->in_fd);
	close_fd(&p->done[0]);
	close_fd(&p->done[1]);
	close_fd(&p->stdin_fd);
	free(p->input);
	json_decref(p->body);
	free(p);
}

static void unlink_proc(docker_proc_t *p)
{
	docker_live_t *lv = p->lv;
	pthread_mutex_lock(&lv->lock);
	for (docker_proc_t **pp = &lv->procs; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	pthread_mutex_unlock(&lv->lock);
}

/* The exec's body: the wrapper around argv, or around lang's interpreter
 * given the code. */
static json_t *exec_body(docker_live_t *lv, const symbi_exec_options_t *o, bool attach_stdin,
			 bool attach_stderr, symbi_error_t *err)
{
	json_t *cmd = json_pack("[s, s, s, s]", "/bin/sh", "-c", wrapper, "sh");
	json_t *env = json_array();
	json_t *body = NULL;
	if (!cmd || !env)
		goto nomem;
	if (o->argv) {
		for (size_t i = 0; o->argv[i]; i++) {
			json_t *a = json_string(o->argv[i]);
			if (!a) {
				symbi_fail(err, SYMBI_E_INVALID, 0,
					   "argv[%zu] must be UTF-8 in a live docker sandbox", i);
				goto fail;
			}
			if (json_array_append_new(cmd, a) < 0)
				goto nomem;
		}
	} else {
		const symbi_config_t *cfg = lv->cfg;
		json_t *code = o->code_len <= LIVE_CODE_MAX && !memchr(o->code ? o->code : "", '\0', o->code_len)
				       ? json_stringn(o->code ? o->code : "", o->code_len) : NULL;
		if (!code) {
			symbi_fail(err, SYMBI_E_INVALID, 0,
				   "code of %zu bytes, or not UTF-8, or with a NUL byte, cannot run in a "
				   "live %s sandbox yet (at most %d bytes of UTF-8): write it to a file in "
				   "the sandbox and run that", o->code_len,
				   cfg->backend == SYMBI_BACKEND_GVISOR ? "gvisor" : "docker", LIVE_CODE_MAX);
			goto fail;
		}
		const char *flag = cfg->lang && strcmp(cfg->lang, "node") == 0 ? "-e" : "-c";
		if (json_array_append_new(cmd, json_string(symbi_config_interpreter(cfg))) < 0 ||
		    json_array_append_new(cmd, json_string(flag)) < 0 ||
		    json_array_append_new(cmd, code) < 0)
			goto nomem;
	}
	for (size_t i = 0; i < symbi_env_count(o->env); i++) {
		char *kv;
		if (asprintf(&kv, "%s=%s", symbi_env_key(o->env, i), symbi_env_value(o->env, i)) < 0)
			goto nomem;
		json_t *s = json_string(kv);
		free(kv);
		if (!s) {
			symbi_fail(err, SYMBI_E_INVALID, 0,
				   "environment variable %.100s: its value must be UTF-8 in a live docker "
				   "sandbox", symbi_env_key(o->env, i));
			goto fail;
		}
		if (json_array_append_new(env, s) < 0)
			goto nomem;
	}
	if (o->cwd && o->cwd[0] != '/') {
		symbi_fail(err, SYMBI_E_INVALID, 0, "cwd must be an absolute path in the sandbox");
		goto fail;
	}
	body = json_pack("{s:b, s:b, s:b, s:b, s:O, s:O}", "AttachStdin", attach_stdin,
			 "AttachStdout", 1, "AttachStderr", attach_stderr, "Tty", 0, "Cmd", cmd,
			 "Env", env);
	if (!body)
		goto nomem;
	if (o->cwd && json_object_set_new(body, "WorkingDir", json_string(o->cwd)) < 0)
		goto nomem;
	json_decref(cmd);
	json_decref(env);
	return body;
nomem:
	symbi_fail_nomem(err);
fail:
	json_decref(cmd);
	json_decref(env);
	json_decref(body);
	return NULL;
}

static int proc_spawn_hook(void *ctx, const int stdio[3], pid_t *pid, symbi_error_t *err)
{
	docker_proc_t *p = ctx;
	*pid = 0;
	json_t *body = p->body;
	p->body = NULL;
	return proc_start(p, body, stdio, err);
}

static int live_spawn(void *live, const symbi_exec_options_t *o, void **out, symbi_error_t *err)
{
	docker_live_t *lv = live;
	*out = NULL;
	pthread_mutex_lock(&lv->lock);
	prune_orphans_locked(lv);
	pthread_mutex_unlock(&lv->lock);
	const char *why = live_ended(lv);
	if (why)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "the live sandbox has ended: %s", why);
	if (symbi_docker_env_check(o->env, err) < 0)
		return -1;
	docker_proc_t *p = calloc(1, sizeof(*p));
	if (!p)
		return symbi_fail_nomem(err);
	p->lv = lv;
	p->conn = p->out_fd = p->err_fd = p->in_fd = p->stdin_fd = -1;
	p->done[0] = p->done[1] = -1;
	p->detached = o->detached;
	p->timeout_ms = o->timeout_ms;
	if (pipe2(p->done, O_CLOEXEC) < 0) {
		int e = errno;
		proc_release(p);
		return symbi_fail(err, SYMBI_E_SYSTEM, e, "cannot create the process's pipe");
	}
	bool with_stdin = !p->detached && (o->stdin_open || o->stdin_data);
	int rc = -1;
	if (!(p->body = exec_body(lv, o, with_stdin, !p->detached, err)))
		goto fail;
	if (o->stdin_data && o->stdin_len) {
		if (!(p->input = malloc(o->stdin_len))) {
			symbi_fail_nomem(err);
			goto fail;
		}
		memcpy(p->input, o->stdin_data, o->stdin_len);
	}
	p->oom_before = oom_kills(lv);
	if (p->detached) {
		int stdio[3] = {-1, -1, -1};
		rc = proc_spawn_hook(p, stdio, &(pid_t){0}, err);
	} else {
		symbi_supervise_opts_t so = {
			.input = p->input ? p->input : o->stdin_data ? "" : NULL,
			.input_len = p->input ? o->stdin_len : 0,
			.max_output_bytes = o->max_output_bytes, .timeout_ms = o->timeout_ms,
			.on_timeout = proc_on_timeout, .ctx = p, .kill_grace_ms = 0,
			.cancel_fd = o->cancel_fd, .spawn = proc_spawn_hook,
			.on_output = o->on_output, .output_ctx = o->output_ctx,
			.stdin_open = o->stdin_open, .wait_fd = proc_wait_fd, .reap = proc_reap,
		};
		rc = symbi_supervise_start(&so, &p->sup, err);
	}
	if (rc < 0)
		goto fail;
	if (o->stdin_open)
		p->stdin_fd = symbi_supervision_take_stdin(p->sup);
	pthread_mutex_lock(&lv->lock);
	p->next = lv->procs;
	lv->procs = p;
	pthread_mutex_unlock(&lv->lock);
	*out = p;
	return 0;
fail:
	if (p->have_pump) {
		/* It runs, but we cannot hand it out: it goes. */
		symbi_error_t ignored;
		signal_exec(lv, p->pid, SIGKILL, true, &ignored);
	}
	proc_join_release(p);
	return -1;
}

static int set_error(symbi_result_t *res, symbi_status_t status, int sig, symbi_error_t *err,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int set_error(symbi_result_t *res, symbi_status_t status, int sig, symbi_error_t *err,
		     const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	free(res->error);
	if (!(res->error = strdup(text)))
		return symbi_fail_nomem(err);
	symbi_result_set_exit(res, status, -1, sig);
	return 0;
}

static int classify(docker_proc_t *p, const symbi_supervise_outcome_t *oc, symbi_result_t *res,
		    symbi_error_t *err)
{
	int ws = oc->wait_status;
	if (oc->cancelled)
		return set_error(res, SYMBI_STATUS_ERROR, 0, err, "execution cancelled");
	if (p->sandbox_gone)
		return set_error(res, strstr(p->gone, "max_lifetime") || strstr(p->gone, "idle_timeout")
					      ? SYMBI_STATUS_TIMEOUT
				      : strstr(p->gone, "memory limit") ? SYMBI_STATUS_OOM : SYMBI_STATUS_ERROR,
				 SIGKILL, err, "the process was killed: %s", p->gone);
	if (!p->code_known)
		return set_error(res, SYMBI_STATUS_ERROR, 0, err,
				 "the Docker daemon did not report the process's exit");
	/* The OOM killer struck in the container while it ran, and it (or the
	 * child it waited for last, as a shell reports it) died of SIGKILL:
	 * the container's cgroup counts OOM kills (memory.events), docker's
	 * OOMKilled is the container's main process only. Processes killed side
	 * by side cannot be told apart. */
	bool killed = WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL;
	long ooms = oom_kills(p->lv);
	if (killed && !oc->timed_out && ooms >= 0 && ooms > p->oom_before)
		return set_error(res, SYMBI_STATUS_OOM, SIGKILL, err,
				 "the program was killed for exceeding the memory limit");
	if (oc->timed_out)
		return set_error(res, SYMBI_STATUS_TIMEOUT, SIGKILL, err,
				 "execution timed out after %llu ms", (unsigned long long)p->timeout_ms);
	if (WIFEXITED(ws))
		symbi_result_set_exit(res, SYMBI_STATUS_EXITED, WEXITSTATUS(ws), 0);
	else
		symbi_result_set_exit(res, SYMBI_STATUS_SIGNALED, -1, WTERMSIG(ws));
	return 0;
}

static int proc_wait(void *proc, symbi_result_t **out, symbi_error_t *err)
{
	docker_proc_t *p = proc;
	*out = NULL;
	if (!p->sup)
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  p->detached ? "a detached process cannot be waited for"
					      : "the process was already waited for");
	symbi_supervise_outcome_t oc;
	symbi_supervision_t *s = p->sup;
	p->sup = NULL;
	if (symbi_supervise_finish(s, &oc, err) < 0)
		return -1;
	unlink_proc(p);
	symbi_result_t *res = symbi_result_from_outcome(&oc);
	symbi_stream_free(&oc.out);
	symbi_stream_free(&oc.err);
	if (!res)
		return symbi_fail_nomem(err);
	if (classify(p, &oc, res, err) < 0) {
		symbi_result_free(res);
		return -1;
	}
	*out = res;
	return 0;
}

static int proc_signal(void *proc, int sig, symbi_error_t *err)
{
	docker_proc_t *p = proc;
	if (sig <= 0 || sig >= 65)
		return symbi_fail(err, SYMBI_E_INVALID, 0, "signal %d is not a signal", sig);
	pthread_mutex_lock(&p->lv->lock);
	bool done = p->finished;
	pthread_mutex_unlock(&p->lv->lock);
	if (done || p->pid <= 0)
		return 0;
	return signal_exec(p->lv, p->pid, sig, false, err);
}

static int proc_write_stdin(void *proc, const void *data, size_t len, symbi_error_t *err)
{
	docker_proc_t *p = proc;
	const char *d = data;
	if (p->stdin_fd < 0)
		return symbi_fail(err, SYMBI_E_INVALID, EBADF,
				  "the process's stdin is not open (see stdin_open)");
	while (len) {
		ssize_t n = send(p->stdin_fd, d, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return symbi_fail(err, SYMBI_E_SYSTEM, errno,
					  "cannot write to the process's stdin%s",
					  errno == EPIPE ? " (it is closed, or the process ended)" : "");
		d += n;
		len -= (size_t)n;
	}
	return 0;
}

static int proc_close_stdin(void *proc, symbi_error_t *err)
{
	docker_proc_t *p = proc;
	if (p->stdin_fd < 0 || shutdown(p->stdin_fd, SHUT_WR) < 0)
		return symbi_fail(err, SYMBI_E_INVALID, EBADF,
				  "the process's stdin is not open (see stdin_open)");
	return 0;
}

static int proc_id(const void *proc)
{
	return ((const docker_proc_t *)proc)->pid;
}

static void proc_free(void *proc)
{
	docker_proc_t *p = proc;
	if (!p)
		return;
	if (p->detached) {
		/* It runs on: the sandbox keeps its record (for list) and
		 * frees it when it has ended or at the stop. */
		pthread_mutex_lock(&p->lv->lock);
		p->orphan = true;
		pthread_mutex_unlock(&p->lv->lock);
		return;
	}
	unlink_proc(p);
	if (p->sup)
		symbi_supervise_abandon(p->sup); /* kills it (on_timeout) and awaits its end */
	proc_join_release(p);
}

const symbi_live_ops_t symbi_docker_live_ops = {
	.start = live_start,
	.kill = live_kill,
	.free = live_free,
	.ended = live_ended,
	.list = live_list,
	.spawn = live_spawn,
	.wait = proc_wait,
	.signal = proc_signal,
	.write_stdin = proc_write_stdin,
	.close_stdin = proc_close_stdin,
	.id = proc_id,
	.proc_free = proc_free,
};
