#!/usr/bin/env bash
# Background processes of live (native) sessions, through HTTP and MCP: a
# process started in the background answers at once and keeps running
# between requests; its stdin is fed and its output comes back byte for
# byte, followed as it comes; signals from an allowlist; a cap per session;
# ids of another session are unknown; everything dies with the session
# (checked from the host).
source "$(dirname "$0")/../lib.sh"
BACKEND=native
source "$ROOT/tests/http/common.sh"
http_prereqs

policy_and_state
start_server --policy "$WORK/policy.json" --state-dir "$WORK/state" --audit-log "$WORK/audit.log"

# Host-side: our processes carry MARK in their command lines.
ours() { ps -eo args= | grep -c -- "[${MARK:0:1}]${MARK:1}"; }
threads() { ls "/proc/$SERVER_PID/task" | wc -l; }
fds() { ls "/proc/$SERVER_PID/fd" | wc -l; }

http POST /v1/sessions -d '{"timeout":20}'
expect_status "a native session" 201
SID=$(jfield 'd["id"]')
http POST /v1/sessions -d '{"timeout":20}'
OTHER=$(jfield 'd["id"]')
# A session that expires (idle 3 s) with a process running: checked at the end.
http POST /v1/sessions -d '{"timeout":20,"idle_ttl":3}'
EXP=$(jfield 'd["id"]')
http POST "/v1/sessions/$EXP/processes" -d '{"code":"exec sleep 31350"}'
expect_status "a process in a session that will expire" 201
# One execution first: the live sandbox's own threads and descriptors are
# then in the baseline.
http POST "/v1/sessions/$SID/execute" -d '{"code":"true"}'
http POST "/v1/sessions/$OTHER/execute" -d '{"code":"true"}'
T0=$(threads); F0=$(fds)

# ---- a background server fed through stdin, its output byte for byte
http POST "/v1/sessions/$SID/processes" \
	-d "{\"code\":\"while read l; do echo got:\$l; done; echo bye-$MARK >&2\",\"stdin_open\":true}"
expect_status "POST processes answers at once" 201
P1=$(jfield 'd["id"]')
expect_eq "it runs, its stdin is open" "running open" "$(jfield 'd["state"] + " " + d["stdin"]')"
http POST "/v1/sessions/$SID/processes/$P1/stdin" -d '{"data":"one\ntwo "}'
expect_status "stdin is accepted" 200
http POST "/v1/sessions/$SID/processes/$P1/stdin" -d '{"data":"three\n","eof":true}'
expect_eq "the second write with eof" "true" "$(jfield 'd["eof"]')"
http GET "/v1/sessions/$SID/processes/$P1?wait=20"
expect_eq "it ends at stdin's end" "exited exited 0" "$(jfield 'd["state"] + " " + d["result"]["status"] + " " + str(d["result"]["exit_code"])')"
expect_eq "its output, byte for byte" "'got:one\\ngot:two three\\n'" "$(jfield 'repr(d["result"]["stdout"])')"
expect_eq "and its stderr" "'bye-$MARK\\n'" "$(jfield 'repr(d["result"]["stderr"])')"
http POST "/v1/sessions/$SID/processes/$P1/stdin" -d '{"data":"late"}'
expect_status "stdin to an ended process" 409 process_ended

# ---- a process keeps running between calls, and binary stdin round-trips
http POST "/v1/sessions/$SID/processes" -d "{\"argv\":[\"sh\",\"-c\",\"exec sleep 31341 # $MARK\"]}"
P2=$(jfield 'd["id"]')
expect_status "argv" 201
http POST "/v1/sessions/$SID/execute" -d '{"code":"echo between"}'
expect_eq "an execution meanwhile" "'between\\n'" "$(jfield 'repr(d["stdout"])')"
http GET "/v1/sessions/$SID/processes/$P2"
expect_eq "the process still runs" running "$(jfield 'd["state"]')"
check "and runs on the host" bash -c 'pgrep -f "^sleep 31341" >/dev/null'
http POST "/v1/sessions/$SID/processes/$P2/stdin" -d '{"data":"x"}'
expect_status "stdin to a process started without stdin_open" 409 stdin_not_open

