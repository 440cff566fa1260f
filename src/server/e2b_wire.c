/* Small pieces of the E2B wire contract that need no sandbox (and are unit
 * tested alone, tests/unit/test_server.c): Connect codes and envelopes,
 * and the mapping of the SDK's paths onto the sandbox's workspace. */
#include "e2b.h"

#include <stdlib.h>
#include <string.h>

const char *e2b_rpc_code(const srv_err_t *err)
{
	switch (err->status) {
	case 400: return "invalid_argument";
	case 401: return "unauthenticated";
	case 403: return "permission_denied";
	case 404: return "not_found";
	case 409: return "failed_precondition";
	case 413:
	case 429:
	case 507: return "resource_exhausted";
	case 503: return "unavailable";
	default: return "internal";
	}
}

char *e2b_envelope(unsigned char flags, json_t *o, size_t *len)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return NULL;
	size_t n = strlen(text);
	char *f = malloc(n + 5);
	if (f) {
		f[0] = (char)flags;
		f[1] = (char)(n >> 24);
		f[2] = (char)(n >> 16);
		f[3] = (char)(n >> 8);
		f[4] = (char)n;
		memcpy(f + 5, text, n);
		*len = n + 5;
	}
	free(text);
	return f;
}

int e2b_ws_path(const char *path, char *out, size_t outlen, srv_err_t *err)
{
	const char *rel = path;
	if (strcmp(path, "~") == 0 || strcmp(path, E2B_HOME) == 0 || strcmp(path, E2B_HOME "/") == 0)
		rel = "";
	else if (strncmp(path, "~/", 2) == 0)
		rel = path + 2;
	else if (strncmp(path, E2B_HOME "/", sizeof(E2B_HOME)) == 0)
		rel = path + sizeof(E2B_HOME);
	else if (path[0] == '/')
		return srv_fail(err, 403, "forbidden",
				"\"%.200s\": only paths under " E2B_HOME " (the sandbox's home and "
				"workspace) are reachable through this API", path);
	size_t n = strlen(rel);
	while (n && rel[n - 1] == '/') /* "dir/" is dir */
		n--;
	if (n >= outlen)
		return srv_fail(err, 400, "invalid_path", "the path is too long");
	memcpy(out, rel, n);
	out[n] = '\0';
	if (n && srv_path_check(out, err) < 0)
		return -1;
	return 0;
}
