#!/usr/bin/env bash
# The process backend: the reference's unisolated runner (allowlist, -c/-e,
# rlimits, working directory checks, production refusal), environment
# cleared.
source "$(dirname "$0")/../lib.sh"

require "symbi-sandbox binary" "run make first" test -x "$SB"
require "python3 and node" "apt-get install python3 nodejs" bash -c 'command -v python3 && command -v node'

WORK=$(mktemp -d /tmp/symbi-process-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
MARK=symbi_pmarker_$$_$RANDOM
cfg() { printf '%s' "$1" >"$WORK/cfg.json"; echo "$WORK/cfg.json"; }
prun() { "$SB" run --backend process "$@"; }
base() { cfg "{\"executable\":\"$1\",\"allowed_executables\":[\"$1\"],\"working_directory\":\"$WORK/wd\"${2:+,$2}}"; }

expect_eq "sh -c CODE runs" "hello" "$(prun -c "$(base sh)" 'echo hello')"
expect_eq "python3 gets -c" "7" "$(prun -c "$(base python3)" 'print(3+4)')"
expect_eq "node gets -e" "42" "$(prun -c "$(base node)" 'console.log(6*7)')"
expect_eq "the working directory is created and used" "$WORK/wd" "$(prun -c "$(base sh)" pwd)"
prun -c "$(base sh)" 'exit 9'; expect_eq "exit code" "9" "$?"
out=$(SYMBI_HOST_SECRET=x prun -c "$(base sh)" -e 'K=v v' env)
check "the host environment is cleared" bash -c '! grep -q SYMBI_HOST_SECRET <<<"$1"' _ "$out"
check "the caller's variables arrive" grep -qx 'K=v v' <<<"$out"
python3 -c "import sys; sys.stdout.write('echo start\n' + '#'*3000000 + '\necho end\n')" >"$WORK/big.sh"
expect_eq "3 MB of code runs (through a memfd)" "start end" "$(prun -c "$(base sh)" --file "$WORK/big.sh" | tr '\n' ' ' | sed 's/ $//')"

out=$(prun --executable python3 --allow-executable python3 --working-directory "$WORK/wd" 'print(5)' 2>"$WORK/err")
expect_eq "the CLI's --executable/--allow-executable/--working-directory flags" "5" "$out"
check "the CLI warns loudly that the run is unisolated" grep -q "WARNING: the 'process' backend runs code UNISOLATED" "$WORK/err"

# ---- refusals
out=$(prun -c "$(cfg "{\"working_directory\":\"$WORK/wd\"}")" true 2>&1); rc=$?
expect_eq "an empty allowlist is refused (125)" "125" "$rc"
check "... saying so" grep -q "allowed_executables is empty" <<<"$out"
out=$(prun -c "$(cfg "{\"executable\":\"bash\",\"allowed_executables\":[\"python3\"],\"working_directory\":\"$WORK/wd\"}")" true 2>&1); rc=$?
expect_eq "an executable outside the allowlist is refused" "125" "$rc"
expect_eq "an allowed basename matches a full path" "ok" \
	"$(prun -c "$(cfg "{\"executable\":\"/bin/sh\",\"allowed_executables\":[\"sh\"],\"working_directory\":\"$WORK/wd\"}")" 'echo ok')"
for wd in / /etc /usr/lib/x /proc; do
	out=$(prun -c "$(cfg "{\"executable\":\"sh\",\"allowed_executables\":[\"sh\"],\"working_directory\":\"$wd\"}")" true 2>&1); rc=$?
	expect_eq "working_directory $wd is refused" "125" "$rc"
done
ln -s /etc "$WORK/etc-link"
out=$(prun -c "$(cfg "{\"executable\":\"sh\",\"allowed_executables\":[\"sh\"],\"working_directory\":\"$WORK/etc-link\"}")" true 2>&1); rc=$?
expect_eq "a working directory resolving into /etc is refused" "125" "$rc"
expect_eq "a directory not in a system path (the reference refused all) is accepted" "ok" \
	"$(prun -c "$(base sh)" 'echo ok')"
out=$(SYMBIONT_ENV=production prun -c "$(base sh)" true 2>&1); rc=$?
expect_eq "refused in production (125)" "125" "$rc"
check "... with a SECURITY message" grep -q "SECURITY" <<<"$out"
out=$(SYMBIONT_ENV=prodction prun -c "$(base sh)" true 2>&1); rc=$?
expect_eq "refused when SYMBIONT_ENV is unknown (fail closed)" "125" "$rc"
# Fields this backend would ignore are refused, not silently dropped: the
# host's files, memory and interpreter are not what they ask for here.
for opts in "--lang python" "-v $WORK:/w" "--memory 64m" "--network none" "--image alpine"; do
	field=$(prun $opts -c "$(base sh)" 'echo ran' 2>&1); rc=$?
	expect_eq "$opts is refused on the process backend (125), nothing runs" "125|" \
		"$rc|$(grep -x ran <<<"$field")"
	check "... saying it means nothing here" grep -q "means nothing on the process backend" <<<"$field"
done
expect_eq "allowed in production with SYMBIONT_ALLOW_UNISOLATED=TRUE" "ok" \
	"$(SYMBIONT_ENV=production SYMBIONT_ALLOW_UNISOLATED=TRUE prun -c "$(base sh)" 'echo ok')"

# ---- limits
json=$(prun --json --timeout 1 -c "$(base bash)" "trap '' TERM; echo partial; exec -a $MARK sleep 300")
expect_eq "timeout: status" "timeout" "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' <<<"$json")"
expect_eq "timeout: the process group is killed" "" "$(pgrep -f "$MARK")"
out=$(prun -c "$(base python3 '"max_memory_mb":64')" 'b = bytearray(256*1024*1024)' 2>&1); rc=$?
check "RLIMIT_AS stops a memory hog (MemoryError)" grep -q MemoryError <<<"$out"
prun -c "$(base sh '"max_cpu_seconds":1')" 'while :; do :; done' 2>/dev/null
expect_eq "RLIMIT_CPU stops a busy loop (SIGXCPU, 128+24)" "152" "$?"
prun -c "$(base sh)" "head -c 200000000 /dev/zero > big 2>/dev/null" 2>/dev/null
expect_eq "RLIMIT_FSIZE stops a 200 MB file at 100 MiB (SIGXFSZ, 128+25)" "153" "$?"
rm -f "$WORK/wd/big"
finish
