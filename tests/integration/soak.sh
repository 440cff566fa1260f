#!/usr/bin/env bash
# A short soak of the HTTP server on the native backend (bench/soak runs the
# long one): a few hundred mixed requests from 4 clients, every answer
# checked; the server's descriptors and RSS stay flat and nothing is left.
source "$(dirname "$0")/../lib.sh"
require "root" "run the test suite as root (sudo make test)" test "$(id -u)" -eq 0
require "symbi-sandbox binary" "run make first" test -x "$SB"
require "python3" "apt-get install python3" python3 --version
# bench/soak prints TAP of its own; renumber it into this suite.
out=$(SB="$SB" python3 "$ROOT/bench/soak" --requests "${SOAK_REQUESTS:-300}" --clients 4 2>&1)
printf '%s\n' "$out" | grep '^#'
while IFS= read -r line; do
	case "$line" in
	"ok "*) ok "soak: ${line#ok * - }" ;;
	"not ok "*) not_ok "soak: ${line#not ok * - }" ;;
	esac
done <<<"$out"
check "the soak ran its checks" grep -q '^1\.\.5$' <<<"$out"
finish
