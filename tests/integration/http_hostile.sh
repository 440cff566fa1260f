#!/usr/bin/env bash
# Hostile and careless clients (issue 8), on the native backend: refusal from
# the request head alone, connection limits and the header deadline, browser
# requests to a tokenless server, bytes that are not UTF-8, path caps, a
# queue that drops clients that left, trees too deep to delete recursively.
# Timings are never asserted; a 60 s guard only keeps a failure from hanging.
source "$(dirname "$0")/../lib.sh"
BACKEND=native
source "$ROOT/tests/http/common.sh"
http_prereqs
H="python3 $ROOT/tests/http/hostile.py"

write_policy "$WORK/policy.json"
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'alice %s\n' "$TOKEN" >"$WORK/tokens"
printf 'e2b-user e2b_%s\n' "$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')" >>"$WORK/tokens"
chmod 600 "$WORK/tokens"

# ---- 1. authenticate first --------------------------------------------------
start_server --policy "$WORK/policy.json" --token-file "$WORK/tokens" --max-connections-per-ip 8 \
	--header-timeout 1 --audit-log "$WORK/audit.log" --state-dir "$WORK/state" \
	--e2b-listen 127.0.0.1:0 --e2b-ready-file "$WORK/e2b-port"
expect_eq "no token, 10 MiB announced, no body byte sent: 401 at once" \
	"401 unauthorized False" "$($H "$PORT" early-401)"
expect_eq "no token with Expect: 100-continue: 401, never 100 Continue" \
	"401 unauthorized False" "$($H "$PORT" continue-401)"
expect_eq "20 clients without a token trickling 10 MiB uploads: each gets 401" 20 "$($H "$PORT" flood 20)"
http GET /v1/health
expect_status "the server still answers after the flood" 200
read -r over other < <($H "$PORT" per-ip 8 127.0.0.3)
check "a 9th connection from one address is closed unanswered (got: $over)" test "$over" = none
expect_eq "while another address is served" 200 "$other"
expect_eq "a connection stalled mid-head is closed by the server (header deadline)" closed \
	"$($H "$PORT" header-timeout)"
expect_eq "... on the E2B listener too" closed "$($H "$(cat "$WORK/e2b-port")" header-timeout)"
expect_eq "health answers while 100 connections from 100 addresses sit on partial heads" ok \
	"$($H "$PORT" slow-heads 100)"
http POST /v1/execute -H "Authorization: Bearer $TOKEN" -d '{"code":"echo after"}'
expect_status "an authenticated execute works afterwards" 200
stop_server
check "refusals from the head are audited (401 lines)" grep -q '"status":401' "$WORK/audit.log"

# ---- 2. a tokenless server and browser-borne requests -------------------------
mkdir -p "$WORK/state"
start_server --policy "$WORK/policy.json" --allow-origin http://good.example \
	--state-dir "$WORK/state" --audit-log "$WORK/audit2.log" --max-running 1 --max-queued 2
CODE="{\"code\":\"echo ran-$MARK\"}"
http POST /v1/execute -H 'Host: attacker.example' -d "$CODE"
expect_status "Host: attacker.example -> 403" 403 forbidden_host
http POST /v1/execute -H 'Origin: http://attacker.example' -d "$CODE"
expect_status "Origin: http://attacker.example -> 403" 403 forbidden_origin
http POST /v1/execute -H 'Content-Type: text/plain' -d "$CODE"
expect_status "Content-Type: text/plain -> 415" 415 unsupported_media_type
http POST /v1/execute -H 'Content-Type: application/x-www-form-urlencoded' -d "$CODE"
expect_status "a form post -> 415" 415 unsupported_media_type
check "none of them ran code" bash -c "! grep -q code_sha256 '$WORK/audit2.log'"
http POST /v1/execute -H 'Origin: http://good.example' -H "Host: localhost:$PORT" \
	-H 'Content-Type: application/json; charset=utf-8' -d "$CODE"
