/* Shared by the two halves of the docker and gvisor backends' live
 * sandboxes: the container (docker_live.c) and its processes, each an exec
 * (docker_exec.c). */
#ifndef SYMBI_BACKENDS_DOCKER_LIVE_H
#define SYMBI_BACKENDS_DOCKER_LIVE_H

#include "../core/backend.h"
#include "docker.h"
#include "docker_engine.h"
#include "../core/live_proc.h"
#include "../core/supervise.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Code above this goes nowhere yet (docker.h). */
#define LIVE_CODE_MAX SYMBI_DOCKER_CODE_ARG_MAX
/* How long the exit code may lag behind the end of the stream. */
#define LIVE_EXIT_WAIT_MS 10000
/* After its deadline, a container may still exist this long (removal). */
#define LIVE_DEADLINE_SLACK_S 60

typedef struct docker_proc docker_proc_t;

typedef struct docker_live {
	const symbi_config_t *cfg;
	char name[64];
	char id[128];
	symbi_engine_t engine; /* the daemon, its socket and libcurl */
	char owner[256];
	char docker_path[PATH_MAX];
	symbi_strlist_t control_env;
	symbi_docker_volumes_t volumes;
	symbi_docker_reaper_t reaper;
	char memory_events[PATH_MAX]; /* counts its OOM kills; "" if unknown */
	bool created;    /* docker run -d may have made the container */
	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t cond;
	symbi_live_procs_t procs; /* its processes (docker_proc_t) */
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
	symbi_live_node_t node; /* in lv->procs */
	char exec_id[128];
	int conn;          /* the hijacked stream */
	int out_fd, err_fd, in_fd; /* the supervision's ends; -1 when closed */
	int done[2];       /* pipe: readable once the pump is done */
	pthread_t pump;
	bool have_pump;
	bool detached;
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
};

/* docker_live.c */
const char *docker_live_ended(void *live);
/* The container's OOM kills so far, or -1 if they cannot be read. */
long docker_live_oom_kills(const docker_live_t *lv);

/* docker_exec.c: the process operations of symbi_docker_live_ops, and
 * for lv->procs whether a process has ended and the freeing of its record
 * once its pump is done (which it waits for: the stream ends at the
 * latest when the container is gone). */
int docker_live_spawn(void *live, const symbi_exec_options_t *o, void **out, symbi_error_t *err);
int docker_proc_wait(void *proc, symbi_result_t **out, symbi_error_t *err);
int docker_proc_signal(void *proc, int sig, symbi_error_t *err);
int docker_proc_write_stdin(void *proc, const void *data, size_t len, symbi_error_t *err);
int docker_proc_close_stdin(void *proc, symbi_error_t *err);
int docker_proc_id(const void *proc);
void docker_proc_free(void *proc);
bool docker_proc_ended(void *proc);
void docker_proc_join_release(void *proc);

#endif
