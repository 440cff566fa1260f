/* Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c): an invariant
 * check that aborts (libFuzzer then saves the input as a crash), and
 * helpers to turn the fuzzer's bytes into C strings. */
#ifndef SYMBI_FUZZ_H
#define SYMBI_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                          \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__,     \
				__LINE__, #cond);                                      \
			fprintf(stderr, __VA_ARGS__);                                  \
			fputc('\n', stderr);                                           \
			abort();                                                       \
		}                                                                      \
	} while (0)

/* A NUL-terminated copy of data[0..size) (the C string stops at the first
 * NUL byte, as it would for a caller holding a C string). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* An error message is set, NUL-terminated and non-empty. */
#define FUZZ_CHECK_MESSAGE(msg, cap)                                                   \
	FUZZ_CHECK(memchr((msg), '\0', (cap)) != NULL && (msg)[0] != '\0',             \
		   "error message missing or unterminated")

/* A private directory under $TMPDIR for harnesses that need files,
 * created on first use and removed (with what is in it) at exit. */
char *fuzz_tmpdir(void);
/* Writes data to a file in fuzz_tmpdir(); returns its path (static). */
const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size);

#endif
