#!/usr/bin/env bash
# One-shot docker and gvisor runs go through the Engine API when
# docker_binary is the default, and the containers they make are the
# CLI's: the daemon's record of a container created from our command line
# through the API (Config and HostConfig, every field) equals that of one
# created by `docker create` from the same line, for the defaults, for
# variables, a user and the translated extra flags, and for gVisor. A run
# with the default client starts no docker process; a run with a client
# of the operator's, or an extra flag the translation does not know, goes
# through the CLI and gives the same result.
source "$(dirname "$0")/../lib.sh"
IMAGE=symbi-test/busybox
require_engine runsc
require "build/tests/test_docker_api_body" "run make unit" test -x "$ROOT/build/tests/test_docker_api_body"

out=$(SYMBI_API_EQUIV_IMAGE=$IMAGE SYMBI_API_EQUIV_GVISOR=1 "$ROOT/build/tests/test_docker_api_body" 2>&1)
if [ $? = 0 ]; then
	ok "the daemon records the same container through the API as through docker create"
else
	not_ok "the daemon records the same container through the API as through docker create" \
		"$(grep -vE '^\[ *(RUN|OK|=+|PASSED) ' <<<"$out" | head -20)"
fi

# A spy on PATH: a `docker` that logs each call and runs the real one.
work=$(mktemp -d /tmp/symbi-api-equiv.XXXXXX)
trap 'rm -rf "$work"' EXIT
real=$(command -v docker)
cat >"$work/docker" <<EOF
#!/bin/sh
echo "\$1" >>"$work/calls"
exec "$real" "\$@"
EOF
chmod +x "$work/docker"
code='echo out; echo err >&2; read -r line; echo "in=$line"; echo "v=$V"; exit 7'
printf 'hello\n' >"$work/stdin"
for backend in docker gvisor; do
	: >"$work/calls"
	PATH="$work:$PATH" "$SB" run --backend "$backend" --image "$IMAGE" -e V=x --stdin "$work/stdin" \
		"$code" >"$work/api.out" 2>"$work/api.err"
	api_rc=$?
	expect_eq "$backend: the default client's run starts no docker process" "" "$(cat "$work/calls")"
	PATH="$work:$PATH" "$SB" run --backend "$backend" --image "$IMAGE" -e V=x --stdin "$work/stdin" \
		--docker-binary "$work/docker" "$code" >"$work/cli.out" 2>"$work/cli.err"
	cli_rc=$?
	check "$backend: a client of the operator's is run (the CLI path)" grep -qx run "$work/calls"
	expect_eq "$backend: API exit status" 7 "$api_rc"
	expect_eq "$backend: the same exit status both ways" "$cli_rc" "$api_rc"
	expect_eq "$backend: API stdout" "$(printf 'out\nin=hello\nv=x')" "$(cat "$work/api.out")"
	expect_eq "$backend: the same stdout both ways" "$(cat "$work/cli.out")" "$(cat "$work/api.out")"
	expect_eq "$backend: the same stderr both ways" "$(cat "$work/cli.err")" "$(cat "$work/api.err")"
done

# An allowed extra flag the translation does not know: the CLI.
: >"$work/calls"
PATH="$work:$PATH" "$SB" run --backend docker --image "$IMAGE" --extra-flag --no-healthcheck \
	'echo fine' >"$work/out" 2>&1
expect_eq "an untranslated extra flag runs through the CLI" "fine" "$(cat "$work/out")"
check "an untranslated extra flag runs through the CLI: docker run was called" grep -qx run "$work/calls"

# The daemon's refusal reaches the caller as the run's error, nothing is left.
before=$(docker ps -aq --filter label=io.symbi.sandbox | wc -l)
"$SB" run --backend docker --image "$IMAGE" --user nosuchuser 'echo never' >"$work/out" 2>&1
rc=$?
check "a container the runtime cannot start: an error, not the program's status" test "$rc" -ne 0
check "a container the runtime cannot start: the daemon's reason" grep -q "nosuchuser" "$work/out"
expect_eq "a container the runtime cannot start: nothing left" "$before" \
	"$(docker ps -aq --filter label=io.symbi.sandbox | wc -l)"
finish
