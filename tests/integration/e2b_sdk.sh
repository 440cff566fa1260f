#!/usr/bin/env bash
# The E2B-compatible API (serve --e2b-listen) driven by the official npm
# SDKs, e2b 2.51.0 and @e2b/code-interpreter 2.8.0 (installed in tests/e2b
# by scripts/setup, pinned by its package-lock.json), unchanged, against a
# real server: create, commands, files, isolation, lifecycle, runCode
# (tests/e2b/sdk_checks.mjs). Then hostile clients with curl: wrong API key,
# wrong access token, another key's sandbox, malformed Connect envelopes;
# and nothing left behind. The native backend by default;
# e2b_sdk_docker.sh runs it again on docker.
BACKEND=${BACKEND:-native}
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/http/common.sh"
http_prereqs
require "node" "apt-get install nodejs (scripts/setup installs it)" command -v node
require "the E2B SDKs in tests/e2b" "run scripts/setup (it runs: npm ci --prefix tests/e2b)" \
	test -f "$ROOT/tests/e2b/node_modules/e2b/package.json" -a \
	-f "$ROOT/tests/e2b/node_modules/@e2b/code-interpreter/package.json"
E2B_IMAGE=symbi-test/python:latest
if [ "$BACKEND" = docker ]; then
	require "image $E2B_IMAGE" "run scripts/setup (it builds the local test images)" docker image inspect "$E2B_IMAGE"
fi
expect_eq "the SDK versions are the pinned ones" "2.51.0 2.8.0" \
	"$(node -p 'require("'"$ROOT"'/tests/e2b/node_modules/e2b/package.json").version + " " + require("'"$ROOT"'/tests/e2b/node_modules/@e2b/code-interpreter/package.json").version')"

KEY_A=e2b_$(openssl rand -hex 20)
KEY_B=e2b_$(openssl rand -hex 20)
printf 'alice %s\nbob %s\nplain %s\n' "$KEY_A" "$KEY_B" "$(openssl rand -hex 20)" >"$WORK/tokens"
chmod 600 "$WORK/tokens"
cat >"$WORK/policy.json" <<JSON
{
  "default_backend": "$BACKEND", "allowed_backends": ["$BACKEND"], "default_image": "$E2B_IMAGE",
  "defaults": {"timeout": 5, "memory": "256m", "cpus": 1, "pids": 128, "max_output_bytes": 1048576},
  "maximums": {"timeout": 30, "memory": "512m", "cpus": 1, "pids": 256, "max_output_bytes": 1048576},
  "max_running": 4, "max_queued": 16, "session_idle_ttl": 120, "max_session_idle_ttl": 600,
  "max_workspace_bytes": "16m"
}
JSON
mkdir -p "$WORK/state"
start_server --policy "$WORK/policy.json" --token-file "$WORK/tokens" --state-dir "$WORK/state" \
	--audit-log "$WORK/audit.log" --e2b-listen 127.0.0.1:0 --e2b-ready-file "$WORK/e2b-port"
E2B_PORT=$(cat "$WORK/e2b-port")
E2B="http://127.0.0.1:$E2B_PORT"
echo "host-only" >"$WORK/host-marker-$MARK"

# ---- the SDKs ---------------------------------------------------------------------
(cd "$ROOT/tests/e2b" && E2B_API_URL=$E2B E2B_SANDBOX_URL=$E2B E2B_API_KEY=$KEY_A MARK=$MARK \
	HOST_MARKER="$WORK/host-marker-$MARK" HOST_SHADOW_SHA=$(sha256sum /etc/shadow | cut -c1-64) timeout 300 node sdk_checks.mjs) \
	>"$WORK/sdk.out" 2>"$WORK/sdk.err"
rc=$?
relay_verdicts e2b "$WORK/sdk.out"
expect_eq "the SDK checks run to their end" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/# /' "$WORK/sdk.err" | tail -20
check "the checks got to the end" grep -q '^# done' "$WORK/sdk.out"

