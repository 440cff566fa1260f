#!/usr/bin/env bash
# The native and process backends under valgrind: the library's unit tests
# and a few CLI runs give the same results as without it, with no memory
# error and no definite leak in the supervising process.
source "$(dirname "$0")/../lib.sh"

require "root" "run the test suite as root (sudo make test)" test "$(id -u)" -eq 0
require "valgrind" "apt-get install valgrind" valgrind --version
require "the unit tests" "run make unit" test -x "$ROOT/build/tests/test_native"

VG=(valgrind -q --child-silent-after-fork=yes --leak-check=full --errors-for-leak-kinds=definite
    --error-exitcode=99)
WORK=$(mktemp -d /tmp/symbi-native-vg.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

CMOCKA_MESSAGE_OUTPUT=TAP "${VG[@]}" "$ROOT/build/tests/test_native" >"$WORK/unit" 2>"$WORK/unit.err"
rc=$?
expect_eq "unit tests of the native and process backends pass under valgrind" "0" "$rc"
[ "$rc" -eq 0 ] || { sed 's/^/#   /' "$WORK/unit" "$WORK/unit.err" | grep -v '^#   --' | head -40; }

vrun() { "${VG[@]}" "$SB" run --backend native "$@" 2>"$WORK/err"; }
expect_eq "output under valgrind" "hello" "$(vrun 'echo hello')"
vrun 'exit 5'; expect_eq "exit code under valgrind" "5" "$?"
vrun --timeout 1 'echo partial; sleep 30' >/dev/null; expect_eq "timeout under valgrind (124)" "124" "$?"
printf '{"lang":"python"}' >"$WORK/py.json"
vrun --memory 64m -c "$WORK/py.json" 'b = bytearray(512*1024*1024)' >/dev/null
expect_eq "oom under valgrind (137)" "137" "$?"
check "no valgrind error report" bash -c '! grep -q "^==[0-9]*== [A-Z]" "$1"' _ "$WORK/err"
expect_eq "no cgroup left behind" "" "$(dead_cgroups)"
finish
