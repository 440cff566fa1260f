/* The Docker engine's own floor for an exec into a running container,
 * with no library in the way: ExecCreate on a kept-alive connection,
 * ExecStart hijacked on a new one (its time until the headers came, and
 * until the stream ended with the process), exec inspect for the exit
 * code; RUNS of each, the medians and the p90 of their sum in ms.
 * Plain HTTP/1.1 over the unix socket, enough for these three requests
 * from this daemon, nothing more: a measuring tool, not a client.
 *
 *   engine_floor SOCKET CONTAINER RUNS [CMD_JSON]   (bench/engine-floor.sh) */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bench_time.h"

static const char *sock_path;

static int dial(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("engine_floor: connect");
		exit(1);
	}
	return fd;
}

static void send_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);
		if (n <= 0) {
			perror("engine_floor: write");
			exit(1);
		}
		s += n;
		len -= (size_t)n;
	}
}

/* One whole reply (Content-Length, chunked, or 204) into buf. */
static void read_reply(int fd, char *buf, size_t size)
{
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n <= 0) {
			fprintf(stderr, "engine_floor: the daemon closed the connection\n");
			exit(1);
		}
		len += (size_t)n;
		buf[len] = '\0';
		char *body = strstr(buf, "\r\n\r\n");
		if (!body)
			continue;
		body += 4;
		const char *cl = strcasestr(buf, "\r\nContent-Length:");
		if (cl && len >= (size_t)(body - buf) + strtoul(cl + 17, NULL, 10))
			return;
		if (!cl && (strstr(body, "\r\n0\r\n\r\n") || strncmp(buf + 9, "204", 3) == 0))
			return;
		if (len + 1 >= size) {
			fprintf(stderr, "engine_floor: reply too long\n");
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s SOCKET CONTAINER RUNS [CMD_JSON]\n", argv[0]);
		return 2;
	}
	sock_path = argv[1];
	const char *container = argv[2];
	int runs = atoi(argv[3]);
	const char *cmd = argc > 4 ? argv[4] : "[\"sh\",\"-c\",\"true\"]";
	if (runs < 10)
		runs = 10;
	double *create = calloc((size_t)runs, sizeof(double)), *head = calloc((size_t)runs, sizeof(double)),
	       *stream = calloc((size_t)runs, sizeof(double)), *inspect = calloc((size_t)runs, sizeof(double)),
	       *total = calloc((size_t)runs, sizeof(double));
	static char buf[1 << 16], req[4096], body[1024];
	int kept = dial();
	for (int i = 0; i < runs + 3; i++) {
		double t0 = now_ms();
		snprintf(body, sizeof(body), "{\"AttachStdout\":true,\"AttachStderr\":true,\"Cmd\":%s}", cmd);
		int n = snprintf(req, sizeof(req),
				 "POST /containers/%s/exec HTTP/1.1\r\nHost: docker\r\nContent-Type: "
				 "application/json\r\nContent-Length: %zu\r\n\r\n%s",
				 container, strlen(body), body);
		send_all(kept, req, (size_t)n);
		read_reply(kept, buf, sizeof(buf));
		const char *id = strstr(buf, "\"Id\":\"");
		if (strncmp(buf + 9, "201", 3) != 0 || !id) {
			fprintf(stderr, "engine_floor: ExecCreate: %s\n", buf);
			return 1;
		}
		char exec_id[80];
		snprintf(exec_id, sizeof(exec_id), "%.*s", (int)strcspn(id + 6, "\""), id + 6);
		double t1 = now_ms();
		int hijacked = dial();
		const char *start = "{\"Detach\":false,\"Tty\":false}";
		n = snprintf(req, sizeof(req),
			     "POST /exec/%s/start HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
			     "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: %zu\r\n\r\n%s",
			     exec_id, strlen(start), start);
		send_all(hijacked, req, (size_t)n);
		double t_head = 0;
		while (read(hijacked, buf, sizeof(buf)) > 0)
			if (!t_head)
				t_head = now_ms();
		close(hijacked);
		double t2 = now_ms();
		n = snprintf(req, sizeof(req), "GET /exec/%s/json HTTP/1.1\r\nHost: docker\r\n\r\n", exec_id);
		send_all(kept, req, (size_t)n);
		read_reply(kept, buf, sizeof(buf));
		if (!strstr(buf, "\"Running\":false") || !strstr(buf, "\"ExitCode\":0")) {
			fprintf(stderr, "engine_floor: the exec did not end with 0: %s\n", buf);
			return 1;
		}
		double t3 = now_ms();
		if (i < 3)
			continue; /* warm-up */
		int k = i - 3;
		create[k] = t1 - t0;
		head[k] = (t_head ? t_head : t2) - t1;
		stream[k] = t2 - t1;
		inspect[k] = t3 - t2;
		total[k] = t3 - t0;
	}
	double *all[] = {create, head, stream, inspect, total};
	for (size_t j = 0; j < sizeof(all) / sizeof(all[0]); j++)
		sort_times(all[j], runs);
	printf("| %-52s | %7.2f | %7.2f |\n", "ExecCreate (kept-alive connection)", create[runs / 2],
	       create[runs * 9 / 10]);
	printf("| %-52s | %7.2f | %7.2f |\n", "ExecStart: until its headers", head[runs / 2], head[runs * 9 / 10]);
	printf("| %-52s | %7.2f | %7.2f |\n", "ExecStart: until the stream ends (process done)",
	       stream[runs / 2], stream[runs * 9 / 10]);
	printf("| %-52s | %7.2f | %7.2f |\n", "exec inspect (exit code)", inspect[runs / 2],
	       inspect[runs * 9 / 10]);
	printf("| %-52s | %7.2f | %7.2f |\n", "the three requests", total[runs / 2], total[runs * 9 / 10]);
	free(create);
	free(head);
	free(stream);
	free(inspect);
	free(total);
	close(kept);
	return 0;
}
