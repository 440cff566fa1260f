#!/usr/bin/env bash
# Sessions are live sandboxes, through HTTP and MCP: /tmp and background
# processes persist between executions, contexts keep python and sh state,
# report values and exceptions, and everything in a session dies with it
# (nothing is left on the host). On the native backend here;
# live_sessions_docker.sh runs it again on docker (LIVE_BACKEND=docker, with
# the python image: the contexts need python3 in it).
source "$(dirname "$0")/../lib.sh"
BACKEND=${LIVE_BACKEND:-native}
source "$ROOT/tests/http/common.sh"
[ "$BACKEND" = native ] || IMAGE=symbi-test/python:latest
http_prereqs

policy_and_state
start_server --policy "$WORK/policy.json" --state-dir "$WORK/state"

jbody() { python3 -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' "$@"; }

http POST /v1/sessions -d '{"timeout":20}'
expect_status "POST /v1/sessions ($BACKEND)" 201
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

# ---- streamed output: lines as they come, then the result
cat >"$WORK/stream.py" <<'PY'
import http.client, json, sys, time
from ndjson import stream_lines
port, sid = int(sys.argv[1]), sys.argv[2]
def post(path, body, headers={"Content-Type": "application/json"}):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST" if body is not None else "GET", path, body, headers)
    return c, c.getresponse()
# The program waits for a file that is written only once its first line
# has arrived here: arrival before the end, by construction.
code = "echo first; while [ ! -e go ]; do sleep 0.05; done; echo second >&2; printf '\\303'; printf '\\251'; exit 3"
c, r = post(f"/v1/sessions/{sid}/execute", json.dumps({"code": code, "stream": True}))
print("status", r.status, r.getheader("Content-Type"))
def release_on_first(d):
    if d.get("data") == "first\n":
        w = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        w.request("PUT", f"/v1/sessions/{sid}/files/go", b"x")
        w.getresponse().read()
lines = stream_lines(r, release_on_first)
print("types", " ".join(d["type"] for d in lines[:2]), lines[-1]["type"])
print("first-before-go", lines[1] == {"type": "stdout", "data": "first\n"})
out = "".join(d["data"] for d in lines if d["type"] == "stdout")
print("stdout", repr(out))
print("stderr", repr("".join(d["data"] for d in lines if d["type"] == "stderr")))
res = lines[-1]
print("result", res["status"], res["exit_code"], repr(res["stdout"]))
print("pid", isinstance(lines[0].get("pid"), int))
# A client that goes away: its process is killed.
c, r = post(f"/v1/sessions/{sid}/execute", json.dumps({"code": "exec sleep 31340", "stream": True}))
print("start", json.loads(r.readline())["type"])
c.sock.shutdown(2)
c.close()
PY
PYTHONPATH="$ROOT/tests/http" python3 "$WORK/stream.py" "$PORT" "$SID" >"$WORK/stream.out" 2>&1
expect_printed "stream: 200, NDJSON" "status 200 application/x-ndjson" "$WORK/stream.out"
expect_printed "stream: start, then output, result last" "types start stdout result" "$WORK/stream.out"
expect_printed "stream: the first line arrived while the program ran" "first-before-go True" "$WORK/stream.out"
expect_printed "stream: stdout whole, a character split across writes kept whole" "stdout 'first\\né'" "$WORK/stream.out"
expect_printed "stream: stderr" "stderr 'second\\n'" "$WORK/stream.out"
expect_printed "stream: the result object" "result exited 3 'first\\né'" "$WORK/stream.out"
expect_printed "stream: the start line gives the pid" "pid True" "$WORK/stream.out"
gone=no
for _ in $(seq 100); do pgrep -f '^sleep 31340$' >/dev/null || { gone=yes; break; }; sleep 0.1; done
expect_eq "stream: a client that goes away has its process killed" yes "$gone"
[ "$(grep -c . "$WORK/stream.out")" -ge 8 ] || sed 's/^/# /' "$WORK/stream.out"
http POST "/v1/sessions/$SID/execute" -d '{"code":"true","stream":true,"context":"python"}'
expect_status "stream: no context" 400 invalid_request

# ---- a session's end ends everything in it
http DELETE "/v1/sessions/$SID"
expect_status "DELETE the session" 200
check "its background process is gone" bash -c '! pgrep -f "^sleep 31339$"'
check "its interpreters are gone" bash -c '! pgrep -f "^[p]ython3 -c import ast, json"'

# ---- the same through MCP
cat >"$WORK/mcp.py" <<'PY'
import sys
from stdio_client import McpClient
client = McpClient(sys.argv[1:])
call, tool = client.call, client.tool
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
r = call("tools/call", {"name": "session_execute", "arguments": {"session_id": sid, "code": "true", "stream": True}})
print("stream", r["result"].get("isError"))
tool("session_close", session_id=sid)
client.close()
PY
PYTHONPATH="$ROOT/tests/mcp" python3 "$WORK/mcp.py" "$SB" mcp --policy "$WORK/policy.json" --state-dir "$WORK/state" \
	>"$WORK/mcp.out" 2>"$WORK/mcp.err"
expect_printed "MCP: session_execute's schema offers the contexts" "schema ['python', 'sh']" "$WORK/mcp.out"
expect_printed "MCP: a context keeps imports and variables" "value 12.566" "$WORK/mcp.out"
expect_printed "MCP: an exception" "exception ZeroDivisionError" "$WORK/mcp.out"
expect_printed "MCP: /tmp persists in a session" "tmp x" "$WORK/mcp.out"
expect_printed "MCP: stream is refused (an HTTP feature)" "stream True" "$WORK/mcp.out"
[ -s "$WORK/mcp.err" ] && sed 's/^/# mcp: /' "$WORK/mcp.err" | head -5

stop_server
expect_eq "the server exits 0" 0 "$SERVER_RC"
finish