# ---- hostile clients ------------------------------------------------------------------
# req METHOD URL [curl args]: STATUS, body in $WORK/body.
req() {
	local method=$1 url=$2; shift 2
	STATUS=$(curl -sS -o "$WORK/body" -w '%{http_code}' -X "$method" "$@" "$E2B$url")
}
req GET /v2/sandboxes -H "X-API-KEY: e2b_0000"
expect_eq "a wrong API key: 401" 401 "$STATUS"
expect_eq "  with E2B's body, exactly" '{"code":401,"message":"Invalid API key"}' "$(cat "$WORK/body")"
req GET /v2/sandboxes
expect_eq "no API key: 401" 401 "$STATUS"
PLAIN=$(awk '$1=="plain"{print $2}' "$WORK/tokens")
req GET /v2/sandboxes -H "X-API-KEY: $PLAIN"
expect_eq "a bearer token of the HTTP API is no E2B key: 401" 401 "$STATUS"

head -c 5000000 /dev/zero >"$WORK/big"
req POST /v2/sandboxes -H "X-API-KEY: e2b_0000" -H 'Content-Type: application/json' --data-binary @"$WORK/big"
expect_eq "a 5 MB body with a wrong key: 401 from its head" 401 "$STATUS"
req POST /v2/sandboxes -H "X-API-KEY: $KEY_A" -H 'Content-Type: application/json' --data-binary @"$WORK/big"
expect_eq "a 5 MB create body (over max_body_bytes): 413 from its head" 413 "$STATUS"
req POST /v2/sandboxes -H "X-API-KEY: $KEY_A" -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' -H 'Expect:' \
	--data-binary @"$WORK/big" 2>/dev/null
check "  chunked, it is cut off (413 or a closed connection)" test "$STATUS" = 413 -o "$STATUS" = 000
req POST /v2/sandboxes -H "X-API-KEY: $KEY_A" -H 'Content-Type: application/json' -d '{"templateID":"base"}'
expect_eq "create with curl: 201" 201 "$STATUS"
SID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sandboxID"])' "$WORK/body")
TOK=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["envdAccessToken"])' "$WORK/body")
envd() { # METHOD URL [curl args]: with the routing headers
	local method=$1 url=$2; shift 2
	req "$method" "$url" -H "E2b-Sandbox-Id: $SID" -H "E2b-Sandbox-Port: 49983" "$@"
}
envd POST /filesystem.Filesystem/Stat -H 'Content-Type: application/json' -d '{"path":"."}'
expect_eq "envd without an access token: 401" 401 "$STATUS"
BAD_TOK=${TOK%?}$([ "${TOK: -1}" = 0 ] && echo 1 || echo 0) # one character off
envd POST /filesystem.Filesystem/Stat -H "X-Access-Token: $BAD_TOK" -H 'Content-Type: application/json' -d '{"path":"."}'
expect_eq "envd with a wrong access token: 401" 401 "$STATUS"
check "  its body says so, and names no token" python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); sys.exit(not (b["code"]==401 and "access token" in b["message"] and sys.argv[2] not in open(sys.argv[1]).read()))' "$WORK/body" "$TOK"
req POST /filesystem.Filesystem/Stat -H "E2b-Sandbox-Id: $SID" -H "E2b-Sandbox-Port: 49999" -H 'Content-Type: application/json' -d '{}'
expect_eq "the interpreter port without a token: 401" 401 "$STATUS"
envd GET /health
expect_eq "envd /health needs no token: 204" 204 "$STATUS"
req GET /health -H "E2b-Sandbox-Id: nosuchsandbox0000000" -H "E2b-Sandbox-Port: 49983"
expect_eq "an unknown sandbox on the data plane: 502" 502 "$STATUS"
expect_eq "  with E2B's edge body" '{"sandboxId":"nosuchsandbox0000000","message":"The sandbox was not found","code":502}' "$(cat "$WORK/body")"
req GET /health -H "E2b-Sandbox-Id: $SID" -H "E2b-Sandbox-Port: 8080" -H "X-Access-Token: $TOK"
expect_eq "another port of a sandbox: 502" 502 "$STATUS"

