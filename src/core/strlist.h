/* A growable, NULL-terminated array of owned strings; doubles as an argv. */
#ifndef SYMBI_CORE_STRLIST_H
#define SYMBI_CORE_STRLIST_H

#include <stddef.h>

typedef struct symbi_strlist {
	char **items; /* NULL-terminated when len > 0 or after any push */
	size_t len;
	size_t cap;
} symbi_strlist_t;

/* All return 0, or -1 on allocation failure (the list is then unchanged). */
int symbi_strlist_push(symbi_strlist_t *l, const char *s);
int symbi_strlist_pushf(symbi_strlist_t *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int symbi_strlist_copy(symbi_strlist_t *dst, const symbi_strlist_t *src);
void symbi_strlist_clear(symbi_strlist_t *l);

#endif
