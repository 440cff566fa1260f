#!/usr/bin/env bash
# Exec latency in a live native sandbox next to a one-shot run (issue:
# "a trivial exec into a live native sandbox takes 2 ms or less (median),
# and at most 0.3x a one-shot run"). Builds bench/live_exec.c against the
# static library and runs it; run as root for the cgroup the default
# configuration gets.
#
#   bench/live-exec.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-200}
OUT=${BENCH_OUT:-build/bench}
[ -f build/libsymbi-sandbox.a ] || { echo "missing build/libsymbi-sandbox.a: run make" >&2; exit 1; }
mkdir -p "$OUT"
cc -O2 -Iinclude bench/live_exec.c build/libsymbi-sandbox.a $(pkg-config --libs jansson libseccomp) -lm \
	-o "$OUT/live_exec"
echo "# $(uname -sr), $(nproc) CPUs, $(date -u +%FT%TZ); $RUNS runs each, interleaved"
"$OUT/live_exec" "$RUNS" | tee "$OUT/live-exec.md"
