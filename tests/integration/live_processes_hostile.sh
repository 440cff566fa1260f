#!/usr/bin/env bash
# The processes and contexts API of live (native) sessions against a hostile
# client and a hostile tenant: ids of other sessions and ids with path
# tricks, signals off the allowlist, more processes than allowed, start and
# end churn, output that never ends or switches streams at every byte, many
# readers and readers that never read, stdin that is huge or goes to a
# process that closed it, sessions that end under streams, writes and
# cells, the MCP tools with wrong types, hostile values in the audit log,
# and a server stopped with all of it running. Each attack checks what
# matters from the host: the server's threads, descriptors and memory, and
# the processes left.
source "$(dirname "$0")/../lib.sh"
BACKEND=native
source "$ROOT/tests/http/common.sh"
http_prereqs

policy_and_state
# Against the ASan build (SB=build-asan/symbi-sandbox), freed memory goes
# straight back: the memory checks below measure what the server keeps.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
start_server --policy "$WORK/policy.json" --state-dir "$WORK/state" --audit-log "$WORK/audit.log"

ours() { ps -eo args= | grep -c -- "[${MARK:0:1}]${MARK:1}"; }
threads() { ls "/proc/$SERVER_PID/task" | wc -l; }
fds() { ls "/proc/$SERVER_PID/fd" | wc -l; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
# settle MAX: waits until the server's thread count is at most MAX.
settle() {
	for _ in $(seq 300); do [ "$(threads)" -le "$1" ] && return 0; sleep 0.1; done
	return 1
}
# A session with a first execution: its live sandbox's threads and
# descriptors are then in the baseline.
new_session() { # [JSON members]
	http POST /v1/sessions -d "{\"timeout\":20${1:+,$1}}"
	local id; id=$(jfield 'd["id"]')
	http POST "/v1/sessions/$id/execute" -d '{"code":"true"}'
	echo "$id"
}
T_START=$(threads); F_START=$(fds)

# ---- identity confusion: ids of another session, path tricks, odd pids
A=$(new_session); B=$(new_session)
http POST "/v1/sessions/$A/processes" -d "{\"code\":\"exec sleep 31361 # $MARK\",\"timeout\":30}"
PA=$(jfield 'd["id"]')
http POST "/v1/sessions/$A/contexts" -d '{"language":"sh"}'
CA=$(jfield 'd["id"]')
http POST "/v1/sessions/$A/contexts/$CA/execute" -d '{"code":"v=kept"}'
http GET "/v1/sessions/$B/processes/$PA"
expect_status "a process of session A is unknown in B" 404 not_found
for path in "processes/$PA/signal" "processes/$PA/stdin"; do
	http POST "/v1/sessions/$B/$path" -d '{"signal":"KILL"}'
	expect_status "POST $path from B" 404 not_found
done
http POST "/v1/sessions/$B/processes/$PA/stdin" -d '{"data":"x"}'
expect_status "stdin to it from B" 404 not_found
http POST "/v1/sessions/$B/contexts/$CA/execute" -d '{"code":"echo $v"}'
expect_status "a context of A is unknown in B" 404 not_found
http DELETE "/v1/sessions/$B/contexts/$CA"
expect_status "and cannot be deleted from B" 404 not_found
for pid in .. %2e%2e %2E%2E/signal ..%2F..%2F$A%2Fprocesses%2F$PA "$PA%2F..%2F$PA" "$PA%00" "$PA%20" 1 0 -1 \
	99999999999999999999999 p0 p-1 P1 p01 %20p1 p1%09 %70%31x "$(printf 'p%.0s' $(seq 60))" '*' '%25' "$PA/"; do
	http GET "/v1/sessions/$B/processes/$pid" --path-as-is
	case $STATUS in 404|400|405) ok "GET process id '$pid' in B: $STATUS" ;;
	*) not_ok "GET process id '$pid' in B" "HTTP $STATUS: $(head -c 300 "$WORK/body")" ;; esac
	http POST "/v1/sessions/$B/processes/$pid/signal" -d '{"signal":"KILL"}' --path-as-is
	case $STATUS in 404|400|405) ok "signal to process id '$pid' in B: $STATUS" ;;
	*) not_ok "signal to process id '$pid' in B" "HTTP $STATUS: $(head -c 300 "$WORK/body")" ;; esac
	http POST "/v1/sessions/$B/contexts/$pid/execute" -d '{"code":"echo $v"}' --path-as-is
	case $STATUS in 404|400|405) ok "a cell in context id '$pid' in B: $STATUS" ;;
	*) not_ok "a cell in context id '$pid' in B" "HTTP $STATUS: $(head -c 300 "$WORK/body")" ;; esac
done
# Session ids with the same tricks: A's process through B's path.
for sid in "$B/..%2F$A" "$B%2F..%2F$A" "..%2F$A" "$A%00" "$(echo "$A" | tr a-f A-F)"; do
	http POST "/v1/sessions/$sid/processes/$PA/signal" -d '{"signal":"KILL"}' --path-as-is
	case $STATUS in 404|400) ok "session id '$sid': $STATUS" ;;
	*) not_ok "session id '$sid'" "HTTP $STATUS: $(head -c 300 "$WORK/body")" ;; esac
