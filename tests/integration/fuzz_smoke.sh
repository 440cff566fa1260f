#!/usr/bin/env bash
# The libFuzzer harnesses (tests/fuzz), bounded for CI: builds them with
# clang (ASan+UBSan), replays every corpus input (seeds and the crash
# regressions kept there), then fuzzes each harness for FUZZ_SECONDS
# (default 20), one at a time. Long runs: bench/fuzz.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/fuzz/lib.sh"
SECONDS_EACH=${FUZZ_SECONDS:-20}

require "clang" "$FUZZ_INSTALL_HINT" command -v clang
WORK=$(mktemp -d "${TMPDIR:-/tmp}/symbi-fuzz-smoke.XXXXXX")
FUZZ_SCRATCH=
trap 'rm -rf "$WORK" ${FUZZ_SCRATCH:+"$FUZZ_SCRATCH"}' EXIT

if build_errors=$(fuzz_build); then
	ok "make fuzz builds $(fuzz_targets | wc -l) harnesses"
else
	mapfile -t lines <<<"$build_errors"
	not_ok "make fuzz" "$FUZZ_INSTALL_HINT" "${lines[@]}"
	finish
fi

for name in $(fuzz_targets); do
	n=$(find "$FUZZ_CORPUS/${name#fuzz_}" -type f | wc -l)
	if [ "$n" -gt 0 ] && TMPDIR=$WORK fuzz_replay "$name" "$WORK/$name.replay"; then
		ok "$name replays its $n corpus inputs"
	else
		mapfile -t lines < <(fuzz_finding "$WORK/$name.replay")
		not_ok "$name replays its $n corpus inputs" "${lines[@]}"
	fi
done

for name in $(fuzz_targets); do
	if fuzz_run "$name" "$SECONDS_EACH" "$WORK"; then
		ok "$name: $FUZZ_EXECS executions in ${FUZZ_SECONDS_RUN}s ($FUZZ_RATE/s), no crash"
	else
		mapfile -t lines < <(fuzz_finding "$FUZZ_LOG")
		[ -f "$FUZZ_CRASH" ] && lines+=("input (base64): $(base64 -w0 "$FUZZ_CRASH" | head -c 4000)")
		not_ok "$name: crash after $FUZZ_EXECS executions; input: $FUZZ_CRASH" "${lines[@]}" \
			"reproduce: build-fuzz/$name FILE; keep the input in tests/fuzz/corpus/${name#fuzz_}/ once fixed"
	fi
done
finish
