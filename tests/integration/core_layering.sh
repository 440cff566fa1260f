#!/usr/bin/env bash
# The core (src/core) includes no backend header: the backend interface is
# the core's own (src/core/backend.h), which backends include, and what a
# backend checks in a configuration reaches the core through its
# check_config/check_field hooks.
source "$(dirname "$0")/../lib.sh"
cd "$ROOT" || exit 1
expect_eq "src/core includes nothing from src/backends" "" \
	"$(grep -n -E '^#[[:space:]]*include[[:space:]]*"[^"]*backends/' src/core/*.c src/core/*.h)"
check "the backends include the core's interface" \
	grep -q '#include "../core/backend.h"' src/backends/extra_flags.h
finish
