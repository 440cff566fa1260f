/* The names SYMBIONT_ENV accepts, shared with the fuzz harness's oracle
 * (tests/fuzz/fuzz_deploy_env.c), which checks the trimming and case rules
 * of symbi_deploy_env_parse against the same names. */
#ifndef SYMBI_CORE_DEPLOY_ENV_H
#define SYMBI_CORE_DEPLOY_ENV_H

#include <stddef.h>

#include <symbi/sandbox.h>

typedef struct symbi_deploy_env_name {
	const char *name; /* lower case */
	symbi_deploy_env_t env;
} symbi_deploy_env_name_t;

extern const symbi_deploy_env_name_t symbi_deploy_env_names[];
extern const size_t symbi_deploy_env_n_names;

#endif
