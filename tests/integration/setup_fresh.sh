#!/usr/bin/env bash
# The second README command on a fresh machine: scripts/setup builds the
# test images from nothing, survives being interrupted (a signal, or
# SIGKILL that runs no trap) and can be rerun, and leaves no build root or
# mount behind. CI reuses the images of earlier runs, so this suite builds
# them under throwaway names every time and removes them at the end.
source "$(dirname "$0")/../lib.sh"
require "root" "run the test suite as root (sudo make test)" test "$(id -u)" -eq 0
require "a Docker engine" "run scripts/setup (it starts one)" docker info
require "debootstrap" "apt-get install debootstrap" command -v debootstrap

TAG=symbi-fresh-$$
export SYMBI_BUSYBOX_IMAGE=$TAG/busybox:test SYMBI_PYTHON_IMAGE=$TAG/python:test
LOG=$(mktemp /tmp/symbi-setup-fresh.XXXXXX)
cleanup() {
	docker rmi -f "$SYMBI_BUSYBOX_IMAGE" "$SYMBI_PYTHON_IMAGE" >/dev/null 2>&1
	rm -f "$LOG"
}
trap cleanup EXIT
roots() { ls -d /var/tmp/symbi-python-root.* 2>/dev/null; }
root_mounts() { awk '$5 ~ "^/var/tmp/symbi-python-root" {print $5}' /proc/self/mountinfo; }
expect_eq "no build root before the test" "" "$(roots)"

# Starts setup --images in its own process group and, once debootstrap
# runs, sends SIGNAL to the whole group (as a terminal's ^C or a stopped
# service would). Prints setup's exit status.
interrupt_setup() {
	local sig=$1 pid i
	setsid "$ROOT/scripts/setup" --images >"$LOG" 2>&1 &
	pid=$!
	for i in $(seq 1 600); do
		pgrep -s "$pid" -x debootstrap >/dev/null && [ -n "$(roots)" ] && break
		sleep 0.1
	done
	sleep 2 # well into debootstrap's work
	kill -"$sig" -- -"$pid"
	wait "$pid"
	echo $?
}

rc=$(interrupt_setup TERM)
check "SIGTERM during debootstrap: setup fails (status $rc)" test "$rc" -ne 0
expect_eq "... and leaves no build root" "" "$(roots)"
expect_eq "... and no mount" "" "$(root_mounts)"

rc=$(interrupt_setup KILL)
expect_eq "SIGKILL during debootstrap (no trap runs)" "137" "$rc"
# Let the killed debootstrap's children end (they were in the group too).
for _ in $(seq 1 50); do pgrep -x debootstrap >/dev/null || break; sleep 0.1; done
check "... leaves its build root behind" test -n "$(roots)"

"$ROOT/scripts/setup" --images >"$LOG" 2>&1; rc=$?
expect_eq "the rerun builds both images from scratch (exit 0)" "0" "$rc"
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$LOG" | tail -20
check "... saying so" grep -q "image $SYMBI_PYTHON_IMAGE: built" "$LOG"
check "... after removing the root the killed run left" grep -q "removing the build root an interrupted run left" "$LOG"
expect_eq "... and leaves no build root" "" "$(roots)"
expect_eq "... and no mount" "" "$(root_mounts)"
expect_eq "the python image runs python3" "4" \
	"$(docker run --rm --network none "$SYMBI_PYTHON_IMAGE" python3 -c 'print(2 + 2)' 2>&1)"
expect_eq "the busybox image runs sh" "hi" \
	"$(docker run --rm --network none "$SYMBI_BUSYBOX_IMAGE" sh -c 'echo hi' 2>&1)"
"$ROOT/scripts/setup" --images >"$LOG" 2>&1; rc=$?
expect_eq "a second rerun is a no-op (exit 0)" "0" "$rc"
check "... finding both images present" grep -q "image $SYMBI_PYTHON_IMAGE: present" "$LOG"
finish
