#!/usr/bin/env bash
# The HTTP API end to end against the real engine: every endpoint, every error
# status, sessions with persistent files, path escapes, policy maximums, body
# limits. Nothing is mocked.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/http/common.sh"
http_prereqs

write_policy "$WORK/policy.json" '"max_sessions": 3'
mkdir -p "$WORK/state"
start_server --policy "$WORK/policy.json" --state-dir "$WORK/state"

# ---- health and metrics
http GET /v1/health
expect_status "GET /v1/health" 200
expect_eq "health says ok" ok "$(jfield 'd["status"]')"
http GET /metrics
expect_status "GET /metrics" 200
check "metrics in the Prometheus text format" grep -q '^# TYPE symbi_sandbox_executions_total counter' "$WORK/body"
check "metrics content type" bash -c "grep -qi '^Content-Type: text/plain; version=0.0.4' '$WORK/headers'"

# ---- one execution: the answer is the CLI's --json object, field for field
CODE='echo out; echo err >&2; exit 3'
http POST /v1/execute -H 'Content-Type: application/json' \
	-d "$(python3 -c 'import json,sys; print(json.dumps({"code": sys.argv[1]}))' "$CODE")"
expect_status "POST /v1/execute" 200
cp "$WORK/body" "$WORK/http.json"
# (the image means nothing on the native backend, which refuses it)
IMAGE_ARG=(--image "$IMAGE")
[ "$BACKEND" = native ] && IMAGE_ARG=()
"$SB" run --backend "$BACKEND" "${IMAGE_ARG[@]}" --memory 128m --cpus 1 --pids-limit 64 --json "$CODE" >"$WORK/cli.json"
same=$(python3 - "$WORK/http.json" "$WORK/cli.json" <<'PY'
import json, sys
h, c = (json.load(open(p)) for p in sys.argv[1:3])
print(list(h) == list(c) and all(h[k] == c[k] for k in h if k != "execution_time_ms")
      and h["exit_code"] == 3 and h["stdout"] == "out\n" and h["stderr"] == "err\n")
PY
)
expect_eq "HTTP result equals 'run --json' field for field" True "$same"

http POST /v1/execute -d '{"code":"read line; echo \"$line-$GREETING\"; cat data/in.txt","stdin":"from-stdin\n","env":{"GREETING":"hello"},"files":{"data/in.txt":"from-file"}}'
expect_eq "stdin, env and files reach the program" "from-stdin-hello
from-file" "$(jfield 'd["stdout"]')"

http POST /v1/execute -d "{\"code\":\"sleep 10; echo $MARK\",\"timeout\":1}"
expect_eq "timeout from the request is applied" timeout "$(jfield 'd["status"]')"

# ---- errors
expect_execute '{"code": "echo hi",' "malformed JSON -> 400" 400 invalid_json
expect_execute '["echo hi"]' "non-object body -> 400" 400 invalid_request
expect_execute '{"cmd":"echo hi"}' "unknown field -> 400" 400 invalid_request
expect_execute '{"env":{}}' "missing code -> 400" 400 invalid_request
expect_execute '{"code":"echo hi","timeout":31}' "timeout above the maximum -> 400" 400 limit_exceeded
check "the message names the maximum" grep -q 'maximum of 30s' "$WORK/body"
expect_execute '{"code":"echo hi","memory":"1g"}' "memory above the maximum -> 400" 400 limit_exceeded
expect_execute '{"code":"echo hi","pids":4096}' "pids above the maximum -> 400" 400 limit_exceeded
expect_execute '{"code":"echo hi","cpus":8}' "cpus above the maximum -> 400" 400 limit_exceeded
expect_execute '{"code":"echo hi","max_output_bytes":"100m"}' "max_output_bytes above the maximum -> 400" 400 limit_exceeded
expect_execute '{"code":"echo hi","image":"alpine:latest"}' "image not in the policy -> 400" 400 policy_violation
expect_execute "{\"code\":\"echo hi\",\"backend\":\"$([ "$BACKEND" = docker ] && echo native || echo docker)\"}" "backend not in the policy -> 400" 400 policy_violation
expect_execute '{"code":"echo hi","network":"host"}' "host network refused by default -> 400" 400 policy_violation
expect_execute '{"code":"echo hi","network":"bridge"}' "network refused by default -> 400" 400 policy_violation
expect_execute '{"code":"echo hi","volumes":["/:/host"]}' "host volumes refused -> 400" 400 policy_violation
expect_execute '{"code":"echo hi","files":{"../escape":"x"}}' "file path escaping the workspace -> 400" 400 invalid_path
http GET /v1/nowhere
expect_status "unknown endpoint -> 404" 404 not_found
http GET /v1/execute
expect_status "wrong method -> 405" 405 method_not_allowed
head -c 2097152 /dev/zero | tr '\0' 'a' >"$WORK/big"
http POST /v1/execute -H 'Content-Type: application/json' --data-binary @"$WORK/big"
expect_status "2 MiB body -> 413" 413 payload_too_large
http POST /v1/execute -H 'Content-Type: application/json' -H 'Expect:' --data-binary @"$WORK/big"
expect_status "2 MiB body sent without waiting for 100-continue -> 413 (no reset)" 413 payload_too_large
# Without Content-Length (chunked), the limit holds too.
http POST /v1/execute -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/big"
expect_status "2 MiB chunked body -> 413" 413 payload_too_large
http GET /v1/health
expect_status "the server still answers after refusing big bodies" 200

