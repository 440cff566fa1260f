/* symbi_config_load_json(): arbitrary bytes as a configuration document.
 * Invariants: all or nothing (on failure the config is byte-for-byte what
 * it was, with an error message); on success the result survives
 * symbi_config_copy() unchanged and loading the same document again over it
 * succeeds and changes nothing (every list is replaced, not appended). */
#include "fuzz.h"
#include "config_dump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	symbi_config_t *cfg = symbi_config_new();
	FUZZ_CHECK(cfg != NULL, "symbi_config_new failed");
	char *before = config_dump(cfg);
	symbi_error_t err = {0};
	int rc = symbi_config_load_json(cfg, text, &err);
	char *after = config_dump(cfg);
	FUZZ_CHECK(rc == 0 || rc == -1, "rc %d", rc);
	if (rc < 0) {
		FUZZ_CHECK(err.code == SYMBI_E_INVALID || err.code == SYMBI_E_SECURITY,
			   "error code %d", (int)err.code);
		FUZZ_CHECK_MESSAGE(err.message, sizeof(err.message));
		FUZZ_CHECK(strcmp(before, after) == 0, "a failed load changed the config:\n%s\n%s",
			   before, after);
	} else {
		/* Success leaves the error alone (the loader did not fail half-way). */
		FUZZ_CHECK(err.code == SYMBI_OK && err.message[0] == '\0', "success with error: %s",
			   err.message);
		symbi_config_t *copy = symbi_config_copy(cfg);
		FUZZ_CHECK(copy != NULL, "copy failed");
		char *copied = config_dump(copy);
		FUZZ_CHECK(strcmp(after, copied) == 0, "copy differs:\n%s\n%s", after, copied);
		symbi_error_t err2 = {0};
		FUZZ_CHECK(symbi_config_load_json(copy, text, &err2) == 0,
			   "loading an accepted document again failed: %s", err2.message);
		char *again = config_dump(copy);
		FUZZ_CHECK(strcmp(after, again) == 0, "loading twice differs:\n%s\n%s", after, again);
		/* Whole-config validation must not crash on anything accepted. */
		symbi_error_t verr = {0};
		if (symbi_config_validate(cfg, &verr) < 0)
			FUZZ_CHECK_MESSAGE(verr.message, sizeof(verr.message));
		free(again);
		free(copied);
		symbi_config_free(copy);
	}
	free(after);
	free(before);
	symbi_config_free(cfg);
	free(text);
	return 0;
}
