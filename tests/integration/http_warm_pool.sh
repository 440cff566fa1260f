#!/usr/bin/env bash
# Warm sandboxes (src/server/pool.c): the server keeps live sandboxes ready
# for the configurations clients ask for, and a one-shot execution without
# files runs in one of them. Each serves one execution only: what one
# execution leaves (files, background processes) is never seen by the next,
# and is killed soon after; nothing is left once the server stops. On the
# native backend; http_warm_pool_docker.sh runs it again with BACKEND=docker.
BACKEND=${BACKEND:-native}
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/http/common.sh"
http_prereqs

# The server's sandboxes: its symbi-init children (the CLI execs the
# server, so SERVER_PID is the server), or its running containers (their
# owner label names its pid).
inits() {
	if [ "$BACKEND" = native ]; then
		pgrep -P "$SERVER_PID" -x symbi-init | wc -l
	else
		docker ps --filter "label=io.symbi.sandbox" --format '{{.Label "io.symbi.sandbox.owner"}}' |
			grep -c "/$SERVER_PID/"
	fi
}
wait_inits() { # N: until the server has exactly N sandboxes, at most 30 s
	for _ in $(seq 300); do [ "$(inits)" = "$1" ] && return 0; sleep 0.1; done
	return 1
}
# warm_flags: the audit's "warm" member of each execution, in order.
warm_flags() {
	python3 -c 'import json,sys
print(" ".join(str(json.loads(l).get("warm", False)) for l in open(sys.argv[1])
               if json.loads(l).get("path") == "/v1/execute"))' "$LOG"
}
execute() { # CODE: POST /v1/execute, the code as a JSON string
	http POST /v1/execute -d "$(python3 -c 'import json,sys; print(json.dumps({"code": sys.argv[1]}))' "$1")"
}

# The servers keep their state under $WORK, which the exit trap removes:
# a server a mutant made crash leaves nothing in /tmp.
mkdir -p "$WORK/state"

# ---- a configuration asked for is kept warm -------------------------------------
write_policy "$WORK/policy.json" '"warm_pool": 2'
LOG="$WORK/audit.log"
start_server --policy "$WORK/policy.json" --audit-log "$LOG" --state-dir "$WORK/state"
expect_eq "no sandbox is started before a configuration is asked for" 0 "$(inits)"
execute "echo cold"
expect_status "the first execution (cold)" 200
expect_eq "... runs" "cold" "$(jfield 'd["stdout"]' | tr -d '\n')"
check "then two sandboxes are kept ready for its configuration" wait_inits 2

# Two ready: the next two executions are served warm, one sandbox each.
execute "echo secret-$MARK >/tmp/left-$MARK; (setsid sleep 300 $MARK </dev/null >/dev/null 2>&1 &); echo a"
expect_status "a warm execution" 200
expect_eq "... gives its output" "a" "$(jfield 'd["stdout"]' | tr -d '\n')"
execute "test -e /tmp/left-$MARK && echo seen || echo unseen; ls /tmp | wc -l; cat /proc/[0-9]*/cmdline | tr '\\0' ' ' | grep -c '[s]leep 300'"
expect_status "the next warm execution" 200
expect_eq "... sees none of the previous one's files or processes (a fresh sandbox)" \
	"unseen|0|0" "$(jfield 'd["stdout"]' | paste -sd'|')"
left_gone() { [ "$(marked_left)" = 0 ]; }
wait_gone() { for _ in $(seq 100); do left_gone && return 0; sleep 0.1; done; return 1; }
check "the used sandbox is stopped: its background process is killed" wait_gone
check "and the pool is refilled" wait_inits 2
# The timeout and the output cap are each execution's, warm or not.
http POST /v1/execute -d '{"code":"echo started; sleep 5","timeout":1}'
expect_eq "a warm execution keeps its own timeout" "timeout started" \
	"$(jfield 'd["status"]') $(jfield 'd["stdout"]' | tr -d '\n')"
http POST /v1/execute -d '{"code":"printf %0500d 0","max_output_bytes":100}'
expect_eq "... and its own output cap" "True 100" \
	"$(jfield 'str(d["stdout_truncated"]) + " " + str(len(d["stdout"].split(chr(10))[0]))')"

# A request with files needs a workspace: it is not served warm.
http POST /v1/execute -d '{"code":"cat in.txt","files":{"in.txt":"from a file"}}'
expect_status "an execution with files" 200
expect_eq "... runs in its own workspace" "from a file" "$(jfield 'd["stdout"]')"
# Other limits make another configuration: cold, the first time.
http POST /v1/execute -d '{"code":"echo other","memory":"64m"}'
expect_status "an execution with other limits" 200
stop_server
expect_eq "the server stops cleanly" 0 "$SERVER_RC"
expect_eq "executions were served warm exactly when a sandbox was ready for them" \
	"False True True True True False False" "$(warm_flags)"
expect_eq "no process of any execution outlives the server" 0 "$(marked_left)"

# ---- warm_pool 0: none kept ------------------------------------------------------
write_policy "$WORK/policy0.json" '"warm_pool": 0'
rm -f "$LOG"
start_server --policy "$WORK/policy0.json" --audit-log "$LOG" --state-dir "$WORK/state"
execute "echo one"
expect_status "with warm_pool 0, an execution" 200
sleep 0.5
expect_eq "... leaves no sandbox ready" 0 "$(inits)"
execute "echo two"
stop_server
expect_eq "... and none is served warm" "False False" "$(warm_flags)"

# ---- bad values ------------------------------------------------------------------
write_policy "$WORK/policy9.json" '"warm_pool": 9'
out=$("$SB" serve --policy "$WORK/policy9.json" --listen 127.0.0.1:0 2>&1)
expect_eq "warm_pool above 8 is refused" \
	"symbi-sandbox serve: policy: warm_pool is at most 8 (sandboxes kept ready per configuration)" \
	"$out"
write_policy "$WORK/policyneg.json" '"warm_pool": -1'
check "a negative warm_pool is refused" bash -c "! '$SB' serve --policy '$WORK/policyneg.json' --listen 127.0.0.1:0 >/dev/null 2>&1"
finish
