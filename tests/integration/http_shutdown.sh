#!/usr/bin/env bash
# Graceful shutdown on SIGTERM: no new work (queued requests get 503), a
# running execution finishes within the grace period, one past the deadline
# is cancelled, and nothing is left behind (process, container, state dir).
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/http/common.sh"
http_prereqs

write_policy "$WORK/policy.json"
wait_health() { # FIELD VALUE
	for _ in $(seq 200); do
		http GET /v1/health
		[ "$(jfield "d[\"$1\"]")" = "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# 1. Within the grace period: the running execution finishes.
start_server --policy "$WORK/policy.json" --max-running 1 --max-queued 2 --shutdown-grace 20
STATE=$(sed -n 's/.*state \(.*\))$/\1/p' "$WORK/server.err" | tail -1)
check "the server made a private state directory" test -d "$STATE"
# The running execution must still run when SIGTERM comes, after a second
# request is seen queued: 2 s was not enough in the cgroup v2 lane's slow
# guest.
curl -s -o "$WORK/a.json" -X POST -H "Content-Type: application/json" "$BASE/v1/execute" -d '{"code":"sleep 6; echo finished"}' &
ca=$!
check "the first request runs" wait_health running 1
curl -s -o "$WORK/b.json" -D "$WORK/b.headers" -X POST -H "Content-Type: application/json" "$BASE/v1/execute" -d '{"code":"echo queued"}' &
cb=$!
check "one running, one queued before SIGTERM" wait_health queued 1
kill -TERM "$SERVER_PID"
wait $cb
expect_eq "the queued request is refused with 503" shutting_down \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["code"])' "$WORK/b.json" 2>/dev/null)"
check "503 carries Retry-After" grep -qi '^Retry-After:' "$WORK/b.headers"
sleep 0.3
check "no new connection is accepted" bash -c "! curl -s --max-time 2 '$BASE/v1/health' >/dev/null"
wait $ca
expect_eq "the running execution finished" finished \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stdout"].strip())' "$WORK/a.json" 2>/dev/null)"
wait "$SERVER_PID"
expect_eq "the server exited 0" 0 "$?"
SERVER_PID=
check "its state directory is removed" test ! -e "$STATE"

# 2. Past the deadline: the execution is cancelled and cleaned up.
start_server --policy "$WORK/policy.json" --shutdown-grace 1
STATE=$(sed -n 's/.*state \(.*\))$/\1/p' "$WORK/server.err" | tail -1)
http POST /v1/sessions -d '{}'
SID=$(jfield 'd["id"]')
check "a session workspace exists" test -d "$(ws_path "$STATE" "$SID")"
curl -s -o "$WORK/c.json" -X POST -H "Content-Type: application/json" "$BASE/v1/execute" -d "{\"code\":\"sleep 60; echo $MARK\"}" &
cc=$!
wait_health running 1
t0=$(date +%s)
pid=$SERVER_PID
kill -TERM "$pid"
wait "$pid"
rc=$?
SERVER_PID=
elapsed=$(( $(date +%s) - t0 ))
wait $cc
expect_eq "the server exited 0 after the deadline" 0 "$rc"
check "it stopped soon after the 1 s deadline (${elapsed} s)" test "$elapsed" -lt 15
check "its state directory (with the session) is removed" test ! -e "$STATE"
no_more_containers
check "no server process is left" bash -c "! kill -0 $pid 2>/dev/null"

# 3. A streamed session execution (live sandboxes) is cancelled at the
# deadline too: its answer ends with a result line that says so.
if [ "$BACKEND" = native ]; then
	start_server --policy "$WORK/policy.json" --shutdown-grace 1
	http POST /v1/sessions -d '{}'
	SID=$(jfield 'd["id"]')
	curl -s -N -o "$WORK/stream.ndjson" -X POST -H "Content-Type: application/json" \
		"$BASE/v1/sessions/$SID/execute" -d '{"code":"echo started; exec sleep 31343","stream":true}' &
	cs=$!
	for _ in $(seq 200); do grep -q started "$WORK/stream.ndjson" 2>/dev/null && break; sleep 0.05; done
	check "the stream runs" grep -q started "$WORK/stream.ndjson"
	pid=$SERVER_PID
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	SERVER_PID=
	wait $cs
	expect_eq "the server exited 0 after the deadline" 0 "$rc"
	expect_eq "the stream's last line: its result, cancelled" "result cancelled" \
		"$(tail -1 "$WORK/stream.ndjson" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["type"], d["status"])' 2>&1)"
	check "its program is gone" bash -c "! pgrep -f '^sleep 31343\$' >/dev/null"
fi
finish
