/* Prometheus metrics. One process serves one API, so the counters are
 * process-wide (this is the CLI, not the library). */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 32
static const double buckets_s[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
#define N_BUCKETS (sizeof(buckets_s) / sizeof(buckets_s[0]))

struct exec_series {
	char backend[32], status[16];
	unsigned long long count;
};
struct duration_series {
	char backend[32];
	unsigned long long bucket[N_BUCKETS], count;
	double sum_s;
};
struct named_counter {
	char name[32];
	unsigned long long count;
};

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct exec_series execs[MAX_SERIES];
static size_t n_execs;
static struct duration_series durations[MAX_SERIES];
static size_t n_durations;
static struct named_counter rejections[MAX_SERIES];
static size_t n_rejections;
static struct named_counter http_codes[MAX_SERIES];
static size_t n_http_codes;

static struct named_counter *counter(struct named_counter *v, size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	if (*n == MAX_SERIES)
		return NULL;
	snprintf(v[*n].name, sizeof(v[*n].name), "%s", name);
	return &v[(*n)++];
}

void srv_metrics_execution(const char *backend, const char *status, uint64_t ms)
{
	pthread_mutex_lock(&metrics_lock);
	struct exec_series *e = NULL;
	for (size_t i = 0; i < n_execs && !e; i++)
		if (strcmp(execs[i].backend, backend) == 0 && strcmp(execs[i].status, status) == 0)
			e = &execs[i];
	if (!e && n_execs < MAX_SERIES) {
		e = &execs[n_execs++];
		snprintf(e->backend, sizeof(e->backend), "%s", backend);
		snprintf(e->status, sizeof(e->status), "%s", status);
	}
	if (e)
		e->count++;
	struct duration_series *d = NULL;
	for (size_t i = 0; i < n_durations && !d; i++)
		if (strcmp(durations[i].backend, backend) == 0)
			d = &durations[i];
	if (!d && n_durations < MAX_SERIES) {
		d = &durations[n_durations++];
		snprintf(d->backend, sizeof(d->backend), "%s", backend);
	}
	if (d) {
		double s = (double)ms / 1000.0;
		for (size_t i = 0; i < N_BUCKETS; i++)
			if (s <= buckets_s[i])
				d->bucket[i]++;
		d->count++;
		d->sum_s += s;
	}
	pthread_mutex_unlock(&metrics_lock);
}

void srv_metrics_rejection(const char *reason)
{
	pthread_mutex_lock(&metrics_lock);
	struct named_counter *c = counter(rejections, &n_rejections, reason);
	if (c)
		c->count++;
	pthread_mutex_unlock(&metrics_lock);
}

void srv_metrics_http(int status)
{
	char code[16];
	snprintf(code, sizeof(code), "%d", status);
	pthread_mutex_lock(&metrics_lock);
	struct named_counter *c = counter(http_codes, &n_http_codes, code);
	if (c)
		c->count++;
	pthread_mutex_unlock(&metrics_lock);
}

char *srv_metrics_render(size_t sessions_open, size_t running, size_t queued)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	pthread_mutex_lock(&metrics_lock);
	fputs("# HELP symbi_sandbox_executions_total Executions by backend and result status.\n"
	      "# TYPE symbi_sandbox_executions_total counter\n", f);
	for (size_t i = 0; i < n_execs; i++)
		fprintf(f, "symbi_sandbox_executions_total{backend=\"%s\",status=\"%s\"} %llu\n",
			execs[i].backend, execs[i].status, execs[i].count);
	fputs("# HELP symbi_sandbox_execution_duration_seconds Wall-clock time of executions.\n"
	      "# TYPE symbi_sandbox_execution_duration_seconds histogram\n", f);
	for (size_t i = 0; i < n_durations; i++) {
		const struct duration_series *d = &durations[i];
		for (size_t b = 0; b < N_BUCKETS; b++)
			fprintf(f,
				"symbi_sandbox_execution_duration_seconds_bucket{backend=\"%s\","
				"le=\"%g\"} %llu\n", d->backend, buckets_s[b], d->bucket[b]);
		fprintf(f,
			"symbi_sandbox_execution_duration_seconds_bucket{backend=\"%s\",le=\"+Inf\"} "
			"%llu\n", d->backend, d->count);
		fprintf(f, "symbi_sandbox_execution_duration_seconds_sum{backend=\"%s\"} %.3f\n",
			d->backend, d->sum_s);
		fprintf(f, "symbi_sandbox_execution_duration_seconds_count{backend=\"%s\"} %llu\n",
			d->backend, d->count);
	}
	fputs("# HELP symbi_sandbox_rejections_total Requests refused before running, by reason.\n"
	      "# TYPE symbi_sandbox_rejections_total counter\n", f);
	for (size_t i = 0; i < n_rejections; i++)
		fprintf(f, "symbi_sandbox_rejections_total{reason=\"%s\"} %llu\n", rejections[i].name,
			rejections[i].count);
	fputs("# HELP symbi_sandbox_http_requests_total HTTP requests by status code.\n"
	      "# TYPE symbi_sandbox_http_requests_total counter\n", f);
	for (size_t i = 0; i < n_http_codes; i++)
		fprintf(f, "symbi_sandbox_http_requests_total{code=\"%s\"} %llu\n",
			http_codes[i].name, http_codes[i].count);
	pthread_mutex_unlock(&metrics_lock);
	fprintf(f,
		"# HELP symbi_sandbox_sessions_open Sessions currently open.\n"
		"# TYPE symbi_sandbox_sessions_open gauge\n"
		"symbi_sandbox_sessions_open %zu\n"
		"# HELP symbi_sandbox_executions_running Executions running now.\n"
		"# TYPE symbi_sandbox_executions_running gauge\n"
		"symbi_sandbox_executions_running %zu\n"
		"# HELP symbi_sandbox_queue_length Executions waiting for a slot.\n"
		"# TYPE symbi_sandbox_queue_length gauge\n"
		"symbi_sandbox_queue_length %zu\n",
		sessions_open, running, queued);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