http POST "/v1/sessions/$SID/processes" -d '{"code":"od -An -tx1 | tr -d \" \\n\"","stdin_open":true}'
P3=$(jfield 'd["id"]')
http POST "/v1/sessions/$SID/processes/$P3/stdin" -d '{"data":"AP8KgA==","encoding":"base64","eof":true}'
http GET "/v1/sessions/$SID/processes/$P3?wait=20"
expect_eq "base64 stdin arrives as those bytes" "00ff0a80" "$(jfield 'd["result"]["stdout"]')"

# ---- stdin is bounded: a process that does not read costs at most 1 MiB
http POST "/v1/sessions/$SID/processes" -d "{\"code\":\"exec sleep 31347 # $MARK\",\"stdin_open\":true}"
PS=$(jfield 'd["id"]')
python3 -c 'import json; print(json.dumps({"data": "x" * (512 << 10)}))' >"$WORK/half.json"
for i in $(seq 12); do
	http POST "/v1/sessions/$SID/processes/$PS/stdin" --data-binary @"$WORK/half.json"
	[ "$STATUS" = 200 ] || break
done
expect_status "stdin that waits is capped (the process does not read)" 429 stdin_full
check "after a few MiB at most" test "$i" -le 6
head -c $((2 << 20)) /dev/zero | tr '\0' x | sed 's/^/{"data":"/; s/$/"}/' >"$WORK/big.json"
http POST "/v1/sessions/$SID/processes/$PS/stdin" --data-binary @"$WORK/big.json"
expect_status "a body over the server's limit" 413 payload_too_large
http POST "/v1/sessions/$SID/processes/$PS/signal" -d '{"signal":"KILL"}'
http GET "/v1/sessions/$SID/processes/$PS?wait=20"
expect_eq "a process blocked on full stdin is killed all the same" "signaled 9" \
	"$(jfield 'd["result"]["status"] + " " + str(d["result"]["signal"])')"

# ---- signals
http POST "/v1/sessions/$SID/processes/$P2/signal" -d '{"signal":"SEGV"}'
expect_status "a signal off the allowlist" 400 invalid_signal
http POST "/v1/sessions/$SID/processes/$P2/signal" -d '{"signal":9}'
expect_status "a signal number" 400 invalid_request
http POST "/v1/sessions/$SID/processes/$P2/signal" -d '{"signal":"TERM"}'
expect_status "TERM" 200
http GET "/v1/sessions/$SID/processes/$P2?wait=20"
expect_eq "TERM ends sleep: signaled 15" "signaled 15" "$(jfield 'd["result"]["status"] + " " + str(d["result"]["signal"])')"
http POST "/v1/sessions/$SID/processes/$P2/signal" -d '{"signal":"KILL"}'
expect_status "a signal to an ended process" 409 process_ended

# ---- listing, errors, foreign ids
http POST "/v1/sessions/$SID/processes" -d "{\"code\":\"exec sleep 31342 # $MARK\",\"language\":\"sh\"}"
P4=$(jfield 'd["id"]')
http GET "/v1/sessions/$SID/processes"
expect_eq "the listing shows every process and its state" \
	"$P1:exited:0 $P2:exited:-1 $P3:exited:0 $PS:exited:-1 $P4:running:-" \
	"$(jfield '" ".join(p["id"] + ":" + p["state"] + ":" + (str(p["exit_code"]) if p["state"] == "exited" else "-") for p in d["processes"])')"
