#!/usr/bin/env bash
# Live docker sandboxes on crun, the daemon's runtime that scripts/setup
# registers next to runc (scripts/crun-runtime; the default runtime stays
# runc): the same checks as live_docker.sh's docker run
# (tests/integration/live_docker.c: execs, streams, signals, timeouts,
# OOM, confinement from inside, nothing left behind), every container
# asked for with extra_flags --runtime=crun, and the first checked to run
# on it. crun is what makes an exec take less than 40 ms here (README,
# "Live sandboxes").
source "$(dirname "$0")/../lib.sh"

require "a Docker engine" "run scripts/setup (it installs docker.io and starts a test daemon)" docker info
require "image symbi-test/busybox" "run scripts/setup (it builds the local test images)" docker image inspect symbi-test/busybox:latest
require "image symbi-test/python" "run scripts/setup (it builds the local test images)" docker image inspect symbi-test/python:latest
require "the crun runtime registered with the engine" \
	"run scripts/setup (it installs crun and registers scripts/crun-runtime as runtime crun; a daemon started before that needs it added to its daemon.json and a reload: kill -HUP \$(cat /var/lib/symbi-sandbox-test/dockerd.pid))" \
	bash -c 'docker info --format "{{json .Runtimes}}" | grep -q "\"crun\""'
require "the library" "run make" test -f "$ROOT/build/libsymbi-sandbox.a"
require "libcurl" "apt-get install libcurl4 (or run scripts/setup)" bash -c 'ldconfig -p | grep -q "libcurl\(-gnutls\)\?\.so\.4 "'

WORK=$(mktemp -d /tmp/symbi-live-crun.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
if ! cc -std=gnu11 -Wall -Wextra -Werror -I"$ROOT/include" -o "$WORK/live_docker" \
	"$ROOT/tests/integration/live_docker.c" "$ROOT/build/libsymbi-sandbox.a" \
	$(pkg-config --libs jansson libseccomp) -lm -lpthread 2>"$WORK/cc.log"; then
	not_ok "the test program builds" "$(cat "$WORK/cc.log")"
	finish
fi

"$WORK/live_docker" docker symbi-test/busybox symbi-test/python "$TEST_N" crun >"$WORK/crun.tap" 2>&1
rc=$?
grep -v '^# ran ' "$WORK/crun.tap"
ran=$(sed -n 's/^# ran //p' "$WORK/crun.tap")
if [ -z "$ran" ]; then
	not_ok "the run on crun completed (status $rc)" "$(tail -5 "$WORK/crun.tap")"
else
	TEST_FAILED=$((TEST_FAILED + $(grep -c '^not ok' "$WORK/crun.tap")))
	TEST_N=$ran
fi
finish