expect_status "an allowed Origin, Host localhost:PORT, JSON with a charset -> 200" 200
http GET /v1/health -H 'Host: [::1]'
expect_status "Host [::1] is loopback" 200

http POST /v1/execute -d '{"code":"true","timeout":0.0001}'
expect_status "a timeout the library refuses -> 400" 400 invalid_request
check "the error names the API's field, timeout, not the library's" \
	bash -c "grep -q '\"message\":\"timeout ' '$WORK/body' && ! grep -q max_execution_time '$WORK/body'"

# ---- 3. text and paths ----------------------------------------------------------
http POST /v1/sessions -d '{}'
SID=$(jfield 'd["id"]')
http PUT "/v1/sessions/$SID/files/%ff%fe.bin" --data-binary x
expect_status "PUT files/%ff%fe.bin -> 400 with a JSON error" 400 invalid_path
http GET "/v1/sessions/%ff"
expect_status "GET /v1/sessions/%ff -> 404 with a JSON error" 404 not_found
http PUT "/v1/sessions/$SID/files/x%00.txt" --data-binary x
expect_status "PUT files/x%00.txt -> 400" 400 invalid_path
check "the error names the NUL" grep -q NUL "$WORK/body"
http GET "/v1/sessions/$SID/files/x"
expect_status "and no file x was written" 404 not_found
deep=$(printf 'd/%.0s' $(seq 33))f
http PUT "/v1/sessions/$SID/files/$deep" --data-binary x
expect_status "PUT with 34 path components -> 400" 400 invalid_path
http PUT "/v1/sessions/$SID/files/$(head -c 1100 /dev/zero | tr '\0' a)" --data-binary x
expect_status "PUT with a 1100-byte path -> 400" 400 invalid_path
http PUT "/v1/sessions/$SID/files/caf%C3%A9.txt" --data-binary x
expect_status "PUT files/café.txt (UTF-8) -> 200" 200
http POST "/v1/sessions/$SID/execute" -d "{\"code\":\"printf x > \\\"\$(printf 'bad\\\\377name')\\\"\"}"
expect_status "sandboxed code makes a file whose name is not UTF-8" 200
http GET "/v1/sessions/$SID/files"
expect_status "the listing answers" 200
expect_eq "and shows that name escaped and flagged" '["bad%FFname", true]' \
	"$(jfield '[[e["name"], e.get("escaped")] for e in d["entries"] if e["name"].startswith("bad")][0]')"
http POST "/v1/sessions/$SID/execute" -d '{"code":"dd if=/dev/zero of=fill bs=1M count=20 2>/dev/null; true"}'
http PUT "/v1/sessions/$SID/files/more.bin" --data-binary @<(head -c 65536 /dev/zero)
expect_status "a full workspace: PUT -> 507" 507 insufficient_storage
check "the audit line keeps the non-UTF-8 path, escaped" grep -q '"path":"/v1/sessions/[0-9a-f]*/files/%FF%FE.bin"' "$WORK/audit2.log"

# ---- 4. deep trees, descriptors, restart ------------------------------------------
SERVER_FDS=$(ls /proc/"$SERVER_PID"/fd | wc -l)
for i in 1 2 3; do
	http POST /v1/sessions -d '{}'
	S=$(jfield 'd["id"]')
	http POST "/v1/sessions/$S/execute" -d '{"code":"i=0; while [ $i -lt 400 ]; do mkdir d && cd d || exit 1; i=$((i+1)); done; echo deep > f; chmod 000 .."}'
	expect_status "session $i: sandboxed code builds a tree 400 directories deep" 200
	http DELETE "/v1/sessions/$S"
	expect_status "session $i: DELETE answers" 200
	check "session $i: its workspace is really gone" \
		bash -c "! ls -d '$WORK'/state/symbi-sandbox/*/sessions/$S 2>/dev/null"
done
expect_eq "no descriptor leaked by those sessions" "$SERVER_FDS" "$(ls /proc/"$SERVER_PID"/fd | wc -l)"

