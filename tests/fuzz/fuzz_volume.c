/* symbi_volume_parse(): `host:container[:mode]` volume specs, the
 * blocklist's parser, into a volume's parts. Invariants: an accepted
 * spec's parts, written out again, parse to the same parts (normalising
 * twice changes nothing), and so do they given apart to
 * symbi_volume_make() (the typed form); its host part is absolute without
 * "." or ".." segments, or a plain volume name, never / and never under a
 * blocked directory, also as resolved at use (checked here with the
 * blocked list written out independently); its container part is
 * absolute, normalised and not /. */
#include "fuzz.h"
#include "core/config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
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

static void check_blocked(const char *spec, const char *host)
{
	FUZZ_CHECK(strcmp(host, "/") != 0, "host root accepted: %s", spec);
	for (size_t i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++)
		FUZZ_CHECK(!under(host, blocked[i]) && !under(blocked[i], host),
			   "blocked path accepted: %s -> %s", spec, host);
}

static void check_same(const symbi_volume_t *a, const symbi_volume_t *b, const char *how)
{
	FUZZ_CHECK(strcmp(a->host, b->host) == 0 && strcmp(a->target, b->target) == 0 &&
			   a->named == b->named && a->read_only == b->read_only,
		   "%s: \"%s\" gives %s:%s, not %s:%s", how, a->spec, b->host, b->target, a->host,
		   a->target);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec = fuzz_strndup(data, size);
	symbi_volume_t vol, again;
	symbi_error_t err = {0};
	int rc = symbi_volume_parse(spec, &vol, &err);
	if (rc < 0) {
		FUZZ_CHECK(rc == -1 && vol.spec == NULL && vol.host == NULL, "rc %d", rc);
		FUZZ_CHECK(err.code == SYMBI_E_INVALID || err.code == SYMBI_E_SECURITY,
			   "code %d", (int)err.code);
		FUZZ_CHECK_MESSAGE(err.message, sizeof(err.message));
		free(spec);
		return 0;
	}
	FUZZ_CHECK(rc == 0 && strcmp(vol.spec, spec) == 0, "rc %d", rc);
	char *text = NULL;
	FUZZ_CHECK(asprintf(&text, "%s:%s%s%s", vol.host, vol.target, vol.mode ? ":" : "",
			    vol.mode ? vol.mode : "") >= 0, "asprintf");
	symbi_error_t err2 = {0};
	FUZZ_CHECK(symbi_volume_parse(text, &again, &err2) == 0,
		   "its parts \"%s\" (from \"%s\") are refused: %s", text, spec, err2.message);
	check_same(&vol, &again, "written out again");
	symbi_volume_clear(&again);
	free(text);
	if (!vol.mode || strcmp(vol.mode, "ro") == 0 || strcmp(vol.mode, "rw") == 0) {
		FUZZ_CHECK(symbi_volume_make(vol.host, vol.target, vol.read_only, &again, &err2) == 0,
			   "symbi_volume_make refuses the parts of \"%s\": %s", spec, err2.message);
		check_same(&vol, &again, "given apart");
		symbi_volume_clear(&again);
	}
	if (!vol.named) {
		FUZZ_CHECK(vol.host[0] == '/' && !has_dot_segment(vol.host),
			   "host path not normalised: %s", vol.host);
		check_blocked(spec, vol.host);
		char resolved[PATH_MAX];
		if (symbi_volume_resolve(&vol, resolved, sizeof(resolved), &err2) == 0)
			check_blocked(spec, resolved);
	} else {
		FUZZ_CHECK(isalnum((unsigned char)vol.host[0]), "bad volume name %s", vol.host);
	}
	FUZZ_CHECK(vol.target[0] == '/' && strcmp(vol.target, "/") != 0 &&
			   !has_dot_segment(vol.target),
		   "bad container path %s", vol.target);
	symbi_volume_clear(&vol);
	free(spec);
	return 0;
}
