/* The Docker backend (and gVisor, which is Docker with the runsc runtime). */
#ifndef SYMBI_BACKENDS_DOCKER_H
#define SYMBI_BACKENDS_DOCKER_H

#include <symbi/sandbox.h>

#include "../core/config.h"
#include "../core/strlist.h"

#include <sys/types.h>

struct symbi_exec_request;
struct symbi_engine; /* docker_engine.h: NULL below means "through the CLI" */
struct symbi_stream;

/* Label put on every container we start, so that they can be found; no
 * extra flag may set a label under this prefix. */
#define SYMBI_DOCKER_LABEL "io.symbi.sandbox"
/* When the container must be gone (unix seconds), and who runs it
 * (symbi_docker_owner): what the start-up sweep goes by. */
#define SYMBI_DOCKER_LABEL_DEADLINE SYMBI_DOCKER_LABEL ".deadline"
#define SYMBI_DOCKER_LABEL_OWNER SYMBI_DOCKER_LABEL ".owner"
/* Set on containers the caller asked to keep (auto_remove false): once
 * stopped they are left alone by the sweep. */
#define SYMBI_DOCKER_LABEL_KEEP SYMBI_DOCKER_LABEL ".keep"
/* Starts a line on stderr by which the in-container bootstrap reports its
 * own failure; the run's secret and ": " follow. */
#define SYMBI_DOCKER_BOOTSTRAP_MARK "symbi-sandbox-bootstrap "
/* Under gVisor an outer bootstrap shell records the program's exit as the
 * last line on stderr: this mark, the run's exit secret, " exit ", the
 * status (gvisor_exit.c). */
#define SYMBI_GVISOR_EXIT_WORD " exit "
/* The fixed environment of every docker process we start. */
#define SYMBI_DOCKER_CONTROL_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* DOCKER_CONFIG when neither DOCKER_CONFIG nor HOME is set: a directory
 * that does not exist, under a parent only root can write. */
#define SYMBI_DOCKER_NO_CONFIG "/nonexistent/symbi-sandbox-docker-config"
/* The most code that runs as an argument (`$0 -c CODE`) in a one-shot run
 * and is accepted by an exec into a live sandbox: one argv string, which
 * the kernel caps at 128 KiB. */
#define SYMBI_DOCKER_CODE_ARG_MAX (100 * 1024)
/* The container's /dev (device nodes only, so small) and /dev/shm, both
 * noexec. */
#define SYMBI_DOCKER_DEV_TMPFS "/dev:rw,nosuid,dev,noexec,size=1m,mode=755"
#define SYMBI_DOCKER_SHM_TMPFS "/dev/shm:rw,noexec,nosuid,nodev,size=64m"
/* The host-side pids limit of a gVisor sandbox whose program may have n
 * processes: gVisor's own tasks plus about 9 host tasks per process on the
 * ptrace platform, with room to spare. */
#define SYMBI_GVISOR_HOST_PIDS(n) ((n) * 16 + 128)
/* Size cap of the tmpfs put over each VOLUME an image declares. */
#define SYMBI_DOCKER_IMAGE_VOLUME_TMPFS "rw,noexec,nosuid,nodev,size=100m"

#define SYMBI_DOCKER_CONTROL_TIMEOUT_MS 30000

/* What a control command printed (truncated to fit). */
typedef struct symbi_docker_output {
	char text[32768];
	char error[1024]; /* stderr, trailing blanks trimmed */
} symbi_docker_output_t;

/* Runs `docker ARG...` (NULL-terminated, at most 14) with the control
 * environment; out may be NULL. Returns its exit status (128 + signal if
 * killed), or -1 with err if it could not run or did not finish in time. */
int symbi_docker_command(const symbi_config_t *cfg, symbi_docker_output_t *out,
			 symbi_error_t *err, ...);

/* Checks one extra_flags entry on its own: a flag on the allowlist or a
 * value. Used as entries are added. */
int symbi_docker_extra_flag_check(const char *entry, symbi_error_t *err);
/* Checks the whole list: flags allowed for this backend, every value paired
 * with a flag that takes one. */
int symbi_docker_extra_flags_check(const symbi_strlist_t *flags, symbi_backend_kind_t backend,
				   symbi_error_t *err);

/* Refuses env keys that would configure the docker client itself (values
 * reach the container through the client's environment, never argv). */
int symbi_docker_env_check(const symbi_env_t *env, symbi_error_t *err);

/* What one `docker run` is made of besides the configuration. */
typedef struct symbi_docker_run_plan {
	const char *name;     /* the container's unique name */
	const char *image;    /* the image, by the ID that was inspected */
	/* The VOLUME paths the image declares: each gets a capped tmpfs. */
	const symbi_strlist_t *image_volumes;
	/* The -v mounts, host paths replaced by their pinned staging paths
	 * (docker_volumes.c); NULL for none. */
	const struct symbi_docker_volumes *volumes;
	long long deadline;   /* unix seconds; SYMBI_DOCKER_LABEL_DEADLINE */
	const char *owner;    /* SYMBI_DOCKER_LABEL_OWNER */
	/* A live sandbox's container: detached, running only a waiting
	 * process, never kept; deadline 0 means no deadline label. */
	bool live;
} symbi_docker_run_plan_t;

/* Builds `docker run ...` for one execution; the secret line, the code
 * (then the program's stdin data, if any) are fed on the client's stdin.
 * Under gVisor the exit secret's line comes first (gvisor_exit.c). */
int symbi_docker_build_run_argv(const symbi_config_t *cfg, const symbi_docker_run_plan_t *plan,
				const struct symbi_exec_request *req, symbi_strlist_t *argv,
				symbi_error_t *err);
