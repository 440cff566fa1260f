#!/usr/bin/env bash
# `symbi-sandbox mcp` driven by the official MCP TypeScript SDK client
# (@modelcontextprotocol/sdk, installed in tests/mcp by scripts/setup) through
# a real stdio transport, against the real engine; plus raw JSON-RPC checks
# (version negotiation, errors) and nothing left behind.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/http/common.sh"
http_prereqs
require "node" "apt-get install nodejs (scripts/setup installs it)" command -v node
require "the MCP SDK in tests/mcp" "run scripts/setup (it runs: npm ci --prefix tests/mcp)" \
	test -f "$ROOT/tests/mcp/node_modules/@modelcontextprotocol/sdk/package.json"

write_policy "$WORK/policy.json"
mkdir -p "$WORK/state"
MARK=$MARK node "$ROOT/tests/mcp/client.mjs" "$SB" --policy "$WORK/policy.json" --state-dir "$WORK/state" \
	--audit-log "$WORK/audit.log" >"$WORK/client.out" 2>"$WORK/client.err"
rc=$?
relay_verdicts mcp "$WORK/client.out"
expect_eq "the SDK client exits 0" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/# /' "$WORK/client.err" | tail -20
check "the session workspaces are gone after the server exits" \
	test "$(cd "$WORK/state" && find . | sort | tr '\n' ' ')" = ". ./symbi-sandbox ./symbi-sandbox/.symbi-sandbox-state "
"$SB" audit verify "$WORK/audit.log" >/dev/null
expect_eq "the MCP audit log verifies" 0 "$?"
check "tool calls are audited" grep -q '"tool":"session_execute"' "$WORK/audit.log"
check "the cancelled call was stopped (audit: client_cancelled)" grep -q '"cancelled_by":"client_cancelled"' "$WORK/audit.log"
ms=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("cancelled_by") == "client_cancelled": print(e.get("execution_time_ms", -1))' "$WORK/audit.log")
check "it stopped well before its 20 s sleep ended (${ms:-?} ms)" test "${ms:-99999}" -ge 0 -a "${ms:-99999}" -lt 15000
no_more_containers

# Raw JSON-RPC: an older protocol version is answered in kind, a newer one
# with ours; errors have the right codes.
rpc() { printf '%s\n' "$@" | "$SB" mcp --policy "$WORK/policy.json" 2>>"$WORK/raw.err"; }
out=$(rpc '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}')
expect_eq "a 2024-11-05 client gets 2024-11-05" 2024-11-05 "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["result"]["protocolVersion"])' "$out")"
out=$(rpc '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2099-01-01","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}')
expect_eq "an unknown version gets 2025-06-18" 2025-06-18 "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["result"]["protocolVersion"])' "$out")"
out=$(rpc 'not json' '{"jsonrpc":"2.0","id":7,"method":"no/such"}' '{"jsonrpc":"2.0","method":"notifications/initialized"}' '{"jsonrpc":"2.0","id":8,"method":"ping"}')
codes=$(python3 -c 'import json,sys; print(" ".join(str(json.loads(l).get("error",{}).get("code","ok")) for l in sys.argv[1].splitlines()))' "$out")
expect_eq "parse error, unknown method, no answer to a notification, ping" "-32700 -32601 ok" "$codes"
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"ping"}' | "$SB" mcp --policy "$WORK/policy.json" >/dev/null 2>"$WORK/exit.err"
expect_eq "the server exits 0 at the end of its input" 0 "$?"
check "and says nothing on stderr" test ! -s "$WORK/exit.err"
finish
