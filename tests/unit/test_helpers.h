/* Shared by the tests written in C, with cmocka (tests/unit/test_*.c) or
 * without (tests/integration/live_docker.c): what the host shows of a
 * test's processes and descriptors, and the collection of a streamed
 * process's output. Include after symbi/sandbox.h. The functions are
 * static inline so that a test using only some of them still builds with
 * -Werror. */
#ifndef SYMBI_TESTS_TEST_HELPERS_H
#define SYMBI_TESTS_TEST_HELPERS_H

#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The descriptors this process has open (counting the one that lists
 * them). */
static inline int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* Host processes whose command line is exactly `cmd` (argv joined by ' '). */
static inline int host_procs(const char *cmd)
{
	int n = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[300], buf[256];
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		while (len && buf[len - 1] == '\0')
			len--;
		for (size_t i = 0; i < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[len] = '\0';
		n += strcmp(buf, cmd) == 0;
	}
	if (d)
		closedir(d);
	return n;
}

/* Appends a chunk of stream `which` to out (cap bytes, kept NUL-terminated)
 * if it is stdout and fits; a test's stream is small. */
static inline void append_stdout(char *out, size_t cap, size_t *len, int which, const char *data,
				 size_t n)
{
	if (which == 1 && *len + n < cap) {
		memcpy(out + *len, data, n);
		*len += n;
		out[*len] = '\0';
	}
}

/* A spawned process whose stdout a test watches as it arrives: stream_output
 * (its on_output, with the struct as output_ctx) collects it and
 * stream_wait (a thread) waits for the process; both signal cond under
 * lock. */
struct stream_seen {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char out[256];
	size_t len;
	bool ended; /* stream_wait has the result */
	symbi_process_t *p;
	symbi_result_t *res; /* NULL if the wait failed */
};

static inline void stream_output(void *ctx, int which, const char *data, size_t len)
{
	struct stream_seen *s = ctx;
	pthread_mutex_lock(&s->lock);
	append_stdout(s->out, sizeof(s->out), &s->len, which, data, len);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static inline void *stream_wait(void *arg)
{
	struct stream_seen *s = arg;
	symbi_error_t err = {0};
	if (symbi_process_wait(s->p, &s->res, &err) < 0)
		s->res = NULL;
	pthread_mutex_lock(&s->lock);
	s->ended = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Waits until stdout holds `text` or the process ended; true if it ended
 * without it. */
static inline bool stream_ended_before(struct stream_seen *s, const char *text)
{
	pthread_mutex_lock(&s->lock);
	while (!strstr(s->out, text) && !s->ended)
		pthread_cond_wait(&s->cond, &s->lock);
	bool ended = s->ended;
	pthread_mutex_unlock(&s->lock);
	return ended;
}

#endif
