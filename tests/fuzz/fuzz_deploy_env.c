/* symbi_deploy_env_parse(): SYMBIONT_ENV values. The oracle is the
 * reference's rule written independently: trim ASCII white space, then one
 * of the known names (the library's own list, core/deploy_env.h) in any
 * case. Anything else is refused with a message that quotes (at most 200
 * bytes of) the value. */
#include "fuzz.h"

#include <symbi/sandbox.h>
#include <ctype.h>
#include <stdbool.h>
#include <strings.h>

#include "core/deploy_env.h"

static bool oracle(const char *v, symbi_deploy_env_t *out)
{
	while (*v && isspace((unsigned char)*v))
		v++;
	size_t len = strlen(v);
	while (len && isspace((unsigned char)v[len - 1]))
		len--;
	for (size_t i = 0; i < symbi_deploy_env_n_names; i++) {
		const symbi_deploy_env_name_t *known = &symbi_deploy_env_names[i];
		if (strlen(known->name) == len && strncasecmp(v, known->name, len) == 0) {
			*out = known->env;
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
