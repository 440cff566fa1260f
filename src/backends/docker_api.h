/* The docker and gvisor backends through the Engine API (docker_engine.c)
 * rather than a docker CLI process per step, when docker_binary is the
 * default: the one-shot run's container is created, attached, started,
 * waited for, inspected and removed by requests on the daemon's socket
 * (docker_api.c), from the same `docker run` command line the CLI path
 * runs (docker_api_body.c). Each CLI process costs 15-30 ms of start-up;
 * a request, well under a millisecond of ours. */
#ifndef SYMBI_BACKENDS_DOCKER_API_H
#define SYMBI_BACKENDS_DOCKER_API_H

#include "docker.h"
#include "docker_engine.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* The engine for a backend whose configuration allows it: docker_binary
 * is the default ("docker": the operator did not pick a client of their
 * own), no DOCKER_CONTEXT points the client elsewhere, DOCKER_HOST (if
 * set) is a unix socket and libcurl loads. NULL otherwise (the backend
 * then uses the CLI): the caller frees it with symbi_docker_api_close. */
symbi_engine_t *symbi_docker_api_open(const symbi_config_t *cfg);
void symbi_docker_api_close(symbi_engine_t *engine);

/* ContainerCreate's request, translated from a `docker run` command line
 * built by docker_argv.c. */
typedef struct symbi_docker_create {
	json_t *body;      /* the caller's to json_decref */
	char name[64];     /* --name */
	bool attach_stdin; /* -i */
	bool detached;     /* -d */
} symbi_docker_create_t;

/* Translates argv (argv[0] the client, argv[1] "run"); client_env is the
 * client's environment, whose values `-e NAME` takes, and seccomp_profile
 * the profile that SYMBI_DOCKER_SECCOMP_OPT names. Returns 0, 1 when
 * argv has a flag the translation does not know (nothing to free: such a
 * run goes through the CLI), or -1 with err. */
int symbi_docker_create_body(const symbi_strlist_t *argv, char *const *client_env,
			     const char *seccomp_profile, symbi_docker_create_t *out,
			     symbi_error_t *err);

/* ContainerCreate (its id in id) and ContainerStart: 0, or -1 with err
 * (the daemon's refusal worded as the CLI words it). */
int symbi_docker_api_create(const symbi_engine_t *e, const symbi_docker_create_t *create,
			    char *id, size_t id_size, symbi_error_t *err);
int symbi_docker_api_start(const symbi_engine_t *e, const char *name, symbi_error_t *err);

/* What the daemon says of a container after its run. */
typedef struct symbi_docker_state {
	bool found;
	bool engine_gone; /* the inspection could not reach the daemon */
	bool oom_killed;
	int exit_code;
	char runtime[128]; /* HostConfig.Runtime: what the container ran on */
	char error[512];
} symbi_docker_state_t;

void symbi_docker_api_inspect(const symbi_engine_t *e, const char *name, symbi_docker_state_t *st);
/* Kill: the daemon's HTTP status, or -1 when it could not be reached.
 * Removal (with anonymous volumes): 0 (also when it was gone) or -1. */
long symbi_docker_api_kill(const symbi_engine_t *e, const char *name);
int symbi_docker_api_remove(const symbi_engine_t *e, const char *name);

/* One attached run, driven by symbi_supervise's hooks: spawn creates the
 * container, attaches to it, starts it and carries its streams from a
 * thread of its own; wait_fd is readable and reap answers once the
 * stream has ended and the container's exit is known. */
typedef struct symbi_docker_api_run {
	const symbi_engine_t *engine;
	symbi_docker_create_t create;
	bool created;   /* the container exists: it must be removed */
	/* gvisor: the runtime the container must have before it starts
	 * (HostConfig.Runtime, checked between create and start); NULL: none. */
	const char *expect_runtime;
	/* How long the exit may take to be known once the stream has ended
	 * (the program may have closed its streams and run on until its
	 * timeout): beyond it the daemon is taken as gone. */
	uint64_t wait_limit_ms;
	/* Set (atomically) when the daemon did not answer the kill at the
	 * deadline: the stream is cut and the exit not asked for. */
	bool daemon_gone;
	int conn;       /* the attach stream */
	int in_fd, out_fd, err_fd;
	int done[2];
	pthread_t pump;
	bool have_pump;
	bool code_known;
	int exit_code;
	/* Why the exit is not known: the daemon's answer to the wait. */
	char failure[512];
} symbi_docker_api_run_t;

/* Sets up run (create: a translated request, now the run's); release it
 * with symbi_docker_api_run_release whatever happens. */
void symbi_docker_api_run_init(symbi_docker_api_run_t *run, const symbi_engine_t *e,
			       symbi_docker_create_t *create);
int symbi_docker_api_spawn(void *run, const int stdio[3], pid_t *pid, symbi_error_t *err);
/* The deadline's kill (supervision's on_timeout): a daemon that does not
 * answer it will not end the stream either, so the stream is cut and the
 * run becomes the daemon's failure. */
void symbi_docker_api_deadline(symbi_docker_api_run_t *run);
int symbi_docker_api_wait_fd(void *run);
int symbi_docker_api_reap(void *run, int *wait_status);
/* Joins the stream's thread and closes what is left; the container itself
 * is the caller's to remove. */
void symbi_docker_api_run_release(symbi_docker_api_run_t *run);

/* The start-up sweep's listing: every container of ours as
 * "ID|STATE|KEEP|DEADLINE|OWNER" lines, as the CLI's `docker ps --format`
 * gives them. 0, or -1 with err if the daemon did not answer. */
int symbi_docker_api_list(const symbi_engine_t *e, char *out, size_t size, symbi_error_t *err);
/* The image's ID and declared volumes as `docker image inspect --format
 * '{{.Id}}|{{json .Config.Volumes}}'` prints them: 0, 1 if there is no such
 * image (or the daemon refused), -1 with err if it did not answer. */
int symbi_docker_api_image(const symbi_engine_t *e, const char *image, char *out, size_t size,
			   symbi_error_t *err);

#endif
