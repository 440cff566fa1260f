#!/usr/bin/env bash
# The Docker backend through the CLI, against the real engine that
# scripts/setup starts, with the local images it builds.
source "$(dirname "$0")/../lib.sh"

require_engine
require "the CLI" "run make" test -x "$SB"

# Every container of this suite carries its own label, so that other users
# of the same daemon do not disturb the counts.
SUITE="symbi-it-suite=$$-$RANDOM"
BB=(--backend docker --image symbi-test/busybox:latest --extra-flag "--label=$SUITE")
PY=(--backend docker --image symbi-test/python:latest --extra-flag "--label=$SUITE")
WORK=$(mktemp -d /tmp/symbi-it.XXXXXX)
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
containers() { docker ps -aq --filter "label=$SUITE" | wc -l; }
json_field() { python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(json.dumps(v) if not isinstance(v,str) else v, end="")' "$1"; }

# --- output, exit codes, byte-exactness -------------------------------------
out=$("$SB" run "${PY[@]}" --shell python3 'import sys; sys.stdout.write("h\u00e9llo\n"); sys.stderr.write("warn\n"); sys.exit(3)' 2>"$WORK/err")
rc=$?
expect_eq "python image: stdout byte-for-byte" "$(printf 'h\303\251llo')" "$out"
expect_eq "python image: stderr" "warn" "$(cat "$WORK/err")"
expect_eq "python image: exit code is the program's" 3 "$rc"

# --lang python runs the code with python3 (as on the native backend), not
# with the shell; an image without python3 says so instead of running sh.
out=$("$SB" run "${PY[@]}" --lang python 'import sys; print(sys.version_info[0])' 2>"$WORK/err")
rc=$?
expect_eq "--lang python: python3 runs the code" "3|0|" "$out|$rc|$(cat "$WORK/err")"
"$SB" run "${BB[@]}" --lang python 'print(1)' >"$WORK/out" 2>"$WORK/err"
rc=$?
check "--lang python without python3 in the image: not run by sh ($rc)" \
	bash -c '[ "$0" -ne 0 ] && [ ! -s "$1" ] && grep -q python3 "$2"' "$rc" "$WORK/out" "$WORK/err"

printf 'bin\000ary\377\n' >"$WORK/expected"
"$SB" run "${BB[@]}" 'printf "bin\000ary\377\n"' >"$WORK/actual"
check "binary output passes through unchanged" cmp -s "$WORK/expected" "$WORK/actual"

j=$("$SB" run "${BB[@]}" --json 'echo hi; echo oops >&2; exit 4')
expect_eq "--json: exit_code" 4 "$(json_field exit_code <<<"$j")"
expect_eq "--json: stdout" "hi" "$(json_field stdout <<<"$j")"
expect_eq "--json: stderr" "oops" "$(json_field stderr <<<"$j")"
expect_eq "--json: status" exited "$(json_field status <<<"$j")"
expect_eq "--json: success" false "$(json_field success <<<"$j")"
check "--json: every field present" python3 -c '
import json,sys; d=json.loads(sys.argv[1])
want={"exit_code","stdout","stderr","execution_time_ms","success","stdout_truncated","stderr_truncated","status","signal","error"}
sys.exit(0 if set(d)==want else 1)' "$j"

"$SB" run "${BB[@]}" 'exit 127' 2>/dev/null
expect_eq "exit 127 of the program is the program's, not docker's" 127 $?
"$SB" run "${BB[@]}" 'exit 126' 2>/dev/null
expect_eq "exit 126 of the program is the program's" 126 $?
"$SB" run "${BB[@]}" 'kill -TERM $$' 2>/dev/null
expect_eq "death by SIGTERM exits 128+15" 143 $?
j=$("$SB" run "${BB[@]}" --json 'kill -KILL $$')
expect_eq "death by signal: status signaled" signaled "$(json_field status <<<"$j")"
expect_eq "death by signal: signal 9" 9 "$(json_field signal <<<"$j")"

out=$(printf 'line one\nline two\n' | "$SB" run "${BB[@]}" --stdin - 'wc -l; echo code-ran')
expect_eq "--stdin feeds the program" "$(printf '2\ncode-ran')" "$out"

echo 'echo from-stdin-code' | "$SB" run "${BB[@]}" >"$WORK/o" 2>&1
expect_eq "code read from standard input" "from-stdin-code" "$(cat "$WORK/o")"

# --- environment ---------------------------------------------------------------
VAL=$(printf 'sp ace "dq" '\''sq'\'' $HOME `cmd` \\ back\nnew line ünïcødé ✓')
export SYMBI_IT_VALUE="$VAL"
"$SB" run "${BB[@]}" -e SYMBI_IT_VALUE -e 'OTHER=a=b=c' \
	'printf %s "$SYMBI_IT_VALUE"; printf "|%s" "$OTHER"' >"$WORK/env_out"
expect_eq "env values arrive byte for byte" "$VAL|a=b=c" "$(cat "$WORK/env_out")"

export SYMBI_IT_SECRET="s3cr3t-$$-value"
"$SB" run "${BB[@]}" -e SYMBI_IT_SECRET 'sleep 3' &
pid=$!
seen=0
for _ in $(seq 1 25); do
	sleep 0.2
	# The bracket keeps grep from finding its own argv.
	ps -eo args | grep -q "s3cr3[t]-$$" && seen=1
	grep -qa "s3cr3[t]-$$" /proc/[0-9]*/cmdline 2>/dev/null && seen=1
done
wait $pid
expect_eq "env values never appear in any process's argv" 0 "$seen"

"$SB" run "${BB[@]}" -e '=x' 'true' 2>"$WORK/err"; rc=$?
check "empty env key refused with exit 125" [ "$rc" -eq 125 ]
check "empty env key: clear message" grep -q "must not be empty" "$WORK/err"
"$SB" run "${BB[@]}" -e "$(printf 'A\nB=x')" 'true' 2>"$WORK/err"; rc=$?
check "env key with newline refused" [ "$rc" -eq 125 ] && grep -q "must be identifiers" "$WORK/err"
"$SB" run "${BB[@]}" -e 'DOCKER_HOST=tcp://1.2.3.4:1' 'true' 2>"$WORK/err"; rc=$?
check "DOCKER_* keys refused (they would steer the client)" [ "$rc" -eq 125 ]

# --- big code ------------------------------------------------------------------
python3 - "$WORK/big.sh" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    line = "# " + "x" * 1000 + "\n"
    for _ in range(4200):
        f.write(line)
    f.write("echo big-script-ran\n")
PY
size=$(stat -c %s "$WORK/big.sh")
check "the big script is over 4 MiB" [ "$size" -gt 4194304 ]
expect_eq "a 4 MiB script runs" "big-script-ran" "$("$SB" run "${BB[@]}" --file "$WORK/big.sh")"

# --- timeout ------------------------------------------------------------------
before=$(containers)
start=$(date +%s)
j=$("$SB" run "${BB[@]}" --timeout 2 --json 'echo partial-output; sleep 60')
rc=$?
elapsed=$(( $(date +%s) - start ))
expect_eq "timeout: exit status 124" 124 "$rc"
expect_eq "timeout: status" timeout "$(json_field status <<<"$j")"
expect_eq "timeout: partial output kept" "partial-output" "$(json_field stdout <<<"$j")"
check "timeout: returns well before the program would have ended" [ "$elapsed" -lt 45 ]
expect_eq "timeout: no container left" "$before" "$(containers)"

# A program that ignores SIGTERM still dies at the deadline.
j=$("$SB" run "${BB[@]}" --timeout 1 --json 'trap "" TERM; while :; do sleep 1; done')
expect_eq "timeout: SIGTERM-ignoring program is killed" timeout "$(json_field status <<<"$j")"
expect_eq "timeout: still no container left" "$before" "$(containers)"

# --- killing the CLI ---------------------------------------------------------
# The CLI prints when the run ends, so watch for the container instead.
wait_for_container() {
	for _ in $(seq 1 150); do [ "$(containers)" -gt "$before" ] && return 0; sleep 0.1; done
	return 1
}
"$SB" run "${BB[@]}" 'sleep 120' &
pid=$!
check "the container was running before the kill" wait_for_container
kill -KILL "$pid"; wait "$pid" 2>/dev/null
for _ in $(seq 1 100); do [ "$(containers)" -eq "$before" ] && break; sleep 0.1; done
expect_eq "SIGKILL of the CLI leaves no container" "$before" "$(containers)"
no_client() { ! pgrep -f "[d]ocker run -i --name symbi-" >/dev/null; }
for _ in $(seq 1 100); do no_client && break; sleep 0.1; done
check "SIGKILL of the CLI leaves no docker client running" no_client

"$SB" run "${BB[@]}" 'sleep 120' 2>/dev/null &
pid=$!
wait_for_container
kill -TERM "$pid"; wait "$pid"; rc=$?
expect_eq "SIGTERM of the CLI: exits 143" 143 "$rc"
expect_eq "SIGTERM of the CLI: container removed before it exits" "$before" "$(containers)"

# --- capabilities: none, as root in the container --------------------------------
# Tried from inside: chown needs CAP_CHOWN, which docker's default set
# gives root; the control is the same probe in a raw container.
probe='grep -E "^Cap(Eff|Bnd)" /proc/self/status | tr -s "\t " " "; touch /tmp/f && chown 1:1 /tmp/f && echo chown-worked'
out=$("$SB" run "${BB[@]}" "$probe" 2>"$WORK/err")
expect_eq "no capability inside, as root: empty sets" \
	"$(printf 'CapEff: 0000000000000000\nCapBnd: 0000000000000000')" "$out"
expect_eq "... and chown refused" "chown: /tmp/f: Operation not permitted" "$(cat "$WORK/err")"
out=$(docker run --rm --network none --label "$SUITE" --tmpfs /tmp symbi-test/busybox:latest sh -c "$probe" 2>&1)
check "control: the same probe in a raw container has capabilities ($(tr '\n' ' ' <<<"$out"))" \
	grep -q chown-worked <<<"$out"

# --- output caps ----------------------------------------------------------------
# Peak RSS of the CLI itself (VmHWM), not of the docker client it runs.
"$SB" run "${BB[@]}" --timeout 240 --json \
	'head -c 1000000000 /dev/zero; echo finished >&2' >"$WORK/big.json" &
pid=$!
hwm=0
while kill -0 "$pid" 2>/dev/null; do
	v=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null)
	[ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
	sleep 0.2
done
wait "$pid"; rc=$?
echo "$hwm" >"$WORK/rss"
expect_eq "1 GB of output: finishes (exit 0, not a timeout)" 0 "$rc"
expect_eq "1 GB of output: stdout_truncated" true "$(json_field stdout_truncated <"$WORK/big.json")"
expect_eq "1 GB of output: the program ran to its end" finished "$(json_field stderr <"$WORK/big.json")"
rss_kb=$(cat "$WORK/rss")
check "1 GB of output: memory stays bounded (peak RSS ${rss_kb} KiB < 64 MiB with a 10 MiB cap)" [ "$rss_kb" -gt 0 ] && [ "$rss_kb" -lt 65536 ]
check "1 GB of output: marker appended" python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); s=d["stdout"]
sys.exit(0 if s.endswith("\n... [output truncated at 10485760 bytes]") and len(s)==10485760+len("\n... [output truncated at 10485760 bytes]") else 1)' "$WORK/big.json"

j=$("$SB" run "${BB[@]}" --max-output 1000 --json 'head -c 1000 /dev/zero | tr "\0" a')
expect_eq "exactly-cap output is not truncated" false "$(json_field stdout_truncated <<<"$j")"
expect_eq "exactly-cap output is complete" 1000 "$(json_field stdout <<<"$j" | wc -c)"
j=$("$SB" run "${BB[@]}" --max-output 1000 --json 'head -c 1001 /dev/zero | tr "\0" a')
expect_eq "cap+1 output is truncated" true "$(json_field stdout_truncated <<<"$j")"

# --- limits ---------------------------------------------------------------------
j=$("$SB" run "${BB[@]}" --pids-limit 32 --timeout 60 --json \
	'bomb() { bomb | bomb & }; bomb; sleep 2; echo host-survived')
check "fork bomb: contained, run completes" [ "$(json_field status <<<"$j")" != timeout ]
check "fork bomb: forks were refused" grep -q "fork" <<<"$(json_field stderr <<<"$j")"
check "host still responsive after the fork bomb" "$SB" run "${BB[@]}" 'true'

j=$("$SB" run "${PY[@]}" --shell python3 --memory 64m --json 'x = bytearray(1024*1024*1024)')
rc=$?
expect_eq "memory hog: status oom" oom "$(json_field status <<<"$j")"
expect_eq "memory hog: CLI exits 137" 137 "$rc"

# --- docker's own failures ---------------------------------------------------
j=$("$SB" run --backend docker --image symbi-test/no-such-image:1 --extra-flag --pull=never --json 'true')
rc=$?
expect_eq "missing image: status error, not an exit code" error "$(json_field status <<<"$j")"
expect_eq "missing image: exit 125" 125 "$rc"
check "missing image: docker's message kept" grep -qi "no such image" <<<"$(json_field error <<<"$j")"
j=$(DOCKER_HOST=unix:///nonexistent.sock "$SB" run "${BB[@]}" --json 'true' 2>"$WORK/err")
rc=$?
expect_eq "daemon down: exit 125" 125 "$rc"
check "daemon down: the reference's start-up message" grep -q "Docker is not available at 'docker'" "$WORK/err"
"$SB" run "${BB[@]}" --docker-binary /nonexistent/docker 'true' 2>"$WORK/err"
check "missing docker binary: clear message" grep -q "Install Docker or set docker_binary path" "$WORK/err"
j=$("$SB" run "${BB[@]}" --shell /no/such/shell --json 'true')
expect_eq "missing shell in the image: status error" error "$(json_field status <<<"$j")"

# --- a deadline that comes while docker is still creating the container ------------
# `docker kill` then finds nothing; it is tried again until the container
# exists, instead of letting the program run on for the client's 10 s grace.
printf '#!/bin/sh\n[ "$1" = run ] && sleep 2\nexec docker "$@"\n' >"$WORK/slow-docker"
chmod +x "$WORK/slow-docker"
TAG="symbi-it-slow-create=$$"
j=$("$SB" run "${BB[@]}" --docker-binary "$WORK/slow-docker" --timeout 0.3 --extra-flag "--label=$TAG" \
	--json 'sleep 30')
expect_eq "deadline before the container exists: status timeout" timeout "$(json_field status <<<"$j")"
t=$(json_field execution_time_ms <<<"$j")
check "deadline before the container exists: killed once it exists (${t} ms < 6000)" [ "$t" -lt 6000 ]
expect_eq "deadline before the container exists: container removed" "" \
	"$(docker ps -aq --filter "label=$TAG")"
docker ps -aq --filter "label=$TAG" | xargs -r docker rm -f >/dev/null

# --- out of memory in the capture ------------------------------------------------
# Our own allocation failing while the program still runs (a 1g cap, a small
# address space): the result is an error and the container is removed, not
# left running.
TAG="symbi-it-capture-oom=$$"
(ulimit -v 900000; "$SB" run "${BB[@]}" --max-output 1g --timeout 120 --extra-flag "--label=$TAG" \
	'head -c 700m /dev/zero; sleep 300' >/dev/null 2>"$WORK/err")
rc=$?
expect_eq "capture out of memory: exit 125" 125 "$rc"
check "capture out of memory: said so" grep -q "out of memory" "$WORK/err"
expect_eq "capture out of memory: its container was removed" "" \
	"$(docker ps -aq --filter "label=$TAG")"
docker ps -aq --filter "label=$TAG" | xargs -r docker rm -f >/dev/null

# --- variables the docker client must not see ------------------------------------
out=$("$SB" run "${BB[@]}" -e PATH=/bin:/custom -e LD_BIND_NOW=1 -e GOGC=off \
	'echo "$PATH|$LD_BIND_NOW|$GOGC|${SYMBI_ENV_PATH-unset}"')
expect_eq "PATH, LD_*, GOGC reach the program under their own names" "/bin:/custom|1|off|unset" "$out"

expect_eq "no container left by this suite" "$before" "$(containers)"
finish
