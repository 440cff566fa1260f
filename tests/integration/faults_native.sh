#!/usr/bin/env bash
# Faults met while a native sandbox is set up or run: too few descriptors,
# too little memory, a cgroup file system that cannot be written, and the
# CLI killed at random moments. Each must end with a clear error (exit 125
# and a message that names the cause) or a normal result, never a hang or a
# vague failure, and leave nothing behind.
source "$(dirname "$0")/../lib.sh"
require "root" "run the test suite as root (sudo make test)" test "$(id -u)" -eq 0
require "symbi-sandbox binary" "run make first" test -x "$SB"
require "unshare (util-linux)" "apt-get install util-linux" command -v unshare

WORK=$(mktemp -d /tmp/symbi-faults.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
nrun() { "$SB" run --backend native "$@"; }

# ---- EMFILE: every descriptor limit from "almost none" up works or says so
vague=
for n in 4 5 6 8 10 11 12 13 14 16 20 24 32; do
	out=$(bash -c "ulimit -n $n; exec \"\$0\" run --backend native --timeout 10 'echo hi'" "$SB" 2>&1); rc=$?
	if [ "$rc" -eq 0 ] && [ "$out" = hi ]; then continue; fi
	if [ "$rc" -eq 125 ] && grep -q "open files" <<<"$out"; then continue; fi
	vague+="ulimit -n $n: exit $rc: $out; "
done
expect_eq "EMFILE at any step: a result or a clear error naming open files" "" "$vague"

# ---- ENOMEM: the caller's address space is too small for the code it holds
head -c $((32 << 20)) /dev/zero | tr '\0' '#' >"$WORK/big.sh"
out=$(bash -c "ulimit -v 60000; exec \"\$0\" run --backend native --timeout 10 --file \"\$1\"" "$SB" "$WORK/big.sh" 2>&1); rc=$?
check "ENOMEM: a clear error (exit $rc: ${out:0:120})" \
	bash -c '[ "$1" -eq 125 ] && grep -qi "memory" <<<"$2"' _ "$rc" "$out"

# ---- ENOSPC: the file system of the run-id locks is full
out=$(unshare -m --propagation private bash -c '
	mkdir -p /run/symbi-sandbox &&
	mount -t tmpfs -o size=8k,nr_inodes=3 symbi-full /run/symbi-sandbox || exit 99
	i=0; while : 2>/dev/null >"/run/symbi-sandbox/f$i"; do i=$((i + 1)); done
	exec "$0" run --backend native "echo SHOULD-NOT-RUN"' "$SB" 2>&1); rc=$?
expect_eq "ENOSPC where the run-id locks live: refused (125)" "125" "$rc"
check "... naming the path and the cause (${out:0:160})" \
	grep -q "/run/symbi-sandbox.*No space left on device" <<<"$out"
expect_eq "... said once" "1" "$(grep -c "No space left on device" <<<"$out")"
check "... and nothing ran" bash -c '! grep -q SHOULD-NOT-RUN <<<"$1"' _ "$out"

# ---- the cgroup file system cannot be written (read-only, as in some
# containers): as root the run is refused, saying why
out=$(unshare -m --propagation private bash -c '
	for d in /sys/fs/cgroup /sys/fs/cgroup/*; do
		mountpoint -q "$d" && mount -o remount,bind,ro "$d"
	done
	exec "$0" run --backend native "echo SHOULD-NOT-RUN"' "$SB" 2>&1); rc=$?
expect_eq "read-only cgroup file system: refused (125)" "125" "$rc"
check "... naming cgroups and the cause (${out:0:160})" grep -qi "cgroup.*read-only\|read-only.*cgroup" <<<"$out"
check "... and nothing ran" bash -c '! grep -q SHOULD-NOT-RUN <<<"$1"' _ "$out"

# ---- the CLI SIGKILLed at random moments, 100 times: the sandbox dies with
# it and the next run collects what it left
for i in $(seq 1 100); do
	"$SB" run --backend native --timeout 30 "echo start; sleep 0.0$((RANDOM % 10)); echo end" \
		>/dev/null 2>&1 &
	pid=$!
	sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
done
# The sandbox inits die by their parent-death signal; give the kernel a moment.
for _ in $(seq 1 50); do
	pgrep -f 'sleep 0\.0' >/dev/null || break
	sleep 0.1
done
expect_eq "after 100 SIGKILLs: no sandboxed process is left" "" "$(pgrep -af 'echo start; sleep 0\.0|sleep 0\.0[0-9]$')"
expect_eq "the next run works" "ok" "$(nrun 'echo ok' 2>&1)"
expect_eq "... and has collected every cgroup the killed runs left" "" "$(dead_cgroups)"
expect_eq "no sandbox mount on the host" "" "$(grep -E '^symbi-(root|tmp|work|dev|shm) ' /proc/mounts)"
finish
