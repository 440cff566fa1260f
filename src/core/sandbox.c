/* The sandbox handle: a validated config plus the backend behind it. */
#include "error.h"
#include "backend.h"

#include <stdlib.h>

struct symbi_sandbox {
	symbi_config_t *cfg;
	const symbi_backend_ops_t *ops;
	void *state;
};

const symbi_backend_ops_t *symbi_backend_for(symbi_backend_kind_t kind)
{
	switch (kind) {
	case SYMBI_BACKEND_DOCKER: return &symbi_backend_docker;
	case SYMBI_BACKEND_GVISOR: return &symbi_backend_gvisor;
	case SYMBI_BACKEND_NATIVE: return &symbi_backend_native;
	case SYMBI_BACKEND_PROCESS: return &symbi_backend_process;
	}
	return NULL;
}

int symbi_backend_check_config(const symbi_config_t *cfg, symbi_error_t *err)
{
	const symbi_backend_ops_t *ops = symbi_backend_for(cfg->backend);
	return ops && ops->check_config ? ops->check_config(cfg, err) : 0;
}

int symbi_backend_check_field(const symbi_config_t *cfg, const char *field, const char *value,
			      symbi_error_t *err)
{
	const symbi_backend_ops_t *ops = symbi_backend_for(cfg->backend);
	return ops && ops->check_field ? ops->check_field(field, value, err) : 0;
}

void symbi_collect_leftovers(void)
{
	static const symbi_backend_kind_t kinds[] = {SYMBI_BACKEND_DOCKER, SYMBI_BACKEND_GVISOR,
						     SYMBI_BACKEND_NATIVE, SYMBI_BACKEND_PROCESS};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const symbi_backend_ops_t *ops = symbi_backend_for(kinds[i]);
		if (ops->collect_leftovers)
			ops->collect_leftovers();
	}
}

symbi_sandbox_t *symbi_sandbox_new(const symbi_config_t *cfg, symbi_error_t *err)
{
	if (!cfg) {
		symbi_fail(err, SYMBI_E_INVALID, 0, "symbi_sandbox_new: NULL config");
		return NULL;
	}
	if (symbi_config_validate(cfg, err) < 0)
		return NULL;
	symbi_sandbox_t *sb = calloc(1, sizeof(*sb));
	if (!sb || !(sb->cfg = symbi_config_copy(cfg))) {
		free(sb);
		symbi_fail_nomem(err);
		return NULL;
	}
	sb->ops = symbi_backend_for(cfg->backend);
	if (!sb->ops || sb->ops->create(sb->cfg, &sb->state, err) < 0) {
		if (!sb->ops)
			symbi_fail(err, SYMBI_E_INVALID, 0, "unknown backend");
		symbi_config_free(sb->cfg);
		free(sb);
		return NULL;
	}
	return sb;
}

void symbi_sandbox_free(symbi_sandbox_t *sb)
{
	if (!sb)
		return;
	if (sb->ops->destroy)
		sb->ops->destroy(sb->state);
	symbi_config_free(sb->cfg);
	free(sb);
}

const char *symbi_sandbox_backend_name(const symbi_sandbox_t *sb)
{
	return sb->ops->name;
}

const char *symbi_sandbox_warning(const symbi_sandbox_t *sb)
{
	const char *w = sb->ops->state_warning ? sb->ops->state_warning(sb->state) : NULL;
	return w ? w : sb->ops->warning;
}

int symbi_sandbox_execute_opts(symbi_sandbox_t *sb, const symbi_exec_options_t *opts,
			       symbi_result_t **out, symbi_error_t *err)
{
	if (!sb || !opts || !out || (!opts->code && opts->code_len) ||
	    (!opts->stdin_data && opts->stdin_len))
		return symbi_fail(err, SYMBI_E_INVALID, 0, "symbi_sandbox_execute: NULL argument");
	*out = NULL;
	if (opts->argv || opts->cwd || opts->on_output || opts->stdin_open || opts->detached)
		return symbi_fail(err, SYMBI_E_INVALID, 0,
				  "argv, cwd, on_output, stdin_open and detached need a live sandbox "
				  "(symbi_live_start)");
	/* The environment may have changed since the sandbox was made: a
	 * guard such as "no host network in production" is checked per run. */
	if (symbi_config_validate(sb->cfg, err) < 0)
		return -1;
	symbi_exec_request_t req = {
		.code = opts->code ? opts->code : "", .code_len = opts->code_len,
		.env = opts->env, .stdin_data = opts->stdin_data, .stdin_len = opts->stdin_len,
		.cancel_fd = opts->cancel_fd,
	};
	if (!opts->timeout_ms && !opts->max_output_bytes)
		return sb->ops->execute(sb->state, sb->cfg, &req, out, err);
	/* This run's limits, on a copy: the sandbox's config is shared by
	 * concurrent runs. */
	symbi_config_t *cfg = symbi_config_copy(sb->cfg);
	if (!cfg)
		return symbi_fail_nomem(err);
	if (opts->timeout_ms)
		cfg->timeout_ms = opts->timeout_ms;
	if (opts->max_output_bytes)
		cfg->max_output_bytes = opts->max_output_bytes;
	int rc = sb->ops->execute(sb->state, cfg, &req, out, err);
	symbi_config_free(cfg);
	return rc;
}

int symbi_sandbox_execute(symbi_sandbox_t *sb, const char *code, size_t code_len,
			  const symbi_env_t *env, symbi_result_t **out, symbi_error_t *err)
{
	symbi_exec_options_t opts = {
		.code = code, .code_len = code_len, .env = env, .cancel_fd = -1,
	};
	return symbi_sandbox_execute_opts(sb, &opts, out, err);
}
