#!/usr/bin/env bash
# Live sandboxes on the docker and gvisor backends against the real engine
# (tests/integration/live_docker.c, built here against the library): execs
# into one container, background processes, streamed output and stdin,
# per-exec timeouts and signals, max_lifetime and idle_timeout, OOM, a
# python context, and the container's confinement from inside, next to a
# control container without it. Nothing of the suite's is left: its
# containers (counted by the owner label, which names the test's pid) and
# the host state (scripts/run-tests) are compared before and after.
# LIVE_DOCKER_RUNTIME (set by live_docker_crun.sh): the docker run only,
# its containers on that runtime of the daemon.
source "$(dirname "$0")/../lib.sh"
RUNTIME=${LIVE_DOCKER_RUNTIME:-}

require_engine runsc
[ -z "$RUNTIME" ] || require "the $RUNTIME runtime registered with the engine" \
	"run scripts/setup (it installs crun and registers scripts/crun-runtime as runtime crun; a daemon started before that needs it added to the runtimes of its daemon.json, then a reload: kill -HUP \$(cat /var/lib/symbi-sandbox-test/dockerd.pid))" \
	bash -c 'docker info --format "{{json .Runtimes}}" | grep -q "\"$1\""' _ "$RUNTIME"
require "the library" "run make" test -f "$ROOT/build/libsymbi-sandbox.a"
require "libcurl" "apt-get install libcurl4 (or run scripts/setup)" bash -c 'ldconfig -p | grep -q "libcurl\(-gnutls\)\?\.so\.4 "' 

WORK=$(mktemp -d /tmp/symbi-live-docker.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
if ! cc -std=gnu11 -Wall -Wextra -Werror -I"$ROOT/include" -o "$WORK/live_docker" \
	"$ROOT/tests/integration/live_docker.c" "$ROOT/build/libsymbi-sandbox.a" \
	$(pkg-config --libs jansson libseccomp) -lm -lpthread 2>"$WORK/cc.log"; then
	not_ok "the test program builds" "$(cat "$WORK/cc.log")"
	finish
fi

# The control: the same reads in a container without the confinement
# (the host's network, which only lists interfaces here; default
# capabilities) show what the live sandbox's checks would see if a
# protection were missing. (The test daemon has no bridge network.)
ctl=$(docker run --rm --network host --label symbi-it-control=1 symbi-test/busybox sh -c \
	'ls /sys/class/net | tr "\n" " "; grep ^CapEff: /proc/self/status | tr -s "\t " " "')
check "control: an unconfined container has more than lo" bash -c '[[ "$1" != "lo CapEff"* ]]' _ "$ctl"
check "control: an unconfined container has capabilities" bash -c '[[ "$1" != *"CapEff: 0000000000000000"* ]]' _ "$ctl"

backends=(docker gvisor)
[ -z "$RUNTIME" ] || backends=(docker)
for backend in "${backends[@]}"; do
	"$WORK/live_docker" "$backend" symbi-test/busybox symbi-test/python "$TEST_N" ${RUNTIME:+"$RUNTIME"} >"$WORK/$backend.tap" 2>&1
	rc=$?
	grep -v '^# ran ' "$WORK/$backend.tap"
	ran=$(sed -n 's/^# ran //p' "$WORK/$backend.tap")
	if [ -z "$ran" ]; then
		not_ok "the $backend run completed (status $rc)" "$(tail -5 "$WORK/$backend.tap")"
		continue
	fi
	TEST_FAILED=$((TEST_FAILED + $(grep -c '^not ok' "$WORK/$backend.tap")))
	TEST_N=$ran
done
finish
