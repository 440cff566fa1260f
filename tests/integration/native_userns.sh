#!/usr/bin/env bash
# The native backend run by an unprivileged user: a user namespace maps the
# caller to the sandbox uid; without delegated cgroups, memory and pids
# limits are refused unless --weak-limits accepts rlimits (with a warning).
# The same isolation holds.
source "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

require "root (to switch to an unprivileged test user)" "run the test suite as root" test "$(id -u)" -eq 0
require "setpriv" "apt-get install util-linux" setpriv --version
require "a C compiler with static glibc" "apt-get install gcc libc6-dev" cc --version
require "unprivileged user namespaces" "sysctl -w user.max_user_namespaces=15000" \
	setpriv --reuid=1000 --regid=1000 --clear-groups unshare -U true

WORK=$(mktemp -d /tmp/symbi-native-userns.XXXXXX)
trap 'rm -rf "$WORK" /tmp/symbi-sandbox-ids-1000' EXIT
chmod 755 "$WORK"
mkdir -p "$WORK/probe"
cc -static -O1 -o "$WORK/probe/probe" "$HERE/native_probe.c" || { not_ok "build the probe"; finish; }
chmod -R a+rX "$WORK"
# Runs as the test user. Without /etc/subuid ranges every run says that
# runs share the caller's uid, and urun accepts rlimits for the default
# limits, which says so too: both lines are checked once below and left
# out elsewhere.
strict() { setpriv --reuid=1000 --regid=1000 --clear-groups "$SB" run --backend native "$@"; }
SHARED_WARNING="symbi-sandbox: native backend: runs share your uid"
urun() {
	strict --weak-limits "$@" 2>&1 | grep -v -e '^symbi-sandbox: WARNING: no cgroup' -e "^$SHARED_WARNING"
	return "${PIPESTATUS[0]}"
}
inside() { urun -v "$WORK/probe:/probe:ro" "/probe/probe $*" 2>&1; }

expect_eq "runs as the sandbox uid inside" "65534 65534" "$(urun 'echo $(id -u) $(id -g)' 2>/dev/null)"
expect_eq "mapped to the caller outside" "65534 1000 1" "$(urun 'cat /proc/self/uid_map' 2>/dev/null | tr -s ' ' | sed 's/^ //')"
expect_eq "no capabilities" "0000000000000000" "$(urun "grep CapEff /proc/self/status | cut -f2" 2>/dev/null)"
expect_eq "read /etc/shadow: ENOENT" "ENOENT" "$(inside read /etc/shadow)"
expect_eq "write /usr: EROFS" "EROFS" "$(inside write /usr/x)"
# The root suite's other checks, as an unprivileged caller: read-only root
# and volumes, every capability set empty with no_new_privs and the filter,
# and the host's loopback out of reach.
expect_eq "write /: EROFS" "EROFS" "$(inside write /newfile)"
expect_eq "write into a read-only volume: EROFS" "EROFS" "$(inside write /probe/evil)"
check "the host's files are untouched" test ! -e /newfile -a ! -e "$WORK/probe/evil"
expect_eq "no capabilities in any set, no_new_privs, seccomp filter on" \
	"CapInh:0000000000000000 CapPrm:0000000000000000 CapEff:0000000000000000 CapBnd:0000000000000000 CapAmb:0000000000000000 NoNewPrivs:1 Seccomp:2" \
	"$(urun "grep -E '^(Cap[A-Za-z]+|NoNewPrivs|Seccomp):' /proc/self/status | tr -d '\t' | tr '\n' ' ' | sed 's/ \$//'")"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$WORK/probe" "$PORT" >/dev/null 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 50); do "$WORK/probe/probe" connect "$PORT" >/dev/null 2>&1 && break; sleep 0.1; done
expect_eq "control: the host's loopback server answers on the host" "ok" "$("$WORK/probe/probe" connect "$PORT")"
expect_eq "connect to the host's loopback server: ECONNREFUSED" "ECONNREFUSED" "$(inside connect "$PORT")"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
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
expect_eq "no memory and no pids limit: runs, no limits warning" "ran" \
	"$(strict --memory none --pids-limit none 'echo ran' 2>&1 | grep -v "^$SHARED_WARNING")"
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
# ---- identity without subordinate ids: runs share the caller's uid, and
# the caller is told so (stderr; the library never prints)
check "control: this host has no /etc/subuid range for uid 1000" \
	bash -c '! grep -qs "^\($(getent passwd 1000 | cut -d: -f1)\|1000\):" /etc/subuid'
