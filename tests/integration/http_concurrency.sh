#!/usr/bin/env bash
# Bounded concurrency (50 requests at once against 2 slots and a queue of 4:
# each answer is a correct result or 429 with Retry-After), and a client that
# disconnects mid-execution cancels it and leaves nothing running.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/http/common.sh"
http_prereqs

write_policy "$WORK/policy.json"
start_server --policy "$WORK/policy.json" --max-running 2 --max-queued 4 --audit-log "$WORK/audit.log"

summary=$(python3 "$ROOT/tests/http/concurrent.py" "$BASE" 50)
read -r n_ok n_busy n_wrong < <(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["ok"], d["busy"], d["n_wrong"])' "$summary")
expect_eq "50 concurrent requests: every answer is a correct result or 429" 0 "$n_wrong"
[ "$n_wrong" = 0 ] || echo "# $summary"
check "at least the 2 running + 4 queued succeeded ($n_ok)" test "$n_ok" -ge 6
check "requests beyond the queue got 429 ($n_busy)" test "$n_busy" -ge 1
expect_eq "all 50 answered" 50 "$((n_ok + n_busy))"
http GET /metrics
check "metrics count the 429s" grep -qx "symbi_sandbox_rejections_total{reason=\"queue_full\"} $n_busy" "$WORK/body"
check "metrics: nothing running or queued afterwards" bash -c "grep -qx 'symbi_sandbox_executions_running 0' '$WORK/body' && grep -qx 'symbi_sandbox_queue_length 0' '$WORK/body'"

# A client that goes away mid-execution.
python3 - "$PORT" "$MARK" <<'PY' &
import json, socket, sys, time, urllib.request
port = int(sys.argv[1])
body = json.dumps({"code": "sleep 25; echo " + sys.argv[2]}).encode()
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"POST /v1/execute HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
          b"Content-Length: %d\r\n\r\n" % len(body) + body)
for _ in range(200):  # wait until it runs, then hang up
    h = json.load(urllib.request.urlopen("http://127.0.0.1:%d/v1/health" % port))
    if h["running"] == 1:
        break
    time.sleep(0.05)
time.sleep(0.5)
s.close()
PY
client=$!
wait $client
t0=$(date +%s)
running=1
for _ in $(seq 100); do
	http GET /v1/health
	running=$(jfield 'd["running"]')
	[ "$running" = 0 ] && [ "$(marked_left)" = 0 ] && break
	sleep 0.1
done
expect_eq "the disconnected client's execution stopped" 0 "$running"
expect_eq "its sandbox is gone" 0 "$(marked_left)"
check "it stopped well before its 25 s sleep ($(( $(date +%s) - t0 )) s)" test $(( $(date +%s) - t0 )) -lt 15
stop_server
check "the audit log says the client disconnected" grep -q '"cancelled_by":"client_disconnected"' "$WORK/audit.log"
no_more_containers
finish
