/* The deadline outlives the client: every container carries its deadline
 * and its owner in labels, and every start of a docker or gvisor sandbox
 * removes our containers whose deadline has passed or whose owner (a
 * process on this host) is gone. That covers a caller killed together with
 * its watchdog (a service stop, a pod deletion) and a container left behind
 * when the daemon died mid-run and came back. */
#include "docker.h"
#include "docker_api.h"
#include "../core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int read_small_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Field 22 of /proc/PID/stat: the start time, which tells a pid reused by
 * another process from the one that owned the container. */
static int process_start_time(pid_t pid, unsigned long long *out)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small_file(path, buf, sizeof(buf)) < 0)
		return -1;
	const char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -1;
	*out = strtoull(p + 1, NULL, 10);
	return 0;
}

/* This boot and pid namespace: "BOOTID/PIDNS-INODE". Owners recorded with
 * another prefix are not ours to judge. */
static int host_prefix(char *out, size_t size)
{
	char boot[64];
	struct stat st;
	if (read_small_file("/proc/sys/kernel/random/boot_id", boot, sizeof(boot)) < 0 ||
	    stat("/proc/self/ns/pid", &st) < 0)
		return -1;
	snprintf(out, size, "%s/%llu", boot, (unsigned long long)st.st_ino);
	return 0;
}

int symbi_docker_owner(char *out, size_t size, symbi_error_t *err)
{
	char prefix[128];
	unsigned long long start;
	if (host_prefix(prefix, sizeof(prefix)) < 0 || process_start_time(getpid(), &start) < 0)
		return symbi_fail(err, SYMBI_E_SYSTEM, errno, "cannot identify this process for the "
				  "container's owner label");
	snprintf(out, size, "%s/%d/%llu", prefix, (int)getpid(), start);
	return 0;
}

bool symbi_docker_owner_gone(const char *owner)
{
	char prefix[128];
	if (host_prefix(prefix, sizeof(prefix)) < 0)
		return false;
	size_t n = strlen(prefix);
	if (strncmp(owner, prefix, n) != 0 || owner[n] != '/')
		return false; /* another host, boot or pid namespace */
	int pid;
	unsigned long long start, actual;
	if (sscanf(owner + n + 1, "%d/%llu", &pid, &start) != 2 || pid <= 0)
		return false;
	return process_start_time(pid, &actual) < 0 || actual != start;
}

static bool expired(const char *state, const char *keep, const char *deadline, const char *owner,
		    time_t now)
{
	if (strcmp(keep, "1") == 0 && strcmp(state, "running") != 0)
		return false; /* kept on purpose, and no longer running */
	if (*deadline) {
		char *end;
		long long d = strtoll(deadline, &end, 10);
		if (*end == '\0' && d < (long long)now)
			return true;
	}
	return *owner && symbi_docker_owner_gone(owner);
}

int symbi_docker_sweep(const symbi_config_t *cfg, const symbi_engine_t *engine,
		       symbi_error_t *err)
{
	symbi_docker_output_t *out = malloc(sizeof(*out));
	if (!out)
		return symbi_fail_nomem(err);
	int status = 0;
	if (engine && symbi_docker_api_list(engine, out->text, sizeof(out->text), err) < 0) {
		free(out);
		return -1;
	}
	if (!engine)
		status = symbi_docker_command(cfg, out, err, "ps", "-a", "--no-trunc",
					      "--filter", "label=" SYMBI_DOCKER_LABEL, "--format",
					      "{{.ID}}|{{.State}}|{{.Label \"" SYMBI_DOCKER_LABEL_KEEP "\"}}|"
					      "{{.Label \"" SYMBI_DOCKER_LABEL_DEADLINE "\"}}|"
					      "{{.Label \"" SYMBI_DOCKER_LABEL_OWNER "\"}}", NULL);
	if (status != 0) {
		free(out);
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0,
				  "Docker is not available at '%s'. Install Docker or set docker_binary path.",
				  cfg->docker_binary);
	}
	/* Only whole lines: output cut at the buffer's end could hold a
	 * truncated deadline. What does not fit is swept next time. */
	char *last = strrchr(out->text, '\n');
	if (last)
		last[1] = '\0';
	else
		out->text[0] = '\0';
	time_t now = time(NULL);
	char *save = NULL;
	for (char *line = strtok_r(out->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* ID|STATE|KEEP|DEADLINE|OWNER */
		char *field[5] = {line};
		int n = 1;
		for (char *p = line; n < 5 && (p = strchr(p, '|')); n++) {
			*p++ = '\0';
			field[n] = p;
		}
		if (n < 5)
			continue;
		if (expired(field[1], field[2], field[3], field[4], now)) {
			symbi_error_t ignored;
			/* Best effort: what cannot go now goes at the next start. */
			if (engine)
				symbi_docker_api_remove(engine, line);
			else
				symbi_docker_command(cfg, NULL, &ignored, "rm", "-fv", line, NULL);
		}
	}
	free(out);
	symbi_docker_volumes_sweep();
	return 0;
}
