/* The native backend's parent side: one function lists the isolation steps
 * in order; the child side is in child.c. */
#include "native.h"
#include "../extra_flags.h"
#include "../../core/error.h"
#include "../../core/classify.h"
#include "../../core/result.h"
#include "../../core/supervise.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char weak_warning[] =
	"WARNING: no cgroup can be made here (not root, no delegated cgroup), and weak_limits is "
	"set: the memory limit is RLIMIT_AS and the pids limit RLIMIT_NPROC of each process, not "
	"totals of the sandbox, kernel memory is not counted, and the cpu limit is not enforced";

bool native_has_total_limits(const native_limits_t *lim)
{
	return lim->memory_bytes || lim->pids;
}

/* Without a cgroup, memory and pids limits cannot be totals: refused, with
 * the fixes, unless the caller accepted rlimits. */
static void no_cgroup_message(char *buf, size_t size, const char *why)
{
	snprintf(buf, size,
		 "the native backend cannot enforce memory_limit and pids_limit as totals of the "
		 "sandbox here, because no cgroup can be made (%.400s). Run as root, or in a delegated "
		 "cgroup (cgroup v2: systemd-run --user --scope -p Delegate=yes symbi-sandbox ...); "
		 "or accept per-process rlimits with weak_limits (run --weak-limits); or unset both "
		 "limits (--memory none --pids-limit none)", why);
}

int native_create(const symbi_config_t *cfg, void **state, symbi_error_t *err)
{
	*state = NULL;
	native_state_t *st = calloc(1, sizeof(*st));
	if (!st)
		return symbi_fail_nomem(err);
	/* A trial plan validates the configuration for this backend now,
	 * not at the first run. */
	native_plan_t trial;
	int rc = native_plan_build(&trial, cfg, NULL, "", 0, NULL, err);
	native_limits_t lim = trial.limits;
	native_plan_free(&trial);
	if (rc < 0 || native_seccomp_load(&st->filter, err) < 0) {
		free(st);
		return -1;
	}
	if (geteuid() != 0 && !native_userns_works()) {
		native_seccomp_free(&st->filter);
		free(st);
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, EPERM,
				  "the native backend needs root or unprivileged user namespaces, and "
				  "this host refuses them (enable with sysctl "
				  "kernel.unprivileged_userns_clone=1 / user.max_user_namespaces, or "
				  "kernel.apparmor_restrict_unprivileged_userns=0); or use --backend "
				  "docker");
	}
	st->root = geteuid() == 0;
	if (native_id_source_init(&st->ids, cfg, err) < 0) {
		native_seccomp_free(&st->filter);
		free(st);
		return -1;
	}
	/* Root always gets a cgroup (or fails each run). Others learn now
	 * whether they can, with a trial cgroup holding the limits. */
	if (!st->root && native_has_total_limits(&lim)) {
		native_cgroup_t cg;
		symbi_error_t cg_err = {0};
		if (native_cgroup_create(&cg, &lim, &cg_err) == 0) {
			native_cgroup_destroy(&cg);
		} else if (cfg->weak_limits) {
			st->weak = true;
		} else {
			char text[sizeof(err->message)];
			no_cgroup_message(text, sizeof(text), cg_err.message);
			native_seccomp_free(&st->filter);
			free(st);
			return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "%s", text);
		}
	}
	const char *shared = native_id_mode_warning(st->ids.mode);
	snprintf(st->warning, sizeof(st->warning), "%s%s%s", st->weak ? weak_warning : "",
		 st->weak && shared ? "\n" : "", shared ? shared : "");
	*state = st;
	return 0;
}

static const char *native_state_warning(const void *state)
{
	const native_state_t *st = state;
	return st && st->warning[0] ? st->warning : NULL;
}

void native_destroy(void *state)
{
	native_state_t *st = state;
	if (!st)
		return;
	native_seccomp_free(&st->filter);
	free(st);
}

