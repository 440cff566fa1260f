#!/usr/bin/env bash
# The Docker daemon dies (SIGKILL) while a sandbox runs: the run ends with
# status error and a message that says so, no later than its deadline; once
# the daemon is back, the next run works and its start sweeps the container
# the dead daemon left; nothing else is left. A daemon that hangs (SIGSTOP)
# at a run's deadline does not hang the run. This suite restarts the test
# daemon that scripts/setup started (and only that one).
source "$(dirname "$0")/../lib.sh"
STATE_DIR=${SYMBI_STATE_DIR:-/var/lib/symbi-sandbox-test}
require "root" "run the test suite as root (sudo make test)" test "$(id -u)" -eq 0
require "the CLI" "run make" test -x "$SB"
require "the test daemon started by scripts/setup (its pid file)" \
	"run scripts/setup; this suite kills and restarts only that daemon" \
	bash -c "kill -0 \$(cat '$STATE_DIR/dockerd.pid')"
require "image symbi-test/busybox" "run scripts/setup" docker image inspect symbi-test/busybox:latest

WORK=$(mktemp -d /tmp/symbi-faults-docker.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
MARK=faults_docker_$$_$RANDOM
BB=(--backend docker --image symbi-test/busybox:latest)
ours() { docker ps -aq --filter "label=io.symbi.sandbox" --filter "label=symbi.test=$MARK"; }
# expect_run_ends NAME SECONDS: the background run $RUN ends within SECONDS
# (else it is stopped and NAME fails).
expect_run_ends() {
	local name=$1 seconds=$2
	for _ in $(seq 1 $((seconds * 10))); do kill -0 "$RUN" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$RUN" 2>/dev/null; then
		not_ok "$name" "still running $seconds s later"
		kill -TERM "$RUN"
	else
		ok "$name"
	fi
}
result_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/result" "$1" 2>/dev/null; }

# A run whose program announces itself, then waits well inside its deadline.
"$SB" run "${BB[@]}" --timeout 60 --json --extra-flag "--label=symbi.test=$MARK" \
	"echo started; exec sleep 50" >"$WORK/result" 2>"$WORK/err" &
RUN=$!
for _ in $(seq 1 200); do [ -n "$(docker ps -q --filter "label=symbi.test=$MARK")" ] && break; sleep 0.1; done
check "the container runs" test -n "$(docker ps -q --filter "label=symbi.test=$MARK")"

DPID=$(cat "$STATE_DIR/dockerd.pid")
kill -KILL "$DPID"
for _ in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
# The client loses its connection: the run ends long before its deadline.
expect_run_ends "the run ends when the daemon dies" 30
wait "$RUN"
expect_eq "... with status error" "error" "$(result_field status)"
msg=$(result_field error)
check "... and a message about the daemon ($msg)" grep -qiE "daemon|docker" <<<"$msg"

"$ROOT/scripts/setup" --daemon >"$WORK/setup.log" 2>&1
check "the daemon comes back (scripts/setup --daemon)" bash -c "docker info >/dev/null 2>&1"

# The dead daemon's container: still known to the engine (its owner is gone).
left=$(ours | wc -l)
check "the dead daemon's run left its container ($left)" [ "$left" -ge 1 ]
expect_eq "the next run works" "ok" "$("$SB" run "${BB[@]}" 'echo ok' 2>&1)"
expect_eq "... and its start swept the container the dead daemon left ($left before)" "" "$(ours)"
expect_eq "no process of the program is left" "" "$(pgrep -f 'sleep 50$')"

# The daemon hangs (SIGSTOP) while a run waits for its deadline: the kill at
# the deadline goes unanswered, and the run still ends (after the Engine
# API's 30 s request limit, twice: the kill, then the removal) with status
# error, not hanging on a stream that will never end.
"$SB" run "${BB[@]}" --timeout 3 --json --extra-flag "--label=symbi.test=$MARK" \
	"echo started; exec sleep 50" >"$WORK/result" 2>"$WORK/err" &
RUN=$!
for _ in $(seq 1 200); do [ -n "$(docker ps -q --filter "label=symbi.test=$MARK")" ] && break; sleep 0.1; done
DPID=$(cat "$STATE_DIR/dockerd.pid")
kill -STOP "$DPID"
expect_run_ends "the run ends although the daemon hangs" 120
kill -CONT "$DPID"
wait "$RUN"
expect_eq "... with status error" "error" "$(result_field status)"
msg=$(result_field error)
check "... and a message about the daemon ($msg)" grep -q "daemon stopped answering" <<<"$msg"
# Once the daemon resumes, it carries out the kill and the removal the run
# sent it: nothing of the hung run is left.
for _ in $(seq 1 100); do [ -z "$(ours)" ] && break; sleep 0.1; done
expect_eq "... and once the daemon resumes, its container is gone" "" "$(ours)"
finish
