#!/usr/bin/env bash
# Start-up cost of the native backend for a trivial program, next to bare
# execution, `unshare -Urpnmif` and bubblewrap (Debian's bwrap) running the
# same program. Prints hyperfine's table and writes machine-readable results
# to $BENCH_OUT (default build/bench/native-startup.{json,md}).
#
#   bench/native-startup.sh [RUNS]
#
# Then the same next to bubblewrap, interleaved (bench/interleaved.py).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-100}
OUT=${BENCH_OUT:-build/bench}
SB=${SB:-build/symbi-sandbox}
for tool in hyperfine unshare bwrap; do
	command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install hyperfine util-linux bubblewrap" >&2; exit 1; }
done
[ -x "$SB" ] || { echo "missing $SB: run make" >&2; exit 1; }
mkdir -p "$OUT"
cc -O2 -Iinclude bench/native_one.c build/libsymbi-sandbox.a $(pkg-config --libs jansson libseccomp) -lm \
	-o "$OUT/native_one"
PROG='sh -c true'
# bwrap with a root comparable to the native backend's: read-only system
# directories, private /proc, /dev and /tmp; --unshare-all as the issue asks.
BWRAP="bwrap --unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/bin /bin \
--symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/sbin /sbin --proc /proc \
--dev /dev --tmpfs /tmp"
echo "# $(uname -sr), $(nproc) CPUs, $(date -u +%FT%TZ); program: $PROG; $RUNS runs each"
hyperfine -N --warmup 10 --runs "$RUNS" \
	--export-json "$OUT/native-startup.json" --export-markdown "$OUT/native-startup.md" \
	-n "bare" "$PROG" \
	-n "unshare -Urpnmif" "unshare -Urpnmif --fork $PROG" \
	-n "bwrap --unshare-all" "$BWRAP $PROG" \
	-n "symbi-sandbox run --backend native" "$SB run --backend native true" \
	-n "native via the C library (no CLI start-up)" "$OUT/native_one" \
	-n "native, all limits (512m, 256 pids, 1 cpu)" "$SB run --backend native --memory 512m --pids-limit 256 --cpus 1 true"
echo
cat "$OUT/native-startup.md"
echo
# hyperfine measures each command in one block; on this machine kind the
# blocks' speed drifts more than the commands differ. The comparison that
# counts, next to bubblewrap, is interleaved (bench/interleaved.py).
echo "# interleaved: symbi-sandbox run against bwrap --unshare-all"
python3 bench/interleaved.py --runs "$RUNS" --rounds 3 "$SB run --backend native true" "$BWRAP $PROG"