/* The run's cgroup with its limits, made while the child builds its root:
 * the program moves itself in through the files sent along, before it drops
 * its privileges. The init, which runs none of the program's code, stays
 * out: the pids limit counts the program's processes only. Without a
 * cgroup, rlimits stand in unless the run must fail closed. */
static int make_cgroup(native_run_t *r, symbi_error_t *err)
{
	symbi_error_t cg_err = {0};
	r->use_cgroup = native_cgroup_create(r->cg, &r->plan->limits, &cg_err) == 0;
	if (!r->use_cgroup && r->fail_closed) {
		char text[sizeof(cg_err.message)];
		if (r->root)
			snprintf(text, sizeof(text), "%s", cg_err.message);
		else
			no_cgroup_message(text, sizeof(text), cg_err.message);
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "%s", text);
	}
	int join[2 * NATIVE_CG_MAX_DIRS];
	int njoin = r->use_cgroup ? native_cgroup_open_join(r->cg, join, err) : 0;
	if (njoin < 0)
		return -1;
	native_msg_t m = {.kind = NATIVE_MSG_CGROUP, .status = r->use_cgroup};
	/* A live init makes its cgroup namespace inside the run's cgroup, so
	 * that its processes see theirs at "/" as a one-shot program does,
	 * and comes back to ours to stay out of it: the ways back go with
	 * the message (see native_live_init). */
	if (njoin > 0 && r->plan->live) {
		int nhome = native_cgroup_open_home(r->cg, join + njoin, err);
		if (nhome < 0) {
			while (njoin > 0)
				close(join[--njoin]);
			return -1;
		}
		njoin += nhome;
		m.err_no = NATIVE_CGROUP_HOME;
	}
	/* A child that already failed has closed its end: its ERROR tells. */
	native_msg_send_fds(r->sync_fd, &m, join, njoin);
	for (int i = 0; i < njoin; i++)
		close(join[i]);
	return 0;
}

/* Runs in the parent in place of posix_spawn (see symbi_supervise_opts_t):
 * clone into new namespaces, map the child's ids, let it go; then its
 * cgroup, while it builds its root. */
int native_run_spawn(void *ctx, const int stdio[3], pid_t *pid, symbi_error_t *err)
{
	native_run_t *r = ctx;
	const native_plan_t *p = r->plan;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return symbi_fail(err, SYMBI_E_SYSTEM, errno,
				  "cannot create the sandbox's sync socket%s",
				  errno == EMFILE || errno == ENFILE
					  ? " (too many open files: raise the limit, e.g. ulimit -n)" : "");
	native_give_stdio(stdio, p);
	/* A user namespace always, root included: the program's host ids are
	 * the run's own (identity.c). */
	unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS |
			      CLONE_NEWUSER | (p->netns ? CLONE_NEWNET : 0);
	/* A raw clone without CLONE_VM forks into the new namespaces; the
	 * child only makes system calls (see child.c). */
	pid_t child = native_clone_as_run(p, flags | SIGCHLD);
	if (child == 0) {
		close(sv[0]);
		native_child_main(p, stdio, sv[1]);
	}
	int clone_errno = errno;
	close(sv[1]);
	if (child < 0) {
		close(sv[0]);
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, clone_errno,
				  "cannot create the sandbox's namespaces%s",
				  clone_errno == EPERM || clone_errno == EINVAL
					  ? " (user namespaces may be disabled: see `symbi-sandbox doctor`)"
					  : clone_errno == ENOSPC ? " (namespace limit reached: raise "
								    "user.max_*_namespaces)" : "");
	}
	r->init_pid = child;
	r->sync_fd = sv[0];
	*pid = child;
	/* Root: the volumes travel with GO, idmapped to the run's ids. */
	int vol[NATIVE_MAX_FDS];
	int nvol = native_volumes_from_parent(p) ? (int)p->nbinds : 0;
	if (native_write_id_maps(child, p, err) < 0 ||
	    (nvol && native_volume_mounts(child, p, vol, err) < 0))
		goto abandon;
	native_msg_t go = {.kind = NATIVE_MSG_GO};
	native_msg_send_fds(r->sync_fd, &go, vol, nvol);
	for (int i = 0; i < nvol; i++)
		close(vol[i]);
	if (make_cgroup(r, err) < 0)
		goto abandon;
	return 0;
