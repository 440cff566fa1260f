#!/usr/bin/env bash
# docs/openapi.json stays true: same routes as the server, and live answers
# have documented statuses and validate against the documented schemas.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/http/common.sh"
http_prereqs
require "docs/openapi.json" "it is part of the repository" test -f "$ROOT/docs/openapi.json"

write_policy "$WORK/policy.json"
"$SB" serve --print-routes >"$WORK/routes"
check "the server lists its routes" test -s "$WORK/routes"
start_server --policy "$WORK/policy.json"
python3 "$ROOT/tests/http/openapi_check.py" "$ROOT/docs/openapi.json" "$WORK/routes" "$BASE" >"$WORK/check.out" 2>&1
rc=$?
relay_verdicts openapi "$WORK/check.out"
expect_eq "the checker exits 0" 0 "$rc"
stop_server
finish
