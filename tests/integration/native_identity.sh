#!/usr/bin/env bash
# One identity per run (native backend, as root): each run is its own host
# uid/gid, taken from native_id_range and held by a lock while it lives, so
# that runs cannot read each other (or be read by host users), nor exhaust
# each other's per-user kernel quotas. Also what the sandbox must not leak:
# the caller's descriptors, supplementary groups and argv; and what it
# must offer: /dev/stdout and /dev/stderr. Every check looks from inside the
# sandbox or at a live run from the host, next to a control showing the
# same attempt works where the protection is absent.
source "$(dirname "$0")/../lib.sh"

require "root" "run the test suite as root (sudo make test)" test "$(id -u)" -eq 0
require "symbi-sandbox binary" "run make first" test -x "$SB"
PY=/usr/bin/python3
require "python3" "apt-get install python3" $PY --version
require "setpriv" "apt-get install util-linux" setpriv --version
require "flock" "apt-get install util-linux" flock --version

BASE=1879048192
COUNT=65536
LOCKS=/run/symbi-sandbox/ids
WORK=$(mktemp -d /tmp/symbi-native-id.XXXXXX)
PIDS=()
cleanup() {
	touch "$WORK/sync/stop" 2>/dev/null
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT
chmod 755 "$WORK"
# A volume through which the host tells waiting runs to stop; the runs act
# on it as uid 65534 (idmapped), so it belongs to 65534.
mkdir "$WORK/sync"
chown 65534:65534 "$WORK/sync"

nrun() { "$SB" run --backend native "$@"; }
# errno NAME of opening a path for reading (or "ok"), as the calling user.
cat >"$WORK/open.py" <<'EOF'
import errno, sys
try:
    open(sys.argv[1], "rb").read()
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
EOF
chmod 644 "$WORK/open.py"
try_open() { $PY "$WORK/open.py" "$1"; }
as_uid() { local u=$1; shift; setpriv --reuid "$u" --regid "$u" --clear-groups "$@"; }
# wait_for FILE [PID]: waits until FILE exists, or until the run that
# should make it (PID, by default the last one started) has ended; no
# deadline of its own: the runs end by themselves after 120 s.
wait_for() {
	local pid=${2:-${PIDS[${#PIDS[@]}-1]}}
	while [ ! -e "$1" ]; do kill -0 "$pid" 2>/dev/null || return 1; sleep 0.05; done
}
# The pid of the program of a run whose command line holds a marker.
prog_pid() { pgrep -f "^python3 -c .*$1" | head -1; }
host_uid() { awk '/^Uid:/ {print $2}' "/proc/$1/status"; }
# A run that announces itself in the sync volume, then waits for stop.
WAIT='import os, sys, time
open("/sync/ready-" + sys.argv[1], "w").close()
t = time.time()
while not os.path.exists("/sync/stop") and time.time() - t < 120:
    time.sleep(0.05)'
start_waiting_run() { # NAME [extra run options]
	local name=$1; shift
	nrun -v "$WORK/sync:/sync" "$@" --lang python "import sys; sys.argv = ['', '$name']
$WAIT
# $name" >"$WORK/out-$name" 2>&1 &
	PIDS+=($!)
}

# ---- volumes: the program acts on them as the sandbox user, and what it
# leaves there belongs to that user on the host (not to the run's id)
mkdir -m 700 "$WORK/vol"
echo data >"$WORK/vol/host-file"
chmod 600 "$WORK/vol/host-file"
chown -R 65534:65534 "$WORK/vol"
expect_eq "control: host nobody reads the volume's 0600 file" "data" \
	"$(as_uid 65534 cat "$WORK/vol/host-file")"
expect_eq "the program reads the volume's file of its sandbox user, creates files" "data ok" \
	"$(nrun -v "$WORK/vol:/v" 'echo $(cat /v/host-file) $(echo new >/v/made && mkdir /v/d && echo ok)' 2>&1)"
expect_eq "files the run left in the volume belong to 65534:65534 on the host" "65534:65534 65534:65534" \
	"$(stat -c %u:%g "$WORK/vol/made" "$WORK/vol/d" | tr '\n' ' ' | sed 's/ $//')"
mkdir -m 700 "$WORK/vol2"
chown 4321:4321 "$WORK/vol2"
expect_eq "with --user 4321, they belong to 4321:4321" "4321:4321" \
	"$(nrun -u 4321 -v "$WORK/vol2:/v" 'echo x >/v/f' 2>&1; stat -c %u:%g "$WORK/vol2/f" 2>&1)"
expect_eq "a file of another host user in the volume: EACCES" "EACCES" \
	"$(chown 4321 "$WORK/vol/host-file"; nrun -v "$WORK/vol:/v" -v "$WORK:/t:ro" "$PY /t/open.py /v/host-file" 2>&1)"

# ---- two live runs: each its own host uid, neither 65534
start_waiting_run idA -e SECRET_A=hunter2
start_waiting_run idB
wait_for "$WORK/sync/ready-idA" "${PIDS[0]}" && wait_for "$WORK/sync/ready-idB"
pa=$(prog_pid "# idA"); pb=$(prog_pid "# idB")
ua=$(host_uid "$pa"); ub=$(host_uid "$pb")
check "the runs' programs are found on the host" test -n "$pa" -a -n "$pb"
check "run A's host uid ($ua) is in native_id_range" test "$ua" -ge $BASE -a "$ua" -lt $((BASE + COUNT))
check "run B's host uid ($ub) is in native_id_range" test "$ub" -ge $BASE -a "$ub" -lt $((BASE + COUNT))
check "the two runs have different host uids" test "$ua" != "$ub"
expect_eq "run A's host gid is its uid" "$ua" "$(awk '/^Gid:/ {print $2}' /proc/$pa/status)"
check "each id is locked while its run lives" \
	bash -c "! flock -n $LOCKS/$ua true && ! flock -n $LOCKS/$ub true"

# ---- who can read a live run: environ and files through /proc/PID/root
nrun_file=/proc/$pa/root/sync/ready-idA
expect_eq "control: root reads run A's environ" "ok" "$(try_open /proc/$pa/environ)"
check "control: run A's environ holds its secret" grep -qa SECRET_A=hunter2 /proc/$pa/environ
expect_eq "control: a reader with run A's host uid reads its environ" "ok" \
	"$(as_uid "$ua" $PY "$WORK/open.py" /proc/$pa/environ)"
expect_eq "control: a reader with run A's host uid reads its files via /proc/PID/root" "ok" \
	"$(as_uid "$ua" $PY "$WORK/open.py" "$nrun_file")"
expect_eq "host nobody cannot read run A's environ: EACCES" "EACCES" \
	"$(as_uid 65534 $PY "$WORK/open.py" /proc/$pa/environ)"
expect_eq "host nobody cannot reach run A's files via /proc/PID/root: EACCES" "EACCES" \
	"$(as_uid 65534 $PY "$WORK/open.py" "$nrun_file")"
expect_eq "run B's host uid cannot read run A's environ: EACCES" "EACCES" \
	"$(as_uid "$ub" $PY "$WORK/open.py" /proc/$pa/environ)"
expect_eq "run B's host uid cannot reach run A's files via /proc/PID/root: EACCES" "EACCES" \
	"$(as_uid "$ub" $PY "$WORK/open.py" "$nrun_file")"
touch "$WORK/sync/stop"
st=""
for p in "${PIDS[@]}"; do wait "$p"; st="$st$?"; done
PIDS=()
expect_eq "both waiting runs exited 0, silent" "00" "$st$(cat "$WORK/out-idA" "$WORK/out-idB")"
rm -f "$WORK/sync/"*

# ---- per-user kernel quotas: one run holding every inotify instance a
# user may have does not starve another run
MAXI=$(cat /proc/sys/fs/inotify/max_user_instances)
cat >"$WORK/inotify.py" <<'EOF'
import ctypes, errno, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
n = 0
while libc.inotify_init1(0) >= 0:
    n += 1
print(n, errno.errorcode[ctypes.get_errno()], flush=True)
if len(sys.argv) > 1:
    open(sys.argv[1], "w").close()
    t = time.time()
    while not os.path.exists(sys.argv[2]) and time.time() - t < 120:
        time.sleep(0.05)
EOF
cat >"$WORK/inotify1.py" <<'EOF'
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
print("ok" if libc.inotify_init1(0) >= 0 else errno.errorcode[ctypes.get_errno()])
EOF
chmod 644 "$WORK/inotify.py" "$WORK/inotify1.py"
# control: two processes of one host uid (an id no account or run uses)
CTL=$((BASE - 4242))
mkdir -m 777 "$WORK/ctl"
as_uid $CTL $PY "$WORK/inotify.py" "$WORK/ctl/held" "$WORK/ctl/stop" >"$WORK/ctl/out" &
PIDS+=($!)
wait_for "$WORK/ctl/held"
expect_eq "control: one uid holds every inotify instance ($MAXI)" "$MAXI EMFILE" "$(cat "$WORK/ctl/out")"
expect_eq "control: another process of that uid then gets EMFILE" "EMFILE" \
	"$(as_uid $CTL $PY "$WORK/inotify1.py")"
touch "$WORK/ctl/stop"
for p in "${PIDS[@]}"; do wait "$p"; done
PIDS=()
nrun -v "$WORK/sync:/sync" -v "$WORK:/t:ro" --lang python \
	"import sys; sys.argv = ['', '/sync/held', '/sync/stop']; exec(open('/t/inotify.py').read())" \
	>"$WORK/held" 2>&1 &
PIDS+=($!)
wait_for "$WORK/sync/held"
expect_eq "while run A holds them, run B can still create one" "ok" \
	"$(nrun -v "$WORK:/t:ro" --lang python "exec(open('/t/inotify1.py').read())" 2>&1)"
expect_eq "and so can root on the host (runs are not charged to their creator)" "ok" \
	"$($PY "$WORK/inotify1.py")"
touch "$WORK/sync/stop"
for p in "${PIDS[@]}"; do wait "$p"; done
PIDS=()
expect_eq "run A had held every inotify instance of its uid" "$MAXI EMFILE" "$(cat "$WORK/held")"
rm -f "$WORK/sync/"*

# ---- supplementary groups: a root caller's groups are not the program's
expect_eq "control: the caller has groups 0 and 4" "0 4" \
	"$(setpriv --groups 0,4 sh -c 'id -G' | tr ' ' '\n' | sort -nu | tr '\n' ' ' | sed 's/ $//')"
expect_eq "the program has no supplementary group" "[]" \
	"$(setpriv --groups 0,4 "$SB" run --backend native \
		"awk '/^Groups:/ { \$1 = \"\"; sub(/^ +/, \"\"); sub(/ +\$/, \"\"); print \"[\" \$0 \"]\" }' /proc/self/status")"

# ---- the caller's descriptors
echo "caller secret" >"$WORK/secret"
cat >"$WORK/fd7.py" <<'EOF'
import errno, os
try:
    print(os.read(7, 100).decode().strip())
except OSError as e:
    print(errno.errorcode[e.errno])
EOF
chmod 644 "$WORK/fd7.py"
expect_eq "control: a child of the caller reads its fd 7" "caller secret" \
	"$(exec 7<"$WORK/secret"; $PY "$WORK/fd7.py")"
expect_eq "the program cannot read the caller's fd 7: EBADF" "EBADF" \
	"$(exec 7<"$WORK/secret"; nrun -v "$WORK:/t:ro" --lang python "exec(open('/t/fd7.py').read())" 2>&1)"

# ---- /proc/1/cmdline: a fixed name, no host path of the caller's argv
DISTINCT="$WORK/host-path-7f3a9c"
mkdir "$DISTINCT"
chmod 755 "$DISTINCT"
"$SB" run --backend native -v "$DISTINCT:/data:ro" 'exec sleep 30 # cmdline-ctl' >/dev/null 2>&1 &
PIDS+=($!)
cli=$!
for i in $(seq 1 200); do pgrep -f "cmdline-ctl" >/dev/null && break; sleep 0.05; done
check "control: the supervisor's own cmdline holds the volume's host path" \
	grep -qa "host-path-7f3a9c" "/proc/$cli/cmdline"
kill "$cli" 2>/dev/null
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
PIDS=()
expect_eq "/proc/1/cmdline is exactly symbi-init" "symbi-init|" \
	"$(nrun -v "$DISTINCT:/data:ro" -w /work/sub 'tr "\0" "|" </proc/1/cmdline')"
expect_eq "/proc/1/cmdline names no host path" "0" \
	"$(nrun -v "$DISTINCT:/data:ro" 'grep -ca host-path /proc/1/cmdline')"

# ---- /dev/stdout and /dev/stderr
cat >"$WORK/openw.py" <<'EOF'
import errno, sys
try:
    open(sys.argv[1], "w")
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
EOF
chmod 644 "$WORK/openw.py"
expect_eq "control: a process of another uid cannot reopen a root's pipe: EACCES" "EACCES" \
	"$(as_uid $CTL $PY "$WORK/openw.py" /dev/stdout | cat)"
out=$(nrun 'echo out1 > /dev/stdout; printf "err1\n" > /dev/stderr; echo out2 >/proc/self/fd/1' 2>"$WORK/err")
expect_eq "echo > /dev/stdout: the bytes arrive" "$(printf 'out1\nout2')" "$out"
expect_eq "echo > /dev/stderr: the bytes arrive" "err1" "$(cat "$WORK/err")"
nrun 'echo x > /dev/stdout' >"$WORK/caller-file"
expect_eq "a caller's file as stdout is not handed over (still root's)" "0 x" \
	"$(stat -c %u "$WORK/caller-file") $(cat "$WORK/caller-file")"

# ---- what the init made belongs to the sandbox user (the init runs as
# the run's ids), so it must be read-only
expect_eq "the root and /dev are the sandbox user's, read-only" "65534 65534 EROFS EROFS" \
	"$(nrun -v "$WORK:/t:ro" "echo \$(stat -c %u / /dev) \$($PY /t/openw.py /dev/evil) \$($PY /t/openw.py /etc/passwd)" 2>&1)"
expect_eq "/dev/shm and /tmp stay writable" "ok ok" \
	"$(nrun -v "$WORK:/t:ro" "echo \$(touch /dev/shm/x && echo ok) \$(touch /tmp/x && echo ok)" 2>&1)"

# ---- the lock: concurrent runs, distinct ids; nothing held afterwards
N=6
for i in $(seq 1 $N); do
	nrun -v "$WORK/sync:/sync" --lang python "import os, time
open('/sync/ready-$i', 'w').close()
t = time.time()
while len(os.listdir('/sync')) < $N and time.time() - t < 120:
    time.sleep(0.05)
print(open('/proc/self/uid_map').read().split()[1])" >"$WORK/uid-$i" 2>&1 &
	PIDS+=($!)
done
for p in "${PIDS[@]}"; do wait "$p"; done
PIDS=()
expect_eq "$N concurrent runs had $N distinct host uids" "$N" "$(cat "$WORK"/uid-* | sort -u | grep -c '^[0-9]')"
rm -f "$WORK/sync/"*
# A range of one id: a second run while the first holds it is refused.
ONE="$((BASE + 4242)):1"
nrun --id-range "$ONE" -v "$WORK/sync:/sync" --lang python "import sys; sys.argv = ['', 'one']
$WAIT" >"$WORK/out-one" 2>&1 &
PIDS+=($!)
wait_for "$WORK/sync/ready-one"
out=$(nrun --id-range "$ONE" true 2>&1); rc=$?
expect_eq "a run finds the only id of its range held: 125" "125" "$rc"
check "the error says every id is held" grep -q "every host id of $((BASE + 4242)):1 is held" <<<"$out"
touch "$WORK/sync/stop"
for p in "${PIDS[@]}"; do wait "$p"; done
PIDS=()
expect_eq "once the holder ended, the id is free again" "$((BASE + 4242))" \
	"$(nrun --id-range "$ONE" "awk '{print \$2}' /proc/self/uid_map")"
out=$(nrun --id-range 65534:1 true 2>&1); rc=$?
expect_eq "an id used by an account (nobody) is never given: 125" "125" "$rc"
check "control: root's own namespace maps the whole default range" \
	awk '$1 == 0 && $2 == 0 && $3 == 4294967295 { found = 1 } END { exit !found }' /proc/self/uid_map
out=$(unshare -U --map-root-user "$SB" run true 2>&1); rc=$?
expect_eq "root of a user namespace that maps only uid 0 is told the range is not mapped (125)" "125 1" \
	"$rc $(grep -c 'is not mapped in this process.s user namespace' <<<"$out")"
out=$(nrun --id-range 65530:10 true 2>&1); rc=$?
expect_eq "a range holding 65535 is refused: 125" "125" "$rc"
out=$(nrun --id-range 2147483000:1000 true 2>&1); rc=$?
expect_eq "a range reaching 2^31 is refused: 125" "125" "$rc"

# ---- leftovers
expect_eq "no process of a run's host id left" "" "$(run_id_procs)"
held=""
for f in "$LOCKS"/*; do
	[ -e "$f" ] || continue
	flock -n "$f" true || held="$held ${f##*/}"
done
expect_eq "no id lock left held" "" "$held"
# ---- a volume on a file system the kernel cannot idmap (ramfs here; tmpfs
# before 6.3, 9p): the run's host ids are then the sandbox uid/gid
# themselves, so the volume still works as the sandbox user
# (beneath a directory only root may enter, as a caller's private work
# directory is: the mount is the supervisor's to make, not the run's)
RAMFS_PARENT=$(mktemp -d /tmp/symbi-id-ramfs.XXXXXX)
RAMFS=$RAMFS_PARENT/v
mkdir "$RAMFS"
if mount -t ramfs symbi-id-ramfs "$RAMFS"; then
	chown 65534:65534 "$RAMFS"
	expect_eq "a volume that cannot be idmapped: the run is mapped to the sandbox uid" "65534 65534 1" \
		"$("$SB" run -v "$RAMFS:/v" 'echo hi >/v/f; cat /proc/self/uid_map' 2>&1 | tr -s ' ' | sed 's/^ //')"
	expect_eq "... and its file belongs to the sandbox user on the host" "65534:65534 hi" \
		"$(stat -c %u:%g "$RAMFS/f" 2>&1) $(cat "$RAMFS/f" 2>&1)"
	umount "$RAMFS"
else
	not_ok "mount a ramfs for the non-idmappable volume test" "needs root and ramfs"
fi
rm -rf "$RAMFS_PARENT"
finish
