/* symbi_deploy_env_parse(): SYMBIONT_ENV values. The oracle is the
 * reference's rule written independently: trim ASCII white space, lower-case,
 * then one of the known names. Anything else is refused with a message
 * that quotes (at most 200 bytes of) the value. */
#include "fuzz.h"

#include <symbi/sandbox.h>
#include <ctype.h>
#include <stdbool.h>
#include <strings.h>

static const struct {
	const char *name;
	symbi_deploy_env_t env;
} known[] = {
	{"development", SYMBI_ENV_DEVELOPMENT}, {"dev", SYMBI_ENV_DEVELOPMENT},
	{"local", SYMBI_ENV_DEVELOPMENT},       {"", SYMBI_ENV_DEVELOPMENT},
	{"staging", SYMBI_ENV_STAGING},         {"stage", SYMBI_ENV_STAGING},
	{"preview", SYMBI_ENV_STAGING},         {"production", SYMBI_ENV_PRODUCTION},
	{"prod", SYMBI_ENV_PRODUCTION},         {"test", SYMBI_ENV_TEST},
	{"ci", SYMBI_ENV_TEST},
};

static bool oracle(const char *v, symbi_deploy_env_t *out)
{
	while (*v && isspace((unsigned char)*v))
		v++;
	size_t len = strlen(v);
	while (len && isspace((unsigned char)v[len - 1]))
		len--;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strlen(known[i].name) == len && strncasecmp(v, known[i].name, len) == 0) {
			*out = known[i].env;
			return true;
		}
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	symbi_deploy_env_t got = (symbi_deploy_env_t)-1, want = (symbi_deploy_env_t)-1;
	symbi_error_t err = {0};
	int rc = symbi_deploy_env_parse(text, &got, &err);
	bool ok = oracle(text, &want);
	FUZZ_CHECK((rc == 0) == ok, "parse says %d, the rule says %d for \"%s\"", rc, ok, text);
	if (ok) {
		FUZZ_CHECK(got == want, "\"%s\" gives %d, not %d", text, (int)got, (int)want);
	} else {
		FUZZ_CHECK(rc == -1 && err.code == SYMBI_E_INVALID, "rc %d code %d", rc,
			   (int)err.code);
		FUZZ_CHECK_MESSAGE(err.message, sizeof(err.message));
		FUZZ_CHECK(strstr(err.message, "SYMBIONT_ENV") != NULL, "message: %s", err.message);
	}
	free(text);
	return 0;
}