http GET "/v1/sessions/$OTHER/processes/$P4"
expect_status "a process id of another session is unknown there" 404 not_found
http POST "/v1/sessions/$OTHER/processes/$P4/signal" -d '{"signal":"KILL"}'
expect_status "and cannot be signaled from there" 404 not_found
http GET "/v1/sessions/$OTHER/processes/$P4/output"
expect_status "nor its output read" 404 not_found
http GET "/v1/sessions/nope/processes"
expect_status "an unknown session" 404 not_found
http POST "/v1/sessions/$SID/processes" -d '{"code":"true","argv":["true"]}'
expect_status "code and argv" 400 invalid_request
http POST "/v1/sessions/$SID/processes" -d '{"code":"true","bogus":1}'
expect_status "an unknown field" 400 invalid_request
http POST "/v1/sessions/$SID/processes" -d '{"code":"true","timeout":100000}'
expect_status "a timeout over the maximum" 400 invalid_request
http POST "/v1/sessions/$SID/processes" -d '{"argv":["/nonexistent-program"]}'
http GET "/v1/sessions/$SID/processes/$(jfield 'd["id"]')?wait=20"
expect_eq "a program that is not there ends with status error" error "$(jfield 'd["result"]["status"]')"
check "which names it" grep -q 'nonexistent-program' <(jfield 'd["result"]["error"]')
# Output over max_output_bytes (64k here): kept up to it, and said so.
http POST "/v1/sessions/$SID/processes" -d '{"code":"head -c 100000 /dev/zero; echo done >&2"}'
http GET "/v1/sessions/$SID/processes/$(jfield 'd["id"]')?wait=20"
expect_eq "output over the cap: kept up to it, truncated said" "65536 True True exited" \
	"$(jfield 'str(d["output_bytes"]["stdout"]) + " " + str(d["output_truncated"]) + " " + str(d["result"]["stdout_truncated"]) + " " + d["result"]["status"]')"
http POST "/v1/sessions/$SID/processes" -d "{\"code\":\"exec sleep 31348 # $MARK\",\"timeout\":1}"
http GET "/v1/sessions/$SID/processes/$(jfield 'd["id"]')?wait=20"
expect_eq "a process's own timeout ends it" timeout "$(jfield 'd["result"]["status"]')"
http POST "/v1/sessions/$SID/processes" -d '{"code":"pwd","cwd":"/nonexistent"}'
http GET "/v1/sessions/$SID/processes/$(jfield 'd["id"]')?wait=20"
check "a cwd that is not there: the process ends in error, saying why" grep -q 'cannot chdir to /nonexistent' <(jfield 'd["result"]["error"]')
http POST "/v1/sessions/$SID/processes" -d '{"code":"pwd","env":{"1A":"x"}}'
expect_status "a bad env name" 400 invalid_request
http GET "/v1/sessions/$SID/processes/$P4?wait=abc"
expect_status "a bad wait" 400 invalid_request
http DELETE "/v1/sessions/$SID/processes/$P4"
expect_status "DELETE of a process is not a method here" 405 method_not_allowed