req GET "/sandboxes/$SID" -H "X-API-KEY: $KEY_B"
expect_eq "another key's sandbox: GET answers 404" 404 "$STATUS"
expect_eq "  with a numeric code" 404 "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["code"])' "$WORK/body")"
req DELETE "/sandboxes/$SID" -H "X-API-KEY: $KEY_B"
expect_eq "  DELETE answers 404" 404 "$STATUS"
req POST "/sandboxes/$SID/timeout" -H "X-API-KEY: $KEY_B" -H 'Content-Type: application/json' -d '{"timeout":1}'
expect_eq "  set timeout answers 404" 404 "$STATUS"
req GET "/v2/sandboxes" -H "X-API-KEY: $KEY_B"
expect_eq "  and its list is empty" "[]" "$(cat "$WORK/body")"
req GET "/sandboxes/$SID" -H "X-API-KEY: $KEY_A"
expect_eq "  the owner still has it" 200 "$STATUS"
check "  and the answer holds no other secret than its own token" python3 -c 'import sys; b=open(sys.argv[1]).read(); sys.exit(any(k in b for k in sys.argv[2:]))' "$WORK/body" "$KEY_A" "$KEY_B"

# Malformed Connect: every one is a Connect error, and the server goes on.
frame() { python3 -c 'import sys,struct; f=int(sys.argv[1]); b=sys.argv[2].encode(); n=int(sys.argv[3]) if len(sys.argv)>3 else len(b); sys.stdout.buffer.write(bytes([f])+struct.pack(">I",n)+b)' "$@"; }
stream_call() { # NAME BODYFILE: a Start call; the answer must be one EndStream invalid_argument frame
	envd POST /process.Process/Start -H "X-Access-Token: $TOK" -H 'Content-Type: application/connect+json' --data-binary @"$2"
	local verdict
	verdict=$(python3 -c '
import json,struct,sys
b=open(sys.argv[1],"rb").read()
f=b[0]; n=struct.unpack(">I",b[1:5])[0]
print(f, json.loads(b[5:5+n])["error"]["code"], len(b)==5+n)' "$WORK/body" 2>&1)
	expect_eq "malformed Connect: $1 -> 200 and one EndStream invalid_argument" "200 2 invalid_argument True" "$STATUS $verdict"
}
frame 0 '{"process":{"cmd":"/bin/true"}}' 99 >"$WORK/f1"; stream_call "a length past the body" "$WORK/f1"
frame 1 '{"process":{"cmd":"/bin/true"}}' >"$WORK/f2"; stream_call "the compressed flag" "$WORK/f2"
frame 0 'not json' >"$WORK/f3"; stream_call "a message that is not JSON" "$WORK/f3"
printf '\0\0' >"$WORK/f4"; stream_call "a truncated envelope" "$WORK/f4"
frame 0 '{"process":{}}' >"$WORK/f5"; stream_call "a process without cmd" "$WORK/f5"
envd POST /process.Process/Start -H "X-Access-Token: $TOK" -H 'Content-Type: application/json' -d '{"process":{"cmd":"/bin/true"}}'
check "a stream call with the unary content type is refused" test "$STATUS" = 200 -a "$(head -c1 "$WORK/body" | od -An -tu1 | tr -d ' ')" = 2
envd POST /process.Process/List -H "X-Access-Token: $TOK" -H 'Content-Type: text/plain' -d 'x'
expect_eq "a unary call with a text body: 400" 400 "$STATUS"
expect_eq "  with a string Connect code" invalid_argument "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["code"])' "$WORK/body")"
envd POST /process.Process/SendSignal -H "X-Access-Token: $TOK" -H 'Content-Type: application/json' -d '{"process":{"pid":424242},"signal":"SIGNAL_SIGKILL"}'
expect_eq "a signal to an unknown pid: 404 not_found" "404 not_found" "$STATUS $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["code"])' "$WORK/body")"
envd POST /filesystem.Filesystem/Stat -H "X-Access-Token: $TOK" -H 'Content-Type: application/json' -d '{"path":"/etc/passwd"}'
expect_eq "Stat outside the home: 403 permission_denied" "403 permission_denied" "$STATUS $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["code"])' "$WORK/body")"
envd GET "/files?path=../x" -H "X-Access-Token: $TOK"
expect_eq "GET /files with '..': 400" 400 "$STATUS"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256))*3)' >"$WORK/all.bin"
envd POST "/files?path=oct/all.bin" -H "X-Access-Token: $TOK" -H 'Content-Type: application/octet-stream' --data-binary @"$WORK/all.bin"
expect_eq "an octet-stream upload: 200 with its entry" "200 /home/user/oct/all.bin" "$STATUS $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["path"])' "$WORK/body" 2>&1)"
envd GET "/files?path=/home/user/oct/all.bin" -H "X-Access-Token: $TOK"
check "  GET /files gives the same bytes back" cmp -s "$WORK/body" "$WORK/all.bin"
envd GET "/files?path=oct" -H "X-Access-Token: $TOK"
expect_eq "GET /files of a directory: 400" 400 "$STATUS"
envd GET "/files?path=oct/none" -H "X-Access-Token: $TOK"
expect_eq "GET /files of a missing file: 404 with E2B's message" "404 path 'oct/none' does not exist" "$STATUS $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["message"])' "$WORK/body")"
printf 'x' >"$WORK/x"
envd POST "/files?path=a.txt" -H "X-Access-Token: $TOK" -H 'Content-Type: multipart/form-data' --data-binary @"$WORK/x"
expect_eq "a multipart upload without a boundary: 400" 400 "$STATUS"
envd POST /process.Process/Start -H "X-Access-Token: $TOK" -H 'Content-Type: application/connect+json' --data-binary @<(frame 0 '{"process":{"cmd":"/bin/bash","args":["-c","echo fine"]},"stdin":false}')
check "the sandbox still works after all that" python3 -c '
import base64,json,struct,sys
b=open(sys.argv[1],"rb").read(); out=b""; last=None
while b:
    f=b[0]; n=struct.unpack(">I",b[1:5])[0]; m=json.loads(b[5:5+n]); b=b[5+n:]; last=(f,m)
    d=m.get("event",{}).get("data",{})
    if "stdout" in d: out+=base64.b64decode(d["stdout"])
