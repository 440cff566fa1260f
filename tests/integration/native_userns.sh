#!/usr/bin/env bash
# The native backend run by an unprivileged user: a user namespace maps the
# caller to the sandbox uid; without delegated cgroups, memory and pids
# limits are refused unless --weak-limits accepts rlimits (with a warning).
# The same isolation holds.
source "$(dirname "$0")/../lib.sh"
# Cgroups of runs whose supervising process is gone (a live one may belong
# to another suite running at the same time).
dead_cgroups() {
	local d pid
	find /sys/fs/cgroup -name 'symbi-sandbox-*' 2>/dev/null | while read -r d; do
		pid=${d##*/symbi-sandbox-}; pid=${pid%%-*}
		kill -0 "$pid" 2>/dev/null || echo "$d"
	done
}
HERE=$(cd "$(dirname "$0")" && pwd)

require "root (to switch to an unprivileged test user)" "run the test suite as root" test "$(id -u)" -eq 0
require "setpriv" "apt-get install util-linux" setpriv --version
require "a C compiler with static glibc" "apt-get install gcc libc6-dev" cc --version
require "unprivileged user namespaces" "sysctl -w user.max_user_namespaces=15000" \
	setpriv --reuid=1000 --regid=1000 --clear-groups unshare -U true

WORK=$(mktemp -d /tmp/symbi-native-userns.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
mkdir -p "$WORK/probe"
cc -static -O1 -o "$WORK/probe/probe" "$HERE/native_probe.c" || { not_ok "build the probe"; finish; }
chmod -R a+rX "$WORK"
# Runs as the test user; urun accepts rlimits for the default limits.
strict() { setpriv --reuid=1000 --regid=1000 --clear-groups "$SB" run --backend native "$@"; }
urun() { strict --weak-limits "$@" 2>&1 | grep -v '^symbi-sandbox: WARNING: no cgroup'; return "${PIPESTATUS[0]}"; }
inside() { urun -v "$WORK/probe:/probe:ro" "/probe/probe $*" 2>&1; }

expect_eq "runs as the sandbox uid inside" "65534 65534" "$(urun 'echo $(id -u) $(id -g)')"
expect_eq "mapped to the caller outside" "65534 1000 1" "$(urun 'cat /proc/self/uid_map' | tr -s ' ' | sed 's/^ //')"
expect_eq "no capabilities" "0000000000000000" "$(urun "grep CapEff /proc/self/status | cut -f2")"
expect_eq "read /etc/shadow: ENOENT" "ENOENT" "$(inside read /etc/shadow)"
expect_eq "write /usr: EROFS" "EROFS" "$(inside write /usr/x)"
expect_eq "mount: ENOSYS (seccomp)" "ENOSYS" "$(inside mount /tmp)"
expect_eq "unshare: EPERM" "EPERM" "$(inside unshare)"
expect_eq "clone3(CLONE_NEWUSER): ENOSYS (seccomp)" "ENOSYS" "$(inside clone3-newuser)"
expect_eq "AF_VSOCK socket: EAFNOSUPPORT (seccomp)" "EAFNOSUPPORT" "$(inside socket vsock)"
expect_eq "setuid(0): EINVAL (uid 0 does not exist in the namespace)" "EINVAL" "$(inside setuid0)"
expect_eq "the init's memory: EACCES" "EACCES" "$(inside read /proc/1/mem)"
expect_eq "write the working directory: ok" "ok" "$(inside write /workspace/f)"
# ---- fail closed: this user gets no cgroup here (cgroup v1, not delegated)
require "no cgroup for the test user (the refusal below needs a host without delegation)" \
	"run on a host where uid 1000 has no delegated cgroup" \
	bash -c 'setpriv --reuid=1000 --regid=1000 --clear-groups "$1" doctor --json | python3 -c "import json, sys; sys.exit(json.load(sys.stdin)[\"host\"][\"cgroups\"][\"controllers\"][\"memory\"])"' _ "$SB"
out=$(strict 'echo ran' 2>&1); rc=$?
expect_eq "default limits without a cgroup: refused (125)" "125" "$rc"
check "the refusal names the fixes (root, delegated cgroup, --weak-limits)" \
	bash -c 'grep -q "cannot enforce memory_limit and pids_limit as totals" <<<"$1" && grep -q "Run as root, or in a delegated cgroup" <<<"$1" && grep -q -- "--weak-limits" <<<"$1" && ! grep -q ran <<<"$1"' _ "$out"
out=$(strict --memory 64m --pids-limit none 'echo ran' 2>&1); rc=$?
expect_eq "--memory 64m alone: refused (125)" "125" "$rc"
out=$(strict --memory none --pids-limit 10 'echo ran' 2>&1); rc=$?
expect_eq "--pids-limit 10 alone: refused (125)" "125" "$rc"
expect_eq "no memory and no pids limit: runs, no warning" "ran" \
	"$(strict --memory none --pids-limit none 'echo ran' 2>&1)"
out=$(strict --weak-limits --memory 64m 'echo ran' 2>"$WORK/err"); rc=$?
expect_eq "--weak-limits: runs" "0 ran" "$rc $out"
check "--weak-limits: run warns on stderr that limits are per process" \
	grep -q '^symbi-sandbox: WARNING: no cgroup can be made here .*RLIMIT_AS.*not totals' "$WORK/err"
printf '{"weak_limits": true, "memory_limit": "64m"}' >"$WORK/weak.json"
expect_eq "weak_limits from a JSON config: runs" "ran" \
	"$(strict -c "$WORK/weak.json" 'echo ran' 2>/dev/null)"
out=$(setpriv --reuid=1000 --regid=1000 --clear-groups "$SB" doctor 2>&1)
check "doctor says native refuses limits here and runs with --weak-limits" \
	grep -qE '^  native +NO +\(default\) refuses to run with memory or pids limits: .*runs with --weak-limits' <<<"$out"
out=$(strict --workdir /.oldroot/tmp/symbi-userns-$$/sub pwd 2>&1); rc=$?
expect_eq "--workdir under /.oldroot: refused (125)" "125" "$rc"
check "--workdir under /.oldroot: nothing on the host" test ! -e /tmp/symbi-userns-$$

out=$(urun --memory 64m --lang python 'b = bytearray(512*1024*1024)' 2>&1)
check "memory falls back to RLIMIT_AS (MemoryError)" grep -q MemoryError <<<"$out"
expect_eq "a timeout still kills the sandbox (124)" "124" "$(urun --timeout 1 'sleep 30' >/dev/null 2>&1; echo $?)"
expect_eq "no cgroup left behind" "" "$(dead_cgroups)"
expect_eq "no process of the test user left" "" "$(ps -u 1000 -o pid=,args=)"
finish