abandon:
	kill(child, SIGKILL);
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	close(sv[0]);
	r->sync_fd = -1;
	r->init_pid = -1;
	return -1;
}

/* The deadline (or a cancel): killing the pid namespace's init makes the
 * kernel kill everything in it. */
static void native_on_timeout(void *ctx)
{
	native_run_t *r = ctx;
	if (r->init_pid > 0)
		kill(r->init_pid, SIGKILL);
	native_cgroup_kill(r->cg);
}

const char *native_step_hint(const native_msg_t *m)
{
	if (strstr(m->step, "mount") || strstr(m->step, "pivot") || strstr(m->step, "bind"))
		return m->err_no == EPERM || m->err_no == EACCES
			       ? " (mounting is refused here: a container without CAP_SYS_ADMIN or an "
				 "LSM policy; run on the host or use --backend docker)"
		       : m->err_no == ENOSPC ? " (a tmpfs is full: raise tmp_size/workdir_size)" : "";
	if (strcmp(m->step, "exec") == 0)
		return m->err_no == ENOENT ? " (the interpreter is not installed on the host)" : "";
	return "";
}

/* What the init reported (its ERROR or the program's EXIT) and what the
 * cgroup saw, for the core's classification. */
static int classify(const symbi_config_t *cfg, const symbi_supervise_outcome_t *oc,
		    const native_msg_t *msg, bool have_msg, long oom_kills, symbi_result_t *res,
		    symbi_error_t *err)
{
	char failure[1024], no_status[160];
	symbi_run_facts_t f = {.oom = oom_kills > 0, .timeout_ms = cfg->timeout_ms,
			       .no_status = no_status};
	if (have_msg && msg->kind == NATIVE_MSG_ERROR) {
		snprintf(failure, sizeof(failure), "native sandbox: cannot %s: %s (%s)%s", msg->step,
			 msg->text, strerror(msg->err_no), native_step_hint(msg));
		f.failure = failure;
	}
	if (have_msg && msg->kind == NATIVE_MSG_EXIT) {
		f.have_status = true;
		f.wait_status = msg->status;
	}
	snprintf(no_status, sizeof(no_status),
		 "native sandbox: the sandbox init ended without a status (%s %d)",
		 WIFSIGNALED(oc->wait_status) ? "signal" : "exit status",
		 WIFSIGNALED(oc->wait_status) ? WTERMSIG(oc->wait_status)
					      : WEXITSTATUS(oc->wait_status));
	return symbi_classify(oc, &f, res, err);
}

/* The first ERROR wins; else the EXIT. */
static bool read_messages(int fd, native_msg_t *out)
{
	bool have = false;
	native_msg_t m;
	while (fd >= 0 && native_msg_recv(fd, &m) == 1) {
		if (!have || (m.kind == NATIVE_MSG_ERROR && out->kind != NATIVE_MSG_ERROR)) {
			*out = m;
			have = true;
		}
	}
	return have;
}

