#!/usr/bin/env bash
# `symbi-sandbox mcp` against careless and hostile clients (issue 8), on the
# native backend, driven by raw JSON-RPC (tests/mcp/raw_checks.py): {} and []
# and bad ids get -32600, binary files travel as base64, every accepted limit
# is in the tool schemas, an oversized message is refused and skipped.
source "$(dirname "$0")/../lib.sh"
BACKEND=native
source "$ROOT/tests/http/common.sh"
http_prereqs

policy_and_state
python3 "$ROOT/tests/mcp/raw_checks.py" "$SB" --policy "$WORK/policy.json" --state-dir "$WORK/state" \
	--audit-log "$WORK/audit.log" >"$WORK/raw.out" 2>"$WORK/raw.err"
rc=$?
relay_verdicts mcp "$WORK/raw.out"
expect_eq "the checker exits 0" 0 "$rc"
[ "$rc" = 0 ] && [ ! -s "$WORK/raw.err" ] || sed 's/^/# /' "$WORK/raw.err" | tail -20
check "only the marked, empty DIR/symbi-sandbox is left in the state dir" \
	test "$(cd "$WORK/state" && find . | sort | tr '\n' ' ')" = ". ./symbi-sandbox ./symbi-sandbox/.symbi-sandbox-state "
"$SB" audit verify "$WORK/audit.log" >/dev/null
expect_eq "the audit log verifies" 0 "$?"
no_more_containers
finish
