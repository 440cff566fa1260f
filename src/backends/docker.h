/* The Docker backend (and gVisor, which is Docker with the runsc runtime). */
#ifndef SYMBI_BACKENDS_DOCKER_H
#define SYMBI_BACKENDS_DOCKER_H

#include <symbi/sandbox.h>

#include "../core/config.h"
#include "../core/strlist.h"

#include <sys/types.h>

struct symbi_exec_request;

/* Label put on every container we start, so that they can be found. */
#define SYMBI_DOCKER_LABEL "io.symbi.sandbox"
/* Starts a line on stderr by which the in-container bootstrap reports its
 * own failure. */
#define SYMBI_DOCKER_BOOTSTRAP_MARK "symbi-sandbox-bootstrap: "

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

/* Builds `docker run ...` for one execution in container `name`; the code
 * (then the program's stdin data, if any) is fed on the client's stdin. */
int symbi_docker_build_run_argv(const symbi_config_t *cfg, const char *name,
				const struct symbi_exec_request *req, symbi_strlist_t *argv,
				symbi_error_t *err);
/* The environment of the docker client: what it needs to find its daemon,
 * plus the sandboxed program's variables. */
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
 * client `client_pid`) if this process dies before calling
 * symbi_docker_reaper_release(). */
typedef struct symbi_docker_reaper {
	int done_fd;
	pid_t pid;
} symbi_docker_reaper_t;

int symbi_docker_reaper_start(symbi_docker_reaper_t *r, const char *docker_binary,
			      const char *name, pid_t client_pid, char *const *envp,
			      symbi_error_t *err);
void symbi_docker_reaper_release(symbi_docker_reaper_t *r);

/* Shared by the docker and gvisor backends. */
int symbi_docker_check_available(const symbi_config_t *cfg, symbi_error_t *err);
int symbi_docker_execute(void *state, const symbi_config_t *cfg,
			 const struct symbi_exec_request *req, symbi_result_t **out,
			 symbi_error_t *err);

#endif
