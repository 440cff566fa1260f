#!/usr/bin/env bash
# `symbi-sandbox doctor`: the table, --json, and its exit status.
source "$(dirname "$0")/../lib.sh"

require "root" "run the test suite as root (sudo make test)" test "$(id -u)" -eq 0
require "symbi-sandbox binary" "run make first" test -x "$SB"
require "python3" "apt-get install python3" python3 --version

out=$("$SB" doctor 2>&1); rc=$?
check "doctor prints the host section" grep -q '^Host' <<<"$out"
check "doctor names every backend" bash -c 'for b in native process docker gvisor; do grep -qE "^  $b " <<<"$1" || exit 1; done' _ "$out"
check "doctor says whether the default backend works" grep -qE '^The default backend \(.*\) (works|CANNOT run on this host)\.$' <<<"$out"
if grep -q 'The default backend (.*) works' <<<"$out"; then
	expect_eq "exit status 0 when the default backend works" "0" "$rc"
else
	expect_eq "exit status 1 when the default backend cannot run" "1" "$rc"
fi
json=$("$SB" doctor --json); jrc=$?
expect_eq "--json has the same exit status" "$rc" "$jrc"
fields=$(python3 -c '
import json, sys
d = json.loads(sys.argv[1])
h = d["host"]
print(h["root"], h["namespaces"]["available"], h["cgroups"]["version"] in (0, 1, 2),
      sorted(b["name"] for b in d["backends"]), isinstance(d["fixes"], list),
      [b["works"] for b in d["backends"] if b["name"] == "native"][0])
' "$json")
expect_eq "--json: host, backends and fixes (native works as root here)" \
	"True True True ['docker', 'gvisor', 'native', 'process'] True True" "$fields"
check "as root, doctor says each run gets its own host uid from native_id_range" \
	grep -qE '^  run identity +own +each run gets its own host uid/gid from 1879048192:65536 \(native_id_range\)' <<<"$out"
expect_eq "--json: run_identity" "True" \
	"$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["host"]["run_identity"]["per_run"])' "$json")"
expect_eq "doctor leaves no cgroup behind" "" "$(dead_cgroups)"
expect_eq "doctor leaves no temporary directory" "" "$(ls -d /tmp/symbi-doctor.* 2>/dev/null)"
"$SB" doctor --bogus >/dev/null 2>&1
expect_eq "an unknown option is a usage error (2)" "2" "$?"

# As an unprivileged user: what is missing is named with its fix.
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$SB" doctor 2>&1)
check "unprivileged: the cgroup gap is reported with a fix" grep -q '^  - cgroups: ' <<<"$out"
check "unprivileged: user namespaces are probed" grep -qE '^  user namespaces +(yes|no)' <<<"$out"
check "unprivileged without /etc/subuid: runs share the caller's uid, with the fix" \
	bash -c 'grep -qE "^  run identity +SHARED +native backend: runs share your uid" <<<"$1" &&
		grep -q "^  - run identity: apt-get install uidmap" <<<"$1"' _ "$out"
finish