# ---- output as it comes: a marker before the end (order, not timing)
cat >"$WORK/follow.py" <<'PY'
import http.client, json, sys
from ndjson import stream_lines
port, sid, mark = int(sys.argv[1]), sys.argv[2], sys.argv[3]
conns = []
def req(method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conns.append(c)
    c.request(method, path, json.dumps(body) if body is not None else None,
              {"Content-Type": "application/json"})
    return c, c.getresponse()
# It prints a marker, then waits for a line on stdin that is sent only once
# the marker has come back here.
c, r = req("POST", f"/v1/sessions/{sid}/processes",
           {"code": f"echo marker-{mark}; read x; echo after:$x; exit 4", "stdin_open": True})
pid = json.loads(r.read())["id"]
c, r = req("GET", f"/v1/sessions/{sid}/processes/{pid}/output")
print("status", r.status, r.getheader("Content-Type"))
def answer_marker(d):
    if d.get("data", "").startswith("marker-"):
        w, wr = req("POST", f"/v1/sessions/{sid}/processes/{pid}/stdin", {"data": "go\n"})
        wr.read()
lines = stream_lines(r, answer_marker)
print("types", " ".join(d["type"] for d in lines))
print("stdout", repr("".join(d.get("data", "") for d in lines if d["type"] == "stdout")))
print("result", lines[-1]["status"], lines[-1]["exit_code"])
# A second reader, after the end, gets everything from the start.
c, r = req("GET", f"/v1/sessions/{sid}/processes/{pid}/output")
again = [json.loads(x) for x in r.read().splitlines()]
print("replay", repr("".join(d.get("data", "") for d in again if d["type"] == "stdout")), again[-1]["type"])
# A reader that goes away while the process runs: the process runs on.
import os, time
tasks = lambda: len(os.listdir(f"/proc/{sys.argv[4]}/task"))
c, r = req("POST", f"/v1/sessions/{sid}/processes", {"code": f"echo x; exec sleep 31343 # {mark}"})
pid = json.loads(r.read())["id"]
for k in conns:
    k.close()
def settle():
    # The threads of the connections just closed are gone once the count
    # holds still for a second.
    last, same = tasks(), 0
    for _ in range(200):
        time.sleep(0.1)
        now = tasks()
        same = same + 1 if now == last else 0
        last = now
        if same >= 10:
            break
    return last
before = settle()
c, r = req("GET", f"/v1/sessions/{sid}/processes/{pid}/output")
print("first", json.loads(r.readline())["type"])
c.sock.shutdown(2)
c.close()
# Its connection's thread ends although the process runs on (it does not
# wait for output that may never come).
for _ in range(100):
    if tasks() <= before:
        break
    time.sleep(0.1)
print("reader-thread-gone", tasks() <= before)
w, wr = req("GET", f"/v1/sessions/{sid}/processes/{pid}")
print("after-reader", json.loads(wr.read())["state"])
PY
PYTHONPATH="$ROOT/tests/http" python3 "$WORK/follow.py" "$PORT" "$SID" "$MARK" "$SERVER_PID" >"$WORK/follow.out" 2>&1
expect_printed "output: 200, NDJSON" "status 200 application/x-ndjson" "$WORK/follow.out"
expect_eq "output: the marker came while the process ran, then the rest, the result last" \
	"types stdout stdout result" "$(grep '^types' "$WORK/follow.out")"
expect_printed "output: byte for byte" "stdout 'marker-$MARK\\nafter:go\\n'" "$WORK/follow.out"
expect_printed "output: the result line" "result exited 4" "$WORK/follow.out"
expect_printed "output: a later reader gets it all from the start" "replay 'marker-$MARK\\nafter:go\\n' result" "$WORK/follow.out"
expect_printed "output: a reader that leaves does not end the process" "after-reader running" "$WORK/follow.out"
expect_printed "output: but its thread ends (the server does not wait for output that may never come)" "reader-thread-gone True" "$WORK/follow.out"
[ "$(grep -c . "$WORK/follow.out")" -ge 8 ] || sed 's/^/# /' "$WORK/follow.out"

# ---- the cap per session
http POST /v1/sessions -d '{"timeout":20}'
CAP=$(jfield 'd["id"]')
for i in $(seq 16); do
	http POST "/v1/sessions/$CAP/processes" -d "{\"code\":\"exec sleep 31344 # $MARK\"}"
	[ "$STATUS" = 201 ] || break
done
expect_eq "16 processes start in one session" 201 "$STATUS"
http POST "/v1/sessions/$CAP/processes" -d '{"code":"true"}'
expect_status "the 17th is refused" 429 too_many_processes
expect_eq "with a Retry-After" 1 "$(header Retry-After)"
expect_eq "the host sees them all" 16 "$(pgrep -cf '^sleep 31344')"
http POST "/v1/sessions/$CAP/processes/p1/signal" -d '{"signal":"KILL"}'
http GET "/v1/sessions/$CAP/processes/p1?wait=20"
http POST "/v1/sessions/$CAP/processes" -d '{"code":"true"}'
expect_status "once one ended, another starts" 201
http DELETE "/v1/sessions/$CAP"
gone=no
for _ in $(seq 100); do pgrep -f '^sleep 31344' >/dev/null || { gone=yes; break; }; sleep 0.1; done
expect_eq "deleting the session kills all its processes (host check)" yes "$gone"

# ---- ended processes are kept up to a bound, the oldest dropped first
http POST /v1/sessions -d '{"timeout":20}'
KEEP=$(jfield 'd["id"]')
for i in $(seq 40); do
	http POST "/v1/sessions/$KEEP/processes" -d "{\"code\":\"echo $i\"}"
	http GET "/v1/sessions/$KEEP/processes/$(jfield 'd["id"]')?wait=20"
done
http GET "/v1/sessions/$KEEP/processes"
expect_eq "40 processes that ended: the last 32 are listed" "32 p9 p40" \
	"$(jfield 'str(len(d["processes"])) + " " + d["processes"][0]["id"] + " " + d["processes"][-1]["id"]')"
http GET "/v1/sessions/$KEEP/processes/p8"
expect_status "a dropped one is gone" 404 not_found
http GET "/v1/sessions/$KEEP/processes/p9"
expect_eq "a kept one keeps its result" "'9\n'" "$(jfield 'repr(d["result"]["stdout"])')"
http DELETE "/v1/sessions/$KEEP"

# ---- a session's end ends its processes
http DELETE "/v1/sessions/$SID"
expect_status "DELETE the session" 200
check "no background process of it is left on the host" bash -c '! pgrep -f "^sleep 3134[123]"'
http DELETE "/v1/sessions/$OTHER"
gone=no
for _ in $(seq 100); do [ "$(threads)" -le "$T0" ] && { gone=yes; break; }; sleep 0.1; done
expect_eq "the server's threads are back to what they were" yes "$gone"
check "and its descriptors too" test "$(fds)" -le "$F0"
expect_eq "nothing of ours runs" 0 "$(ours)"

# ---- named contexts
http POST /v1/sessions -d '{"timeout":20}'
CS=$(jfield 'd["id"]')
http POST "/v1/sessions/$CS/contexts" -d '{"language":"python"}'
expect_status "POST contexts" 201
C1=$(jfield 'd["id"]')
http POST "/v1/sessions/$CS/contexts" -d '{"language":"python"}'
C2=$(jfield 'd["id"]')
http POST "/v1/sessions/$CS/contexts" -d '{"language":"sh"}'
C3=$(jfield 'd["id"]')
http POST "/v1/sessions/$CS/contexts/$C1/execute" -d '{"code":"x = 1"}'
http POST "/v1/sessions/$CS/contexts/$C2/execute" -d '{"code":"x = 2"}'
http POST "/v1/sessions/$CS/execute" -d '{"code":"x = 3","context":"python"}'
http POST "/v1/sessions/$CS/contexts/$C1/execute" -d '{"code":"x"}'
expect_eq "two python contexts and the implicit one keep their own state" "1" "$(jfield 'd["value"]')"
http POST "/v1/sessions/$CS/contexts/$C2/execute" -d '{"code":"x"}'
expect_eq "the second context" "2" "$(jfield 'd["value"]')"
http POST "/v1/sessions/$CS/execute" -d '{"code":"x","context":"python"}'
expect_eq "execute's \"context\" option still works" "3" "$(jfield 'd["value"]')"
http POST "/v1/sessions/$CS/contexts/$C3/execute" -d '{"code":"cd /tmp; v=9"}'
http POST "/v1/sessions/$CS/contexts/$C3/execute" -d '{"code":"echo $v $(pwd)"}'
expect_eq "an sh context keeps variables and directory" "'9 /tmp\n'" "$(jfield 'repr(d["stdout"])')"
http POST "/v1/sessions/$CS/contexts/$C1/execute" -d '{"code":"print(\"a\")\nx + 41","stream":true}'
expect_eq "a streamed cell: start, output, result with the value" \
	'start stdout:a result:42' \
	"$(python3 -c 'import json,sys; L=[json.loads(l) for l in open(sys.argv[1])]; print(" ".join(d["type"] + (":" + d["data"].strip() if d["type"] == "stdout" else ":" + str(d.get("value")) if d["type"] == "result" else "") for d in L))' "$WORK/body")"
# A client that goes away interrupts its cell (streamed or not), and the
# context keeps its state: the next cell runs at once, not after the sleep.
for stream in true false; do
	http POST "/v1/sessions/$CS/contexts/$C1/execute" -d '{"code":"x = 5"}'
	curl -s -o /dev/null --max-time 1 -H 'Content-Type: application/json' -X POST \
		-d "{\"code\":\"import time\\ntime.sleep(60)\\nx = 6\",\"stream\":$stream}" \
		"$BASE/v1/sessions/$CS/contexts/$C1/execute"
	STATUS=$(curl -sS -o "$WORK/body" -w '%{http_code}' --max-time 20 -H 'Content-Type: application/json' \
		-X POST -d '{"code":"x"}' "$BASE/v1/sessions/$CS/contexts/$C1/execute")
	expect_eq "a cell whose client went away (stream $stream) is interrupted; the state stays" \
		"200 5" "$STATUS $(jfield 'd["value"]')"
done
http GET "/v1/sessions/$CS/contexts"
expect_eq "the listing" "$C1:python:running $C2:python:running $C3:sh:running" \
	"$(jfield '" ".join(c["id"] + ":" + c["language"] + ":" + c["state"] for c in d["contexts"])')"
http POST "/v1/sessions/$CS/contexts" -d '{"language":"ruby"}'
expect_status "an unknown language" 400 invalid_request
http POST "/v1/sessions/$CS/contexts/$C1/execute" -d '{"code":"1","env":{}}'
expect_status "a cell takes no env" 400 invalid_request
http POST "/v1/sessions/nope/contexts/$C1/execute" -d '{"code":"1"}'
expect_status "an unknown session" 404 not_found
for i in $(seq 5); do http POST "/v1/sessions/$CS/contexts" -d '{"language":"sh"}'; done
expect_status "8 contexts in a session" 201
http POST "/v1/sessions/$CS/contexts" -d '{"language":"sh"}'
expect_status "the 9th is refused" 409 too_many_contexts
http DELETE "/v1/sessions/$CS/contexts/$C2"
expect_status "DELETE a context" 200
http POST "/v1/sessions/$CS/contexts/$C2/execute" -d '{"code":"x"}'
expect_status "a deleted context is gone" 404 not_found
http DELETE "/v1/sessions/$CS/contexts/$C2"
expect_status "and cannot be deleted twice" 404 not_found
http POST "/v1/sessions/$CS/contexts" -d '{"language":"python"}'
expect_status "its place is free again" 201
C9=$(jfield 'd["id"]')
http POST "/v1/sessions/$CS/contexts/$C9/execute" -d "{\"code\":\"import time; m = '$MARK'\"}"
http POST /v1/sessions -d '{"timeout":20}'
CS2=$(jfield 'd["id"]')
http POST "/v1/sessions/$CS2/contexts/$C1/execute" -d '{"code":"x"}'
expect_status "a context id of another session is unknown there" 404 not_found
http DELETE "/v1/sessions/$CS2/contexts/$C1"
expect_status "and cannot be deleted from there" 404 not_found
http GET "/v1/sessions/$CS/contexts"
expect_eq "so it is still there" 8 "$(jfield 'len(d["contexts"])')"
http DELETE "/v1/sessions/$CS2"
NPY=$(pgrep -cf '^python3 -c import ast, json')
http DELETE "/v1/sessions/$CS"
AFTER=$(pgrep -cf '^python3 -c import ast, json')
expect_eq "deleting the session ends its 3 python interpreters (2 named, the implicit one)" 3 "$((NPY - AFTER))"

# ---- audit: each state-changing call is there
python3 - "$WORK/audit.log" >"$WORK/audit.out" <<'PY'
import json, sys
seen = set()
for line in open(sys.argv[1]):
    e = json.loads(line)
    p = e.get("path", "")
    if "/processes" in p and e.get("method") == "POST":
        kind = p.rsplit("/", 1)[1] if p.count("/") > 5 else "start"
        if kind == "start" and e.get("status") == 201 and e.get("process") and e.get("command"):
            seen.add("start")
        if kind == "stdin" and "stdin_bytes" in e:
            seen.add("stdin")
        if kind == "signal" and e.get("signal") == "TERM":
            seen.add("signal")
    if p.endswith("/contexts") and e.get("method") == "POST" and e.get("status") == 201 \
            and e.get("context") and e.get("language"):
        seen.add("context")
    if p.endswith("/execute") and "/contexts/" in p and e.get("code_sha256") and e.get("result"):
        seen.add("cell")
print(" ".join(sorted(seen)))
PY
expect_eq "the audit log has starts, stdin writes, signals, contexts and their cells" "cell context signal start stdin" "$(cat "$WORK/audit.out")"

# ---- MCP
cat >"$WORK/mcp.py" <<'PY'
import sys, time
from stdio_client import McpClient
mark = sys.argv[1]
client = McpClient(sys.argv[2:])
call, tool = client.call, client.tool
tools = {t["name"]: t for t in call("tools/list")["result"]["tools"]}
names = ["process_start", "process_list", "process_output", "process_signal", "process_write_stdin"]
print("tools", all(x in tools for x in names))
print("strict", all(tools[x]["inputSchema"].get("additionalProperties") is False for x in names))
sid = tool("session_create")["structuredContent"]["id"]
r = tool("process_start", session_id=sid, code=f"while read l; do echo got:$l; done # {mark}", stdin_open=True)
pid = r["structuredContent"]["id"]
tool("process_write_stdin", session_id=sid, process_id=pid, data="hello\n", eof=True)
for _ in range(200):
    o = tool("process_output", session_id=sid, process_id=pid)["structuredContent"]
    if o["state"] == "exited":
        break
    time.sleep(0.1)
print("output", repr(o["stdout"]), o["result"]["exit_code"])
r = tool("process_start", session_id=sid, code=f"exec sleep 31345 # {mark}")
pid2 = r["structuredContent"]["id"]
print("bad-signal", tool("process_signal", session_id=sid, process_id=pid2, signal="SYS")["isError"])
tool("process_signal", session_id=sid, process_id=pid2, signal="TERM")
for _ in range(200):
    o = tool("process_output", session_id=sid, process_id=pid2)["structuredContent"]
    if o["state"] == "exited":
        break
    time.sleep(0.1)
print("term", o["result"]["status"], o["result"]["signal"])
l = tool("process_list", session_id=sid)["structuredContent"]["processes"]
print("list", " ".join(x["state"] for x in l))
print("extra", call("tools/call", {"name": "process_list", "arguments": {"session_id": sid, "x": 1}})["result"]["isError"])
print("foreign", tool("process_output", session_id="nope", process_id=pid)["isError"])
tool("process_start", session_id=sid, code=f"exec sleep 31346 # {mark}")
tool("session_close", session_id=sid)
# A session left open with a process running when the client goes.
sid = tool("session_create")["structuredContent"]["id"]
tool("process_start", session_id=sid, code="exec sleep 31352")
client.close()
PY
PYTHONPATH="$ROOT/tests/mcp" python3 "$WORK/mcp.py" "$MARK" "$SB" mcp --policy "$WORK/policy.json" --state-dir "$WORK/state" \
	>"$WORK/mcp.out" 2>"$WORK/mcp.err"
expect_printed "MCP: the process tools are listed" "tools True" "$WORK/mcp.out"
expect_printed "MCP: their input schemas are strict" "strict True" "$WORK/mcp.out"
expect_printed "MCP: stdin in, output back byte for byte" "output 'got:hello\\n' 0" "$WORK/mcp.out"
expect_printed "MCP: a signal off the allowlist is an error" "bad-signal True" "$WORK/mcp.out"
expect_printed "MCP: TERM ends sleep" "term signaled 15" "$WORK/mcp.out"
expect_printed "MCP: the listing" "list exited exited" "$WORK/mcp.out"
expect_printed "MCP: an unknown argument is refused" "extra True" "$WORK/mcp.out"
expect_printed "MCP: an unknown session" "foreign True" "$WORK/mcp.out"
check "MCP: session_close killed its process (host check)" bash -c '! pgrep -f "^sleep 31346"'
check "MCP: the end of input killed the process of a session left open" bash -c '! pgrep -f "^sleep 31352"'
[ -s "$WORK/mcp.err" ] && sed 's/^/# mcp: /' "$WORK/mcp.err" | head -5
expect_eq "nothing of ours runs after MCP" 0 "$(ours)"

gone=no
for _ in $(seq 200); do pgrep -f '^sleep 31350$' >/dev/null || { gone=yes; break; }; sleep 0.1; done
expect_eq "an idle session's expiry kills its processes (host check)" yes "$gone"
http GET "/v1/sessions/$EXP"
expect_status "and the session is gone" 404 not_found

http POST /v1/sessions -d '{"timeout":20}'
LAST=$(jfield 'd["id"]')
http POST "/v1/sessions/$LAST/processes" -d '{"code":"exec sleep 31351"}'
check "a process runs as the server stops" bash -c 'pgrep -f "^sleep 31351$" >/dev/null'
stop_server
expect_eq "the server exits 0" 0 "$SERVER_RC"
check "the server's stop killed it (host check)" bash -c '! pgrep -f "^sleep 31351$"'
finish
