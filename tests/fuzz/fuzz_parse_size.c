/* symbi_parse_size(): docker-style sizes ("512m", "1.5g", "2GiB").
 * Invariants: an accepted size starts with a digit and is below 2^63; its
 * value written back in plain bytes ("N", "Nb") and, when it divides, in
 * k/m/g parses to the same value; a refusal says why. */
#include "fuzz.h"

#include <symbi/sandbox.h>
#include <ctype.h>
#include <inttypes.h>

static void expect_same(const char *text, uint64_t want)
{
	uint64_t got = 0;
	symbi_error_t err = {0};
	FUZZ_CHECK(symbi_parse_size(text, &got, &err) == 0, "\"%s\" refused: %s", text, err.message);
	FUZZ_CHECK(got == want, "\"%s\" gives %" PRIu64 ", not %" PRIu64, text, got, want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	uint64_t bytes = 0;
	symbi_error_t err = {0};
	int rc = symbi_parse_size(text, &bytes, &err);
	if (rc < 0) {
		FUZZ_CHECK(rc == -1 && err.code == SYMBI_E_INVALID, "rc %d code %d", rc, (int)err.code);
		FUZZ_CHECK_MESSAGE(err.message, sizeof(err.message));
	} else {
		FUZZ_CHECK(rc == 0, "rc %d", rc);
		FUZZ_CHECK(isdigit((unsigned char)text[0]), "accepted \"%s\"", text);
		FUZZ_CHECK(bytes < ((uint64_t)1 << 63), "%" PRIu64 " too large", bytes);
		char again[64];
		snprintf(again, sizeof(again), "%" PRIu64, bytes);
		expect_same(again, bytes);
		snprintf(again, sizeof(again), "%" PRIu64 "b", bytes);
		expect_same(again, bytes);
		static const char units[] = "kmgt";
		uint64_t scale = 1024;
		for (int i = 0; i < 4 && bytes % scale == 0; i++, scale *= 1024) {
			snprintf(again, sizeof(again), "%" PRIu64 "%c", bytes / scale, units[i]);
			expect_same(again, bytes);
			snprintf(again, sizeof(again), "%" PRIu64 "%ciB", bytes / scale,
				 toupper((unsigned char)units[i]));
			expect_same(again, bytes);
		}
	}
	free(text);
	return 0;
}
