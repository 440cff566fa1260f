# Shared helpers for integration tests. Every test prints TAP lines
# ("ok N - name" / "not ok N - name"); scripts/run-tests counts them.
# Source this file; call `finish` at the end.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SB=${SB:-$ROOT/build/symbi-sandbox}
TEST_N=0
TEST_FAILED=0

ok() { TEST_N=$((TEST_N + 1)); echo "ok $TEST_N - $1"; }
not_ok() {
	TEST_N=$((TEST_N + 1)); TEST_FAILED=$((TEST_FAILED + 1))
	echo "not ok $TEST_N - $1"
	shift
	for line in "$@"; do echo "#   $line"; done
}
# check NAME CONDITION-COMMAND... : ok if the command succeeds.
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi; }
# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $(printf %q "$2")" "actual:   $(printf %q "$3")"; fi
}
# expect_printed NAME WANT FILE: a checker script's report line in FILE, the
# one that starts with WANT's first word, is WANT ("key value...").
expect_printed() { expect_eq "$1" "$2" "$(grep -E "^${2%% *}( |$)" "$3")"; }
# Processes running as a host id of the native backend's default
# native_id_range (1879048192:65536): those of live native runs as root.
# Zombies are left out: the init of a run whose supervisor was killed is
# reaped by the host's init, in its own time.
run_id_procs() {
	ps -eo pid=,uid=,stat=,args= | awk '$2 >= 1879048192 && $2 < 1879048192 + 65536 && $3 !~ /^Z/'
}
# require WHAT HOW-TO-GET-IT CONDITION...: a missing prerequisite is a
# failure with instructions, never a skip.
require() {
	local what=$1 how=$2; shift 2
	if ! "$@" >/dev/null 2>&1; then
		not_ok "prerequisite: $what" "missing; $how"
		finish
	fi
}
finish() { echo "1..$TEST_N"; [ "$TEST_FAILED" -eq 0 ]; exit $?; }
# require_engine [runsc]: a Docker engine with the test images, and with
# `runsc`, gVisor's runsc registered with it as a runtime.
require_engine() {
	local image
	require "a Docker engine" "run scripts/setup (it installs docker.io and starts a test daemon)" docker info
	for image in symbi-test/busybox symbi-test/python; do
		require "image $image" "run scripts/setup (it builds the local test images)" \
			docker image inspect "$image:latest"
	done
	[ "${1:-}" = runsc ] || return 0
	require "runsc registered with the engine" "run scripts/setup (it registers Debian's runsc as runtime 'runsc')" \
		bash -c "docker info --format '{{json .Runtimes}}' | grep -q runsc"
}
# Cgroups of native runs whose supervising process is gone (a live one may
# belong to another suite running at the same time).
dead_cgroups() {
	local d pid
	find /sys/fs/cgroup -name 'symbi-sandbox-*' 2>/dev/null | while read -r d; do
		pid=${d##*/symbi-sandbox-}; pid=${pid%%-*}
		kill -0 "$pid" 2>/dev/null || echo "$d"
	done
}
