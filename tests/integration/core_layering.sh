#!/usr/bin/env bash
# The core (src/core) includes no backend header but the backend interface,
# and that only in the dispatch (sandbox.c, and live.c for live sandboxes):
# what a backend checks in a
# configuration reaches the core through its check_config/check_field hooks.
source "$(dirname "$0")/../lib.sh"
cd "$ROOT" || exit 1
expect_eq "src/core includes backends/ only in sandbox.c and live.c, only backend.h" \
	'src/core/live.c:#include "../backends/backend.h"
src/core/sandbox.c:#include "../backends/backend.h"' \
	"$(grep -n -E '^#[[:space:]]*include[[:space:]]*"[^"]*backends/' src/core/*.c src/core/*.h | sed 's/:[0-9]*:/:/')"
finish
