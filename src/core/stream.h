/* Bounded capture of one output stream. Memory grows with what was really
 * written, never past the cap; bytes past the cap are counted and dropped so
 * that the writer never blocks on a full pipe. */
#ifndef SYMBI_CORE_STREAM_H
#define SYMBI_CORE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How many of the last bytes written are kept whatever the cap (the gvisor
 * backend looks there for the line its bootstrap writes last). */
#define SYMBI_STREAM_TAIL 128

typedef struct symbi_stream {
	char *data;
	size_t len;     /* bytes kept (<= limit) */
	size_t cap;     /* allocated */
	size_t limit;   /* the cap: max_output_bytes */
	uint64_t total; /* bytes the program wrote */
	char tail[SYMBI_STREAM_TAIL]; /* the last tail_len bytes written */
	size_t tail_len;
} symbi_stream_t;

void symbi_stream_init(symbi_stream_t *s, size_t limit);
/* Keeps what fits under the cap; returns -1 only if memory ran out. */
int symbi_stream_append(symbi_stream_t *s, const char *buf, size_t n);
static inline bool symbi_stream_truncated(const symbi_stream_t *s)
{
	return s->total > s->limit;
}
/* Appends the reference's marker when truncated, NUL-terminates, and hands
 * the buffer to the caller (who frees it); the stream is left empty. */
char *symbi_stream_finish(symbi_stream_t *s, size_t *len_out);
void symbi_stream_free(symbi_stream_t *s);

#endif