done
http GET "/v1/sessions/$A/processes/$PA"
expect_eq "after all that, A's process still runs" running "$(jfield 'd["state"]')"
http POST "/v1/sessions/$A/contexts/$CA/execute" -d '{"code":"echo $v"}'
expect_eq "and A's context keeps its state" "'kept\\n'" "$(jfield 'repr(d["stdout"])')"
check "the init of A's sandbox (pid 1 there) is not a process of the API" \
	bash -c "curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{\"signal\":\"KILL\"}' '$BASE/v1/sessions/$A/processes/1/signal' | grep -qx 404"

# ---- signals off the allowlist change nothing
http POST "/v1/sessions/$A/processes" -d "{\"code\":\"exec sleep 31360 # $MARK\",\"timeout\":30}"
PA=$(jfield 'd["id"]')
for sig in kill sigkill Kill 0 9 9999 -9 SIG SIGSIG SIGSEGV SEGV SYS STOP\ KILL "" " KILL" "KILL " \
	"$(printf 'K%.0s' $(seq 5000))" 'KILL\u0000' 'TERM\n'; do
	http POST "/v1/sessions/$A/processes/$PA/signal" -d "{\"signal\":\"$sig\"}"
	expect_status "signal '${sig:0:20}' is refused" 400 invalid_signal
done
for body in '{"signal":9}' '{"signal":0}' '{"signal":-1}' '{"signal":null}' '{"signal":["KILL"]}' \
	'{"signal":{"name":"KILL"}}' '{"signal":"KILL","pid":1}' '{}' '{"signal":true}'; do
	http POST "/v1/sessions/$A/processes/$PA/signal" -d "$body"
	expect_status "signal body $body is refused" 400 invalid_request
done
for body in '[]' '"KILL"' 'KILL' '{"signal":"KILL"'; do
	http POST "/v1/sessions/$A/processes/$PA/signal" -d "$body"
	check "signal body $body is refused ($STATUS $(jfield 'd["error"]["code"]'))" test "$STATUS" = 400
done
http GET "/v1/sessions/$A/processes/$PA"
expect_eq "the process still runs" running "$(jfield 'd["state"]')"
http POST "/v1/sessions/$A/processes/$PA/signal" -d '{"signal":"SIGKILL"}'
expect_eq "SIGKILL (the SIG prefix) is KILL" "200 KILL" "$STATUS $(jfield 'd["signal"]')"
http GET "/v1/sessions/$A/processes/$PA?wait=20"
expect_eq "and kills it" "signaled 9" "$(jfield 'd["result"]["status"] + " " + str(d["result"]["signal"])')"
http DELETE "/v1/sessions/$A"
http DELETE "/v1/sessions/$B"

# ---- more processes than allowed, then start/end churn
cat >"$WORK/churn.py" <<'PY'
import http.client, json, os, sys
port, mark, server = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
def req(method, path, body=None):
    c.request(method, path, json.dumps(body) if body is not None else None,
              {"Content-Type": "application/json"})
    r = c.getresponse()
    return r.status, json.loads(r.read() or b"null")
fds = lambda: len(os.listdir(f"/proc/{server}/fd"))
tasks = lambda: len(os.listdir(f"/proc/{server}/task"))
st, s = req("POST", "/v1/sessions", {"timeout": 20})
sid = s["id"]
req("POST", f"/v1/sessions/{sid}/execute", {"code": "true"})
codes = []
for i in range(40):
    st, d = req("POST", f"/v1/sessions/{sid}/processes", {"code": f"exec sleep 31362 # {mark}"})
    codes.append(st)
print("cap", codes.count(201), codes.count(429))
running = [p for p in req("GET", f"/v1/sessions/{sid}/processes")[1]["processes"] if p["state"] == "running"]
print("listed-running", len(running))
for p in running:
    req("POST", f"/v1/sessions/{sid}/processes/{p['id']}/signal", {"signal": "KILL"})
for p in running:
    req("GET", f"/v1/sessions/{sid}/processes/{p['id']}?wait=20")
# The baseline: once the table holds its 32 ended processes, each start
# drops (and joins) the oldest.
for i in range(40):
    st, d = req("POST", f"/v1/sessions/{sid}/processes", {"argv": ["true"]})
    req("GET", f"/v1/sessions/{sid}/processes/{d['id']}?wait=20")
f0, t0 = fds(), tasks()
bad = 0
for i in range(1000):
    st, d = req("POST", f"/v1/sessions/{sid}/processes", {"argv": ["echo", str(i)]})
    if st != 201:
        bad += 1
        continue
    st, d = req("GET", f"/v1/sessions/{sid}/processes/{d['id']}?wait=20")
    if d["result"]["stdout"] != f"{i}\n":
        bad += 1
print("churn-bad", bad)
print("churn-fds", f0, fds())
print("churn-threads", t0, tasks())
listed = req("GET", f"/v1/sessions/{sid}/processes")[1]["processes"]
print("churn-kept", len(listed), listed[-1]["id"])
req("DELETE", f"/v1/sessions/{sid}")
PY
F0=$(fds); T0=$(threads)
python3 "$WORK/churn.py" "$PORT" "$MARK" "$SERVER_PID" >"$WORK/churn.out" 2>&1
expect_printed "40 starts at once: 16 run, 24 are refused" "cap 16 24" "$WORK/churn.out"
expect_printed "the listing shows the 16 running" "listed-running 16" "$WORK/churn.out"
expect_printed "1000 starts and ends, every output right" "churn-bad 0" "$WORK/churn.out"
read -r _ a b < <(grep '^churn-fds' "$WORK/churn.out")
check "the server's descriptors stay flat over the churn ($a, then $b)" test "${b:-999}" -le "${a:-0}"
read -r _ a b < <(grep '^churn-threads' "$WORK/churn.out")
check "and its threads ($a, then $b)" test "${b:-999}" -le "${a:-0}"
expect_printed "the table keeps the last 32" "churn-kept 32 p1080" "$WORK/churn.out"
[ "$(grep -c . "$WORK/churn.out")" -ge 6 ] || sed 's/^/# /' "$WORK/churn.out"
settle "$T0"
check "after the session, the threads are back ($T0)" test "$(threads)" -le "$T0"
check "and the descriptors ($F0)" test "$(fds)" -le "$F0"
expect_eq "nothing of ours runs" 0 "$(ours)"

