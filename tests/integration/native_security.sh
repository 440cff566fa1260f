#!/usr/bin/env bash
# The native backend's isolation, tested from inside with a static probe
# that tries one operation and prints "ok" or the errno's name. Each
# refusal is asserted exactly; where it is safe, the same probe run on the
# host (or in a bare namespace) is the control showing that it works there.
source "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

require "root" "run the test suite as root (sudo make test)" test "$(id -u)" -eq 0
require "symbi-sandbox binary" "run make first" test -x "$SB"
require "a C compiler with static glibc" "apt-get install gcc libc6-dev" cc --version
require "python3" "apt-get install python3" python3 --version

WORK=$(mktemp -d /tmp/symbi-native-sec.XXXXXX)
SERVER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/probe"
if ! cc -static -O1 -o "$WORK/probe/probe" "$HERE/native_probe.c" 2>"$WORK/cc.log"; then
	not_ok "build the static probe" "$(cat "$WORK/cc.log")"
	finish
fi

nrun() { "$SB" run --backend native "$@"; }
# inside ACTION [ARG]: the probe's answer from inside a native sandbox.
inside() { nrun -v "$WORK/probe:/probe:ro" "/probe/probe $*" 2>&1; }

# A sandbox that failed to start must not pass: the probe runs at all.
expect_eq "the probe runs inside the sandbox" "ok" "$(inside write /tmp/x)"
expect_eq "identity: unprivileged uid/gid" "uid=65534 gid=65534" \
	"$(nrun 'echo "uid=$(id -u) gid=$(id -g)"')"
expect_eq "no capabilities, no_new_privs, seccomp filter on" \
	"CapInh:0000000000000000 CapPrm:0000000000000000 CapEff:0000000000000000 CapBnd:0000000000000000 CapAmb:0000000000000000 NoNewPrivs:1 Seccomp:2" \
	"$(nrun "grep -E '^(Cap[A-Za-z]+|NoNewPrivs|Seccomp):' /proc/self/status | tr -d '\t' | tr '\n' ' ' | sed 's/ \$//'")"

# From the host: the program's and the init's real, effective and saved
# uids are all the run's host uid. Inside, an unmapped uid (the caller's
# root) shows as 65534 too, so only the host can tell.
nrun 'exec sleep 4.37' >/dev/null 2>&1 &
RUN=$!
prog=
for _ in $(seq 1 200); do prog=$(pgrep -x -f 'sleep 4.37' | head -1); [ -n "$prog" ] && break; sleep 0.02; done
init=$(ps -o ppid= -p "${prog:-0}" 2>/dev/null | tr -d ' ')
ids=$(ps -o ruid=,euid=,suid= -p "${prog:-0}" -p "${init:-0}" 2>/dev/null | awk '{print $1, $2, $3}' | sort -u)
wait "$RUN"
check "the program and the init found on the host ($prog, $init)" test -n "$prog" -a -n "$init"
expect_eq "... their real, effective and saved uids are the run's host uid, none root's" \
	"1" "$(printf '%s\n' "$ids" | awk 'NF == 3 && $1 == $2 && $2 == $3 && $1 != 0' | wc -l)"

# ---- host secrets are not there at all
expect_eq "control: the host has /etc/shadow" "ok" "$("$WORK/probe/probe" read /etc/shadow)"
expect_eq "read /etc/shadow: ENOENT" "ENOENT" "$(inside read /etc/shadow)"
expect_eq "read /root: ENOENT" "ENOENT" "$(inside read /root)"
expect_eq "read /home: ENOENT" "ENOENT" "$(inside read /home)"
expect_eq "read the project tree (/work): ENOENT" "ENOENT" "$(inside read "$HERE")"
expect_eq "read the host's /var/run: ENOENT" "ENOENT" "$(inside read /var/run)"
expect_eq "no /sys" "ENOENT" "$(inside read /sys/kernel)"

