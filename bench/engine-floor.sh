#!/usr/bin/env bash
# Where an exec into a live docker sandbox spends its time, without the
# library: for each RUNTIME (default: runc, and crun when the daemon has
# it), a container of IMAGE on it, then RUNS of
#   - the three Engine API requests of an exec (bench/engine_floor.c, a raw
#     client: ExecCreate, ExecStart until the stream ends, exec inspect),
#   - the runtime's own exec (`RUNTIME --root STATE exec CONTAINER true`,
#     the binary the daemon runs, so crun through scripts/crun-runtime;
#     STATE is the directory under EXEC_ROOT that holds the container's
#     state: docker 20.10 keeps every runtime's in runtime-runc/moby),
#     which is what the daemon, containerd and its shim wait for,
#   - `docker exec CONTAINER true` (the CLI's start-up included).
# Medians and p90 in ms; the library's own numbers are bench/live-exec.sh's.
# Run as root (the runtime's state). EXEC_ROOT is the daemon's --exec-root
# (/run/docker by default); DOCKER_HOST picks the daemon.
#
#   bench/engine-floor.sh [RUNS] [IMAGE] [RUNTIME...]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-100}
IMAGE=${2:-symbi-test/busybox}
shift $(($# > 2 ? 2 : $#))
EXEC_ROOT=${EXEC_ROOT:-/run/docker}
OUT=${BENCH_OUT:-build/bench}
SOCKET=/var/run/docker.sock
case ${DOCKER_HOST:-} in
"") ;;
unix://*) SOCKET=${DOCKER_HOST#unix://} ;;
*) echo "DOCKER_HOST must be unix://PATH" >&2; exit 1 ;;
esac
RUNTIMES=("$@")
if [ ${#RUNTIMES[@]} -eq 0 ]; then
	RUNTIMES=(runc)
	docker info --format '{{json .Runtimes}}' | grep -q '"crun"' && RUNTIMES+=(crun)
fi
mkdir -p "$OUT"
cc -std=gnu11 -O2 -Wall -Wextra -Werror bench/engine_floor.c -o "$OUT/engine_floor"

# RUNS timings of a command, in ms: the median and the p90.
time_runs() {
	local i s e
	for i in $(seq "$RUNS"); do
		s=$(date +%s%N)
		"$@" >/dev/null
		e=$(date +%s%N)
		echo $(((e - s) / 1000))
	done | sort -n | awk '{ v[NR] = $1 } END { printf "%7.2f | %7.2f", v[int(NR / 2) + 1] / 1000, v[int(NR * 9 / 10)] / 1000 }'
}

CONTAINER=
trap '[ -z "$CONTAINER" ] || docker rm -f "$CONTAINER" >/dev/null 2>&1' EXIT
echo "# $(uname -sr), $(nproc) CPUs, $(date -u +%FT%TZ); $RUNS runs each; image $IMAGE"
for rt in "${RUNTIMES[@]}"; do
	path=$(docker info --format "{{(index .Runtimes \"$rt\").Path}}")
	CONTAINER=$(docker run -d --rm --network none --runtime "$rt" --label symbi-bench=engine-floor \
		"$IMAGE" sleep 3600)
	state=
	for d in "$EXEC_ROOT"/runtime-*/moby; do
		[ -e "$d/$CONTAINER" ] && state=$d
	done
	[ -n "$state" ] || { echo "no runtime state of $CONTAINER under $EXEC_ROOT (set EXEC_ROOT)" >&2; exit 1; }
	echo
	printf '| %-52s | %7s | %7s |\n' "$rt: one exec of sh -c true, ms" median p90
	echo "|------------------------------------------------------|---------|---------|"
	"$OUT/engine_floor" "$SOCKET" "$CONTAINER" "$RUNS"
	printf '| %-52s | %s |\n' "$rt exec of true, alone (no daemon)" \
		"$(time_runs "$path" --root "$state" exec "$CONTAINER" true)"
	printf '| %-52s | %s |\n' "docker exec of true (the CLI)" "$(time_runs docker exec "$CONTAINER" true)"
	docker rm -f "$CONTAINER" >/dev/null
	CONTAINER=
done | tee "$OUT/engine-floor.md"
