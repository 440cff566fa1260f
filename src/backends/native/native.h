/* The native backend: one sandbox per execution, built from Linux
 * namespaces, a fresh root, cgroups (v1 or v2), dropped privileges and a
 * seccomp filter. Internal header shared by the files of this folder; each
 * file holds one concern and says in its name which side runs it. */
#ifndef SYMBI_BACKENDS_NATIVE_H
#define SYMBI_BACKENDS_NATIVE_H

#include <symbi/sandbox.h>

#include "../../core/config.h"
#include "../../core/strlist.h"

#include <limits.h>
#include <linux/filter.h>
#include <stdint.h>
#include <sys/types.h>

/* Where the code goes when it is too big for one argv string. */
#define NATIVE_CODE_DIR "/.symbi"
#define NATIVE_CODE_PATH "/.symbi/code"
/* Where pivot_root puts the host's root until it is detached. */
#define NATIVE_OLD_ROOT "/.oldroot"
/* Where the new root is built before pivot_root: a host directory that
 * always exists and under which no volume source may be (the volume
 * blocklist and the plan refuse /dev), so that it hides none of them. */
#define NATIVE_NEW_ROOT "/dev"
/* Every tmpfs of the sandbox holds at most one inode per this many bytes of
 * its size (at least NATIVE_TMPFS_MIN_INODES): an inode and its dentry
 * cost about 1 KiB of kernel memory that no size= cap counts, so a full
 * inode table adds at most about a quarter of the tmpfs's size. */
#define NATIVE_TMPFS_BYTES_PER_INODE 4096
#define NATIVE_TMPFS_MIN_INODES 64
/* Code up to this size (without NUL bytes) is passed as `-c CODE`. */
#define NATIVE_ARGV_CODE_MAX (64 * 1024)
#define NATIVE_DEFAULT_UID 65534
#define NATIVE_DEFAULT_GID 65534
#define NATIVE_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define NATIVE_FSIZE_LIMIT ((uint64_t)1 << 30)
#define NATIVE_NOFILE_LIMIT 1024
/* Exit status of a sandbox init that failed during setup (the reason is on
 * the sync socket). */
#define NATIVE_SETUP_FAILED 121

/* ---- seccomp (seccomp.c): compiled by the parent, installed by the child - */

typedef struct native_filter {
	struct sock_filter *insns;
	unsigned short len;
} native_filter_t;

/* The filter compiled at build time (seccomp_prebuilt.c), or compiled now
 * with libseccomp when this is not the build's architecture. */
int native_seccomp_load(native_filter_t *f, symbi_error_t *err);
/* Compiles the allow list (src/backends/syscall_policy.c) with libseccomp. */
int native_seccomp_compile(native_filter_t *f, symbi_error_t *err);
void native_seccomp_free(native_filter_t *f);
/* Child side: no_new_privs then the filter. Returns -1 with errno. */
int native_seccomp_install(const native_filter_t *f);

/* ---- cgroups (cgroup.c, cgroup_v1.c, cgroup_v2.c): parent side ---------- */

#define NATIVE_CG_MAX_DIRS 4

typedef struct native_limits {
	uint64_t memory_bytes; /* 0: none */
	long pids;             /* 0: none */
	double cpus;           /* <= 0: none */
} native_limits_t;

typedef struct native_cgroup {
	int version; /* 1 or 2; 0 when no cgroup is used */
	int ndirs;
	char dirs[NATIVE_CG_MAX_DIRS][PATH_MAX];
	int memory_dir; /* index into dirs, -1 if none */
} native_cgroup_t;

/* Which cgroup version is mounted at /sys/fs/cgroup: 0 (none), 1, 2. */
int native_cgroup_version(void);
/* Creates this run's cgroup(s) with the limits set. */
int native_cgroup_create(native_cgroup_t *cg, const native_limits_t *lim, symbi_error_t *err);
/* Opens, for writing (close-on-exec), the files through which the program
 * joins the cgroup: each v1 hierarchy's `tasks`, v2's `cgroup.procs`, into
 * fds[NATIVE_CG_MAX_DIRS]; returns how many. The program moves itself in by
 * writing 0 to each: on v1 a thread moving itself skips the kernel's global
 * threadgroup lock, whose RCU synchronisation costs several ms per
 * hierarchy when another process moves a pid. The kernel checks the
 * opener's credentials (v1, and v2 since 5.16), so the files need no chown
 * to the run's uid. */
