#!/usr/bin/env bash
# Time of one `symbi-sandbox run` (Docker backend) next to a raw `docker run`
# with the same flags, for a trivial program. Needs hyperfine and the test
# images (scripts/setup). Prints hyperfine's table and writes
# bench/results/docker-run-overhead.json.
set -eu
cd "$(dirname "$0")/.."
SB=${SB:-build/symbi-sandbox}
mkdir -p bench/results
raw=$(mktemp /tmp/symbi-bench-raw.XXXXXX.sh)
trap 'rm -f "$raw"' EXIT
# The exact command line the backend builds (see src/backends/docker_argv.c),
# with docker's own --rm instead of our inspect-free removal.
cat >"$raw" <<'SH'
printf 'echo hi' | docker run -i --rm --log-driver none --init --memory 512m --memory-swap 512m \
  --cpus 1 --pids-limit 256 --network none --workdir /workspace --read-only \
  --tmpfs /tmp:rw,noexec,nosuid,size=100m --security-opt no-new-privileges \
  --cap-drop ALL symbi-test/busybox /bin/sh -c 'cat >/tmp/.symbi-code; exec "$0" /tmp/.symbi-code </dev/null' sh >/dev/null
SH
hyperfine -N --warmup 2 --runs "${RUNS:-20}" --export-json bench/results/docker-run-overhead.json \
	-n "raw docker run (same flags)" "bash $raw" \
	-n "raw docker run (minimal)" "docker run --rm --network none symbi-test/busybox sh -c 'echo hi'" \
	-n "symbi-sandbox run --backend docker" "$SB run --backend docker --image symbi-test/busybox 'echo hi'" \
	-n "symbi-sandbox run --backend gvisor" "$SB run --backend gvisor --image symbi-test/busybox 'echo hi'"