# ---- sessions
http POST /v1/sessions -d '{"idle_ttl":9999}'
expect_status "session idle_ttl above the maximum -> 400" 400 limit_exceeded
http POST /v1/sessions -d '{"timeout":10}'
expect_status "POST /v1/sessions" 201
SID=$(jfield 'd["id"]')
expect_eq "the session keeps its limits" 10000 "$(jfield 'd["limits"]["timeout_ms"]')"
http GET "/v1/sessions/$SID"
expect_status "GET /v1/sessions/{id}" 200
check "the workspace is a private directory" test "$(stat -c %a "$(ws_path "$WORK/state" "$SID")")" = 700

printf 'line1\nline2\n' >"$WORK/upload"
http PUT "/v1/sessions/$SID/files/in/data.txt" --data-binary @"$WORK/upload"
expect_status "PUT a file" 200
http POST "/v1/sessions/$SID/execute" -d '{"code":"wc -l < in/data.txt; echo made-by-1 > result.txt"}'
expect_eq "the sandbox reads the uploaded file" "2" "$(jfield 'd["stdout"].strip()')"
http POST "/v1/sessions/$SID/execute" -d '{"code":"cat result.txt"}'
expect_eq "a file written by one call is read by the next" "made-by-1" "$(jfield 'd["stdout"].strip()')"
http GET "/v1/sessions/$SID/files/result.txt"
expect_status "GET a file" 200
expect_eq "GET returns the raw bytes" "made-by-1" "$(body)"
http GET "/v1/sessions/$SID/files"
expect_eq "list the workspace" '["in", "result.txt"]' "$(jfield '[e["name"] for e in d["entries"]]')"
http GET "/v1/sessions/$SID/files?path=in"
expect_eq "list a directory" '[["data.txt", "file", 12]]' "$(jfield '[[e["name"],e["type"],e["size"]] for e in d["entries"]]')"
http GET "/v1/sessions/$SID/files/missing.txt"
expect_status "missing file -> 404" 404 not_found

# Path escapes: '..', absolute paths (percent-encoded so curl sends them as is),
# and symlinks planted by the sandboxed code.
http GET "/v1/sessions/$SID/files/..%2F..%2F..%2Fetc%2Fpasswd"
expect_status "'..' refused" 400 invalid_path
http GET "/v1/sessions/$SID/files/%2Fetc%2Fpasswd"
expect_status "absolute path refused" 400 invalid_path
http PUT "/v1/sessions/$SID/files/a/..%2F..%2Fx" --data-binary x
expect_status "'..' refused on PUT" 400 invalid_path
http POST "/v1/sessions/$SID/execute" -d "{\"code\":\"ln -s /etc/passwd passwd; ln -s /etc etcdir; ln -s $WORK hostwork; mkfifo fifo; echo planted\"}"
expect_eq "the sandbox planted symlinks and a FIFO" planted "$(jfield 'd["stdout"].strip()')"
http GET "/v1/sessions/$SID/files/passwd"
expect_status "reading through a planted symlink refused" 400 invalid_path
http GET "/v1/sessions/$SID/files/etcdir/hostname"
expect_status "reading beneath a planted directory symlink refused" 400 invalid_path
http PUT "/v1/sessions/$SID/files/hostwork/pwned" --data-binary x
expect_status "writing beneath a planted symlink refused" 400 invalid_path
check "nothing was written outside the workspace" test ! -e "$WORK/pwned"
http PUT "/v1/sessions/$SID/files/passwd" --data-binary x
expect_status "overwriting a planted symlink refused" 400 invalid_path
check "the symlink's target is untouched" bash -c '! grep -qx x /etc/passwd'
http GET "/v1/sessions/$SID/files/fifo"
expect_status "reading a planted FIFO refused (and does not hang)" 400 invalid_path
http GET "/v1/sessions/$SID/files?path=etcdir"
expect_status "listing through a planted symlink refused" 400 invalid_path