# ---- writes outside /tmp and the working directory
expect_eq "write /tmp: ok" "ok" "$(inside write /tmp/f)"
expect_eq "write /workspace: ok" "ok" "$(inside write /workspace/f)"
expect_eq "write /: EROFS" "EROFS" "$(inside write /newfile)"
expect_eq "write /usr/bin: EROFS" "EROFS" "$(inside write /usr/bin/evil)"
expect_eq "write /etc/passwd: EROFS" "EROFS" "$(inside write /etc/passwd)"
expect_eq "write /etc (new file): EROFS" "EROFS" "$(inside write /etc/evil)"
expect_eq "write /proc/sys: EACCES" "EACCES" "$(inside write /proc/sys/kernel/hostname)"
expect_eq "write into a read-only volume: EROFS" "EROFS" "$(inside write /probe/evil)"
check "the host's files are untouched" test ! -e /newfile -a ! -e "$WORK/probe/evil"

# ---- refused system calls, each with a control. The answers are the
# seccomp filter's own (ENOSYS: not on the allow list; EPERM where the
# kernel would allow the call), so they fail without it; native_seccomp.sh
# has the rest of the filter's checks.
mkdir -p "$WORK/mnt"
expect_eq "control: mount works in a private mount namespace" "ok" \
	"$(unshare -m --propagation private "$WORK/probe/probe" mount "$WORK/mnt")"
check "the control's mount stayed in its namespace" bash -c "! grep -q ' $WORK/mnt ' /proc/self/mountinfo"
expect_eq "mount: ENOSYS" "ENOSYS" "$(inside mount /tmp)"
expect_eq "control: ptrace of a child works on the host" "ok" "$("$WORK/probe/probe" ptrace)"
expect_eq "ptrace of a process: ENOSYS" "ENOSYS" "$(inside ptrace)"
expect_eq "control: unshare(CLONE_NEWUSER) works on the host" "ok" "$("$WORK/probe/probe" unshare)"
expect_eq "unshare: EPERM" "EPERM" "$(inside unshare)"
expect_eq "control: clone(CLONE_NEWUSER|CLONE_NEWNS) works on the host" "ok" \
	"$("$WORK/probe/probe" clone-newuser)"
expect_eq "clone(CLONE_NEWUSER|CLONE_NEWNS): EPERM" "EPERM" "$(inside clone-newuser)"
expect_eq "control: keyctl works on the host" "ok" "$("$WORK/probe/probe" keyctl)"
expect_eq "keyctl: ENOSYS" "ENOSYS" "$(inside keyctl)"
expect_eq "control: bpf works on the host" "ok" "$("$WORK/probe/probe" bpf)"
expect_eq "bpf: ENOSYS" "ENOSYS" "$(inside bpf)"
expect_eq "control: io_uring_setup works on the host" "ok" "$("$WORK/probe/probe" io_uring)"
expect_eq "io_uring_setup: ENOSYS" "ENOSYS" "$(inside io_uring)"
expect_eq "control: personality works on the host" "ok" "$("$WORK/probe/probe" personality)"
expect_eq "personality change: EPERM" "EPERM" "$(inside personality)"
expect_eq "setuid(0): EINVAL (uid 0 does not exist in the run's user namespace)" "EINVAL" "$(inside setuid0)"
expect_eq "control: a 32-bit syscall (int 0x80) works on the host" "ok" "$("$WORK/probe/probe" int80)"
nrun -v "$WORK/probe:/probe:ro" "/probe/probe int80" >/dev/null 2>&1
expect_eq "a 32-bit syscall (int 0x80) is killed by SIGSYS (exit 128+31)" "159" "$?"

# ---- host processes are invisible and out of reach
sleep 300 &
VICTIM=$!
expect_eq "kill -9 of a host process (pid $VICTIM): ESRCH" "ESRCH" "$(inside kill "$VICTIM")"
check "the host process is still alive" kill -0 "$VICTIM"
kill "$VICTIM"; wait "$VICTIM" 2>/dev/null
expect_eq "kill -9 of the supervisor's parent (pid $$): ESRCH" "ESRCH" "$(inside kill $$)"
# The init is the run's uid too, so kill() is allowed, but the kernel drops
# a signal sent to a pid namespace's init from inside it (no handler).
expect_eq "kill -9 of the sandbox init (pid 1) has no effect: the run goes on" "ok survived" \
	"$(nrun -v "$WORK/probe:/probe:ro" '/probe/probe kill 1; echo survived' 2>&1 | tr '\n' ' ' | sed 's/ $//')"
