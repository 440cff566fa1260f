#!/usr/bin/env bash
# The Docker backend's seccomp profile (the native backend's allow list,
# src/backends/syscall_policy.c, as Docker JSON), tried from inside a
# container on the real engine with the static probe. Controls: the same
# probe under the engine's default profile (what Docker gives without us),
# or with no filter at all where the default profile refuses too.
source "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

require_engine
require "the CLI" "run make" test -x "$SB"
require "a C compiler with static glibc" "apt-get install gcc libc6-dev" cc --version

WORK=$(mktemp -d /tmp/symbi-docker-seccomp.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
mkdir -p "$WORK/probe"
if ! cc -static -O1 -o "$WORK/probe/probe" "$HERE/native_probe.c" 2>"$WORK/cc.log"; then
	not_ok "build the static probe" "$(cat "$WORK/cc.log")"
	finish
fi
chmod -R a+rX "$WORK"
BB=(--backend docker --image symbi-test/busybox:latest)
# Ours are the labelled containers that were not there before (other
# suites may run at the same time).
containers() { docker ps -aq --no-trunc --filter "label=io.symbi.sandbox" | sort; }
before=$(containers)
new_containers() { comm -13 <(echo "$before") <(containers); }
inside() { "$SB" run "${BB[@]}" -v "$WORK/probe:/probe:ro" "/probe/probe $*" 2>&1; }
# control SECCOMP-OPT ACTION...: the probe in a plain container with the
# backend's other hardening (no capabilities, no_new_privs, no network).
control() {
	local opt=$1; shift
	docker run --rm --network none --cap-drop ALL --security-opt no-new-privileges \
		${opt:+--security-opt "$opt"} -v "$WORK/probe:/probe:ro" symbi-test/busybox:latest \
		/probe/probe "$@" 2>&1
}

expect_eq "the probe runs in the container" "ok" "$(inside fork)"

# ---- socket families
expect_eq "control: the engine's default profile admits AF_VSOCK" "ok" "$(control "" socket vsock)"
expect_eq "AF_VSOCK socket: EAFNOSUPPORT" "EAFNOSUPPORT" "$(inside socket vsock)"
expect_eq "control: the engine's default profile lets a container bind NETLINK_KOBJECT_UEVENT" "ok" \
	"$(control "" socket uevent)"
expect_eq "NETLINK_KOBJECT_UEVENT socket: EAFNOSUPPORT" "EAFNOSUPPORT" "$(inside socket uevent)"
expect_eq "control: the engine's default profile admits AF_PACKET (then the capability check)" "EPERM" \
	"$(control "" socket packet)"
expect_eq "AF_PACKET socket: EAFNOSUPPORT" "EAFNOSUPPORT" "$(inside socket packet)"
for fam in unix inet inet6 route; do
	expect_eq "socket $fam works in the container" "ok" "$(inside socket "$fam")"
done

# ---- off the list: ENOSYS (the default profile says EPERM)
expect_eq "control: mount under the engine's default profile: EPERM" "EPERM" "$(control "" mount /tmp)"
expect_eq "mount: ENOSYS" "ENOSYS" "$(inside mount /tmp)"
expect_eq "control: bpf under the engine's default profile: EPERM" "EPERM" "$(control "" bpf)"
expect_eq "bpf: ENOSYS" "ENOSYS" "$(inside bpf)"
expect_eq "io_uring_setup: ENOSYS" "ENOSYS" "$(inside io_uring)"
expect_eq "mseal (462): ENOSYS" "ENOSYS" "$(inside syscall 462)"

# ---- namespaces and argument filters: with no filter these work
expect_eq "control: with no filter clone(CLONE_NEWUSER|CLONE_NEWNS) works in a container" "ok" \
	"$(control seccomp=unconfined clone-newuser)"
expect_eq "clone(CLONE_NEWUSER|CLONE_NEWNS): EPERM" "EPERM" "$(inside clone-newuser)"
expect_eq "control: with no filter clone3(CLONE_NEWUSER) works in a container" "ok" \
	"$(control seccomp=unconfined clone3-newuser)"
expect_eq "clone3(CLONE_NEWUSER): ENOSYS" "ENOSYS" "$(inside clone3-newuser)"
expect_eq "control: with no filter TIOCSTI on a non-terminal: ENOTTY" "ENOTTY" \
	"$(control seccomp=unconfined tiocsti)"
expect_eq "TIOCSTI: EPERM" "EPERM" "$(inside tiocsti)"
expect_eq "control: with no filter personality(ADDR_NO_RANDOMIZE) works" "ok" \
	"$(control seccomp=unconfined personality)"
expect_eq "personality(ADDR_NO_RANDOMIZE): EPERM" "EPERM" "$(inside personality)"

# ---- foreign ABIs: the default profile admits x32 (the kernel then
# answers); ours leaves it out of the filter, which kills
expect_eq "control: an x32 syscall under the engine's default profile reaches the kernel" "ENOSYS" \
	"$(control "" x32)"
"$SB" run "${BB[@]}" -v "$WORK/probe:/probe:ro" "/probe/probe x32" >/dev/null 2>&1
expect_eq "an x32 syscall is killed by SIGSYS (128+31)" "159" "$?"

# ---- what programs do still works (glibc falls back from clone3 to clone)
expect_eq "python in the container: threads, subprocess, a loopback server" "[0, 1, 4] 42 PING" \
	"$("$SB" run --backend docker --image symbi-test/python:latest --shell python3 '
import socket, subprocess, threading
out = []
ts = [threading.Thread(target=lambda i=i: out.append(i * i)) for i in range(3)]
for t in ts: t.start()
for t in ts: t.join()
n = subprocess.check_output(["sh", "-c", "echo $((6*7))"], text=True).strip()
srv = socket.create_server(("127.0.0.1", 0))
def echo():
    c, _ = srv.accept()
    c.sendall(c.recv(8).upper())
t = threading.Thread(target=echo)
t.start()
cl = socket.create_connection(srv.getsockname())
cl.sendall(b"ping")
print(sorted(out), n, cl.recv(8).decode())
t.join()' 2>&1)"

expect_eq "no container left behind" "" "$(new_containers)"
finish
