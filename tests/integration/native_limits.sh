#!/usr/bin/env bash
# The native backend's limits and lifecycle: timeout, memory (oom), process
# count, /tmp cap, daemons, large code, languages, stdin, exit statuses,
# and nothing left behind afterwards.
source "$(dirname "$0")/../lib.sh"

require "root" "run the test suite as root (sudo make test)" test "$(id -u)" -eq 0
require "symbi-sandbox binary" "run make first" test -x "$SB"
require "python3 in /usr/bin" "apt-get install python3" test -x /usr/bin/python3
require "node in /usr/bin" "apt-get install nodejs" test -x /usr/bin/node
require "bash" "apt-get install bash" test -x /bin/bash

WORK=$(mktemp -d /tmp/symbi-native-lim.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
MARK=symbi_marker_$$_$RANDOM
nrun() { "$SB" run --backend native "$@"; }
cfg() { printf '%s' "$1" >"$WORK/cfg.json"; echo "$WORK/cfg.json"; }
jfield() { python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print("null" if v is None else (str(v).lower() if isinstance(v,bool) else v))' "$1"; }

# ---- exit statuses and output
expect_eq "stdout comes back" "hello" "$(nrun 'echo hello')"
nrun 'exit 7'; expect_eq "the program's exit code" "7" "$?"
nrun 'kill -USR1 $$' 2>/dev/null; expect_eq "death by signal N: 128+N" "$((128 + 10))" "$?"
expect_eq "stderr comes back" "err" "$(nrun 'echo err >&2' 2>&1 >/dev/null)"
# With a deadline and the exit status checked: a program that never sees
# the end of its input (a descriptor leaked into the sandbox keeps the pipe
# open) must fail here, not pass after a long wait.
printf abc >"$WORK/in"
out=$(nrun --timeout 10 --stdin "$WORK/in" cat); rc=$?
expect_eq "stdin data reaches the program" "abc" "$out"
expect_eq "... and the program ends at the end of its input (exit 0)" "0" "$rc"
json=$(nrun --json 'echo out; exit 3')
expect_eq "--json: exit_code" "3" "$(jfield exit_code <<<"$json")"
expect_eq "--json: status" "exited" "$(jfield status <<<"$json")"
expect_eq "--json: stdout" "out" "$(jfield stdout <<<"$json")"
out=$(nrun --max-output 1000 'head -c 100000000 /dev/zero | tr "\0" a' | head -c 1000 | wc -c)
expect_eq "output is capped" "1000" "$out"

# ---- languages
expect_eq "python" "3" "$(nrun -c "$(cfg '{"lang":"python"}')" 'import sys; print(sys.version_info[0])')"
expect_eq "node" "42" "$(nrun -c "$(cfg '{"lang":"node"}')" 'console.log(6*7)')"
expect_eq "bash" "5" "$(nrun -c "$(cfg '{"lang":"bash"}')" 'echo ${BASH_VERSINFO[0]}')"
expect_eq "--lang python on the command line" "py" "$(nrun --lang python 'print("py")')"
out=$(nrun -c "$(cfg '{"lang":"cobol"}')" 'x' 2>&1); rc=$?
expect_eq "an unknown lang is refused (125)" "125" "$rc"

# ---- code of several MiB
python3 -c "import sys; sys.stdout.write('echo start\n' + ('# ' + 'x'*98 + '\n')*50000 + 'echo end\n')" >"$WORK/big.sh"
expect_eq "a 5 MB shell script runs" "start end" "$(nrun --file "$WORK/big.sh" | tr '\n' ' ' | sed 's/ $//')"
python3 -c "import sys; sys.stdout.write('s = (\n' + ('    \"' + 'y'*90 + '\"\n')*30000 + ')\nprint(len(s))\n')" >"$WORK/big.py"
expect_eq "a 2.9 MB python program runs" "2700000" "$(nrun -c "$(cfg '{"lang":"python"}')" --file "$WORK/big.py")"

# ---- timeout: SIGTERM ignored, partial output kept, everything killed
start=$(date +%s)
out=$(nrun --timeout 1 -c "$(cfg '{"lang":"bash"}')" "trap '' TERM; echo partial; exec -a $MARK-t sleep 300" 2>/dev/null); rc=$?
took=$(( $(date +%s) - start ))
expect_eq "a program ignoring SIGTERM is stopped at the timeout (124)" "124" "$rc"
expect_eq "its partial output is kept" "partial" "$out"
check "it stops promptly (${took}s < 10s)" test "$took" -lt 10
json=$(nrun --json --timeout 1 'sleep 300')
expect_eq "--json status timeout" "timeout" "$(jfield status <<<"$json")"

# ---- memory: oom
json=$(nrun --json --memory 64m -c "$(cfg '{"lang":"python"}')" 'b = bytearray(512*1024*1024); print(len(b))')
expect_eq "a memory hog is reported as oom" "oom" "$(jfield status <<<"$json")"
expect_eq "... and has no exit code" "-1" "$(jfield exit_code <<<"$json")"
nrun --memory 64m -c "$(cfg '{"lang":"python"}')" 'b = bytearray(512*1024*1024)' 2>/dev/null
expect_eq "the CLI exits 137 on oom" "137" "$?"
expect_eq "a program under the limit runs" "ok" \
	"$(nrun --memory 64m -c "$(cfg '{"lang":"python"}')" 'b = bytearray(16*1024*1024); print("ok")')"

# ---- process count
out=$(nrun --pids-limit 20 --timeout 60 -c "$(cfg '{"lang":"python"}')" --file "$ROOT/tests/fork_until_refused.py")
set -- $out
expect_eq "fork past --pids-limit fails with EAGAIN" "EAGAIN" "${1:-}"
check "... after fewer than 20 processes (${2:-?})" test "${2:-99}" -lt 20
start=$(date +%s)
nrun --pids-limit 64 --timeout 3 -c "$(cfg '{"lang":"bash"}')" ':(){ :|:& };:' >/dev/null 2>&1
rc=$?
check "a fork bomb ends (exit $rc)" test "$rc" -ne 125
check "the host stays responsive" timeout 5 true
check "the fork bomb is gone afterwards" bash -c '! ps -u 65534 -o comm= | grep -qx bash'

# ---- /tmp cap
out=$(nrun -c "$(cfg '{"tmp_size":"8m"}')" 'dd if=/dev/zero of=/tmp/fill bs=1M count=32 2>&1; du -k /tmp/fill | cut -f1')
check "filling /tmp past its cap fails with ENOSPC" grep -q "No space left on device" <<<"$out"
size=$(tail -1 <<<"$out")
check "... and /tmp holds at most 8 MiB (${size} KiB)" test "$size" -le 8192
out=$(nrun -c "$(cfg '{"workdir_size":"4m"}')" 'dd if=/dev/zero of=big bs=1M count=16 2>&1')
check "the working directory is capped too" grep -q "No space left on device" <<<"$out"
expect_eq "/tmp is noexec" "Permission denied" \
	"$(nrun 'cp /bin/true /tmp/t && /tmp/t 2>&1 | grep -o "Permission denied"')"

# ---- a double-forked, setsid daemon dies with the run
out=$(nrun -c "$(cfg '{"lang":"bash"}')" "(setsid bash -c 'exec -a $MARK-d sleep 300' </dev/null >/dev/null 2>&1 &); sleep 0.5; pgrep -f $MARK-d >/dev/null && echo alive")
expect_eq "the daemon was running inside" "alive" "$out"
expect_eq "the daemon is dead after the run" "" "$(pgrep -f "$MARK-d")"

# ---- the supervisor killed with SIGKILL mid-run: the sandbox dies with it
cfg '{"lang":"bash"}' >/dev/null
"$SB" run --backend native -c "$WORK/cfg.json" "exec -a $MARK-k sleep 300" &
cli=$!
for _ in $(seq 1 50); do pgrep -f "^$MARK-k" >/dev/null && break; sleep 0.1; done
check "the sandboxed program was running" bash -c 'pgrep -f "$1" >/dev/null' _ "^$MARK-k"
kill -9 "$cli"; wait "$cli" 2>/dev/null
for _ in $(seq 1 50); do pgrep -f "$MARK-k" >/dev/null || break; sleep 0.1; done
expect_eq "killing the CLI kills the sandbox (parent-death signal)" "" "$(pgrep -f "$MARK-k")"
nrun true
expect_eq "the next run removes the cgroups the killed run left" "" \
	"$(find /sys/fs/cgroup -name "symbi-sandbox-$cli-*" 2>/dev/null)"

# ---- configuration errors start nothing
out=$(nrun --network bridge true 2>&1); rc=$?
expect_eq "network bridge is refused on native (125)" "125" "$rc"
out=$(nrun -w /usr/lib/x true 2>&1); rc=$?
expect_eq "a working dir inside /usr is refused (125)" "125" "$rc"
expect_eq "a custom working dir is used" "/home/agent" "$(nrun -w /home/agent pwd)"
expect_eq "a numeric user is honoured" "1234:1234" "$(nrun -u 1234:1234 'echo $(id -u):$(id -g)')"
out=$(nrun -u 0 true 2>&1); rc=$?
expect_eq "uid 0 is refused (125)" "125" "$rc"

# ---- nothing left behind
expect_eq "no cgroup left behind" "" "$(dead_cgroups)"
expect_eq "no sandbox mount on the host" "" "$(grep -E '^symbi-(root|tmp|work|dev|shm) ' /proc/mounts)"
expect_eq "no marked process left" "" "$(pgrep -f "$MARK")"
expect_eq "no process of a run's host id left" "" "$(run_id_procs)"
finish
