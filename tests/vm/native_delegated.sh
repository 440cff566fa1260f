#!/usr/bin/env bash
# The native backend run by an unprivileged user in a delegated cgroup v2
# subtree (the cgroup v2 lane runs it in its guest: tests/vm/run). The
# subtree is set up as systemd's Delegate=yes does it: the directory and its
# cgroup.procs, cgroup.subtree_control and cgroup.threads belong to the
# user, its own limits stay root's, and the user's processes sit in a leaf
# (processes and delegated controllers cannot share a cgroup). The limits
# must then come from cgroups in that subtree: an OOM kill under --memory,
# pids.max under --pids-limit, with nothing left behind. The control: the
# same user outside the subtree gets the rlimit fallback.
source "$(dirname "$0")/../lib.sh"
CG=/sys/fs/cgroup
DEL=$CG/symbi-test
TEST_UID=1000

require "root (to delegate a cgroup and switch to the test user)" "run it as root in the lane's guest (tests/vm/run)" \
	test "$(id -u)" -eq 0
require "symbi-sandbox binary" "run make first" test -x "$SB"
require "setpriv" "apt-get install util-linux" setpriv --version
require "python3" "apt-get install python3" python3 --version
require "cgroup v2 mounted at $CG" "run this suite in the cgroup v2 lane's guest: tests/vm/run" \
	test "$(stat -f -c %T "$CG" 2>/dev/null)" = cgroup2fs
require "no $DEL from an earlier run" "rmdir the cgroups under $DEL" test ! -e "$DEL"
require "the memory, pids and cpu controllers" "boot with cgroup_no_v1=all" \
	grep -qE '(^| )memory( .*)? pids' "$CG/cgroup.controllers"