int native_cgroup_open_join(const native_cgroup_t *cg, int *fds, symbi_error_t *err);
/* Kills every process still in the cgroup (best effort). */
void native_cgroup_kill(const native_cgroup_t *cg);
/* How many processes the OOM killer killed in it. */
long native_cgroup_oom_kills(const native_cgroup_t *cg);
/* Kills what is left and removes the directories. */
void native_cgroup_destroy(native_cgroup_t *cg);

int native_cgroup_v1_create(native_cgroup_t *cg, const char *name, const native_limits_t *lim,
			    symbi_error_t *err);
int native_cgroup_v2_create(native_cgroup_t *cg, const char *name, const native_limits_t *lim,
			    symbi_error_t *err);
/* Removes the empty cgroups that runs of a supervisor which died (SIGKILL)
 * left under `parent`: the ones named after a pid that no longer exists. */
void native_cgroup_collect_stale(const char *parent);
/* The same wherever this process's runs put their cgroups: a server that
 * starts after one that was killed removes what its runs left. */
void native_cgroup_collect_leftovers(void);
/* Shared helpers. */
int native_write_file(const char *dir, const char *file, const char *value);
/* The same, failing with a message naming the file and the value. */
int native_cgroup_set(const char *dir, const char *file, const char *value, symbi_error_t *err);
/* The path of this process's cgroup in hierarchy `controller` ("" for v2),
 * read from /proc/self/cgroup. */
int native_own_cgroup(const char *controller, char *out, size_t size);
/* Opens, for writing (close-on-exec), the ways back from the run's
 * cgroup to this process's own, one per descriptor of
 * native_cgroup_open_join(), in the same order, into fds; returns how many.
 * A live init enters the run's cgroup to make its cgroup namespace there,
 * and goes back through these (the kernel checks the opener). On v1 the
 * run's cgroups are just below ours in each hierarchy; on v2 it is
 * elsewhere (cgroup_v2.c). */
int native_cgroup_open_home(const native_cgroup_t *cg, int *fds, symbi_error_t *err);
/* In a CGROUP message's err_no: the second half of its descriptors are
 * the ways back (native_cgroup_open_home), not the run's cgroup's. */
#define NATIVE_CGROUP_HOME 1

/* ---- identity (identity.c): each run's own host uid/gid, parent side -- */

typedef enum native_id_mode {
	NATIVE_ID_RANGE,  /* root: an id of native_id_range, maps written directly */
	NATIVE_ID_SUBID,  /* not root: an id of the caller's /etc/subuid and
			   * /etc/subgid ranges, mapped by newuidmap/newgidmap */
	NATIVE_ID_SHARED, /* not root, no subordinate ids: the caller's own ids */
} native_id_mode_t;

/* Where a caller's run ids come from; read-only once made, shared by the
 * threads of a sandbox. */
typedef struct native_id_source {
	native_id_mode_t mode;
	uid_t uid_base;
	gid_t gid_base;
	uint32_t count;
	char lock_dir[PATH_MAX];
} native_id_source_t;

int native_id_source_init(native_id_source_t *src, const symbi_config_t *cfg, symbi_error_t *err);
/* What front ends should say about a mode (runs sharing the caller's uid),
 * or NULL. Static text. */
const char *native_id_mode_warning(native_id_mode_t mode);

/* One run's ids, held from acquire to release. */
typedef struct native_identity {
	uid_t uid;
	gid_t gid;
	int lock_fd; /* -1: nothing held (shared mode) */
} native_identity_t;

int native_identity_acquire(native_identity_t *id, const native_id_source_t *src,
			    symbi_error_t *err);
void native_identity_release(native_identity_t *id);

/* ---- the plan: everything validated and prepared before any namespace -- */

typedef struct native_bind {
	char *source; /* host path, resolved */
	char *target; /* path inside the sandbox */
	bool read_only;
	/* The object the plan checked at `source`: the mount must be it (a
	 * path component swapped for a symlink meanwhile would bind another). */
	dev_t dev;
	ino_t ino;
} native_bind_t;

typedef struct native_plan {
	native_id_mode_t id_mode; /* how the run's user namespace is mapped */
	bool volumes_idmap;       /* root: the parent's volume mounts are idmapped */
	int lock_fd; /* the flock on host_uid (identity.c), -1 if none; the
		      * sandbox init holds it too, on NATIVE_LOCK_FD */
	bool netns;      /* network_mode none */
	uid_t uid, host_uid; /* inside; outside (see identity.c) */
	gid_t gid, host_gid;
	native_limits_t limits;
	uint64_t tmp_size, workdir_size, root_size;
	char *workdir;
	native_bind_t *binds;
	size_t nbinds;
	char *passwd, *group; /* contents of the sandbox's /etc files */
	const char *code;     /* written to NATIVE_CODE_PATH when code_file */
	size_t code_len;
	bool code_file;
	symbi_strlist_t argv, envp;
	const native_filter_t *filter;
	int cap_last;
	/* A live sandbox (live.c): no program at start; the init runs
	 * processes on request until a deadline (0: none) passes. */
	bool live;
	uint64_t idle_ms, lifetime_ms;
} native_plan_t;

