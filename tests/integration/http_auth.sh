#!/usr/bin/env bash
# Bearer-token authentication: required when configured, checked on every
# endpoint but health, from a file or the environment; the server refuses to
# listen beyond loopback without tokens.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/http/common.sh"
http_prereqs

write_policy "$WORK/policy.json"
TOKEN_A=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
TOKEN_B=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '# name token\nalice %s\n\n' "$TOKEN_A" >"$WORK/tokens"
chmod 600 "$WORK/tokens"

# Beyond loopback without tokens: refused before listening.
env -u SYMBI_SANDBOX_TOKENS "$SB" serve --listen 0.0.0.0:0 --policy "$WORK/policy.json" >"$WORK/out" 2>"$WORK/err" &
pid=$!
for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then
	kill $pid; wait $pid
	not_ok "refuses 0.0.0.0 without tokens" "it started"
else
	wait $pid; rc=$?
	expect_eq "refuses 0.0.0.0 without tokens (exit 2)" 2 "$rc"
	check "says why" grep -q 'without authentication' "$WORK/err"
fi
env -u SYMBI_SANDBOX_TOKENS "$SB" serve --listen '[::]:0' --policy "$WORK/policy.json" 2>"$WORK/err"
expect_eq "refuses [::] without tokens (exit 2)" 2 "$?"
"$SB" serve --listen 127.0.0.1:0 --token-file "$WORK/nonexistent" 2>"$WORK/err"
check "a missing token file is an error" test $? -ne 0
printf 'short\n' >"$WORK/short"
"$SB" serve --listen 127.0.0.1:0 --token-file "$WORK/short" 2>"$WORK/err"
check "a short token is refused" grep -q 'shorter than 16' "$WORK/err"

mkdir -p "$WORK/state"
SYMBI_SANDBOX_TOKENS="$TOKEN_B" start_server --policy "$WORK/policy.json" --token-file "$WORK/tokens" \
	--audit-log "$WORK/audit.log" --state-dir "$WORK/state"

http GET /v1/health
expect_status "health needs no token" 200
http POST /v1/execute -d '{"code":"echo hi"}'
expect_status "no token -> 401" 401 unauthorized
check "401 carries WWW-Authenticate: Bearer" bash -c "grep -qi '^WWW-Authenticate: Bearer' '$WORK/headers'"
http POST /v1/execute -H "Authorization: Bearer ${TOKEN_A}x" -d '{"code":"echo hi"}'
expect_status "wrong token -> 401" 401 unauthorized
http POST /v1/execute -H "Authorization: Bearer ${TOKEN_A:0:20}" -d '{"code":"echo hi"}'
expect_status "token prefix -> 401" 401 unauthorized
http POST /v1/execute -H "Authorization: Basic $TOKEN_A" -d '{"code":"echo hi"}'
expect_status "other scheme -> 401" 401 unauthorized
http GET /metrics
expect_status "metrics need a token" 401 unauthorized
http GET /v1/sessions/x/files
expect_status "session routes need a token (401 before 404)" 401 unauthorized
http POST /v1/execute -H "Authorization: Bearer $TOKEN_A" -d '{"code":"echo hi-a"}'
expect_status "token from the file -> 200" 200
expect_eq "and runs" hi-a "$(jfield 'd["stdout"].strip()')"
http POST /v1/execute -H "Authorization: Bearer $TOKEN_B" -d '{"code":"echo hi-b"}'
expect_status "token from SYMBI_SANDBOX_TOKENS -> 200" 200

# A session belongs to the token that created it.
http POST /v1/sessions -H "Authorization: Bearer $TOKEN_A" -d '{}'
SID=$(jfield 'd["id"]')
http GET "/v1/sessions/$SID" -H "Authorization: Bearer $TOKEN_B"
expect_status "another token cannot see the session" 404 not_found
http DELETE "/v1/sessions/$SID" -H "Authorization: Bearer $TOKEN_B"
expect_status "nor delete it" 404 not_found
http DELETE "/v1/sessions/$SID" -H "Authorization: Bearer $TOKEN_A"
expect_status "its owner can" 200

stop_server
check "the audit log names who" grep -q '"who":"alice"' "$WORK/audit.log"
check "the audit log records refusals" grep -q '"status":401' "$WORK/audit.log"
check "no token appears in the audit log" bash -c "! grep -qe '$TOKEN_A' -e '$TOKEN_B' '$WORK/audit.log'"
check "no token appears in the server's output" bash -c "! grep -qe '$TOKEN_A' -e '$TOKEN_B' '$WORK/server.err'"
finish