# ---- output that never ends, or switches streams at every byte
S=$(new_session '"max_output_bytes":1048576')
RSS0=$(rss_kb)
for i in 1 2; do
	http POST "/v1/sessions/$S/processes" \
		-d "{\"language\":\"python\",\"code\":\"import os\\n# $MARK\\nwhile True:\\n  os.write(1, b'a'); os.write(2, b'b')\"}"
done
ZIG=$(jfield 'd["id"]')
http POST "/v1/sessions/$S/processes" -d "{\"code\":\"cat /dev/zero # $MARK\"}"
ZERO=$(jfield 'd["id"]')
for pid in p1 p2 p3; do
	for _ in $(seq 600); do
		http GET "/v1/sessions/$S/processes/$pid"
		[ "$(jfield 'd["output_truncated"]')" = true ] && break
		sleep 0.1
	done
done
http GET "/v1/sessions/$S/processes/$ZERO"
expect_eq "output that never ends: kept up to the cap, truncated said" "1048576 True running" \
	"$(jfield 'str(d["output_bytes"]["stdout"]) + " " + str(d["output_truncated"]) + " " + d["state"]')"
# While they run on (their output is read and dropped), the server's memory
# is bounded by their caps: 2 MiB kept per process, with the result a few
# times that; the chunk table may add at most the cap.
RSS1=$(rss_kb)
echo "# VmRSS $RSS0 kB, then $RSS1 kB with 3 processes at a 1 MiB cap"
check "the server's memory stays bounded by the caps (grew $(( (RSS1 - RSS0) / 1024 )) MiB)" \
	test $((RSS1 - RSS0)) -le $((3 * 8 * 1024))
curl -sS --max-time 60 "$BASE/v1/sessions/$S/processes/$ZIG/output" >"$WORK/zig.ndjson" &
ZPID=$!
http POST "/v1/sessions/$S/processes/$ZIG/signal" -d '{"signal":"KILL"}'
wait "$ZPID"
LINES=$(wc -l <"$WORK/zig.ndjson")
check "a process switching streams at every byte makes a bounded number of lines ($LINES; at most 1 MiB / 24 + 40)" \
	test "$LINES" -le $((1048576 / 24 + 40))
expect_eq "the stream still ends with the result" result "$(tail -1 "$WORK/zig.ndjson" | python3 -c 'import json,sys; print(json.load(sys.stdin)["type"])')"
check "stdout and stderr both came" bash -c "grep -q '\"stdout\"' '$WORK/zig.ndjson' && grep -q '\"stderr\"' '$WORK/zig.ndjson'"
RSS2=$(rss_kb)
check "reading it does not grow the server further (grew $(( (RSS2 - RSS0) / 1024 )) MiB)" \
	test $((RSS2 - RSS0)) -le $((3 * 8 * 1024))

# ---- many readers of one process, and readers that never read
cat >"$WORK/readers.py" <<'PY'
import http.client, json, socket, sys, threading
port, sid, pid, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
results = [None] * n
longest = [0] * n
def read(i):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("GET", f"/v1/sessions/{sid}/processes/{pid}/output")
    r = c.getresponse()
    raw = r.read().splitlines()
    longest[i] = max(len(x) for x in raw)
    lines = [json.loads(x) for x in raw]
    results[i] = (r.status, len("".join(d.get("data", "") for d in lines if d["type"] == "stdout")), lines[-1]["type"] if lines else None)
