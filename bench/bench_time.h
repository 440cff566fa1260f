/* What the bench programs share: a monotonic clock in ms, and sorting a
 * series of times for its median and percentiles. */
#ifndef SYMBI_BENCH_TIME_H
#define SYMBI_BENCH_TIME_H

#include <stdlib.h>
#include <time.h>

static inline double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static inline void sort_times(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
}

#endif