int native_plan_build(native_plan_t *p, const symbi_config_t *cfg, const native_filter_t *filter,
		      const char *code, size_t code_len, const symbi_env_t *env,
		      symbi_error_t *err);
void native_plan_free(native_plan_t *p);
/* The program that runs code (symbi_config_interpreter's, with -c CODE, or
 * code_path when the code is too big for argv or holds NUL bytes: then
 * *code_file is set and the code must be at code_path). */
int native_build_command(symbi_strlist_t *argv, const symbi_config_t *cfg, const char *code,
			 size_t code_len, const char *code_path, bool *code_file,
			 symbi_error_t *err);
/* A program's environment: the caller's map, plus PATH, HOME (home) and
 * LANG unless it sets them. */
int native_build_env(symbi_strlist_t *envp, const char *home, const symbi_env_t *env,
		     symbi_error_t *err);
/* Normalises an absolute path inside the sandbox, refusing `..`, / and the
 * paths the backend reserves; *out is the caller's. */
int native_sandbox_path(const char *what, const char *path, char **out, symbi_error_t *err);

/* ---- the sync socket between parent and child (sync.c) ------------------ */

/* GO: ids mapped, build the root (volumes attached); CGROUP: the run's
 * cgroup is ready, status 1 (v1: the tasks files attached) or 0 (none:
 * rlimits stand in), sent while the child builds its root, which it waits
 * for only before it starts the program. */
enum native_msg_kind {
	NATIVE_MSG_GO = 1,
	NATIVE_MSG_ERROR,
	NATIVE_MSG_EXIT,
	NATIVE_MSG_CGROUP,
	/* Live sandboxes (live.c, live_init.c). On the sync socket: READY
	 * (init -> parent: the root is built), EXEC (parent -> init, with the
	 * process's stdin, stdout, stderr, its status socket, its spec and
	 * maybe its code; status: NATIVE_EXEC_* flags), SIGNAL (status: pid,
	 * err_no: signal), ENDED (init -> parent, text: why it ends). On a
	 * process's status socket: STARTED (status: its pid), then ERROR
	 * and/or EXIT, or ENDED. */
	NATIVE_MSG_READY,
	NATIVE_MSG_EXEC,
	NATIVE_MSG_SIGNAL,
	NATIVE_MSG_ENDED,
	NATIVE_MSG_STARTED,
};
#define NATIVE_EXEC_DETACHED 1 /* does not keep the sandbox from being idle */
/* The descriptors of an EXEC message, in order. */
enum { NATIVE_EXEC_STDIN, NATIVE_EXEC_STDOUT, NATIVE_EXEC_STDERR, NATIVE_EXEC_STATUS,
       NATIVE_EXEC_SPEC, NATIVE_EXEC_CODE, NATIVE_EXEC_MAX_FDS };
/* An EXEC's spec (a sealed memfd): this header, then NUL-terminated
 * strings: the working directory, argc arguments, envc variables. */
typedef struct native_exec_spec {
	uint32_t magic, argc, envc, size;
} native_exec_spec_t;
#define NATIVE_EXEC_SPEC_MAGIC 0x73796d62u
/* How long the parent waits for a live init's answer to a request (it
 * answers at once) before it ends the sandbox as broken. */
#define NATIVE_LIVE_ANSWER_MS 10000
/* The most processes a live sandbox's init tracks at once. */
#define NATIVE_LIVE_MAX_PROCS 1024

typedef struct native_msg {
	int32_t kind;
	int32_t err_no;
	int32_t status; /* NATIVE_MSG_EXIT: the program's wait status */
	char step[64];  /* NATIVE_MSG_ERROR: which isolation step failed */
	char text[448];
} native_msg_t;

int native_msg_send(int fd, const native_msg_t *m);
/* The most descriptors one message carries (the kernel's SCM_MAX_FD is
 * 253). */
