/* The steps of a one-shot docker run through the Engine API (see
 * docker_api.h); docker.c decides what they mean, as for the CLI. */
#include "docker_api.h"
#include "../core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* The docker_binary that means "the daemon's own client": the default. */
#define DEFAULT_CLIENT "docker"

symbi_engine_t *symbi_docker_api_open(const symbi_config_t *cfg)
{
	const char *context = getenv("DOCKER_CONTEXT");
	if (strcmp(cfg->docker_binary, DEFAULT_CLIENT) != 0 || (context && context[0]))
		return NULL;
	symbi_engine_t *e = malloc(sizeof(*e));
	symbi_error_t ignored;
	if (e && symbi_engine_open(e, &ignored) == 0)
		return e;
	if (e)
		symbi_engine_close(e);
	free(e);
	return NULL;
}

void symbi_docker_api_close(symbi_engine_t *engine)
{
	if (!engine)
		return;
	symbi_engine_close(engine);
	free(engine);
}

/* A request on container `name`; its status, or -1. */
static long container_request(const symbi_engine_t *e, const char *method, const char *name,
			      const char *action, json_t **reply, symbi_error_t *err)
{
	char path[256];
	snprintf(path, sizeof(path), "/containers/%s%s", name, action);
	json_t *ignored_reply = NULL;
	long status = symbi_engine_request(e, method, path, NULL, reply ? reply : &ignored_reply, err);
	json_decref(ignored_reply);
	return status;
}

void symbi_docker_api_inspect(const symbi_engine_t *e, const char *name, symbi_docker_state_t *st)
{
	memset(st, 0, sizeof(*st));
	json_t *reply = NULL;
	symbi_error_t err;
	long status = container_request(e, "GET", name, "/json", &reply, &err);
	if (status < 0)
		st->engine_gone = true;
	json_t *state = json_object_get(reply, "State");
	json_t *code = json_object_get(state, "ExitCode");
	if (status == 200 && json_is_integer(code)) {
		st->found = true;
		st->oom_killed = json_is_true(json_object_get(state, "OOMKilled"));
		st->exit_code = (int)json_integer_value(code);
		const char *runtime = json_string_value(
			json_object_get(json_object_get(reply, "HostConfig"), "Runtime"));
		const char *error = json_string_value(json_object_get(state, "Error"));
		snprintf(st->runtime, sizeof(st->runtime), "%s", runtime ? runtime : "");
		snprintf(st->error, sizeof(st->error), "%s", error ? error : "");
	}
	json_decref(reply);
}

long symbi_docker_api_kill(const symbi_engine_t *e, const char *name)
{
	symbi_error_t err;
	return container_request(e, "POST", name, "/kill", NULL, &err);
}

int symbi_docker_api_remove(const symbi_engine_t *e, const char *name)
{
	symbi_error_t err;
	long status = container_request(e, "DELETE", name, "?force=1&v=1", NULL, &err);
	return status == 204 || status == 404 ? 0 : -1;
}

void symbi_docker_api_run_init(symbi_docker_api_run_t *run, const symbi_engine_t *e,
			       symbi_docker_create_t *create)
{
	memset(run, 0, sizeof(*run));
	run->engine = e;
	run->create = *create;
	create->body = NULL;
	run->conn = run->in_fd = run->out_fd = run->err_fd = -1;
	run->done[0] = run->done[1] = -1;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void on_frame(void *ctx, int stream, const char *data, size_t len)
{
	symbi_docker_api_run_t *run = ctx;
	int *fd = stream == 2 ? &run->err_fd : stream == 1 ? &run->out_fd : NULL;
	if (fd && *fd >= 0 && symbi_engine_write_all(*fd, data, len) < 0)
		close_fd(fd); /* nobody reads it any more */
}

/* Once the stream has ended the container has exited, or is about to:
 * ContainerWait returns its status as soon as it has stopped. */
static void read_exit(symbi_docker_api_run_t *run)
{
	if (__atomic_load_n(&run->daemon_gone, __ATOMIC_ACQUIRE)) {
		snprintf(run->failure, sizeof(run->failure),
			 "the Docker daemon stopped answering during the run (it did not answer the "
			 "kill at the deadline)");
		return;
	}
	char path[256];
	snprintf(path, sizeof(path), "/containers/%s/wait", run->create.name);
	json_t *reply = NULL;
	symbi_error_t err;
	long status = symbi_engine_request_timed(run->engine, "POST", path, NULL,
						 (long)run->wait_limit_ms, &reply, &err);
	json_t *code = json_object_get(reply, "StatusCode");
	if (status == 200 && json_is_integer(code)) {
		run->exit_code = (int)json_integer_value(code);
		run->code_known = true;
	} else {
		snprintf(run->failure, sizeof(run->failure),
			 "the Docker daemon stopped answering during the run: %.400s",
			 status < 0 ? err.message : symbi_engine_message(reply));
	}
	json_decref(reply);
}

static void *pump_main(void *arg)
{
	symbi_docker_api_run_t *run = arg;
	symbi_engine_pump(run->conn, &run->in_fd, on_frame, run);
	close_fd(&run->out_fd);
	close_fd(&run->err_fd);
	read_exit(run);
	if (write(run->done[1], "x", 1) < 0) {
		/* the pipe is ours and empty: cannot fail */
	}
	return NULL;
}

/* The daemon's refusal, as the CLI words it. */
static int refused(symbi_error_t *err, json_t *reply)
{
	return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "docker: Error response from daemon: %s",
			  symbi_engine_message(reply));
}

