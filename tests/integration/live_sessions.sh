#!/usr/bin/env bash
# Sessions on the native backend are live sandboxes, through HTTP and MCP:
# /tmp and background processes persist between executions, contexts keep
# python and sh state, report values and exceptions, and everything in a
# session dies with it (nothing is left on the host).
source "$(dirname "$0")/../lib.sh"
BACKEND=native
source "$ROOT/tests/http/common.sh"
http_prereqs

write_policy "$WORK/policy.json"
mkdir -p "$WORK/state"
start_server --policy "$WORK/policy.json" --state-dir "$WORK/state"

jbody() { python3 -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' "$@"; }

http POST /v1/sessions -d '{"timeout":20}'
expect_status "POST /v1/sessions (native)" 201
SID=$(jfield 'd["id"]')

# ---- the sandbox itself persists
http POST "/v1/sessions/$SID/execute" -d "$(jbody code 'echo kept > /tmp/t; sleep 31339 >/dev/null 2>&1 & echo $! > /tmp/bg')"
expect_status "a first execution" 200
http POST "/v1/sessions/$SID/execute" -d "$(jbody code 'cat /tmp/t; kill -0 $(cat /tmp/bg) && echo alive')"
expect_eq "/tmp and a background process persist between executions" "'kept\\nalive\\n'" "$(jfield 'repr(d["stdout"])')"
check "the background process runs on the host meanwhile" bash -c 'pgrep -f "^sleep 31339$" >/dev/null'

# ---- contexts
http POST "/v1/sessions/$SID/execute" -d "$(jbody code 'x = 41' context python)"
expect_status "a python cell" 200
expect_eq "a cell without a value: value null" null "$(jfield 'd["value"]')"
http POST "/v1/sessions/$SID/execute" -d "$(jbody code 'print("hi")
x + 1' context python)"
expect_eq "the next cell sees the variable and returns its last expression" '42' "$(jfield 'd["value"]')"
expect_eq "and its output" "'hi\\n'" "$(jfield 'repr(d["stdout"])')"
expect_eq "status exited, success" 'exited True' "$(jfield 'd["status"] + " " + str(d["success"])')"
http POST "/v1/sessions/$SID/execute" -d "$(jbody code 'undefined_name' context python)"
expect_eq "an exception: its name" NameError "$(jfield 'd["exception"]["name"]')"
check "and its traceback" grep -q 'undefined_name' <(jfield 'd["exception"]["traceback"]')
expect_eq "a cell that raised is no success" False "$(jfield 'str(d["success"])')"
http POST "/v1/sessions/$SID/execute" -d "$(jbody code 'cd /tmp; v=7' context sh)"
http POST "/v1/sessions/$SID/execute" -d "$(jbody code 'echo $v $(pwd)' context sh)"
expect_eq "an sh context keeps variables and the directory" "'7 /tmp\\n'" "$(jfield 'repr(d["stdout"])')"
http POST "/v1/sessions/$SID/execute" -d "$(jbody code 'echo $v' context sh)"
http POST "/v1/sessions/$SID/execute" -d "$(jbody code 'echo ${v:-unset}')"
expect_eq "a plain execution is not the context's shell" "'unset\\n'" "$(jfield 'repr(d["stdout"])')"
http POST "/v1/sessions/$SID/execute" -d "$(jbody code 1 context ruby)"
expect_status "an unknown context" 400 invalid_request
http POST "/v1/sessions/$SID/execute" -d '{"code":"1","context":"python","stdin":"x"}'
expect_status "a cell takes no stdin" 400 invalid_request
http POST "/v1/sessions/$SID/execute" -d '{"code":"1","context":7}'
expect_status "context must be a string" 400 invalid_request

# ---- a session's end ends everything in it
http DELETE "/v1/sessions/$SID"
expect_status "DELETE the session" 200
check "its background process is gone" bash -c '! pgrep -f "^sleep 31339$"'
check "its interpreters are gone" bash -c '! pgrep -f "^[p]ython3 -c import ast, json"'

# ---- the same through MCP
cat >"$WORK/mcp.py" <<'PY'
import json, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
n = 0
def call(method, params=None):
    global n
    n += 1
    p.stdin.write((json.dumps({"jsonrpc": "2.0", "id": n, "method": method, "params": params or {}}) + "\n").encode())
    return json.loads(p.stdout.readline())
def tool(name, **a):
    return call("tools/call", {"name": name, "arguments": a})["result"]
call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}})
p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
tools = {t["name"]: t for t in call("tools/list")["result"]["tools"]}
print("schema", tools["session_execute"]["inputSchema"]["properties"]["context"]["enum"])
sid = tool("session_create")["structuredContent"]["id"]
tool("session_execute", session_id=sid, code="import math\nr = 2", context="python")
r = tool("session_execute", session_id=sid, code="math.pi * r * r", context="python")["structuredContent"]
print("value", r["value"][:6])
r = tool("session_execute", session_id=sid, code="1/0", context="python")["structuredContent"]
print("exception", r["exception"]["name"])
r = tool("session_execute", session_id=sid, code="echo x > /tmp/m")
r = tool("session_execute", session_id=sid, code="cat /tmp/m")["structuredContent"]
print("tmp", r["stdout"].strip())
tool("session_close", session_id=sid)
p.stdin.close()
p.wait(timeout=30)
PY
python3 "$WORK/mcp.py" "$SB" mcp --policy "$WORK/policy.json" --state-dir "$WORK/state" \
	>"$WORK/mcp.out" 2>"$WORK/mcp.err"
expect_eq "MCP: session_execute's schema offers the contexts" "schema ['python', 'sh']" "$(grep '^schema' "$WORK/mcp.out")"
expect_eq "MCP: a context keeps imports and variables" "value 12.566" "$(grep '^value' "$WORK/mcp.out")"
expect_eq "MCP: an exception" "exception ZeroDivisionError" "$(grep '^exception' "$WORK/mcp.out")"
expect_eq "MCP: /tmp persists in a session" "tmp x" "$(grep '^tmp' "$WORK/mcp.out")"
[ -s "$WORK/mcp.err" ] && sed 's/^/# mcp: /' "$WORK/mcp.err" | head -5

stop_server
expect_eq "the server exits 0" 0 "$SERVER_RC"
finish
