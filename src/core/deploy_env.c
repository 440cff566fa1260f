/* SYMBIONT_ENV, parsed exactly as the reference does. */
#include "deploy_env.h"
#include "error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

const symbi_deploy_env_name_t symbi_deploy_env_names[] = {
	{"development", SYMBI_ENV_DEVELOPMENT}, {"dev", SYMBI_ENV_DEVELOPMENT},
	{"local", SYMBI_ENV_DEVELOPMENT},       {"", SYMBI_ENV_DEVELOPMENT},
	{"staging", SYMBI_ENV_STAGING},         {"stage", SYMBI_ENV_STAGING},
	{"preview", SYMBI_ENV_STAGING},         {"production", SYMBI_ENV_PRODUCTION},
	{"prod", SYMBI_ENV_PRODUCTION},         {"test", SYMBI_ENV_TEST},
	{"ci", SYMBI_ENV_TEST},
};
const size_t symbi_deploy_env_n_names = sizeof(symbi_deploy_env_names) / sizeof(symbi_deploy_env_names[0]);

int symbi_deploy_env_parse(const char *value, symbi_deploy_env_t *out,
			   symbi_error_t *err)
{
	if (!value) {
		*out = SYMBI_ENV_DEVELOPMENT;
		return 0;
	}
	/* Longer than any known name after trimming: unknown, but the message
	 * must still quote it, so trim into a bounded copy. */
	const char *start = value;
	while (*start && isspace((unsigned char)*start))
		start++;
	size_t len = strlen(start);
	while (len > 0 && isspace((unsigned char)start[len - 1]))
		len--;
	char lowered[64];
	if (len < sizeof(lowered)) {
		for (size_t i = 0; i < len; i++)
			lowered[i] = (char)tolower((unsigned char)start[i]);
		lowered[len] = '\0';
		for (size_t i = 0; i < symbi_deploy_env_n_names; i++) {
			if (strcmp(lowered, symbi_deploy_env_names[i].name) == 0) {
				*out = symbi_deploy_env_names[i].env;
				return 0;
			}
		}
	}
	return symbi_fail(err, SYMBI_E_INVALID, 0,
			  "SYMBIONT_ENV has unknown value \"%.*s\"; allowed values are: "
			  "development, staging, production, test",
			  (int)(len > 200 ? 200 : len), start);
}

int symbi_is_production(symbi_error_t *err)
{
	symbi_deploy_env_t env;
	if (symbi_deploy_env_parse(getenv("SYMBIONT_ENV"), &env, err) < 0)
		return -1;
	return env == SYMBI_ENV_PRODUCTION;
}
