#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void symbi_stream_init(symbi_stream_t *s, size_t limit)
{
	memset(s, 0, sizeof(*s));
	s->limit = limit;
}

static int stream_reserve(symbi_stream_t *s, size_t need)
{
	if (need <= s->cap)
		return 0;
	size_t cap = s->cap ? s->cap : 4096;
	while (cap < need)
		cap *= 2;
	if (cap > s->limit)
		cap = s->limit > need ? s->limit : need;
	/* +1 for the terminating NUL; the marker is added at finish time. */
	char *data = realloc(s->data, cap + 1);
	if (!data)
		return -1;
	s->data = data;
	s->cap = cap;
	return 0;
}

static void tail_append(symbi_stream_t *s, const char *buf, size_t n)
{
	if (n >= SYMBI_STREAM_TAIL) {
		memcpy(s->tail, buf + n - SYMBI_STREAM_TAIL, SYMBI_STREAM_TAIL);
		s->tail_len = SYMBI_STREAM_TAIL;
		return;
	}
	size_t keep = s->tail_len + n > SYMBI_STREAM_TAIL ? SYMBI_STREAM_TAIL - n : s->tail_len;
	memmove(s->tail, s->tail + s->tail_len - keep, keep);
	memcpy(s->tail + keep, buf, n);
	s->tail_len = keep + n;
}

int symbi_stream_append(symbi_stream_t *s, const char *buf, size_t n)
{
	s->total += n;
	tail_append(s, buf, n);
	size_t room = s->limit - s->len;
	size_t keep = n < room ? n : room;
	if (keep == 0)
		return 0;
	size_t need = s->len + keep;
	if (stream_reserve(s, need) < 0)
		return -1;
	memcpy(s->data + s->len, buf, keep);
	s->len += keep;
	return 0;
}

char *symbi_stream_finish(symbi_stream_t *s, size_t *len_out)
{
	char marker[64] = "";
	if (symbi_stream_truncated(s))
		snprintf(marker, sizeof(marker), "\n... [output truncated at %zu bytes]", s->limit);
	size_t mlen = strlen(marker);
	char *out = realloc(s->data, s->len + mlen + 1);
	if (!out) {
		*len_out = 0;
		return NULL;
	}
	memcpy(out + s->len, marker, mlen);
	out[s->len + mlen] = '\0';
	*len_out = s->len + mlen;
	s->data = NULL;
	s->len = s->cap = 0;
	return out;
}

void symbi_stream_free(symbi_stream_t *s)
{
	free(s->data);
	s->data = NULL;
	s->len = s->cap = 0;
}