sys.exit(not (out==b"fine\n" and last==(2,{})))' "$WORK/body"

# Keepalive frames while a command is silent (here every second), then
# the end and the EndStream frame.
envd POST /process.Process/Start -H "X-Access-Token: $TOK" -H 'Content-Type: application/connect+json' \
	-H 'Keepalive-Ping-Interval: 1' --data-binary @<(frame 0 '{"process":{"cmd":"/bin/bash","args":["-c","sleep 2.5; echo done"]},"stdin":false}')
expect_eq "a silent command's stream: start, keepalives, data, end, EndStream" "start keepalive+ data end | 2 {}" "$(python3 -c '
import json,struct,sys
b=open(sys.argv[1],"rb").read(); kinds=[]
while b:
    f=b[0]; n=struct.unpack(">I",b[1:5])[0]; m=json.loads(b[5:5+n]); b=b[5+n:]
    if f==2: kinds.append("| %d %s" % (f, json.dumps(m))); continue
    k=list(m["event"])[0]
    if not (k=="keepalive" and kinds and kinds[-1]=="keepalive+"): kinds.append("keepalive+" if k=="keepalive" else k)
print(" ".join(kinds))' "$WORK/body")"

# A client that goes away does not take the command with it: its timeout
# (10 s here) is the process's own.
envd POST /process.Process/Start -H "X-Access-Token: $TOK" -H 'Content-Type: application/connect+json' \
	-H 'Connect-Timeout-Ms: 10000' --max-time 1 \
	--data-binary @<(frame 0 '{"process":{"cmd":"/bin/bash","args":["-c","sleep 2; echo survived > after-disconnect.txt"]},"stdin":false}') 2>/dev/null