# The init is a copy of the supervising process: its memory and environment
# stay out of the program's reach (other uid, not dumpable).
expect_eq "read the sandbox init's memory: EACCES" "EACCES" "$(inside read /proc/1/mem)"
expect_eq "read the sandbox init's environment: EACCES" "EACCES" "$(inside read /proc/1/environ)"
npids=$(nrun 'ls /proc | grep -c "^[0-9]"')
check "/proc lists only the sandbox's processes ($npids)" test "$npids" -le 4
expect_eq "the host's pid $$ is not in /proc" "ENOENT" "$(inside read /proc/$$/status)"
expect_eq "hostname is the sandbox's" "sandbox" "$(nrun hostname)"
# System V IPC: a message queue of the host is not in the sandbox's namespace.
QID=$(ipcmk -Q | awk '{print $NF}')
check "control: the host lists its message queue $QID" bash -c "ipcs -q | awk '{print \$2}' | grep -qx '$QID'"
expect_eq "the host's System V message queues are not visible inside" "0" \
	"$(nrun "ipcs -q | grep -c '^0x'")"
ipcrm -q "$QID"

# ---- network: the host's loopback is out of reach
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$WORK/probe" "$PORT" >/dev/null 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 50); do "$WORK/probe/probe" connect "$PORT" >/dev/null 2>&1 && break; sleep 0.1; done
expect_eq "control: the server on host loopback answers from the host" "ok" \
	"$("$WORK/probe/probe" connect "$PORT")"
expect_eq "connect to the host's loopback server: ECONNREFUSED" "ECONNREFUSED" "$(inside connect "$PORT")"
expect_eq "with --network host it is reachable" "ok" \
	"$(nrun --network host -v "$WORK/probe:/probe:ro" "/probe/probe connect $PORT" 2>&1)"
out=$(SYMBIONT_ENV=production nrun --network host true 2>&1); rc=$?
expect_eq "--network host is refused in production (125)" "125" "$rc"
check "... saying why" grep -q "production" <<<"$out"
out=$(SYMBIONT_ENV=prodcution nrun --network host true 2>&1); rc=$?
expect_eq "--network host is refused when SYMBIONT_ENV is unknown" "125" "$rc"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=

# ---- volumes are validated like Docker's
for bad in /etc:/x /:/x /proc:/p /root:/r "$WORK/../../etc:/x" "$WORK/probe:/usr/x"; do
	out=$(nrun -v "$bad" true 2>&1); rc=$?
	expect_eq "volume $bad is refused (125)" "125" "$rc"
done
ln -s /etc "$WORK/etc-link"
out=$(nrun -v "$WORK/etc-link:/x" true 2>&1); rc=$?
expect_eq "a symlink to /etc as volume is refused" "125" "$rc"

# ---- environment: cleared
out=$(SYMBI_HOST_SECRET=leak nrun -e 'V=a b "c" $d' 'env')
check "the host's environment does not leak" bash -c '! grep -q SYMBI_HOST_SECRET <<<"$1"' _ "$out"
check "the caller's variable arrives intact" grep -qx 'V=a b "c" $d' <<<"$out"
expect_eq "only PATH, HOME, LANG, PWD and the caller's variables" "HOME LANG PATH PWD V" \
	"$(sed 's/=.*//' <<<"$out" | sort | tr '\n' ' ' | sed 's/ $//')"

# ---- nothing left behind
expect_eq "no cgroup left behind" "" "$(dead_cgroups)"
expect_eq "no sandbox mount on the host" "" "$(grep -E '^symbi-(root|tmp|work|dev|shm) ' /proc/mounts)"
expect_eq "no process of a run's host id left" "" "$(run_id_procs)"
finish