WORK=$(mktemp -d /tmp/symbi-native-deleg.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/gate"
chmod 755 "$WORK/gate"
# Every cgroup under $DEL, deepest first, with anything still in it killed.
remove_delegation() {
	local d
	[ -d "$DEL" ] || return 0
	find "$DEL" -depth -mindepth 1 -type d | while read -r d; do
		echo 1 >"$d/cgroup.kill" 2>/dev/null
		for _ in $(seq 1 50); do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
	done
	rmdir "$DEL"
}
trap 'remove_delegation; rm -rf "$WORK"' EXIT

# ---- the delegation, as root
grep -qw memory "$CG/cgroup.subtree_control" || echo "+memory +pids +cpu" >"$CG/cgroup.subtree_control"
mkdir "$DEL"
echo "+memory +pids +cpu" >"$DEL/cgroup.subtree_control"
chown "$TEST_UID:$TEST_UID" "$DEL" "$DEL/cgroup.procs" "$DEL/cgroup.subtree_control" "$DEL/cgroup.threads"
# The user makes its leaf itself.
setpriv --reuid=$TEST_UID --regid=$TEST_UID --clear-groups mkdir "$DEL/caller"
expect_eq "the user made a leaf in its delegated subtree" "$TEST_UID" "$(stat -c %u "$DEL/caller")"

# as_user CGROUP CMD...: CMD as the test user, started in CGROUP (root moves
# it there: the move crosses the delegation's boundary).
as_user() {
	local into=$1; shift
	bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec setpriv --reuid="$0" --regid="$0" --clear-groups "$@"' \
		"$TEST_UID" "$into" "$@"
}
urun() { as_user "$DEL/caller" "$SB" run --backend native "$@"; }
jfield() { python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print("null" if v is None else (str(v).lower() if isinstance(v,bool) else v))' "$1"; }
# The run cgroups the backend made under the delegated subtree.
run_cgroups() { find "$DEL" -mindepth 1 -type d -name 'symbi-sandbox-*' 2>/dev/null; }

expect_eq "the test user sits in the leaf" "0::/symbi-test/caller" "$(as_user "$DEL/caller" cat /proc/self/cgroup)"

# ---- doctor sees the delegation
json=$(as_user "$DEL/caller" "$SB" doctor --json)
fields=$(python3 -c '
import json, sys
h = json.loads(sys.argv[1])["host"]["cgroups"]
print(h["version"], h["controllers"]["memory"], h["controllers"]["pids"], h["controllers"]["cpu"], h["detail"])
' "$json")
expect_eq "doctor: cgroup v2 with memory, pids and cpu, under the delegated subtree" \
	"2 True True True sandboxes go under $DEL/symbi-sandbox-*" "$fields"
out=$(as_user "$DEL/caller" "$SB" doctor 2>&1)
check "doctor names no cgroup fix" bash -c '! grep -q "^  - cgroups: " <<<"$1"' _ "$out"

# ---- a run's cgroup, seen from outside while the run waits at a gate
urun --timeout 120 --memory 64m --pids-limit 20 --cpus 0.5 -v "$WORK/gate:/gate:ro" \
	'while [ ! -e /gate/go ]; do sleep 0.1; done; echo passed' >"$WORK/gated" 2>"$WORK/gated.err" &
cli=$!
dir=
for _ in $(seq 1 600); do
	dir=$(run_cgroups | head -1)
	[ -n "$dir" ] && [ -n "$(cat "$dir/cgroup.procs" 2>/dev/null)" ] && break
	sleep 0.1
done
expect_eq "the run's cgroup is in the delegated subtree, next to the user's leaf" "$DEL" "${dir%/*}"
expect_eq "... with memory.max = --memory" "67108864" "$(cat "$dir/memory.max" 2>&1)"
expect_eq "... no swap" "0" "$(cat "$dir/memory.swap.max" 2>&1)"
expect_eq "... one OOM kill ends the whole sandbox" "1" "$(cat "$dir/memory.oom.group" 2>&1)"
expect_eq "... pids.max = --pids-limit" "20" "$(cat "$dir/pids.max" 2>&1)"
expect_eq "... cpu.max = --cpus" "50000 100000" "$(cat "$dir/cpu.max" 2>&1)"
owner=$(stat -c %u "$dir/cgroup.procs" 2>&1)
expect_eq "... made by the user (owned by it)" "$TEST_UID" "$owner"
inside=$(xargs -r -n1 sh -c 'stat -c %u /proc/$0' <"$dir/cgroup.procs" 2>/dev/null | sort -u | tr '\n' ' ')
check "... and holds the sandbox's processes (uids: $inside)" test -n "$inside"
touch "$WORK/gate/go"
wait "$cli"
expect_eq "the gated run ends normally" "0 passed" "$? $(cat "$WORK/gated")"
expect_eq "... and its cgroup is gone" "" "$(run_cgroups)"
limits=$(urun --memory 64m --pids-limit 20 'cat /proc/self/limits')
expect_eq "no RLIMIT_AS stands in for the memory cgroup" "unlimited" \
	"$(awk '/^Max address space/ { print $4 }' <<<"$limits")"
check "no RLIMIT_NPROC of 20 stands in for pids.max" \
	test "$(awk '/^Max processes/ { print $3 }' <<<"$limits")" != 20

# ---- memory: the OOM killer, in the delegated subtree
oom_kills() { awk '$1 == "oom_kill" { print $2 }' "$DEL/memory.events"; }
before=$(oom_kills)
json=$(urun --json --memory 64m --lang python 'b = bytearray(512*1024*1024); print(len(b))')
expect_eq "a memory hog is reported as oom" "oom" "$(jfield status <<<"$json")"
expect_eq "... with no exit code" "-1" "$(jfield exit_code <<<"$json")"
after=$(oom_kills)
check "... killed by the OOM killer in the delegated subtree (oom_kill $before -> $after)" \
	test "$after" -gt "$before"
urun --memory 64m --lang python 'b = bytearray(512*1024*1024)' >/dev/null 2>&1
expect_eq "the CLI exits 137 on oom" "137" "$?"
expect_eq "a program under the limit runs" "ok" \
	"$(urun --memory 64m --lang python 'b = bytearray(16*1024*1024); print("ok")')"
# The control: the same user outside the delegated subtree has no cgroup
# of its own: a memory limit is refused (fail closed), and with
# --weak-limits the rlimit fallback turns the hog into a MemoryError.
SESSION=$(sed -n 's/^0:://p' /proc/self/cgroup)
as_user "$CG$SESSION" "$SB" run --backend native --memory 64m --lang python \
	'print("ran")' >"$WORK/control.out" 2>&1
expect_eq "control: outside the subtree a memory limit is refused (125)" "125" "$?"
out=$(as_user "$CG$SESSION" "$SB" run --backend native --weak-limits --memory 64m --lang python \
	'b = bytearray(512*1024*1024)' 2>&1)
check "control: ... and with --weak-limits the same hog gets RLIMIT_AS (MemoryError)" grep -q MemoryError <<<"$out"

# ---- process count: pids.max
out=$(urun --pids-limit 20 --timeout 120 --lang python --file "$ROOT/tests/fork_until_refused.py")
set -- $out
expect_eq "fork past --pids-limit fails with EAGAIN" "EAGAIN" "${1:-}"
check "... after fewer than 20 processes (${2:-?})" test "${2:-99}" -lt 20
urun --pids-limit 64 --timeout 5 --lang bash ':(){ :|:& };:' >/dev/null 2>&1
rc=$?
check "a fork bomb ends (exit $rc)" test "$rc" -ne 125
check "the guest stays responsive" timeout 5 true

# ---- a live sandbox (the shell): its processes see their cgroup at the
# root of their namespace, not the way from the user's leaf to the run's
# cgroup next to it ("0::/../symbi-sandbox-..."), and its init went back
# to the leaf; the memory limit still holds for them
out=$(printf 'cat /proc/self/cgroup\n' | as_user "$DEL/caller" "$SB" shell 2>/dev/null)
expect_eq "live, delegated: a process sees its cgroup as the namespace's root" "0::/" "$out"
out=$(printf 'x=$(head -c 300m /dev/zero | tr "\\\\0" a); echo survived\n' |
	as_user "$DEL/caller" "$SB" shell --memory 32m 2>/dev/null)
rc=$?
expect_eq "live, delegated: a memory hog is OOM-killed within the limit (137)" "137|" "$rc|$out"
expect_eq "live, delegated: the init went back to the leaf and is gone with the sandbox (the leaf is empty)" "" \
	"$(cat "$DEL/caller/cgroup.procs")"

# ---- timeout, and nothing left behind
urun --timeout 1 'sleep 60' >/dev/null 2>&1
expect_eq "a timeout kills the sandbox (124)" "124" "$?"
expect_eq "no run cgroup left in the delegated subtree" "" "$(run_cgroups)"
expect_eq "no process of the test user left" "" "$(ps -u $TEST_UID -o pid=,args=)"
expect_eq "no process of the sandbox user left" "" "$(ps -u 65534 -o pid=,args=)"
finish