#define NATIVE_MAX_FDS 250
/* With descriptors attached (SCM_RIGHTS). */
int native_msg_send_fds(int fd, const native_msg_t *m, const int *fds, int nfds);
/* Child side: receives one message; the descriptors (close-on-exec) must
 * land on first_fd, first_fd + 1, ... Returns their count, or -1. */
int native_msg_recv_fds(int fd, native_msg_t *m, int first_fd);
/* Returns 1 with a message, 0 at EOF, -1 on error. */
int native_msg_recv(int fd, native_msg_t *m);
/* The same, with up to max descriptors (close-on-exec, wherever they land)
 * into fds and their count into *nfds; more than max are closed and fail. */
int native_msg_recv_any(int fd, native_msg_t *m, int *fds, int max, int *nfds);
/* Child side: reports a failed step on fd and exits. */
__attribute__((noreturn)) void native_child_fail(int fd, const char *step, int err_no,
						const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- child side --------------------------------------------------------- */

/* The init's descriptors: 0-2 stdio, then these (volumes follow). */
#define NATIVE_SYNC_FD 3
#define NATIVE_LOCK_FD 4

/* The sandbox init: runs the isolation steps in order, starts the program
 * as its child, reports its status and exits. Never returns. */
__attribute__((noreturn)) void native_child_main(const native_plan_t *p, const int stdio[3],
						 int sync_fd);
/* child.c: searches the sandbox's PATH (not the caller's) for argv[0] and
 * execs it; returns with errno on failure. */
void native_exec_in_path(char *const argv[], char *const envp[]);
/* Every signal at its default disposition and none blocked, as a program
 * started from a shell expects: exec keeps what is ignored, and the caller
 * (a server started in the background, say, with SIGINT and SIGQUIT
 * ignored) must not decide that for the program. `changed` (from
 * native_changed_signals, NULL: every signal) limits the work to the
 * signals that need it. System calls only. */
void native_default_signals(const sigset_t *changed);
/* The signals whose disposition is not the default (ignored or caught). */
void native_changed_signals(sigset_t *changed);
/* child.c: joins the run's cgroup through the n files from fd0 (see
 * native_cgroup_open_join), then, with a cgroup, a cgroup namespace;
 * failures go to report_fd. */
void native_join_cgroup(int fd0, int n, bool use_cgroup, int report_fd);
/* live_init.c: a live sandbox's init, once its root is built: starts
 * processes on request until the parent hangs up or a deadline passes. */
__attribute__((noreturn)) void native_live_init(const native_plan_t *p);

/* etc.c: the sandbox's /etc. source: the host's /etc (O_PATH), target: the
 * new root's; both close-on-exec. */
typedef struct native_etc {
	int source, target;
} native_etc_t;
typedef enum native_etc_how {
	NATIVE_ETC_ABSENT, /* skipped */
	NATIVE_ETC_COPY,   /* a small regular file: copied by the program's process */
	NATIVE_ETC_LINK,   /* a symlink: copied as is, by the program's process */
	NATIVE_ETC_BIND,   /* a directory or a large file: bound read-only by the init */
	NATIVE_ETC_ERROR,  /* errno set */
} native_etc_how_t;
/* The i-th entry (relative to /etc) the sandbox gets from the host, NULL
 * past the last; resolv.conf only with the host's network. */
const char *native_etc_entry(size_t i, bool host_network);
native_etc_how_t native_etc_how(int etc_dir, const char *name);
/* Creates etc and etc/ssl beneath `root` and opens both /etc's. */
int native_etc_open(int root, native_etc_t *etc);
void native_etc_close(native_etc_t *etc);
/* The program's process, before it confines itself: copies the files and
 * symlinks (failing through sync_fd), then closes etc. */
void native_etc_copy(native_etc_t *etc, bool host_network, int sync_fd);

/* mount.c: the fresh root, pivoted into; old root detached. The new root
 * and the file systems a walk may pass through: the tmpfs mounts made
 * here (root, /tmp, working directory, /dev). */
#define NATIVE_ROOT_MAX_DEVS 6
typedef struct native_root {
	int root; /* O_PATH descriptor of the new root */
	dev_t devs[NATIVE_ROOT_MAX_DEVS];
	int ndevs;
} native_root_t;
/* The new root's tmpfs, on NATIVE_NEW_ROOT, with an empty /etc opened in
 * *etc for the program's process to fill in. */
int native_root_begin(native_root_t *r, native_etc_t *etc, const native_plan_t *p, int sync_fd);
/* Everything else, pivot_root included; before the root goes read-only it
 * waits for a byte on etc_done (the program's process has filled /etc in),
 * and closes it. */
int native_root_finish(native_root_t *t, const native_plan_t *p, int etc_done, int sync_fd);
/* net.c: brings up loopback in the new network namespace. */
int native_loopback_up(void);
/* limits.c: rlimits of the program; without a cgroup (use_cgroup false)
 * memory and pids limits fall back to rlimits too. */
int native_set_rlimits(const native_plan_t *p, bool use_cgroup);
/* user.c (child): takes the sandbox uid/gid (the run's host ids outside)
 * and no supplementary group, keeping the user namespace's capabilities.
 * Returns -1 with errno and the failed step. */
int native_become_sandbox_user(const native_plan_t *p, const char **step);
/* user.c (child): drops to the sandbox uid/gid with no capabilities: the
 * two steps below, bounding set first. */
int native_drop_privileges(const native_plan_t *p, const char **step);
/* Empties the bounding and ambient sets (the process keeps the capabilities
 * it has, but can gain none, nor can what it starts). */
int native_drop_bounding_set(const native_plan_t *p, const char **step);
/* The sandbox uid/gid, no supplementary group, no capability left. Leaves
 * the dumpable flag alone: it belongs to the memory, which a live
 * sandbox's starting process shares with the init (live_init.c). */
int native_drop_capabilities(const native_plan_t *p, const char **step);
/* user.c (parent): clone(flags) of the sandbox init; as root, with the
 * run's host ids as this thread's effective ids, so that its user namespace
 * is owned (and its per-user kernel counts charged) by them. */
pid_t native_clone_as_run(const native_plan_t *p, unsigned long flags);
/* user.c (parent): the supervisor's stdio pipes become the run's, so that
 * the program can reopen them (/dev/stdout). */
void native_give_stdio(const int stdio[3], const native_plan_t *p);
/* user.c (parent): writes uid_map/gid_map of a child in a user namespace. */
int native_write_id_maps(pid_t pid, const native_plan_t *p, symbi_error_t *err);

/* idmap.c (parent): each volume as a detached mount, idmapped so that the
 * run's host ids act on the volume as the sandbox uid/gid would (files it
 * creates there belong to them); root only. Fills fds[0..nbinds-1]. */
int native_volume_mounts(pid_t child, const native_plan_t *p, int *fds, symbi_error_t *err);
/* Whether volumes come from native_volume_mounts (through the sync socket,
 * on descriptors NATIVE_VOLUME_FD0 + i) rather than being bound by the
 * child: as root, always (idmapped where the kernel can, see
 * native_volumes_idmappable). */
#define NATIVE_VOLUME_FD0 5
static inline bool native_volumes_from_parent(const native_plan_t *p)
{
	return p->id_mode == NATIVE_ID_RANGE;
}
/* idmap.c: whether the kernel can make idmapped mounts of every volume's
 * file system (ext4 and xfs since 5.12, btrfs 5.15, overlayfs 5.19, tmpfs
 * only since 6.3; 9p and most network file systems never). */
bool native_volumes_idmappable(const native_plan_t *p);

/* ---- native.c: the parent side of a run, shared with live.c ------------ */

typedef struct native_state {
	native_filter_t filter; /* read-only after create: shared by threads */
	bool root;
	bool weak; /* no cgroup: limits are rlimits of each process (weak_limits) */
	native_id_source_t ids; /* where each run's host ids come from */
	char warning[1024];     /* for front ends (weak limits, shared uid: a line each) */
} native_state_t;

typedef struct native_run {
	const native_plan_t *plan;
	native_cgroup_t *cg;
	bool root;
	bool fail_closed; /* no cgroup fails the run (root, or total limits without weak_limits) */
	bool use_cgroup;  /* made: else rlimits stand in */
	int sync_fd;      /* parent's end */
	pid_t init_pid;
} native_run_t;

/* The backend's create and destroy (a native_state_t). */
int native_create(const symbi_config_t *cfg, void **state, symbi_error_t *err);
void native_destroy(void *state);
bool native_has_total_limits(const native_limits_t *lim);
/* Clones the run's init into its namespaces with stdio, maps its ids,
 * sends GO (volumes attached), then makes its cgroup and sends CGROUP; on
 * failure nothing is left. ctx is a native_run_t (symbi_supervise_opts_t's
 * spawn). */
int native_run_spawn(void *ctx, const int stdio[3], pid_t *pid, symbi_error_t *err);
/* What to add to the message of a failed step, or "". */
const char *native_step_hint(const native_msg_t *m);

/* probe.c */
bool native_userns_works(void);

#endif