int symbi_docker_api_create(const symbi_engine_t *e, const symbi_docker_create_t *create,
			    char *id, size_t id_size, symbi_error_t *err)
{
	char path[256];
	snprintf(path, sizeof(path), "/containers/create?name=%s", create->name);
	json_t *reply = NULL;
	long status = symbi_engine_request(e, "POST", path, create->body, &reply, err);
	const char *made = json_string_value(json_object_get(reply, "Id"));
	int rc = 0;
	if (status == 201 && made && strlen(made) < id_size)
		strcpy(id, made);
	else
		rc = status < 0 ? -1 : refused(err, reply);
	json_decref(reply);
	return rc;
}

int symbi_docker_api_start(const symbi_engine_t *e, const char *name, symbi_error_t *err)
{
	json_t *reply = NULL;
	long status = container_request(e, "POST", name, "/start", &reply, err);
	int rc = status == 204 ? 0 : status < 0 ? -1 : refused(err, reply);
	json_decref(reply);
	return rc;
}

int symbi_docker_api_spawn(void *ctx, const int stdio[3], pid_t *pid, symbi_error_t *err)
{
	symbi_docker_api_run_t *run = ctx;
	const char *name = run->create.name;
	*pid = 0;
	char path[256], id[128];
	if (symbi_docker_api_create(run->engine, &run->create, id, sizeof(id), err) < 0)
		return -1;
	run->created = true;
	if (run->expect_runtime) {
		symbi_docker_state_t st;
		symbi_docker_api_inspect(run->engine, name, &st);
		if (!st.found || strcmp(st.runtime, run->expect_runtime) != 0)
			return symbi_fail(err, SYMBI_E_SECURITY, 0,
					  "the container was made with runtime '%s', not '%s': the gvisor "
					  "backend refuses to start it", st.found ? st.runtime : "(unknown)",
					  run->expect_runtime);
	}
	/* Attached before it starts, so that no output is missed. */
	snprintf(path, sizeof(path), "/containers/%s/attach?stream=1&stdout=1&stderr=1%s", name,
		 run->create.attach_stdin ? "&stdin=1" : "");
	if ((run->conn = symbi_engine_hijack(run->engine, path, NULL, err)) < 0)
		return -1;
	if (pipe2(run->done, O_CLOEXEC) < 0 ||
	    (stdio[0] >= 0 && (run->in_fd = fcntl(stdio[0], F_DUPFD_CLOEXEC, 3)) < 0) ||
	    (stdio[1] >= 0 && (run->out_fd = fcntl(stdio[1], F_DUPFD_CLOEXEC, 3)) < 0) ||
	    (stdio[2] >= 0 && (run->err_fd = fcntl(stdio[2], F_DUPFD_CLOEXEC, 3)) < 0))
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot keep the run's streams");
	if (run->in_fd < 0)
		shutdown(run->conn, SHUT_WR);
	if (symbi_docker_api_start(run->engine, name, err) < 0)
		return -1;
	if (pthread_create(&run->pump, NULL, pump_main, run) != 0)
		return symbi_fail(err, SYMBI_E_SYSTEM, 0, "cannot start the run's stream thread");
	run->have_pump = true;
	return 0;
}

void symbi_docker_api_deadline(symbi_docker_api_run_t *run)
{
	if (symbi_docker_api_kill(run->engine, run->create.name) >= 0)
		return;
	__atomic_store_n(&run->daemon_gone, true, __ATOMIC_RELEASE);
	shutdown(run->conn, SHUT_RDWR);
}