# ---- 5. the queue forgets clients that left ------------------------------------------
# One slot, busy for 60 s; two clients queue and hang up. Before the fix their
# places stayed taken while the slot was busy, and a third client got 429.
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"code":"sleep 60"}' "$BASE/v1/execute" &
busy=$!
for _ in $(seq 100); do http GET /v1/health; [ "$(jfield 'd["running"]')" = 1 ] && break; sleep 0.1; done
for _ in 1 2; do
	timeout 1 curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"code":"echo gone"}' "$BASE/v1/execute"
done
for _ in $(seq 30); do http GET /v1/health; [ "$(jfield 'd["queued"]')" = 0 ] && break; sleep 0.1; done
expect_eq "two queued clients that hung up left the queue while the slot is still busy" 0 "$(jfield 'd["queued"]')"
curl -s -o "$WORK/real.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	-d '{"code":"echo served"}' "$BASE/v1/execute" >"$WORK/real.status" &
real=$!
for _ in $(seq 100); do http GET /v1/health; [ "$(jfield 'd["queued"]')" = 1 ] && break; [ -s "$WORK/real.status" ] && break; sleep 0.1; done
kill $busy; wait $busy 2>/dev/null # its hang-up cancels the busy execution
wait $real
expect_eq "a real client is queued and served, not refused with 429" 200 "$(cat "$WORK/real.status")"

# ---- 6. the state directory ------------------------------------------------------------
http POST /v1/sessions -d '{}'
check "as root, the workspace mount is in the server's namespace" \
	grep -q "$WORK/state/symbi-sandbox/.*/sessions" /proc/"$SERVER_PID"/mountinfo
check "and not in the host's" bash -c "! grep -q '$WORK/state/' /proc/self/mountinfo"
kill -KILL "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=
check "after SIGKILL no workspace mount is left" bash -c "! grep -q '$WORK/state/' /proc/self/mountinfo"
mkdir -p "$WORK/state/tmp" "$WORK/state/sessions"
echo keep >"$WORK/state/tmp/keep"; echo keep >"$WORK/state/sessions/keep"
start_server --policy "$WORK/policy.json" --state-dir "$WORK/state"
check "a restart on the same state dir removes what the killed server left" \
	grep -q 'left by a server that stopped' "$WORK/server.err"
expect_eq "one server directory remains: the new one's" 1 \
	"$(find "$WORK/state/symbi-sandbox" -mindepth 1 -maxdepth 1 -type d | wc -l)"
stop_server
check "DIR/tmp and DIR/sessions, not ours, survive a start and a stop" \
	bash -c "[ \"\$(cat '$WORK/state/tmp/keep' '$WORK/state/sessions/keep')\" = \"keep
keep\" ]"
# Docker workspaces are mounted in the host's namespace (the daemon must see
# them): a killed server leaves them, and the next start removes them.
write_policy "$WORK/docker.json" '"default_backend": "docker", "allowed_backends": ["docker"]'
sed -i 's/"default_backend": "native",//; s/"allowed_backends": \["native"\],//' "$WORK/docker.json"
start_server --policy "$WORK/docker.json" --state-dir "$WORK/dstate"
http POST /v1/sessions -d '{}'
DSID=$(jfield 'd["id"]')
http PUT "/v1/sessions/$DSID/files/in.txt" --data-binary from-put
http POST "/v1/sessions/$DSID/execute" -d "{\"code\":\"cat in.txt; echo $MARK > out.txt\"}"
expect_eq "a docker session sees the file the server wrote" from-put "$(jfield 'd["stdout"]')"
http GET "/v1/sessions/$DSID/files/out.txt"
expect_eq "and the server reads what the container wrote" "$MARK" "$(tr -d '\n' <"$WORK/body")"
check "its workspace mount is in the host's namespace" grep -q "$WORK/dstate/symbi-sandbox/.*/sessions/$DSID " /proc/self/mountinfo
kill -KILL "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=
start_server --policy "$WORK/docker.json" --state-dir "$WORK/dstate"
check "the next start removes the killed server's docker workspace mount" \
	bash -c "! grep -q '$WORK/dstate/' /proc/self/mountinfo"