strict --memory none --pids-limit none true >/dev/null 2>"$WORK/warn"
expect_eq "run warns, once, that runs share the caller's uid" "1" "$(grep -c "^$SHARED_WARNING" "$WORK/warn")"
out=$(setpriv --reuid=1000 --regid=1000 --clear-groups "$SB" doctor 2>&1)
check "doctor says so" grep -q 'runs share your uid' <<<"$out"

# ---- with a /etc/subuid and /etc/subgid range (an overlay on /etc in a
# private mount namespace: the host's /etc is not touched), each run is one
# id of it, mapped by newuidmap/newgidmap
require "newuidmap and newgidmap" "apt-get install uidmap" test -u /usr/bin/newuidmap -a -u /usr/bin/newgidmap
require "an account with uid 1000 (newuidmap needs its name)" "useradd -u 1000 -m symbi-test" getent passwd 1000
UNAME=$(getent passwd 1000 | cut -d: -f1)
SUB=200000
mkdir -p "$WORK/etc-upper" "$WORK/etc-work"
printf '%s:%d:65536\n' "$UNAME" $SUB >"$WORK/etc-upper/subuid"
printf '%s:%d:65536\n' "$UNAME" $SUB >"$WORK/etc-upper/subgid"
# srun ARGS...: `run` as uid 1000 with the range
srun() {
	unshare -m sh -c 'mount -t overlay symbi-test-etc -o "lowerdir=/etc,upperdir=$1/etc-upper,workdir=$1/etc-work" /etc &&
		shift && exec setpriv --reuid=1000 --regid=1000 --clear-groups "$@"' \
		sh "$WORK" "$SB" run --backend native --memory none --pids-limit none "$@"
}
out=$(srun 'cat /proc/self/uid_map /proc/self/gid_map' 2>"$WORK/err")
uid=$(awk 'NR == 1 {print $2}' <<<"$out"); gid=$(awk 'NR == 2 {print $2}' <<<"$out")
expect_eq "with a range: no warning" "" "$(cat "$WORK/err")"
check "the run's host uid ($uid) is one of the caller's subordinate uids" \
	test "${uid:-0}" -ge $SUB -a "${uid:-0}" -lt $((SUB + 65536))
expect_eq "its host gid is the subordinate gid of the same rank" "$uid" "$gid"
expect_eq "inside, still the sandbox uid/gid, no supplementary group" "65534 65534 []" \
	"$(srun 'echo $(id -u) $(id -g) [$(awk "/^Groups:/ {print \$2}" /proc/self/status)]' 2>&1)"
out=$(srun 'echo out > /dev/stdout; echo err > /dev/stderr' 2>"$WORK/err")
expect_eq "with a range: /dev/stdout and /dev/stderr can be reopened" "out err" "$out $(cat "$WORK/err")"
expect_eq "with a range: no capabilities" "0000000000000000" \
	"$(srun "grep CapEff /proc/self/status | cut -f2" 2>&1)"
expect_eq "with a range: write /usr: EROFS" "EROFS" \
	"$(srun -v "$WORK/probe:/probe:ro" "/probe/probe write /usr/x" 2>&1)"
mkdir -m 755 "$WORK/uvol"
chown 1000:1000 "$WORK/uvol"
expect_eq "with a range: a volume of the caller is another user's to the program (EACCES)" "EACCES" \
	"$(srun -v "$WORK/uvol:/v" -v "$WORK/probe:/probe:ro" '/probe/probe write /v/f' 2>&1)"
chmod 777 "$WORK/uvol"
expect_eq "with a range: a world-writable volume takes files, owned by the run's id" "ok $uid" \
	"$(srun -v "$WORK/uvol:/v" -v "$WORK/probe:/probe:ro" '/probe/probe write /v/f' 2>&1) $(stat -c %u "$WORK/uvol/f" 2>&1)"
expect_eq "with a range: a timeout still kills the sandbox (124)" "124" \
	"$(srun --timeout 1 'sleep 30' >/dev/null 2>&1; echo $?)"
expect_eq "with a range: no process of the caller's subordinate ids left" "" \
	"$(ps -eo pid=,uid=,stat=,args= | awk -v s=$SUB '$2 >= s && $2 < s + 65536 && $3 !~ /^Z/')"
expect_eq "with a range: no id lock left held" "" \
	"$(for f in /tmp/symbi-sandbox-ids-1000/* /run/user/1000/symbi-sandbox-ids/*; do [ -e "$f" ] && ! flock -n "$f" true && echo "$f"; done)"
check "the host's /etc/subuid was not touched" bash -c "! grep -qs '^$UNAME:$SUB:' /etc/subuid"

expect_eq "no cgroup left behind" "" "$(dead_cgroups)"
expect_eq "no process of the test user left" "" "$(ps -u 1000 -o pid=,args=)"
finish
