/* One execution of `true` on the default (native) backend through the C
 * library, without the CLI: bench/native-startup.sh times it to separate the
 * sandbox's cost from the CLI's start-up (dynamic loading of its libraries). */
#include <stdio.h>
#include <symbi/sandbox.h>

int main(void)
{
	symbi_error_t err;
	symbi_config_t *cfg = symbi_config_new();
	symbi_sandbox_t *sb = cfg ? symbi_sandbox_new(cfg, &err) : NULL;
	symbi_result_t *res = NULL;
	if (!sb || symbi_sandbox_execute(sb, "true", 4, NULL, &res, &err) < 0) {
		fprintf(stderr, "native_one: %s\n", err.message);
		return 125;
	}
	int rc = res->status == SYMBI_STATUS_EXITED ? res->exit_code : 125;
	symbi_result_free(res);
	symbi_sandbox_free(sb);
	symbi_config_free(cfg);
	return rc;
}
