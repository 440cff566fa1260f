# Running the libFuzzer harnesses, shared by tests/integration/fuzz_smoke.sh
# (bounded, in CI) and bench/fuzz (hours). Source it after setting ROOT.
#
#   fuzz_targets                 the harness names (fuzz_config_json, ...)
#   fuzz_build                   make fuzz; prints the build's errors on failure
#   fuzz_replay NAME LOG         runs every input of the harness's corpus
#                                (seeds and kept crash regressions) once
#   fuzz_run NAME SECONDS WORK   fuzzes for SECONDS (nice -n 19) from a copy
#                                of the corpus in WORK; sets FUZZ_EXECS,
#                                FUZZ_SECONDS_RUN, FUZZ_RATE (per second),
#                                FUZZ_CRASH (the input that broke it, or
#                                empty) and FUZZ_LOG; the harness's scratch
#                                files go to FUZZ_SCRATCH (a tmpfs), removed
#                                after the run (remove it in an EXIT trap
#                                too, for an interrupted run)
FUZZ_BUILD_DIR=$ROOT/build-fuzz
FUZZ_CORPUS=$ROOT/tests/fuzz/corpus
FUZZ_INSTALL_HINT="clang with libFuzzer is needed: run scripts/setup (or apt-get install clang libclang-rt-dev)"

fuzz_targets() {
	local f n
	for f in "$ROOT"/tests/fuzz/fuzz_*.c; do
		n=${f##*/}; n=${n%.c}
		[ "$n" = fuzz_files ] || echo "$n"
	done
}

fuzz_build() {
	local out
	out=$(make -C "$ROOT" -j2 fuzz 2>&1) || { printf '%s\n' "$out" | tail -20; return 1; }
}

# Options common to every run: a hang of 30 s or a 2 GiB process is a
# finding; leaks are (ASan's leak detector is on by default).
fuzz_opts() {
	local name=$1 dict=$ROOT/tests/fuzz/${1#fuzz_}.dict
	echo "-timeout=30 -rss_limit_mb=2048 -print_final_stats=1"
	[ -f "$dict" ] && echo "-dict=$dict"
	return 0
}

fuzz_replay() {
	local name=$1 log=$2
	# shellcheck disable=SC2046
	TMPDIR=${TMPDIR:-/tmp} "$FUZZ_BUILD_DIR/$name" $(fuzz_opts "$name") -runs=0 \
		"$FUZZ_CORPUS/${name#fuzz_}" >"$log" 2>&1
}

# A new directory for a harness's scratch files (its TMPDIR): on /dev/shm,
# a tmpfs, when there is one. fuzz_audit, fuzz_policy and fuzz_ws_path
# create and remove files for every input, 3 to 5 times faster there than
# on a disk.
fuzz_scratch() {
	local base=/dev/shm
	[ -d "$base" ] && [ -w "$base" ] || base=$1
	mktemp -d "$base/symbi-fuzz-run.XXXXXX"
}

fuzz_run() {
	local name=$1 seconds=$2 work=$3
	mkdir -p "$work/corpus-$name"
	FUZZ_SCRATCH=$(fuzz_scratch "$work") || return 1
	cp -r "$FUZZ_CORPUS/${name#fuzz_}/." "$work/corpus-$name/"
	FUZZ_LOG=$work/$name.log
	local start
	start=$(date +%s)
	# FUZZ_RUNS stops at that many executions (SECONDS then bounds the
	# time, 0 for none); FUZZ_MAX_LEN caps an input's size.
	# shellcheck disable=SC2046
	TMPDIR=$FUZZ_SCRATCH nice -n 19 "$FUZZ_BUILD_DIR/$name" $(fuzz_opts "$name") \
		-max_total_time="$seconds" ${FUZZ_RUNS:+-runs="$FUZZ_RUNS"} \
		${FUZZ_MAX_LEN:+-max_len="$FUZZ_MAX_LEN"} -artifact_prefix="$work/$name-" \
		"$work/corpus-$name" >"$FUZZ_LOG" 2>&1
	local rc=$? elapsed
	rm -rf "$FUZZ_SCRATCH"
	elapsed=$(($(date +%s) - start))
	[ "$elapsed" -gt 0 ] || elapsed=1
	FUZZ_SECONDS_RUN=$elapsed
	FUZZ_EXECS=$(sed -n 's/^stat::number_of_executed_units: *//p' "$FUZZ_LOG" | tail -1)
	[ -n "$FUZZ_EXECS" ] || FUZZ_EXECS=$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE.*/\1/p' "$FUZZ_LOG" | tail -1)
	[ -n "$FUZZ_EXECS" ] || FUZZ_EXECS=$(sed -n 's/^#\([0-9]*\)[[:space:]].*/\1/p' "$FUZZ_LOG" | tail -1)
	FUZZ_EXECS=${FUZZ_EXECS:-0}
	FUZZ_RATE=$((FUZZ_EXECS / elapsed))
	FUZZ_CRASH=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$FUZZ_LOG" | head -1)
	[ "$rc" -eq 0 ] && [ -z "$FUZZ_CRASH" ] && return 0
	[ -n "$FUZZ_CRASH" ] || FUZZ_CRASH="(exit status $rc, no input saved)"
	return 1
}

# The lines of a log that say what went wrong.
fuzz_finding() {
	grep -E 'invariant broken|runtime error|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|SUMMARY|Test unit written' "$1" | head -8
}