stop_server

mkdir -p "$WORK/foreign/symbi-sandbox" && echo mine >"$WORK/foreign/symbi-sandbox/data"
timeout 30 "$SB" serve --listen 127.0.0.1:0 --state-dir "$WORK/foreign" 2>"$WORK/foreign.err"
expect_eq "a foreign, non-empty DIR/symbi-sandbox is refused (exit 1)" 1 "$?"
check "saying why" grep -q 'not made by symbi-sandbox' "$WORK/foreign.err"
expect_eq "and left as it was" mine "$(cat "$WORK/foreign/symbi-sandbox/data")"
# ---- 7. honest capabilities --------------------------------------------------------
write_policy "$WORK/all.json" '"allowed_backends": ["native", "docker", "gvisor"]'
sed -i 's/"allowed_backends": \["native"\],//' "$WORK/all.json"
DOCKER_HOST=unix://$WORK/no-docker.sock start_server --policy "$WORK/all.json"
http GET /v1/health
expect_eq "without a Docker engine, health offers only native" '["native"]' "$(jfield 'd["backends"]')"
check "and the server said why at start" grep -q 'backend "docker" does not work here' "$WORK/server.err"
http POST /v1/execute -d '{"code":"true","backend":"docker"}'
expect_status "a docker request is refused, not tried" 400 policy_violation
stop_server

# ---- 8. quotas per token and a global workspace budget -------------------------------
tok() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
TA=$(tok); TB=$(tok); TC=$(tok)
printf 'alice %s\nbob %s\ncarol %s\n' "$TA" "$TB" "$TC" >"$WORK/tokens3"; chmod 600 "$WORK/tokens3"
write_policy "$WORK/quota.json" '"max_sessions": 100, "max_sessions_per_token": 3,
  "max_workspace_bytes_per_token": "16m", "workspace_budget_bytes": "40m"'
start_server --policy "$WORK/quota.json" --token-file "$WORK/tokens3"
new_session() { http POST /v1/sessions -H "Authorization: Bearer $1" -d '{}'; }
new_session "$TA"; expect_status "alice: session 1 (8m of her 16m)" 201
new_session "$TA"; expect_status "alice: session 2 (16m)" 201
new_session "$TA"; expect_status "alice: session 3 would pass her 16m -> 429" 429 workspace_quota_exceeded
RA=$(header Retry-After)
check "with a Retry-After from her sessions' idle expiry (1..121 s: $RA)" \
	bash -c "[[ '$RA' =~ ^[0-9]+$ ]] && [ '$RA' -ge 1 ] && [ '$RA' -le 121 ]"
new_session "$TB"; expect_status "bob is not locked out by alice: session 1" 201
BOB1=$(jfield 'd["id"]')
new_session "$TB"; expect_status "bob: session 2" 201
new_session "$TC"; expect_status "carol: session 1 (the budget's last 8m)" 201
new_session "$TC"; expect_status "carol: the server's 40m budget is taken -> 507" 507 insufficient_storage
check "with a Retry-After" bash -c "[[ '$(header Retry-After)' =~ ^[0-9]+$ ]]"
http DELETE "/v1/sessions/$BOB1" -H "Authorization: Bearer $TB"
new_session "$TC"; expect_status "after bob closes one, carol gets it" 201
stop_server
write_policy "$WORK/quota1.json" '"max_sessions_per_token": 1'
start_server --policy "$WORK/quota1.json" --token-file "$WORK/tokens3"
new_session "$TA"; expect_status "max_sessions_per_token 1: the first session" 201
new_session "$TA"; expect_status "the second -> 429 too_many_sessions" 429 too_many_sessions
new_session "$TB"; expect_status "another token still gets one" 201
stop_server

no_more_containers
finish
