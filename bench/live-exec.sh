#!/usr/bin/env bash
# Exec latency in a live sandbox next to a one-shot run (issue: "a trivial
# exec into a live native sandbox takes 2 ms or less (median), and at most
# 0.3x a one-shot run"; into a live docker sandbox 40 ms or less). Builds
# bench/live_exec.c against the static library and runs it; run as root
# for the cgroup the default configuration gets. BACKEND: native (the
# default), docker or gvisor (with IMAGE, symbi-test/busybox by default);
# RUNTIME (docker backend) the daemon's runtime for the containers, e.g.
# crun (scripts/setup registers it); without one, the docker backend is
# measured on the daemon's default (runc) and then on crun if the daemon
# has it.
#
#   bench/live-exec.sh [RUNS] [BACKEND] [IMAGE] [RUNTIME]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-200}
BACKEND=${2:-native}
IMAGE=${3:-symbi-test/busybox}
RUNTIME=${4:-}
OUT=${BENCH_OUT:-build/bench}
[ -f build/libsymbi-sandbox.a ] || { echo "missing build/libsymbi-sandbox.a: run make" >&2; exit 1; }
mkdir -p "$OUT"
cc -O2 -Iinclude bench/live_exec.c build/libsymbi-sandbox.a $(pkg-config --libs jansson libseccomp) -lm -lpthread \
	-o "$OUT/live_exec"
echo "# $(uname -sr), $(nproc) CPUs, $(date -u +%FT%TZ); $RUNS runs each, interleaved"
RUNTIMES=("$RUNTIME")
if [ "$BACKEND" = docker ] && [ -z "$RUNTIME" ] &&
	docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"crun"'; then
	RUNTIMES+=(crun)
fi
for rt in "${RUNTIMES[@]}"; do
	"$OUT/live_exec" "$RUNS" "$BACKEND" "$IMAGE" "$rt" | tee "$OUT/live-exec-$BACKEND${rt:+-$rt}.md"
	echo
done