/* Builds `docker run -d ...` for a live sandbox (docker_live.c): the
 * same confinement as a one-shot run, its main process a sleep. */
int symbi_docker_build_live_argv(const symbi_config_t *cfg, const symbi_docker_run_plan_t *plan,
				 symbi_strlist_t *argv, symbi_error_t *err);
/* Finds the gvisor bootstrap's exit line (with `secret`) at the very end
 * of the stderr stream and takes it out of the stream (count and kept
 * bytes). Returns the status it records (0-255), or -1 if there is none:
 * the program's exit never reached the bootstrap. */
int symbi_gvisor_take_exit(struct symbi_stream *err_stream, const char *secret);
/* The fixed environment of every docker process we start (PATH, a pinned
 * DOCKER_CONFIG, and our own DOCKER_HOST etc.): never the program's. */
int symbi_docker_control_env(symbi_strlist_t *envp, symbi_error_t *err);
/* The docker client's environment for `docker run`: the control
 * environment plus the program's variables, each renamed SYMBI_ENV_<KEY>. */
int symbi_docker_build_client_env(const symbi_env_t *env, symbi_strlist_t *envp,
				  symbi_error_t *err);

/* The seccomp profile (syscall_policy.c as Docker's JSON) reaches the
 * docker client (not gVisor's, which keeps its own) as its descriptor 3. */
#define SYMBI_DOCKER_SECCOMP_FD 3
#define SYMBI_DOCKER_SECCOMP_OPT "seccomp=/proc/self/fd/3"
/* The profile as a JSON string (free it), or NULL with err set. */
char *symbi_docker_seccomp_profile(symbi_error_t *err);
/* A sealed close-on-exec memfd holding the profile, or -1 with err set. */
int symbi_docker_seccomp_memfd(symbi_error_t *err);

/* A watchdog process that removes container `name` (and kills the docker
 * client `client_pid`, if above 0) if this process dies before calling
 * symbi_docker_reaper_release(). `docker_path` must be the resolved
 * executable; envp the control environment. No shell is involved. */
typedef struct symbi_docker_reaper {
	int done_fd;
	pid_t pid;
} symbi_docker_reaper_t;

int symbi_docker_reaper_start(symbi_docker_reaper_t *r, const char *docker_binary,
			      const char *name, pid_t client_pid, char *const *envp,
			      symbi_error_t *err);
void symbi_docker_reaper_release(symbi_docker_reaper_t *r);

/* One -v mount: what docker binds (a pinned staging path, a checked host
 * path or a named volume) onto the volume's target, with its options. */
typedef struct symbi_docker_mount {
	char *source;
	const char *target; /* the config's volume's, which outlives the run */
	const char *mode;   /* likewise; NULL for docker's default */
} symbi_docker_mount_t;

/* The -v mounts of one run, pinned (docker_volumes.c). */
typedef struct symbi_docker_volumes {
	char *stage_dir; /* NULL when there are no host paths */
	symbi_docker_mount_t *mounts;
	size_t nmounts;
	size_t mounted;
} symbi_docker_volumes_t;

/* Checks every volume of cfg, pins host paths under a root-only staging
 * directory for container `name`, and fills v. On failure nothing is left
 * behind. Release with symbi_docker_volumes_release() after the run. */
int symbi_docker_volumes_prepare(const symbi_config_t *cfg, const char *name, const char *owner,
				 symbi_docker_volumes_t *v, symbi_error_t *err);
void symbi_docker_volumes_release(symbi_docker_volumes_t *v);
/* Removes the staging directories of owners that are gone. */
void symbi_docker_volumes_sweep(void);

/* Finds the image (pulling it as the --pull extra flag says, "missing" by
 * default; a pull goes through the CLI): its ID and declared VOLUME paths. Returns 0, or 1 with docker's
 * message in why (the run is then a result with status error), or -1 with
 * err. */
int symbi_docker_image_resolve(const symbi_config_t *cfg, const struct symbi_engine *engine,
			       char *id, size_t id_size,
			       symbi_strlist_t *volumes, char *why, size_t why_size,
			       symbi_error_t *err);

/* Who runs a container, as the owner label holds it: this host's boot,
 * our pid namespace, pid and start time. */
int symbi_docker_owner(char *out, size_t size, symbi_error_t *err);
/* True if `owner` is a process of this host, boot and pid namespace that
 * no longer runs. */
bool symbi_docker_owner_gone(const char *owner);
/* Removes (with their anonymous volumes) our containers whose deadline has
 * passed or whose owner on this host is gone. Fails only if docker does
 * not answer: it doubles as the start-up check. */
int symbi_docker_sweep(const symbi_config_t *cfg, const struct symbi_engine *engine,
		       symbi_error_t *err);

/* `bytes` random bytes as hex into out (2 * bytes + 1 long); a container's
 * unique name ("symbi-" and 16 hex digits). */
int symbi_docker_random_hex(char *out, size_t bytes, symbi_error_t *err);
int symbi_docker_container_name(char *out, size_t size, symbi_error_t *err);

/* Shared by the docker and gvisor backends. check_available is the
 * backend's start-up: its state is the Engine API client (docker_api.h),
 * or NULL when every step goes through the CLI; destroy frees it. */
int symbi_docker_check_available(const symbi_config_t *cfg, void **state, symbi_error_t *err);
void symbi_docker_destroy(void *state);
int symbi_docker_execute(void *state, const symbi_config_t *cfg,
			 const struct symbi_exec_request *req, symbi_result_t **out,
			 symbi_error_t *err);

#endif