# The workspace is a tmpfs capped by the policy (8m here; it needs root).
http POST "/v1/sessions/$SID/execute" -d '{"code":"dd if=/dev/zero of=fill bs=1M count=20 2>&1; rm -f fill"}'
if [ "$(id -u)" = 0 ]; then
	check "the workspace cannot grow past max_workspace_bytes" grep -q 'No space left' "$WORK/body"
	# native: in the server's private mount namespace; docker: in the host's.
	check "the workspace is its own mount" \
		grep -q " $(ws_path "$WORK/state" "$SID") " /proc/"$SERVER_PID"/mountinfo /proc/self/mountinfo
else
	not_ok "the workspace size cap" "needs root (the server mounts a tmpfs per workspace): run as root"
fi
http POST "/v1/sessions/$SID/execute" -d '{"code":"echo hi","timeout":5}'
expect_status "a session's limits are fixed at creation" 400 invalid_request
http POST "/v1/sessions/nosuchsession/execute" -d '{"code":"echo hi"}'
expect_status "unknown session -> 404" 404 not_found

# Session count limit (max_sessions 3): 429 with Retry-After. (No session
# here may idle out before the third request, however slow the machine: the
# one that expires comes after.)
http POST /v1/sessions -d '{}'
S2=$(jfield 'd["id"]')
http POST /v1/sessions -d '{}'
S3=$(jfield 'd["id"]')
http POST /v1/sessions -d '{}'
expect_status "too many sessions -> 429" 429 too_many_sessions
check "429 carries Retry-After" test -n "$(header Retry-After)"
http DELETE "/v1/sessions/$S2"
expect_status "DELETE /v1/sessions/{id}" 200
http GET "/v1/sessions/$S2"
expect_status "a deleted session is gone" 404 not_found
check "its workspace is removed" test ! -e "$(ws_path "$WORK/state" "$S2")"
check "and unmounted" bash -c "! grep -q '$WORK/state/.*/sessions/$S2' /proc/self/mounts"
http DELETE "/v1/sessions/$S3"
# S3 now idles out after 1 s.
http POST /v1/sessions -d '{"idle_ttl":1}'
S3=$(jfield 'd["id"]')
for _ in $(seq 300); do [ -e "$(ws_path "$WORK/state" "$S3")" ] || break; sleep 0.1; done
http GET "/v1/sessions/$S3"
expect_status "an idle session expires" 404 not_found
check "the expired session's workspace is removed" test ! -e "$(ws_path "$WORK/state" "$S3")"

http GET /metrics
check "metrics count executions by backend and status" grep -q "^symbi_sandbox_executions_total{backend=\"$BACKEND\",status=\"exited\"} [1-9]" "$WORK/body"
check "metrics have a duration histogram" grep -q "^symbi_sandbox_execution_duration_seconds_bucket{backend=\"$BACKEND\",le=\"+Inf\"} [1-9]" "$WORK/body"
check "metrics count open sessions" grep -qx 'symbi_sandbox_sessions_open 1' "$WORK/body"
check "metrics count rejections" grep -q '^symbi_sandbox_rejections_total{reason="body_too_large"} 3' "$WORK/body"
check "metrics show the queue length" grep -qx 'symbi_sandbox_queue_length 0' "$WORK/body"

stop_server
expect_eq "SIGTERM stops the server cleanly" 0 "$SERVER_RC"
check "no session workspace is left behind (only the marked, empty DIR/symbi-sandbox)" \
	test "$(cd "$WORK/state" && find . | sort | tr '\n' ' ')" = ". ./symbi-sandbox ./symbi-sandbox/.symbi-sandbox-state "
check "no workspace mount is left behind" bash -c "! grep -q '$WORK/state' /proc/self/mounts"
no_more_containers
finish
