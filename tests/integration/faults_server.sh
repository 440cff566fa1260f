#!/usr/bin/env bash
# Faults met by the HTTP server: a state directory it cannot write, and a
# server SIGKILLed at random moments 100 times, mid-request or not. The
# first must end with a clear error before listening; after the second, a
# new server on the same state directory starts, removes what the killed
# ones left (cgroups of their runs, their directories), and nothing else is
# left on the host: no workspace mount (each server had its own mount
# namespace), no sandboxed process.
source "$(dirname "$0")/../lib.sh"
require "root" "run the test suite as root (sudo make test)" test "$(id -u)" -eq 0
require "the CLI" "run make" test -x "$SB"
require "curl" "apt-get install curl (scripts/setup installs it)" command -v curl
require "unshare (util-linux)" "apt-get install util-linux" command -v unshare

WORK=$(mktemp -d /tmp/symbi-faults-server.XXXXXX)
SERVER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
# start_server STATE-DIR: a server on a kernel-chosen port; sets SERVER_PID
# and PORT, or returns 1.
start_server() {
	rm -f "$WORK/ready"
	"$SB" serve --listen 127.0.0.1:0 --state-dir "$1" --ready-file "$WORK/ready" \
		--max-running 2 --max-queued 8 2>>"$WORK/server.err" &
	SERVER_PID=$!
	for _ in $(seq 1 200); do [ -s "$WORK/ready" ] && break; kill -0 "$SERVER_PID" 2>/dev/null || return 1; sleep 0.05; done
	PORT=$(cat "$WORK/ready" 2>/dev/null)
	[ -n "$PORT" ]
}
execute() { # CODE: an execute on the current server, in the background
	curl -s -o /dev/null --max-time 30 -X POST -H 'Content-Type: application/json' \
		"http://127.0.0.1:$PORT/v1/execute" -d "{\"code\":\"$1\"}" &
}

# ---- a state directory that cannot be written: refused at start, saying so
mkdir -p "$WORK/ro-state"
out=$(unshare -m --propagation private bash -c '
	mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" &&
	exec "$0" serve --listen 127.0.0.1:0 --state-dir "$1"' "$SB" "$WORK/ro-state" 2>&1); rc=$?
check "a read-only state directory: the server does not start (exit $rc)" test "$rc" -ne 0
check "... saying why (${out:0:160})" grep -qiE "read-only|Read-only file system" <<<"$out"
expect_eq "... and leaves nothing in it" "" "$(ls -A "$WORK/ro-state")"

# ---- SIGKILL at random moments, 100 times, on one state directory
STATE=$WORK/state
killed=0
for i in $(seq 1 100); do
	start_server "$STATE" || { not_ok "server $i starts" "$(tail -3 "$WORK/server.err")"; break; }
	# Half the time mid-request: a run that is still going when the server dies.
	[ $((RANDOM % 2)) -eq 0 ] && execute "echo start; sleep 2; echo end"
	sleep "0.$((RANDOM % 3))$((RANDOM % 10))"
	kill -KILL "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=
	killed=$((killed + 1))
done
# And once for certain mid-run: killed while its run's cgroup exists.
if start_server "$STATE"; then
	execute "sleep 20"
	for _ in $(seq 1 100); do
		[ -n "$(find /sys/fs/cgroup -name "symbi-sandbox-$SERVER_PID-*" 2>/dev/null)" ] && break
		sleep 0.05
	done
	check "a server killed mid-run leaves its run's cgroup" \
		test -n "$(find /sys/fs/cgroup -name "symbi-sandbox-$SERVER_PID-*" 2>/dev/null)"
	kill -KILL "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=
fi
wait # the curls, which fail with their server
expect_eq "100 servers started and were SIGKILLed" 100 "$killed"
# The killed servers' sandboxes die with them (parent-death signal).
for _ in $(seq 1 50); do pgrep -f 'sleep 2; echo end|sleep 20' >/dev/null || break; sleep 0.1; done
expect_eq "no sandboxed process outlives its server" "" "$(pgrep -af 'echo start; sleep 2|^sleep 20$')"
expect_eq "no workspace mount is left (each server had its own namespace)" "" \
	"$(grep -F " $STATE" /proc/self/mountinfo)"
check "a new server on the same state directory starts" start_server "$STATE"
expect_eq "... and has removed the cgroups of the killed servers' runs" "" "$(dead_cgroups)"
inst=$(find "$STATE" -mindepth 2 -maxdepth 2 -type d | wc -l)
expect_eq "... and their directories (only its own instance is left)" 1 "$inst"
out=$(curl -s --max-time 30 -X POST -H 'Content-Type: application/json' \
	"http://127.0.0.1:$PORT/v1/execute" -d '{"code":"echo ok"}')
check "... and runs code ($out)" grep -q '"stdout":"ok\\n"' <<<"$out"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"; rc=$?; SERVER_PID=
expect_eq "... and stops cleanly on SIGTERM" 0 "$rc"
finish
