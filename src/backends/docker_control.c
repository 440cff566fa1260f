/* Short docker commands of our own (ps, inspect, pull, kill, rm): run with
 * the fixed control environment, never a shell, and a bounded wait. */
#include "docker.h"
#include "../core/error.h"
#include "../core/supervise.h"

#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>

int symbi_docker_command(const symbi_config_t *cfg, symbi_docker_output_t *out,
			 symbi_error_t *err, ...)
{
	char *argv[16];
	int n = 0;
	argv[n++] = cfg->docker_binary;
	va_list ap;
	va_start(ap, err);
	for (const char *a; n < 15 && (a = va_arg(ap, const char *));)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	symbi_strlist_t envp = {0};
	if (symbi_docker_control_env(&envp, err) < 0)
		return -1;
	symbi_supervise_opts_t o = {
		.path = cfg->docker_binary, .argv = argv, .envp = envp.items,
		.max_output_bytes = out ? sizeof(out->text) - 1 : 4096,
		.timeout_ms = SYMBI_DOCKER_CONTROL_TIMEOUT_MS, .cancel_fd = -1,
	};
	symbi_supervise_outcome_t oc;
	int rc = symbi_supervise(&o, &oc, err);
	symbi_strlist_clear(&envp);
	if (rc < 0)
		return -1;
	if (out) {
		const symbi_stream_t *s = &oc.out;
		size_t len = s->len < sizeof(out->text) - 1 ? s->len : sizeof(out->text) - 1;
		if (len)
			memcpy(out->text, s->data, len);
		out->text[len] = '\0';
		len = oc.err.len < sizeof(out->error) - 1 ? oc.err.len : sizeof(out->error) - 1;
		if (len)
			memcpy(out->error, oc.err.data, len);
		while (len > 0 && (out->error[len - 1] == '\n' || out->error[len - 1] == ' '))
			len--;
		out->error[len] = '\0';
	}
	symbi_stream_free(&oc.out);
	symbi_stream_free(&oc.err);
	if (oc.timed_out)
		return symbi_fail(err, SYMBI_E_UNAVAILABLE, 0, "'%s %s' did not finish within %d ms",
				  cfg->docker_binary, argv[1], SYMBI_DOCKER_CONTROL_TIMEOUT_MS);
	return WIFEXITED(oc.wait_status) ? WEXITSTATUS(oc.wait_status) : 128 + WTERMSIG(oc.wait_status);
}
