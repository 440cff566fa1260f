#!/usr/bin/env bash
# `symbi-sandbox mcp` driven by a second, independent client: the MCP
# Inspector CLI (@modelcontextprotocol/inspector --cli, pinned in tests/mcp and
# installed by scripts/setup), which starts the server over stdio for each
# call: tools/list, tools/call, a refused limit, an unknown session.
source "$(dirname "$0")/../lib.sh"
BACKEND=native
source "$ROOT/tests/http/common.sh"
http_prereqs
require "node" "apt-get install nodejs (scripts/setup installs it)" command -v node
require "the MCP Inspector in tests/mcp" "run scripts/setup (it runs: npm ci --prefix tests/mcp)" \
	test -x "$ROOT/tests/mcp/node_modules/.bin/mcp-inspector"

write_policy "$WORK/policy.json"
mkdir -p "$WORK/home" "$WORK/state"
# The Inspector keeps a catalog under HOME: give it one of ours.
inspect() {
	(cd "$ROOT/tests/mcp" && HOME="$WORK/home" MCP_CATALOG_PATH="$WORK/home/catalog.json" \
		timeout 120 node_modules/.bin/mcp-inspector --cli "$SB" mcp --policy "$WORK/policy.json" \
		--state-dir "$WORK/state" --audit-log "$WORK/audit.log" "$@") >"$WORK/out" 2>"$WORK/err"
}
j() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$WORK/out" "$1" 2>&1; }

inspect --method tools/list
expect_eq "tools/list answers" 0 "$?"
expect_eq "with the twelve tools" \
	"execute_code process_list process_output process_signal process_start process_write_stdin session_close session_create session_execute session_list_files session_read_file session_write_file" \
	"$(j '" ".join(sorted(t["name"] for t in d["tools"]))')"
expect_eq "execute_code's schema carries the limits and the policy's maximums" "30 128 ['none']" \
	"$(j '[p["timeout"]["maximum"], p["pids"]["maximum"], p["network"]["enum"]] if (p := d["tools"][0]["inputSchema"]["properties"]) else 0' | tr -d ',' | sed 's/\[\(.*\)\]$/\1/')"

inspect --method tools/call --tool-name execute_code --tool-arg "code=echo from-inspector-$MARK"
expect_eq "tools/call execute_code answers" 0 "$?"
expect_eq "with the program's output in structuredContent" "from-inspector-$MARK" "$(j 'd["structuredContent"]["stdout"].strip()')"
expect_eq "and status exited" "exited True" "$(j 'd["structuredContent"]["status"], d["isError"] is False' | tr -d "(),'")"

inspect --method tools/call --tool-name execute_code --tool-arg 'code=echo x' timeout=999
check "a timeout over the maximum is a tool error naming timeout" \
	grep -q 'limit_exceeded: timeout 999s is above' "$WORK/out"

inspect --method tools/call --tool-name session_read_file --tool-arg session_id=nope path=x
check "an unknown session is a tool error" grep -q 'not_found' "$WORK/out"

"$SB" audit verify "$WORK/audit.log" >/dev/null
expect_eq "the audit log of those servers verifies" 0 "$?"
check "only the marked, empty DIR/symbi-sandbox is left in the state dir" \
	test "$(cd "$WORK/state" && find . | sort | tr '\n' ' ')" = ". ./symbi-sandbox ./symbi-sandbox/.symbi-sandbox-state "
no_more_containers
finish