static int native_execute(void *state, const symbi_config_t *cfg, const symbi_exec_request_t *req,
			  symbi_result_t **out, symbi_error_t *err)
{
	native_state_t *st = state;
	native_plan_t plan;
	native_cgroup_t cg = {.memory_dir = -1};
	native_identity_t ident = {.lock_fd = -1};
	native_run_t r = {.plan = &plan, .cg = &cg, .sync_fd = -1, .init_pid = -1};
	int rc = -1;
	/* 1. validate and prepare everything (no namespace exists yet) */
	if (native_plan_build(&plan, cfg, &st->filter, req->code, req->code_len, req->env, err) < 0)
		goto done_plan;
	/* 2. the run's own host ids, held until every process of it is gone.
	 * As root, volumes are idmapped to the sandbox user; where the kernel
	 * cannot idmap a volume's file system (tmpfs before 6.3, 9p...), the
	 * run's host ids are the sandbox uid/gid themselves, as before runs
	 * had their own (such runs share them: see docs/native-backend.md). */
	symbi_error_t id_err = {0};
	bool own_ids = st->ids.mode != NATIVE_ID_RANGE || plan.nbinds == 0 ||
		       native_volumes_idmappable(&plan);
	if (!own_ids) {
		ident.uid = plan.uid;
		ident.gid = plan.gid;
	} else if (native_identity_acquire(&ident, &st->ids, &id_err) < 0) {
		*out = symbi_result_new_error(id_err.message, 0);
		rc = *out ? 0 : symbi_fail_nomem(err);
		goto done_plan;
	}
	plan.id_mode = st->ids.mode;
	plan.volumes_idmap = st->ids.mode == NATIVE_ID_RANGE && own_ids;
	plan.host_uid = ident.uid;
	plan.host_gid = ident.gid;
	plan.lock_fd = ident.lock_fd;
	/* 3. clone into namespaces, map ids, GO; 4. the run's cgroup, limits
	 * set, while the child builds its root (without root and without a
	 * delegated cgroup, rlimits stand in only if weak_limits accepts them
	 * or no memory or pids limit is set: see doctor); 5. the child joins
	 * it, drops privileges, installs seccomp, execs; 6. supervise output,
	 * deadline and exit */
	r.root = st->root;
	r.fail_closed = st->root || (native_has_total_limits(&plan.limits) && !cfg->weak_limits);
	symbi_supervise_opts_t o = {
		.path = plan.argv.items[0], .argv = plan.argv.items, .envp = plan.envp.items,
		.input = req->stdin_data, .input_len = req->stdin_len,
		.max_output_bytes = cfg->max_output_bytes, .timeout_ms = cfg->timeout_ms,
		.on_timeout = native_on_timeout, .ctx = &r, .kill_grace_ms = 0,
		.cancel_fd = req->cancel_fd, .spawn = native_run_spawn,
	};
	symbi_supervise_outcome_t oc;
	symbi_error_t spawn_err = {0};
	if (symbi_supervise(&o, &oc, &spawn_err) < 0) {
		*out = symbi_result_new_error(spawn_err.message, 0);
		rc = *out ? 0 : symbi_fail_nomem(err);
		goto done_cgroup;
	}
	/* 7. collect the verdict, 8. leave nothing behind */
	native_msg_t msg;
	bool have_msg = read_messages(r.sync_fd, &msg);
	long oom = native_cgroup_oom_kills(&cg);
	symbi_result_t *res = symbi_result_from_outcome(&oc);
	symbi_stream_free(&oc.out);
	symbi_stream_free(&oc.err);
	if (!res) {
		symbi_fail_nomem(err);
		goto done_cgroup;
	}
	if (classify(cfg, &oc, &msg, have_msg, oom, res, err) < 0) {
		symbi_result_free(res);
		goto done_cgroup;
	}
	*out = res;
	rc = 0;
done_cgroup:
	if (r.sync_fd >= 0)
		close(r.sync_fd);
	native_cgroup_destroy(&cg);
	/* The pid namespace is empty once its init is reaped: no process
	 * keeps the ids. */
	native_identity_release(&ident);
done_plan:
	native_plan_free(&plan);
	return rc;
}

const symbi_backend_ops_t symbi_backend_native = {
	.name = "native",
	.warning = NULL,
	.state_warning = native_state_warning,
	.create = native_create,
	.execute = native_execute,
	.destroy = native_destroy,
	.collect_leftovers = native_cgroup_collect_leftovers,
	.check_config = symbi_extra_flags_check_config,
	.check_field = symbi_extra_flags_check_field,
	.live = &symbi_native_live_ops,
};
