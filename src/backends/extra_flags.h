/* The extra_flags policy (docker_flags.c) as a backend's check_config and
 * check_field. extra_flags are docker flags; every backend holds them to
 * this policy, so that a configuration validates alike whichever backend is
 * selected (the native backend then refuses a non-empty list when it
 * starts). */
#ifndef SYMBI_BACKENDS_EXTRA_FLAGS_H
#define SYMBI_BACKENDS_EXTRA_FLAGS_H

#include "../core/backend.h"

int symbi_extra_flags_check_config(const symbi_config_t *cfg, symbi_error_t *err);
int symbi_extra_flags_check_field(const char *field, const char *value, symbi_error_t *err);

#endif
