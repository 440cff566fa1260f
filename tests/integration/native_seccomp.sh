#!/usr/bin/env bash
# The seccomp allow list of the native backend (src/backends/syscall_policy.c),
# tried from inside with the static probe. Every assertion is an answer
# that only the filter gives (ENOSYS for a syscall off the list,
# EAFNOSUPPORT for a refused socket family, EPERM where the kernel itself
# would allow the call, SIGSYS for a foreign ABI), next to a control run of
# the same probe on the host that answers differently. So a sandbox without
# the filter fails these tests.
source "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

require "root" "run the test suite as root (sudo make test)" test "$(id -u)" -eq 0
require "symbi-sandbox binary" "run make first" test -x "$SB"
require "a C compiler with static glibc" "apt-get install gcc libc6-dev" cc --version

WORK=$(mktemp -d /tmp/symbi-native-seccomp.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/probe"
if ! cc -static -O1 -o "$WORK/probe/probe" "$HERE/native_probe.c" 2>"$WORK/cc.log"; then
	not_ok "build the static probe" "$(cat "$WORK/cc.log")"
	finish
fi
PROBE=$WORK/probe/probe
inside() { "$SB" run --backend native -v "$WORK/probe:/probe:ro" "/probe/probe $*" 2>&1; }
host() { "$PROBE" "$@" </dev/null 2>&1; }

expect_eq "the probe runs inside the sandbox" "ok" "$(inside fork)"

# ---- socket families: what loopback programs use works...
for fam in unix inet inet6 route; do
	expect_eq "socket $fam works inside" "ok" "$(inside socket "$fam")"
done
# ... and the rest is refused. The control shows the kernel would allow it.
for fam in vsock packet uevent; do
	expect_eq "control: socket $fam works on the host" "ok" "$(host socket "$fam")"
	expect_eq "socket $fam: EAFNOSUPPORT inside" "EAFNOSUPPORT" "$(inside socket "$fam")"
done
# This kernel may have no AF_ALG at all; then the control cannot tell.
alg=$(host socket alg)
check "control: socket alg on the host: ok, or EAFNOSUPPORT from a kernel without it ($alg)" \
	test "$alg" = ok -o "$alg" = EAFNOSUPPORT
expect_eq "socket alg: EAFNOSUPPORT inside" "EAFNOSUPPORT" "$(inside socket alg)"
expect_eq "control: socketpair(AF_INET) on the host: EOPNOTSUPP" "EOPNOTSUPP" "$(host socketpair-inet)"
expect_eq "socketpair(AF_INET): EAFNOSUPPORT inside (AF_UNIX only)" "EAFNOSUPPORT" \
	"$(inside socketpair-inet)"

# ---- syscalls off the list answer ENOSYS, new ones included
expect_eq "control: mseal (462) works on the host" "ok" "$(host syscall 462)"
expect_eq "mseal (462, unknown to libseccomp 2.5.4): ENOSYS inside" "ENOSYS" "$(inside syscall 462)"
expect_eq "control: open_tree_attr (467) reaches the kernel on the host" "EFAULT" "$(host syscall 467)"
expect_eq "open_tree_attr (467): ENOSYS inside" "ENOSYS" "$(inside syscall 467)"
expect_eq "control: memfd_secret (447) works on the host" "ok" "$(host syscall 447)"
expect_eq "memfd_secret (447): ENOSYS inside" "ENOSYS" "$(inside syscall 447)"

# ---- namespaces: refused by the filter alone (with a user namespace the
# kernel would grant them to anyone)
expect_eq "control: clone(CLONE_NEWUSER|CLONE_NEWNS) works on the host" "ok" "$(host clone-newuser)"
expect_eq "clone(CLONE_NEWUSER|CLONE_NEWNS): EPERM inside" "EPERM" "$(inside clone-newuser)"
expect_eq "control: clone3(CLONE_NEWUSER) works on the host" "ok" "$(host clone3-newuser)"
expect_eq "clone3(CLONE_NEWUSER): ENOSYS inside (no user namespace with full capabilities)" \
	"ENOSYS" "$(inside clone3-newuser)"
expect_eq "clone3 without flags: ENOSYS inside (libc falls back to clone)" "ENOSYS" "$(inside clone3)"
expect_eq "fork through clone without namespace flags works inside" "ok" "$(inside fork)"

# ---- argument filters
expect_eq "control: TIOCSTI on a non-terminal on the host: ENOTTY" "ENOTTY" "$(host tiocsti)"
expect_eq "TIOCSTI: EPERM inside" "EPERM" "$(inside tiocsti)"
expect_eq "TIOCSTI with the upper half of the request set: EPERM inside" "EPERM" "$(inside tiocsti-high)"
expect_eq "personality query works inside" "ok" "$(inside personality-query)"
expect_eq "control: personality(ADDR_NO_RANDOMIZE) works on the host" "ok" "$(host personality)"
expect_eq "personality(ADDR_NO_RANDOMIZE): EPERM inside" "EPERM" "$(inside personality)"

# ---- foreign ABIs are killed
x32=$(host x32)
check "control: an x32 syscall on the host returns ($x32), it is not killed" test -n "$x32"
"$SB" run --backend native -v "$WORK/probe:/probe:ro" "/probe/probe x32" >/dev/null 2>&1
expect_eq "an x32 syscall is killed by SIGSYS (exit 128+31)" "159" "$?"
finish
