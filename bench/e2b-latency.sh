#!/usr/bin/env bash
# Latency of an E2B program's first steps against `serve --e2b-listen`:
# Sandbox.create() + the first commands.run(), with the official SDK
# (tests/e2b, installed by scripts/setup). Usage: bench/e2b-latency.sh
# [RUNS] [BACKEND] [IMAGE] (20, native, symbi-test/python:latest for docker).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${1:-20} BACKEND=${2:-native} IMAGE=${3:-symbi-test/python:latest}
WORK=$(mktemp -d /tmp/symbi-e2b-bench.XXXXXX)
PID=
trap '[ -n "$PID" ] && kill -TERM "$PID" && wait "$PID"; rm -rf "$WORK"' EXIT
KEY=e2b_$(openssl rand -hex 20)
echo "bench $KEY" >"$WORK/tokens"
chmod 600 "$WORK/tokens"
"$ROOT/build/symbi-sandbox" serve --listen 127.0.0.1:0 --backend "$BACKEND" --image "$IMAGE" --token-file "$WORK/tokens" \
	--e2b-listen 127.0.0.1:0 --e2b-ready-file "$WORK/port" 2>"$WORK/server.err" &
PID=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
URL=http://127.0.0.1:$(cat "$WORK/port")
cd "$ROOT/tests/e2b"
echo "backend $BACKEND: $(E2B_API_URL=$URL E2B_SANDBOX_URL=$URL E2B_API_KEY=$KEY node latency.mjs "$RUNS")"