th = [threading.Thread(target=read, args=(i,)) for i in range(n)]
for t in th: t.start()
for t in th: t.join()
print("readers", len(set(results)), results[0])
print("longest", max(longest))
PY
# Bytes that JSON escapes six times over, in one stream (one chunk).
http POST "/v1/sessions/$S/processes" -d '{"code":"head -c 1000000 /dev/zero | tr \"\\\\0\" \"\\\\1\""}'
MANY=$(jfield 'd["id"]')
http GET "/v1/sessions/$S/processes/$MANY?wait=20"
echo 5 >"/proc/$SERVER_PID/clear_refs" # VmHWM from here
HWM0=$(awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
python3 "$WORK/readers.py" "$PORT" "$S" "$MANY" 40 >"$WORK/readers.out" 2>&1
HWM1=$(awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
expect_eq "40 readers at once all get the same 1000000 bytes and the result" \
	"readers 1 (200, 1000000, 'result')" "$(grep '^readers' "$WORK/readers.out")"
LONGEST=$(awk '/^longest/ {print $2}' "$WORK/readers.out")
check "a line carries at most 64 KiB of output (the longest: ${LONGEST:-?} bytes escaped)" \
	test "${LONGEST:-999999999}" -le $((6 * 65536 + 200))
echo "# VmHWM $HWM0 kB, then $HWM1 kB with 40 readers"
check "40 readers of 1 MB of control bytes cost the server at most 64 MiB at the peak (grew $(( (HWM1 - HWM0) / 1024 )) MiB)" \
	test $((HWM1 - HWM0)) -le $((64 << 10))
# Slow readers: they ask for the output of a process that writes its cap
# (the answer fills their socket buffers) and never read a byte.
cat >"$WORK/slow.py" <<'PY'
import socket, sys, time
port, sid, pid, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
socks = []
for i in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(f"GET /v1/sessions/{sid}/processes/{pid}/output HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    socks.append(s)
print("slow", len(socks), flush=True)
sys.stdin.read() # until the test closes our stdin
PY
T1=$(threads)
mkfifo "$WORK/slow.in"
python3 "$WORK/slow.py" "$PORT" "$S" "$ZERO" 20 <"$WORK/slow.in" >"$WORK/slow.out" 2>&1 &
SLOW=$!
exec {SLOWFD}>"$WORK/slow.in"
for _ in $(seq 100); do grep -q '^slow' "$WORK/slow.out" && break; sleep 0.1; done
expect_eq "20 readers that never read are connected" "slow 20" "$(cat "$WORK/slow.out")"
http GET "/v1/sessions/$S/processes"
expect_status "the server still answers others meanwhile" 200
http POST "/v1/sessions/$S/processes" -d '{"argv":["echo","alive"]}'
http GET "/v1/sessions/$S/processes/$(jfield 'd["id"]')?wait=20"
expect_eq "and runs processes" "'alive\\n'" "$(jfield 'repr(d["result"]["stdout"])')"
# The session ends under the slow readers: their streams end, their threads go.
http DELETE "/v1/sessions/$S"
expect_status "DELETE of the session under 20 slow readers answers" 200
exec {SLOWFD}>&-
wait "$SLOW"
settle "$T1"
check "the slow readers' threads are gone once they leave ($(threads), before $T1)" test "$(threads)" -le "$T1"
expect_eq "nothing of ours runs" 0 "$(ours)"

# ---- stdin: huge, to an ended process, to a process that closed it
S=$(new_session)
http POST "/v1/sessions/$S/processes" -d "{\"code\":\"exec sleep 31363 # $MARK\",\"stdin_open\":true}"
SP=$(jfield 'd["id"]')
RSS0=$(rss_kb)
# 1 GiB of stdin, streamed: with its length announced, then chunked.
cat >"$WORK/gib.py" <<'PY'
import socket, sys
port, path, chunked = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "chunked"
s = socket.create_connection(("127.0.0.1", port), timeout=60)
size = (1 << 30) + 12
head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {size}\r\n\r\n"
s.sendall(head.encode())
piece = b"x" * (1 << 20)
sent = 0
try:
    s.sendall(b'{"data":"' if not chunked else b'9\r\n{"data":"\r\n')
    while sent < (1 << 30):
        s.sendall(piece if not chunked else b"100000\r\n" + piece + b"\r\n")
        sent += len(piece)
except (BrokenPipeError, ConnectionResetError, socket.timeout):
    pass
s.settimeout(60)
try:
    answer = s.recv(65536).decode(errors="replace")
except (ConnectionResetError, socket.timeout):
    answer = ""
print(answer.split("\r\n")[0], "sent-MiB", sent >> 20)
PY
python3 "$WORK/gib.py" "$PORT" "/v1/sessions/$S/processes/$SP/stdin" length >"$WORK/gib.out" 2>&1
echo "# $(cat "$WORK/gib.out")"
check "1 GiB of stdin in one request is refused with 413" grep -q '^HTTP/1.1 413' "$WORK/gib.out"
python3 "$WORK/gib.py" "$PORT" "/v1/sessions/$S/processes/$SP/stdin" chunked >"$WORK/gib.out" 2>&1
echo "# chunked: $(cat "$WORK/gib.out")"
# Chunked, the server drops up to 16 MiB of it (so that the client may hear
# the 413), then answers and closes: the client sees the 413 or a reset.
check "and chunked, without a length: the server stops reading it" \
	bash -c "grep -Eq '^(HTTP/1.1 413 .*)? ?sent-MiB ([0-9]|[0-9][0-9]|[0-9][0-9][0-9])\$' '$WORK/gib.out'"
check "the server did not keep it (VmRSS $RSS0 kB, then $(rss_kb) kB)" test "$(rss_kb)" -le $((RSS0 + 16384))
http GET "/v1/sessions/$S/processes/$SP"
expect_eq "nothing of it waits for the process" "running open" "$(jfield 'd["state"] + " " + d["stdin"]')"
http POST "/v1/sessions/$S/processes" -d '{"code":"exec 0<&-; echo closed; exec sleep 31364","stdin_open":true}'
CL=$(jfield 'd["id"]')
for _ in $(seq 100); do
	http GET "/v1/sessions/$S/processes/$CL"
	[ "$(jfield 'd["output_bytes"]["stdout"]')" = 7 ] && break
	sleep 0.1
done
http POST "/v1/sessions/$S/processes/$CL/stdin" -d '{"data":"into a closed stdin\n"}'
expect_status "a write to a process that closed its stdin is accepted (it is queued)" 200
for _ in $(seq 100); do
	http GET "/v1/sessions/$S/processes/$CL"
	[ "$(jfield 'd["stdin"]')" = closed ] && break
	sleep 0.1
done
expect_eq "then the stdin is closed, the error said, the process runs on" "closed running True" \
	"$(jfield 'd["stdin"] + " " + d["state"] + " " + str("closed, or the process ended" in d.get("stdin_error", ""))')"
http POST "/v1/sessions/$S/processes/$CL/stdin" -d '{"data":"again"}'
expect_status "a later write says so" 409 stdin_closed
http POST "/v1/sessions/$S/processes/$CL/stdin" -d '{"eof":true}'
expect_status "and eof too" 409 stdin_closed
http POST "/v1/sessions/$S/processes" -d '{"code":"true","stdin_open":true}'
EX=$(jfield 'd["id"]')
http GET "/v1/sessions/$S/processes/$EX?wait=20"
http POST "/v1/sessions/$S/processes/$EX/stdin" -d '{"data":"late","eof":true}'
expect_status "stdin to a process that exited" 409 process_ended
for body in '{"data":5}' '{"data":null}' '{"eof":"yes"}' '{"data":"x","encoding":"latin1"}' \
	'{"data":"!!!","encoding":"base64"}' '{"data":"x","extra":1}' '{}' '[]' '{"eof":false}'; do
	http POST "/v1/sessions/$S/processes/$SP/stdin" -d "$body"
	expect_status "stdin body $body is refused" 400 invalid_request
done
http DELETE "/v1/sessions/$S"

# ---- a session that ends under a stream, a blocked stdin write, a cell
S=$(new_session)
T1=$(threads)
http POST "/v1/sessions/$S/processes" -d "{\"code\":\"while :; do echo tick; sleep 0.2; done # $MARK\"}"
TICK=$(jfield 'd["id"]')
curl -sS -N --max-time 60 "$BASE/v1/sessions/$S/processes/$TICK/output" >"$WORK/tick.ndjson" 2>&1 &
TPID=$!
http POST "/v1/sessions/$S/processes" -d "{\"code\":\"exec sleep 31365 # $MARK\",\"stdin_open\":true}"
BLK=$(jfield 'd["id"]')
python3 -c 'import json; print(json.dumps({"data": "x" * (1000 << 10)}))' >"$WORK/kib.json"
http POST "/v1/sessions/$S/processes/$BLK/stdin" --data-binary @"$WORK/kib.json"
expect_status "1000 KiB wait in the stdin of a process that does not read" 200
http POST "/v1/sessions/$S/contexts" -d '{"language":"python"}'
CX=$(jfield 'd["id"]')
curl -sS --max-time 60 -H 'Content-Type: application/json' -d "{\"code\":\"import time\\n# $MARK\\ntime.sleep(31366)\"}" \
	"$BASE/v1/sessions/$S/contexts/$CX/execute" >"$WORK/cell.json" 2>&1 &
CPID=$!
for _ in $(seq 100); do grep -q tick "$WORK/tick.ndjson" && pgrep -f 'time.sleep\(31366\)' >/dev/null && break; sleep 0.1; done
check "the stream, the write and the cell are under way" bash -c "grep -q tick '$WORK/tick.ndjson' && pgrep -f 'time.sleep.31366' >/dev/null"
http DELETE "/v1/sessions/$S"
expect_status "DELETE of the session under all three" 200
wait "$TPID"; TRC=$?
expect_eq "the stream ends, cleanly" 0 "$TRC"
expect_eq "its last line is the result: killed" "result signaled" \
	"$(tail -1 "$WORK/tick.ndjson" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["type"], d["status"])')"
wait "$CPID"
check "the cell answers (the session's end ended it)" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["status"] != "success", d' "$WORK/cell.json"
settle "$T1"
check "the server's threads are back ($(threads), before $T1)" test "$(threads)" -le "$T1"
expect_eq "nothing of ours runs" 0 "$(ours)"

# ---- a storm: concurrent starts, writes, signals, readers and waits on the
# same processes, and the session deleted in the middle of it
cat >"$WORK/storm.py" <<'PY'
import http.client, json, sys, threading, random
port, mark = int(sys.argv[1]), sys.argv[2]
def req(method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        c.request(method, path, json.dumps(body) if body is not None else None,
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.read()
    except (ConnectionError, OSError) as e:
        return 0, str(e).encode()
    finally:
        c.close()
sid = json.loads(req("POST", "/v1/sessions", {"timeout": 20})[1])["id"]
req("POST", f"/v1/sessions/{sid}/execute", {"code": "true"})
codes = [None] * 40
def start(i):
    codes[i] = req("POST", f"/v1/sessions/{sid}/processes",
                   {"code": f"while read l; do echo $l; done # {mark}", "stdin_open": True})
th = [threading.Thread(target=start, args=(i,)) for i in range(40)]
for t in th: t.start()
for t in th: t.join()
started = [json.loads(b)["id"] for st, b in codes if st == 201]
running = [p for p in json.loads(req("GET", f"/v1/sessions/{sid}/processes")[1])["processes"] if p["state"] == "running"]
print("burst", len(started) <= 16, len(running) == len(started), sorted(set(st for st, b in codes)))
statuses = []
def hammer(k):
    rnd = random.Random(k)
    for _ in range(30):
        pid = rnd.choice(started)
        op = rnd.randrange(5)
        if op == 0:
            st, _ = req("POST", f"/v1/sessions/{sid}/processes/{pid}/stdin", {"data": "x" * rnd.randrange(1, 200000) + "\n"})
        elif op == 1:
            st, _ = req("POST", f"/v1/sessions/{sid}/processes/{pid}/signal", {"signal": rnd.choice(["STOP", "CONT", "TERM", "USR1"])})
        elif op == 2:
            st, _ = req("GET", f"/v1/sessions/{sid}/processes/{pid}?wait=0.2")
        elif op == 3:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            try:
                c.request("GET", f"/v1/sessions/{sid}/processes/{pid}/output")
                r = c.getresponse()
                st = r.status
                r.read(rnd.randrange(1, 5000))
            except (ConnectionError, OSError):
                st = 0
            c.close()
        else:
            st, _ = req("POST", f"/v1/sessions/{sid}/processes/{pid}/stdin", {"eof": True})
        statuses.append(st)
th = [threading.Thread(target=hammer, args=(k,)) for k in range(8)]
for t in th: t.start()
import time
while len(statuses) < 80 and any(t.is_alive() for t in th):
    time.sleep(0.05)
print("deleted-after", len(statuses) < 240, req("DELETE", f"/v1/sessions/{sid}")[0])
for t in th: t.join()
print("storm-statuses", sorted(set(statuses)))
print("gone", req("GET", f"/v1/sessions/{sid}")[0])
PY
T1=$(threads); F1=$(fds)
python3 "$WORK/storm.py" "$PORT" "$MARK" >"$WORK/storm.out" 2>&1
sed 's/^/# /' "$WORK/storm.out"
expect_eq "40 concurrent starts: at most 16 run, and the listing agrees" "True True" \
	"$(awk '/^burst/ {print $2, $3}' "$WORK/storm.out")"
check "the storm got only answers the API documents (no 5xx, no dropped connection)" \
	python3 -c 'import sys, ast; l = [x for x in open(sys.argv[1]) if x.startswith("storm-statuses")][0]; sys.exit(not set(ast.literal_eval(l.split(" ", 1)[1])) <= {200, 404, 409, 429})' "$WORK/storm.out"
expect_printed "the session was deleted in the middle of the storm" "deleted-after True 200" "$WORK/storm.out"
expect_printed "the session is gone" "gone 404" "$WORK/storm.out"
kill -0 "$SERVER_PID"
expect_eq "the server lives" 0 "$?"
settle "$T1"
check "its threads are back ($(threads), before $T1)" test "$(threads)" -le "$T1"
check "its descriptors are back ($(fds), before $F1)" test "$(fds)" -le "$F1"
expect_eq "nothing of ours runs" 0 "$(ours)"

# ---- a context deleted while its cell runs: the cell ends as it would
S=$(new_session)
http POST "/v1/sessions/$S/contexts" -d '{"language":"python"}'
CX=$(jfield 'd["id"]')
curl -sS --max-time 60 -H 'Content-Type: application/json' -d "{\"code\":\"import time, os\\n# $MARK\\ntime.sleep(2)\\nos.getpid()\"}" \
	"$BASE/v1/sessions/$S/contexts/$CX/execute" >"$WORK/cell.json" 2>&1 &
CPID=$!
sleep 0.5 # the cell has begun, or not: DELETE must hold either way
http DELETE "/v1/sessions/$S/contexts/$CX"
expect_status "DELETE of a context while its cell runs" 200
http GET "/v1/sessions/$S/contexts"
expect_eq "it is no longer listed" 0 "$(jfield 'len(d["contexts"])')"
wait "$CPID"
check "the cell answers" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "status" in d, d' "$WORK/cell.json"
http POST "/v1/sessions/$S/contexts/$CX/execute" -d '{"code":"1"}'
expect_status "and the context is gone" 404 not_found
http DELETE "/v1/sessions/$S"

# ---- a session that expires while a wait is pending
http POST /v1/sessions -d '{"timeout":20,"idle_ttl":2}'
E=$(jfield 'd["id"]')
http POST "/v1/sessions/$E/processes" -d "{\"code\":\"exec sleep 31367 # $MARK\"}"
EP=$(jfield 'd["id"]')
http GET "/v1/sessions/$E/processes/$EP?wait=30"
expect_eq "a wait pending when its session expires ends with the process killed" "200 exited" \
	"$STATUS $(jfield 'd["state"]')"
http GET "/v1/sessions/$E"
expect_status "the session is gone" 404 not_found
expect_eq "nothing of ours runs" 0 "$(ours)"

# ---- MCP: wrong types, extra keys, foreign ids, a big buffer
cat >"$WORK/mcp.py" <<'PY'
import sys
from stdio_client import McpClient
mark = sys.argv[1]
client = McpClient(sys.argv[2:])
call, tool = client.call_sized, client.tool
def err(name, **a):
    r, _ = call("tools/call", {"name": name, "arguments": a})
    return "error" in r or r["result"].get("isError") is True
a = tool("session_create", max_output_bytes="1m")["structuredContent"]["id"]
b = tool("session_create")["structuredContent"]["id"]
pa = tool("process_start", session_id=a, code=f"exec sleep 31368 # {mark}", stdin_open=True)["structuredContent"]["id"]
bad = {
    "sid-int": ("process_list", {"session_id": 5}),
    "sid-null": ("process_list", {"session_id": None}),
    "sid-list": ("process_output", {"session_id": [a], "process_id": pa}),
    "pid-int": ("process_output", {"session_id": a, "process_id": 1}),
    "pid-obj": ("process_signal", {"session_id": a, "process_id": {"id": pa}, "signal": "KILL"}),
    "foreign-pid": ("process_signal", {"session_id": b, "process_id": pa, "signal": "KILL"}),
    "foreign-stdin": ("process_write_stdin", {"session_id": b, "process_id": pa, "data": "x"}),
    "path-pid": ("process_signal", {"session_id": a, "process_id": f"../{pa}", "signal": "KILL"}),
    "sig-int": ("process_signal", {"session_id": a, "process_id": pa, "signal": 9}),
    "sig-lower": ("process_signal", {"session_id": a, "process_id": pa, "signal": "kill"}),
    "sig-extra": ("process_signal", {"session_id": a, "process_id": pa, "signal": "KILL", "pid": 1}),
    "wait-str": ("process_output", {"session_id": a, "process_id": pa, "wait": "5"}),
    "wait-neg": ("process_output", {"session_id": a, "process_id": pa, "wait": -1}),
    "wait-huge": ("process_output", {"session_id": a, "process_id": pa, "wait": 1e300}),
    "data-int": ("process_write_stdin", {"session_id": a, "process_id": pa, "data": 5}),
    "eof-str": ("process_write_stdin", {"session_id": a, "process_id": pa, "eof": "true"}),
    "start-stdin-str": ("process_start", {"session_id": a, "code": "true", "stdin_open": "true"}),
    "start-argv-str": ("process_start", {"session_id": a, "argv": "true"}),
    "start-argv-ints": ("process_start", {"session_id": a, "argv": [1, 2]}),
    "start-extra": ("process_start", {"session_id": a, "code": "true", "pid": 1}),
    "start-env-int": ("process_start", {"session_id": a, "code": "true", "env": {"A": 1}}),
    "start-foreign": ("process_start", {"session_id": "0" * 32, "code": "true"}),
    "huge-sid": ("process_list", {"session_id": "x" * 1000000}),
}
for k, (name, args) in bad.items():
    print("bad", k, err(name, **args))
o = tool("process_output", session_id=a, process_id=pa)["structuredContent"]
print("still-running", o["state"])
tool("process_signal", session_id=a, process_id=pa, signal="KILL")
# The largest buffer: 1 MiB of each stream, in bytes that JSON escapes
# six times over.
big = tool("process_start", session_id=a, language="python",
           code="import os\nos.write(1, b'\\x01' * (2 << 20)); os.write(2, b'\\x02' * (2 << 20))")["structuredContent"]["id"]
r, size = call("tools/call", {"name": "process_output", "arguments": {"session_id": a, "process_id": big, "wait": 20}})
o = r["result"]["structuredContent"]
print("big", o["state"], len(o["stdout"]), len(o["stderr"]), o["stdout_truncated"])
print("big-size", size)
tool("session_close", session_id=a)
tool("session_close", session_id=b)
client.close()
PY
PYTHONPATH="$ROOT/tests/mcp" python3 "$WORK/mcp.py" "$MARK" "$SB" mcp --policy "$WORK/policy.json" --state-dir "$WORK/state" \
	--audit-log "$WORK/mcp-audit.log" >"$WORK/mcp.out" 2>"$WORK/mcp.err"
for k in sid-int sid-null sid-list pid-int pid-obj foreign-pid foreign-stdin path-pid sig-int sig-lower \
	sig-extra wait-str wait-neg wait-huge data-int eof-str start-stdin-str start-argv-str start-argv-ints \
	start-extra start-env-int start-foreign huge-sid; do
	expect_eq "MCP: $k is an error" "bad $k True" "$(grep "^bad $k " "$WORK/mcp.out")"
done
expect_printed "MCP: after them, the process still runs" "still-running running" "$WORK/mcp.out"
expect_printed "MCP: process_output of the largest buffer" "big exited 1048576 1048576 True" "$WORK/mcp.out"
SIZE=$(awk '/^big-size/ {print $2}' "$WORK/mcp.out")
echo "# the answer to process_output of 2 MiB of control bytes: ${SIZE:-?} bytes"
# 2 MiB kept, at most 6 times that escaped in structuredContent, 7 times in
# the text beside it: at most 28 MiB (a second copy of the output in the
# result made it 54).
check "MCP: its answer stays bounded (at most 28 MiB)" test "${SIZE:-999999999}" -le $((28 << 20))
[ -s "$WORK/mcp.err" ] && sed 's/^/# mcp: /' "$WORK/mcp.err" | head -5
check "MCP: the audit chain verifies" bash -c "\"$SB\" audit verify \"$WORK/mcp-audit.log\" >/dev/null"
check "MCP: the audit log does not hold the huge session id" test "$(wc -c <"$WORK/mcp-audit.log")" -le $((256 << 10))
expect_eq "nothing of ours runs after MCP" 0 "$(ours)"

# ---- hostile values in argv and env, and the audit log's chain
S=$(new_session)
python3 - "$MARK" >"$WORK/hostile.json" <<'PY'
import json, sys
weird = "".join(chr(c) for c in range(1, 32)) + "\x7f\u2028\u2029\ud7ff\ufffd" + '"\\' + "é"
print(json.dumps({"argv": ["echo", weird, "y" * 4000] + ["z" * 4000] * 200 + [sys.argv[1]],
                  "env": {"HOSTILE": weird * 100, "BIG": "v" * 100000}}))
PY
http POST "/v1/sessions/$S/processes" --data-binary @"$WORK/hostile.json"
expect_status "argv and env full of control characters and big strings start" 201
HP=$(jfield 'd["id"]')
check "the command summary stays short" test "$(jfield 'len(d["command"])')" -le 200
http GET "/v1/sessions/$S/processes/$HP?wait=20"
expect_eq "and runs" "exited 0" "$(jfield 'd["state"] + " " + str(d["result"]["exit_code"])')"
python3 -c 'import json; print(json.dumps({"code": "echo \u0001\u001b[2J\u2028\"" + "q" * 300000, "env": {"X\u00e9": "1"}}))' >"$WORK/hostile2.json"
http POST "/v1/sessions/$S/processes" --data-binary @"$WORK/hostile2.json"
expect_status "an env name that is not ASCII is refused" 400 invalid_request
python3 -c 'import json; print(json.dumps({"code": "echo \u0001\u001b[2J\u2028\"\udcff" + "q" * 300000}))' >"$WORK/hostile3.json"
http POST "/v1/sessions/$S/processes" --data-binary @"$WORK/hostile3.json"
echo "# code with a lone surrogate: HTTP $STATUS"
http POST "/v1/sessions/$S/processes/$HP/signal" -d "{\"signal\":\"$(printf 'X%.0s' $(seq 100000))\"}"
expect_status "a huge signal name is refused" 400 invalid_signal
http POST "/v1/sessions/$S/contexts" -d '{"language":"sh"}'
HC=$(jfield 'd["id"]')
http POST "/v1/sessions/$S/contexts/$HC/execute" --data-binary @"$WORK/hostile3.json"
http DELETE "/v1/sessions/$S/contexts/$HC"
http DELETE "/v1/sessions/$S"
"$SB" audit verify "$WORK/audit.log" >"$WORK/verify.out" 2>&1
expect_eq "the audit chain verifies after all of it" 0 "$?"
[ -s "$WORK/verify.out" ] && head -3 "$WORK/verify.out" | sed 's/^/# verify: /'
check "no audit line is over 64 KiB (huge values are not copied in)" \
	python3 -c 'import sys; m = max(len(l) for l in open(sys.argv[1], "rb")); print("# longest audit line", m); sys.exit(m > 65536)' "$WORK/audit.log"
python3 - "$WORK/audit.log" "$HP" >"$WORK/audit.out" <<'PY'
import json, sys
seen = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    p, m = e.get("path", ""), e.get("method")
    if m == "GET" or e.get("status", 0) >= 400:
        continue
    kind = None
    if "/processes" in p:
        kind = "process-" + (p.rsplit("/", 1)[1] if p.count("/") > 5 else "start")
    elif "/contexts" in p:
        kind = "context-" + ("execute" if p.endswith("/execute") else m.lower() if p.count("/") >= 5 else "create")
    elif p.startswith("/v1/sessions") and p.count("/") == 3 and m == "DELETE":
        kind = "session-delete"
    if kind:
        seen[kind] = seen.get(kind, 0) + 1
print(" ".join(sorted(seen)))
PY
expect_eq "every kind of state-changing call is audited" \
	"context-create context-delete context-execute process-signal process-start process-stdin session-delete" \
	"$(cat "$WORK/audit.out")"

# ---- the server stops with all of it running
S=$(new_session)
http POST "/v1/sessions/$S/processes" -d "{\"code\":\"cat /dev/zero # $MARK\"}"
Z=$(jfield 'd["id"]')
http POST "/v1/sessions/$S/processes" -d "{\"code\":\"exec sleep 31369 # $MARK\",\"stdin_open\":true}"
W=$(jfield 'd["id"]')
http POST "/v1/sessions/$S/processes/$W/stdin" --data-binary @"$WORK/kib.json"
http POST "/v1/sessions/$S/contexts" -d '{"language":"python"}'
CX=$(jfield 'd["id"]')
curl -sS --max-time 60 -H 'Content-Type: application/json' -d "{\"code\":\"import time\\n# $MARK\\ntime.sleep(31370)\"}" \
	"$BASE/v1/sessions/$S/contexts/$CX/execute" >/dev/null 2>&1 &
CPID=$!
curl -sS -N --max-time 60 "$BASE/v1/sessions/$S/processes/$Z/output" >/dev/null 2>&1 &
RPID=$!
rm -f "$WORK/slow.in"; mkfifo "$WORK/slow.in"
python3 "$WORK/slow.py" "$PORT" "$S" "$Z" 10 <"$WORK/slow.in" >"$WORK/slow.out" 2>&1 &
SLOW=$!
exec {SLOWFD}>"$WORK/slow.in"
for _ in $(seq 100); do grep -q '^slow' "$WORK/slow.out" && pgrep -f 'time.sleep.31370' >/dev/null && break; sleep 0.1; done
check "processes, a blocked write, a cell, readers and slow readers are under way" \
	bash -c "pgrep -f 'time.sleep.31370' >/dev/null && pgrep -f '^sleep 31369' >/dev/null && grep -q slow '$WORK/slow.out'"
stop_server
expect_eq "the server exits 0 under all of it" 0 "$SERVER_RC"
exec {SLOWFD}>&-
wait "$SLOW" "$CPID" "$RPID"
expect_eq "nothing of ours runs after the stop" 0 "$(ours)"
check "no sandbox process is left (host check)" bash -c '! pgrep -f "[s]leep 3136[0-9]|[s]leep.3137[0]|[c]at /dev/zero # '"$MARK"'"'
finish