int symbi_docker_api_wait_fd(void *ctx)
{
	return ((symbi_docker_api_run_t *)ctx)->done[0];
}

int symbi_docker_api_reap(void *ctx, int *wait_status)
{
	symbi_docker_api_run_t *run = ctx;
	struct pollfd pf = {run->done[0], POLLIN, 0};
	if (poll(&pf, 1, 0) != 1)
		return 0;
	if (run->have_pump) {
		pthread_join(run->pump, NULL);
		run->have_pump = false;
	}
	/* As the CLI would exit: with the container's status (125 when it is
	 * not known, which docker.c then explains with run->failure). */
	*wait_status = W_EXITCODE(run->code_known ? run->exit_code & 0xff : 125, 0);
	return 1;
}

void symbi_docker_api_run_release(symbi_docker_api_run_t *run)
{
	if (run->have_pump) {
		/* Still streaming: the container is killed by the caller's
		 * removal, which ends the stream. */
		shutdown(run->conn, SHUT_RDWR);
		pthread_join(run->pump, NULL);
		run->have_pump = false;
	}
	close_fd(&run->conn);
	close_fd(&run->in_fd);
	close_fd(&run->out_fd);
	close_fd(&run->err_fd);
	close_fd(&run->done[0]);
	close_fd(&run->done[1]);
	json_decref(run->create.body);
	run->create.body = NULL;
}

int symbi_docker_api_list(const symbi_engine_t *e, char *out, size_t size, symbi_error_t *err)
{
	json_t *reply = NULL;
	long status = symbi_engine_request(
		e, "GET", "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22" SYMBI_DOCKER_LABEL
		"%22%5D%7D", NULL, &reply, err);
	if (status != 200 || !json_is_array(reply)) {
		if (status >= 0)
			symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "the Docker daemon cannot list containers: %s",
				   symbi_engine_message(reply));
		json_decref(reply);
		return -1;
	}
	size_t used = 0, i;
	json_t *c;
	out[0] = '\0';
	json_array_foreach(reply, i, c) {
		json_t *labels = json_object_get(c, "Labels");
		const char *id = json_string_value(json_object_get(c, "Id"));
		const char *state = json_string_value(json_object_get(c, "State"));
		const char *keep = json_string_value(json_object_get(labels, SYMBI_DOCKER_LABEL_KEEP));
		const char *deadline =
			json_string_value(json_object_get(labels, SYMBI_DOCKER_LABEL_DEADLINE));
		const char *owner = json_string_value(json_object_get(labels, SYMBI_DOCKER_LABEL_OWNER));
		int n = snprintf(out + used, size - used, "%s|%s|%s|%s|%s\n", id ? id : "",
				 state ? state : "", keep ? keep : "", deadline ? deadline : "",
				 owner ? owner : "");
		if (n < 0 || (size_t)n >= size - used)
			break; /* what does not fit is swept next time */
		used += (size_t)n;
	}
	out[used] = '\0';
	json_decref(reply);
	return 0;
}

int symbi_docker_api_image(const symbi_engine_t *e, const char *image, char *out, size_t size,
			   symbi_error_t *err)
{
	/* A reference is [host[:port]/]name[:tag][@digest]: letters, digits
	 * and ._-/:@ only, and no dot segment that would make the path
	 * another endpoint's. Anything else is the CLI's to word a refusal. */
	size_t len = strlen(image);
	if (len == 0 || len > 1024 || strspn(image, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					       "0123456789._-/:@") != len ||
	    image[0] == '/' || image[0] == '.' || strstr(image, "/.") || strstr(image, ".."))
		return 1;
	char *path;
	if (asprintf(&path, "/images/%s/json", image) < 0)
		return symbi_fail_nomem(err);
	json_t *reply = NULL;
	long status = symbi_engine_request(e, "GET", path, NULL, &reply, err);
	free(path);
	int rc = status < 0 ? -1 : 1;
	const char *id = json_string_value(json_object_get(reply, "Id"));
	if (status == 200 && id) {
		json_t *volumes = json_object_get(json_object_get(reply, "Config"), "Volumes");
		char *text = json_dumps(volumes ? volumes : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
		int n = text ? snprintf(out, size, "%s|%s", id, text) : -1;
		free(text);
		rc = n >= 0 && (size_t)n < size ? 0 : symbi_fail_nomem(err);
	}
	json_decref(reply);
	return rc;
}
