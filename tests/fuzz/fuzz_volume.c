/* symbi_volume_check(): `host:container[:mode]` volume specs, the
 * blocklist's parser. Invariants: an accepted spec gives an engine spec
 * that is accepted again unchanged (normalising twice changes nothing); its
 * host part is absolute without "." or ".." segments, or a plain volume
 * name, never / and never under a blocked directory (checked here on the
 * output, with the blocked list written out independently); its container
 * part is absolute and not /. */
#include "fuzz.h"
#include "core/config.h"

#include <ctype.h>
#include <stdbool.h>

static const char *const blocked[] = {"/proc", "/sys", "/etc", "/root", "/boot", "/dev",
				      "/run", "/var/run", "/var/lib/docker",
				      "/var/lib/containerd"};

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool has_dot_segment(const char *path)
{
	return strstr(path, "/./") || strstr(path, "/../") || strstr(path, "//") ||
	       (strlen(path) >= 2 && strcmp(path + strlen(path) - 2, "/.") == 0) ||
	       (strlen(path) >= 3 && strcmp(path + strlen(path) - 3, "/..") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec = fuzz_strndup(data, size);
	char *out = NULL;
	symbi_error_t err = {0};
	int rc = symbi_volume_check(spec, &out, &err);
	if (rc < 0) {
		FUZZ_CHECK(rc == -1 && out == NULL, "rc %d", rc);
		FUZZ_CHECK(err.code == SYMBI_E_INVALID || err.code == SYMBI_E_SECURITY,
			   "code %d", (int)err.code);
		FUZZ_CHECK_MESSAGE(err.message, sizeof(err.message));
	} else {
		FUZZ_CHECK(rc == 0 && out != NULL, "rc %d", rc);
		char *again = NULL;
		symbi_error_t err2 = {0};
		FUZZ_CHECK(symbi_volume_check(out, &again, &err2) == 0,
			   "the engine spec \"%s\" (from \"%s\") is refused: %s", out, spec,
			   err2.message);
		FUZZ_CHECK(strcmp(out, again) == 0, "not a fixed point: \"%s\" -> \"%s\"", out, again);
		free(again);
		char *copy = strdup(out);
		char *container = strchr(copy, ':');
		FUZZ_CHECK(container != NULL, "no container part in \"%s\"", out);
		*container++ = '\0';
		char *mode = strchr(container, ':');
		if (mode)
			*mode++ = '\0';
		if (copy[0] == '/') {
			FUZZ_CHECK(strcmp(copy, "/") != 0, "host root accepted: %s", spec);
			FUZZ_CHECK(!has_dot_segment(copy), "host path not normalised: %s", copy);
			for (size_t i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++)
				FUZZ_CHECK(!under(copy, blocked[i]) && !under(blocked[i], copy),
					   "blocked path accepted: %s -> %s", spec, copy);
		} else {
			FUZZ_CHECK(isalnum((unsigned char)copy[0]), "bad volume name %s", copy);
		}
		FUZZ_CHECK(container[0] == '/' && strcmp(container, "/") != 0 &&
				   !has_dot_segment(container),
			   "bad container path %s", container);
		free(copy);
		free(out);
	}
	free(spec);
	return 0;
}
