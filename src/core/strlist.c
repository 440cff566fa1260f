#include "strlist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int strlist_push_owned(symbi_strlist_t *l, char *s)
{
	if (l->len + 2 > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **items = realloc(l->items, cap * sizeof(*items));
		if (!items)
			return -1;
		l->items = items;
		l->cap = cap;
	}
	l->items[l->len++] = s;
	l->items[l->len] = NULL;
	return 0;
}

int symbi_strlist_push(symbi_strlist_t *l, const char *s)
{
	char *dup = strdup(s);
	if (!dup || strlist_push_owned(l, dup) < 0) {
		free(dup);
		return -1;
	}
	return 0;
}

int symbi_strlist_pushf(symbi_strlist_t *l, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if (strlist_push_owned(l, s) < 0) {
		free(s);
		return -1;
	}
	return 0;
}

int symbi_strlist_copy(symbi_strlist_t *dst, const symbi_strlist_t *src)
{
	symbi_strlist_t tmp = {0};
	for (size_t i = 0; i < src->len; i++) {
		if (symbi_strlist_push(&tmp, src->items[i]) < 0) {
			symbi_strlist_clear(&tmp);
			return -1;
		}
	}
	*dst = tmp;
	return 0;
}

void symbi_strlist_clear(symbi_strlist_t *l)
{
	for (size_t i = 0; i < l->len; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->len = l->cap = 0;
}
