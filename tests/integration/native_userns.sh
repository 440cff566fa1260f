#!/usr/bin/env bash
# The native backend run by an unprivileged user: a user namespace maps the
# caller to the sandbox uid; without delegated cgroups the limits fall back
# to rlimits. The same isolation holds.
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
urun() { setpriv --reuid=1000 --regid=1000 --clear-groups "$SB" run --backend native "$@"; }
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
out=$(urun --memory 64m --lang python 'b = bytearray(512*1024*1024)' 2>&1)
check "memory falls back to RLIMIT_AS (MemoryError)" grep -q MemoryError <<<"$out"
expect_eq "a timeout still kills the sandbox (124)" "124" "$(urun --timeout 1 'sleep 30' >/dev/null 2>&1; echo $?)"
expect_eq "no cgroup left behind" "" "$(dead_cgroups)"
expect_eq "no process of the test user left" "" "$(ps -u 1000 -o pid=,args=)"
finish
