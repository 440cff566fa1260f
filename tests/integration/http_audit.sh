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

# ---- the canonical form, verified independently (docs/audit-log.md) ----------
PYV="python3 $ROOT/tests/audit/verify.py"
start_server --policy "$WORK/policy.json" --audit-log "$LOG"
http GET "/v1/caf%C3%A9/%F0%9F%98%80"
stop_server
check "a non-ASCII path is logged as upper-case \\u escapes" grep -q 'caf\\u00E9/\\uD83D\\uDE00' "$LOG"
"$SB" audit verify "$LOG" >"$WORK/verify.out" 2>&1
HEAD=$(sed -n 's/.*head \([0-9a-f]\{64\}\)$/\1/p' "$WORK/verify.out")
check "audit verify prints the head" test ${#HEAD} = 64
expect_eq "the 28-line Python verifier agrees (same count and head)" "5 entries, head $HEAD" "$($PYV "$LOG" 2>&1)"
"$SB" audit verify --expect-head "$HEAD" "$LOG" >/dev/null 2>&1
expect_eq "--expect-head with the real head passes" 0 "$?"

# Tampering the plain chain cannot show by itself: --expect-head does.
head -n -1 "$LOG" >"$WORK/cut.log"
"$SB" audit verify --expect-head "$HEAD" "$WORK/cut.log" >"$WORK/t.out" 2>&1
expect_eq "the last line removed: --expect-head fails" 1 "$?"
check "saying the chain ends elsewhere" grep -q 'not at the expected head' "$WORK/t.out"
: >"$WORK/empty.log"
"$SB" audit verify --expect-head "$HEAD" "$WORK/empty.log" >/dev/null 2>&1
expect_eq "the file emptied: --expect-head fails" 1 "$?"
python3 - "$LOG" "$WORK/rechain.log" <<'PY'
import hashlib, json, re, sys
def canon(e):
    t = json.dumps(e, sort_keys=True, separators=(",", ":"))
    return re.sub(r"(\\\\)|\\u([0-9a-f]{4})", lambda m: m.group(1) or "\\u" + m.group(2).upper(), t)
prev, out = "0" * 64, []
for line in open(sys.argv[1]):
    e = json.loads(line); e["who"] = "mallory"; e["prev"] = prev; e.pop("hash")
    e["hash"] = prev = hashlib.sha256(canon(e).encode()).hexdigest()
    out.append(canon(e) + "\n")
open(sys.argv[2], "w").write("".join(out))
PY
"$SB" audit verify "$WORK/rechain.log" >/dev/null 2>&1
expect_eq "a whole chain recomputed after an edit verifies without a head (documented)" 0 "$?"
"$SB" audit verify --expect-head "$HEAD" "$WORK/rechain.log" >/dev/null 2>&1
expect_eq "but not with --expect-head" 1 "$?"
tamper "a duplicate \"who\" before the real one" 'lines[0] = lines[0].replace("{", "{\"who\":\"mallory\",", 1)' 1
check "the Python verifier refuses it too" bash -c "! $PYV '$WORK/t.log' >/dev/null 2>&1"
tamper "a line not in canonical form (a space)" 'lines[1] = lines[1].replace(":", ": ", 1)' 2

# ---- several writers on one log ------------------------------------------------
MLOG="$WORK/multi.log"
"$SB" serve --listen 127.0.0.1:0 --ready-file "$WORK/r1" --policy "$WORK/policy.json" --audit-log "$MLOG" 2>>"$WORK/server.err" &
P1=$!
"$SB" serve --listen 127.0.0.1:0 --ready-file "$WORK/r2" --policy "$WORK/policy.json" --audit-log "$MLOG" 2>>"$WORK/server.err" &
P2=$!
for _ in $(seq 100); do [ -s "$WORK/r1" ] && [ -s "$WORK/r2" ] && break; sleep 0.1; done
python3 - "$(cat "$WORK/r1")" "$(cat "$WORK/r2")" <<'PY'
import sys, threading, urllib.request
def hit(port):
    for _ in range(40):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=60).read()
ts = [threading.Thread(target=hit, args=(p,)) for p in sys.argv[1:] for _ in range(3)]
[t.start() for t in ts]; [t.join() for t in ts]
PY
kill -TERM $P1 $P2; wait $P1 $P2
"$SB" audit verify "$MLOG" >"$WORK/verify.out" 2>&1
expect_eq "two servers appending to one log at once keep one chain" 0 "$?"
check "with all 240 entries" grep -q '240 entries' "$WORK/verify.out"

# ---- a keyed chain -----------------------------------------------------------------
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/audit.key"; chmod 600 "$WORK/audit.key"
KLOG="$WORK/keyed.log"
start_server --policy "$WORK/policy.json" --audit-log "$KLOG" --audit-key-file "$WORK/audit.key"
http GET /v1/health
http GET /v1/nowhere
stop_server
"$SB" audit verify --key-file "$WORK/audit.key" "$KLOG" >"$WORK/verify.out" 2>&1
expect_eq "a keyed log verifies with its key" 0 "$?"
expect_eq "and with the Python verifier" 2 "$($PYV "$KLOG" "$WORK/audit.key" | cut -d' ' -f1)"
"$SB" audit verify "$KLOG" >"$WORK/t.out" 2>&1
expect_eq "without the key it does not verify" 1 "$?"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/other.key"
"$SB" audit verify --key-file "$WORK/other.key" "$KLOG" >/dev/null 2>&1
expect_eq "nor with another key" 1 "$?"
"$SB" audit verify --key-file "$WORK/audit.key" "$WORK/rechain.log" >/dev/null 2>&1
expect_eq "a plain (recomputable) chain fails a keyed verification" 1 "$?"
printf 'short\n' >"$WORK/short.key"
"$SB" serve --listen 127.0.0.1:0 --audit-log "$WORK/x.log" --audit-key-file "$WORK/short.key" 2>"$WORK/t.out"
check "a key shorter than 16 bytes is refused" grep -q 'at least 16 bytes' "$WORK/t.out"
finish
