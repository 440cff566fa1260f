#!/usr/bin/env bash
# A one-shot execution is start + exec + stop of a live sandbox, with the
# same results, on the docker and gvisor backends too: tests/unit's
# test_oneshot_equiv runs its corpus both ways on each, against the real
# engine, and compares every result field byte for byte.
source "$(dirname "$0")/../lib.sh"
IMAGE=symbi-test/busybox
require "a Docker engine" "run scripts/setup (it installs docker.io and starts a test daemon)" docker info
require "image $IMAGE" "run scripts/setup (it builds the local test images)" docker image inspect "$IMAGE"
require "the gVisor runtime" "run scripts/setup (it installs runsc and registers it)" \
	bash -c "docker info --format '{{json .Runtimes}}' | grep -q runsc"
require "build/tests/test_oneshot_equiv" "run make unit" test -x "$ROOT/build/tests/test_oneshot_equiv"
for backend in docker gvisor; do
	out=$(SYMBI_EQUIV_BACKEND=$backend SYMBI_EQUIV_IMAGE=$IMAGE "$ROOT/build/tests/test_oneshot_equiv" 2>&1)
	rc=$?
	if [ "$rc" = 0 ]; then
		ok "$backend: one-shot and start + exec + stop give the same results"
	else
		not_ok "$backend: one-shot and start + exec + stop give the same results" \
			"$(grep -E 'ERROR|FAIL' <<<"$out" | head -5)"
	fi
done
finish