for _ in $(seq 100); do
	envd GET "/files?path=after-disconnect.txt" -H "X-Access-Token: $TOK"
	[ "$STATUS" = 200 ] && break
	sleep 0.1
done
expect_eq "a command outlives its client's disconnect" "200 survived" "$STATUS $(cat "$WORK/body")"
envd POST /process.Process/Connect -H "X-Access-Token: $TOK" -H 'Content-Type: application/connect+json' \
	--data-binary @<(frame 0 '{"process":{"pid":424242}}')
expect_eq "Connect to an unknown pid: one EndStream not_found" "2 not_found" "$(python3 -c '
import json,struct,sys
b=open(sys.argv[1],"rb").read(); n=struct.unpack(">I",b[1:5])[0]
print(b[0], json.loads(b[5:5+n])["error"]["code"])' "$WORK/body")"
req POST /v2/sandboxes -H "X-API-KEY: $KEY_A" -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' -H 'Expect:' \
	-d '{"templateID":"code-interpreter-v1","timeout":30}'
expect_eq "a chunked create body, the code interpreter's template: 201" 201 "$STATUS"
SID2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sandboxID"])' "$WORK/body")
req POST /v2/sandboxes -H "X-API-KEY: $KEY_A" -H 'Content-Type: application/json' -d '{"templateID":"no-such-template"}'
expect_eq "an unknown template: 400" 400 "$STATUS"
req POST /v2/sandboxes -H "X-API-KEY: $KEY_A" -H 'Content-Type: application/json' -d '{"templateID":"base","timeout":99999}'
expect_eq "a timeout over the policy's maximum: 400" 400 "$STATUS"
req POST /v2/sandboxes -H "X-API-KEY: $KEY_A" -H 'Content-Type: application/json' -d '[1'
expect_eq "a create body that is not JSON: 400" 400 "$STATUS"
req POST /v2/sandboxes -H "X-API-KEY: $KEY_A" -H 'Content-Type: application/json' -d '{"templateID":"base","envVars":{"A;id":"x"}}'
expect_eq "envVars with a key that is no variable name: 400" 400 "$STATUS"
req DELETE "/sandboxes/$SID2" -H "X-API-KEY: $KEY_A"
expect_eq "  (the code interpreter's sandbox is killed: 204)" 204 "$STATUS"
req DELETE "/sandboxes/$SID" -H "X-API-KEY: $KEY_A"
expect_eq "the owner kills it: 204" 204 "$STATUS"
envd GET /health
expect_eq "  then its data plane answers 502" 502 "$STATUS"

# ---- nothing left behind ----------------------------------------------------------------
check "the audit log records E2B requests" grep -q '"event":"e2b_request"' "$WORK/audit.log"
check "  and never an access token or API key" python3 -c 'import sys; b=open(sys.argv[1]).read(); sys.exit(any(k in b for k in sys.argv[2:]))' "$WORK/audit.log" "$KEY_A" "$KEY_B" "$TOK"
stop_server
expect_eq "the server stops cleanly" 0 "$SERVER_RC"
"$SB" audit verify "$WORK/audit.log" >/dev/null
expect_eq "the audit log verifies" 0 "$?"
no_more_containers
check "the workspaces are gone" \
	test "$(cd "$WORK/state" && find . | sort | tr '\n' ' ')" = ". ./symbi-sandbox ./symbi-sandbox/.symbi-sandbox-state "
finish
