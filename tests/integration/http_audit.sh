#!/usr/bin/env bash
# The audit log: one hash-chained JSON line per request with who, backend,
# limits, code hash, status and timing, never env values; `audit verify`
# accepts the chain and names the first line that was tampered with.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/http/common.sh"
http_prereqs

write_policy "$WORK/policy.json"
LOG="$WORK/audit.log"
start_server --policy "$WORK/policy.json" --audit-log "$LOG"
SECRET=secret-$RANDOM$RANDOM$RANDOM
CODE='echo "$API_KEY" | wc -c'
http POST /v1/execute -d "{\"code\":\"echo \\\"\$API_KEY\\\" | wc -c\",\"env\":{\"API_KEY\":\"$SECRET\"},\"timeout\":5}"
expect_status "an execution with a secret in env" 200
http POST /v1/execute -d '{"code":"echo hi","timeout":999}'
expect_status "a refused request" 400 limit_exceeded
http GET /v1/nowhere
expect_status "a 404" 404
stop_server

expect_eq "one line per request" 3 "$(wc -l <"$LOG")"
check "the log is private (0600)" test "$(stat -c %a "$LOG")" = 600
check "env values never reach the log" bash -c "! grep -q '$SECRET' '$LOG'"
fields=$(python3 - "$LOG" "$CODE" <<'PY'
import hashlib, json, sys
e = json.loads(open(sys.argv[1]).readline())
want = hashlib.sha256(sys.argv[2].encode()).hexdigest()
print(e["who"], e["backend"], e["limits"]["timeout_ms"], e["limits"]["memory_bytes"],
      e["code_sha256"] == want, e["env_keys"], e["result"], e["exit_code"], e["status"],
      "execution_time_ms" in e and "duration_ms" in e and "time" in e, e["method"], e["path"])
PY
)
expect_eq "an entry holds who, backend, limits, code hash, env keys, result, timing" \
	"anonymous docker 5000 134217728 True ['API_KEY'] exited 0 200 True POST /v1/execute" "$fields"
"$SB" audit verify "$LOG" >"$WORK/verify.out" 2>&1
expect_eq "audit verify accepts the chain" 0 "$?"
check "and counts the entries" grep -q '3 entries' "$WORK/verify.out"

# A restarted server continues the chain.
start_server --policy "$WORK/policy.json" --audit-log "$LOG"
http GET /v1/health
stop_server
"$SB" audit verify "$LOG" >"$WORK/verify.out" 2>&1
expect_eq "the chain continues across restarts" 0 "$?"
check "4 entries now" grep -q '4 entries' "$WORK/verify.out"

tamper() { # NAME PYTHON-EDIT EXPECTED-LINE
	cp "$LOG" "$WORK/t.log"
	python3 - "$WORK/t.log" "$2" <<'PY'
import sys
p, edit = sys.argv[1], sys.argv[2]
lines = open(p).read().splitlines(keepends=True)
exec(edit)
open(p, "w").write("".join(lines))
PY
	"$SB" audit verify "$WORK/t.log" >"$WORK/t.out" 2>&1
	local rc=$?
	if [ "$rc" -eq 1 ] && grep -q "line $3:" "$WORK/t.out"; then ok "tamper detected: $1"
	else not_ok "tamper detected: $1" "exit $rc" "$(cat "$WORK/t.out")"; fi
}
tamper "a changed status" 'lines[1] = lines[1].replace("\"status\":400", "\"status\":200")' 2
tamper "a changed last line" 'lines[3] = lines[3].replace("\"status\":200", "\"status\":201")' 4
tamper "a removed line" 'del lines[1]' 2
tamper "swapped lines" 'lines[1], lines[2] = lines[2], lines[1]' 2
tamper "a re-hashed line (the next line breaks)" '
import json, hashlib
e = json.loads(lines[1]); e["status"] = 200; del e["hash"]
e["hash"] = hashlib.sha256(json.dumps(e, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
lines[1] = json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n"' 3
"$SB" audit verify "$WORK/missing.log" >/dev/null 2>&1
expect_eq "a missing log is an error" 1 "$?"
finish
