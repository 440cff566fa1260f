#!/usr/bin/env bash
# The Docker and gVisor backends attacked as a hostile tenant would (issue
# 13), on the real engine: each reproduction must now fail, next to a
# control showing that the same attempt works without the protection.
source "$(dirname "$0")/../lib.sh"

require_engine runsc
require "bash (the shell bound over /bin/sh)" "apt-get install bash" test -x /bin/bash
require "unshare, setpriv and mount (util-linux)" "apt-get install util-linux mount" \
	bash -c 'command -v unshare && command -v setpriv'
require "a C compiler with static libc (the tenant's renameat2 helper)" "apt-get install gcc libc6-dev" \
	bash -c 'printf "int main(void){return 0;}" | gcc -static -x c -o /dev/null -'
require "the CLI" "run make" test -x "$SB"
require "curl" "apt-get install curl (scripts/setup installs it)" command -v curl

# Every container of this suite carries its own label, so that other
# users of the same daemon do not disturb the counts.
TAG="symbi-it-attacks=$$-$RANDOM"
BB=(--backend docker --image symbi-test/busybox:latest --extra-flag "--label=$TAG")
GV=(--backend gvisor --image symbi-test/busybox:latest --timeout 120 --extra-flag "--label=$TAG")
WORK=$(mktemp -d /tmp/symbi-it.XXXXXX)
VOLIMG="symbi-it-volimg:$$"
SWAPPER_CID=
SERVER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	[ -n "$SWAPPER_CID" ] && docker rm -fv "$SWAPPER_CID" >/dev/null 2>&1
	docker ps -aq --filter "label=$TAG" | xargs -r docker rm -fv >/dev/null 2>&1
	docker image rm -f "$VOLIMG" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
containers() { docker ps -aq --filter "label=$TAG" | wc -l; }
json_field() { python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(json.dumps(v) if not isinstance(v,str) else v, end="")' "$1"; }
sh_binds() { grep -c ' /bin/sh \| /usr/bin/sh ' /proc/self/mounts; }
staged_mounts() { grep -c ' /run/symbi-sandbox/volumes/' /proc/self/mounts; }
volumes_before=$(docker volume ls -q | sort)
binds_before=$(sh_binds)

# --- 1. a BASH_FUNC_ key, with bash as /bin/sh ---------------------------------
# The planted function would run `touch MARK` wherever a bash inheriting
# the program's variables calls `read`.
MARK=$WORK/bash-func-ran
FUNC="() { touch $MARK; builtin read \"\$@\"; }"
env "BASH_FUNC_read%%=$FUNC" /bin/bash -c 'read x </dev/null'
check "control: the planted BASH_FUNC_read%% runs code in a bash that inherits it" test -e "$MARK"
rm -f "$MARK"
for backend in docker gvisor; do
	unshare -m sh -c 'mount --bind /bin/bash /bin/sh && exec "$@"' sh \
		env "BASH_FUNC_read%%=$FUNC" "$SB" run --backend "$backend" --image symbi-test/busybox:latest \
		--extra-flag "--label=$TAG" --timeout 60 -e 'BASH_FUNC_read%%' 'echo ran' >"$WORK/out" 2>"$WORK/err"
	rc=$?
	expect_eq "$backend: a BASH_FUNC_read%% env key is refused (exit 125)" 125 "$rc"
	check "$backend: ... with a clear message" grep -q 'is refused: names must be identifiers' "$WORK/err"
	check "$backend: ... and nothing ran on the host" test ! -e "$MARK"
	check "$backend: ... nor in the sandbox" test ! -s "$WORK/out"
done
# The same through a valid key: the run itself works with bash as /bin/sh.
out=$(unshare -m sh -c 'mount --bind /bin/bash /bin/sh && exec "$@"' sh \
	env "BASH_FUNC_read%%=$FUNC" "$SB" run "${BB[@]}" -e 'OK_KEY=1' 'echo "ran $OK_KEY"')
expect_eq "control: with bash bound over /bin/sh a valid run works" "ran 1" "$out"
check "control: ... and the inherited function ran nowhere on the host (no shell talks to docker)" \
	test ! -e "$MARK"
# The same key through the HTTP API, the server running with bash as /bin/sh.
cat >"$WORK/policy.json" <<JSON
{"default_backend": "docker", "allowed_backends": ["docker"], "default_image": "symbi-test/busybox:latest",
 "defaults": {"timeout": 20, "memory": "128m", "cpus": 1, "pids": 64, "max_output_bytes": 65536},
 "maximums": {"timeout": 30, "memory": "256m", "cpus": 1, "pids": 128, "max_output_bytes": 1048576}}
JSON
unshare -m sh -c 'mount --bind /bin/bash /bin/sh && exec "$@"' sh \
	env "BASH_FUNC_read%%=$FUNC" "$SB" serve --listen 127.0.0.1:0 --ready-file "$WORK/ready" \
	--policy "$WORK/policy.json" 2>"$WORK/server.err" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/ready" ] && break; sleep 0.1; done
BASE="http://127.0.0.1:$(cat "$WORK/ready" 2>/dev/null)"
status=$(curl -sS -o "$WORK/body" -w '%{http_code}' --max-time 60 -X POST "$BASE/v1/execute" -H 'Content-Type: application/json' \
	-d "$(python3 -c 'import json,sys; print(json.dumps({"code": "echo ran", "env": {"BASH_FUNC_read%%": sys.argv[1]}}))' "$FUNC")")
expect_eq "HTTP: a BASH_FUNC_read%% env key is refused (400)" 400 "$status"
check "HTTP: ... as invalid_request, saying why" grep -q '"invalid_request".*must be identifiers' "$WORK/body"
status=$(curl -sS -o "$WORK/body" -w '%{http_code}' --max-time 60 -X POST "$BASE/v1/execute" -H 'Content-Type: application/json' \
	-d '{"code":"echo \"ran $OK_KEY\"","env":{"OK_KEY":"1"}}')
check "control: HTTP with a valid key runs ($status)" grep -q '"stdout":"ran 1\\n"' "$WORK/body"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=
check "HTTP: nothing ran on the host" test ! -e "$MARK"
expect_eq "the bind over /bin/sh stayed in its namespace" "$binds_before" "$(sh_binds)"

# --- 2. the rename race -------------------------------------------------------------
# A tenant with a writable volume swaps a subdirectory with a symlink to
# /etc (renameat2 RENAME_EXCHANGE), in a loop, while other runs mount that
# subdirectory.
cat >"$WORK/swap.c" <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	(void)argc;
	for (;;) {
		if (renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) < 0) {
			perror("renameat2");
			return 1;
		}
		usleep(10000); /* each state lasts about as long as a check */
	}
}
C
mkdir -p "$WORK/vol/sub"
echo tenant-data >"$WORK/vol/sub/tenant-file"
ln -s /etc "$WORK/vol/link"
gcc -static -O2 -o "$WORK/vol/swap" "$WORK/swap.c"
check "control: the host's /etc has a passwd file to find" test -s /etc/passwd
# Control: docker itself, given the path as a string, follows the swapped-in symlink.
mv "$WORK/vol/sub" "$WORK/vol/sub.real" && ln -s /etc "$WORK/vol/sub"
out=$(docker run --rm --label "$TAG" -v "$WORK/vol/sub:/data:ro" symbi-test/busybox:latest \
	sh -c 'test -s /data/passwd && echo host-etc')
expect_eq "control: a path handed to docker as a string mounts the symlink's target (/etc)" host-etc "$out"
rm "$WORK/vol/sub" && mv "$WORK/vol/sub.real" "$WORK/vol/sub"
SWAPPER_CID=$(docker run -d --label "$TAG" --network none --cap-drop ALL --security-opt no-new-privileges \
	-v "$WORK/vol:/vol" symbi-test/busybox:latest /vol/swap /vol/sub /vol/link)
sleep 1
check "control: the tenant's swapper is running in its container" \
	test "$(docker inspect -f '{{.State.Running}}' "$SWAPPER_CID")" = true
mounted=0 refused=0 saw_etc=0 other=0
ROUNDS=${RACE_ROUNDS:-200}
for i in $(seq 1 "$ROUNDS"); do
	out=$("$SB" run "${BB[@]}" --timeout 30 -v "$WORK/vol/sub:/data:ro" \
		'if test -e /data/passwd; then echo HOST-ETC; elif test -e /data/tenant-file; then echo tenant; else ls /data | head -3; fi' 2>"$WORK/err")
	case "$out" in
	tenant) mounted=$((mounted + 1)) ;;
	*HOST-ETC*) saw_etc=$((saw_etc + 1)) ;;
	"") if grep -q 'without following symlinks\|after resolving symlinks\|dangerous host path\|changed since it was checked' "$WORK/err"; then
		refused=$((refused + 1)); else other=$((other + 1)); echo "# run $i: $(cat "$WORK/err")"; fi ;;
	*) other=$((other + 1)); echo "# run $i: $out" ;;
	esac
done
check "rename race: the swapper was still running after $ROUNDS runs" \
	test "$(docker inspect -f '{{.State.Running}}' "$SWAPPER_CID")" = true
docker rm -fv "$SWAPPER_CID" >/dev/null; SWAPPER_CID=
echo "# rename race: $mounted mounted the tenant's directory, $refused refused, $other other, $saw_etc saw /etc"
expect_eq "rename race: no run in $ROUNDS ever saw the host's /etc" 0 "$saw_etc"
expect_eq "rename race: every run either mounted the checked directory or was refused" "$ROUNDS" "$((mounted + refused))"
check "rename race: the race was live (some runs mounted, some refused)" [ "$mounted" -gt 0 ] && [ "$refused" -gt 0 ]
expect_eq "rename race: no staging mount left" 0 "$(staged_mounts)"

# --- 3. volumes: writable components, named volumes --------------------------------
mkdir -p "$WORK/shared" && chmod 0777 "$WORK/shared"
"$SB" run "${BB[@]}" -v "$WORK/shared:/data" 'echo ran' >"$WORK/out" 2>"$WORK/err"; rc=$?
check "a host path writable by others is refused (exit 125)" [ "$rc" -eq 125 ] && grep -q 'can be written by users other than root' "$WORK/err"
out=$("$SB" run "${BB[@]}" --allow-writable-volume-paths -v "$WORK/shared:/data" 'echo ran')
expect_eq "control: allow_writable_volume_paths accepts it" ran "$out"
docker volume create "symbi-it-named-$$" >/dev/null
"$SB" run "${BB[@]}" -v "symbi-it-named-$$:/data" 'echo ran' >"$WORK/out" 2>"$WORK/err"; rc=$?
check "a named volume not on allowed_named_volumes is refused" [ "$rc" -eq 125 ] && grep -q 'not in allowed_named_volumes' "$WORK/err"
out=$("$SB" run "${BB[@]}" --allow-named-volume "symbi-it-named-$$" -v "symbi-it-named-$$:/data" 'echo ran')
expect_eq "control: a listed named volume mounts" ran "$out"
docker volume rm "symbi-it-named-$$" >/dev/null
# Without root nothing can be pinned: a path only root can change is
# mounted as checked; one that needed allow_writable_volume_paths is refused.
DOCKER_GID=$(stat -c %g /var/run/docker.sock)
as_nobody() { setpriv --reuid 65534 --regid "$DOCKER_GID" --clear-groups env HOME=/nonexistent "$@"; }
mkdir -p "$WORK/public" && chmod 0755 "$WORK" "$WORK/public" && echo public-data >"$WORK/public/f" && chmod 0644 "$WORK/public/f"
out=$(as_nobody "$SB" run "${BB[@]}" -v "$WORK/public:/data:ro" 'cat /data/f')
expect_eq "unprivileged caller: a root-only path is mounted as checked" public-data "$out"
as_nobody "$SB" run "${BB[@]}" --allow-writable-volume-paths -v "$WORK/shared:/data" 'echo ran' >"$WORK/out" 2>"$WORK/err"; rc=$?
check "unprivileged caller: a writable path cannot be pinned and is refused" \
	[ "$rc" -eq 125 ] && grep -q 'must be pinned before it is mounted, which needs root' "$WORK/err"
chmod 0700 "$WORK"
for p in /usr /usr/local/bin /home /var/spool/cron /var/lib/symbi-sandbox-test; do
	"$SB" run "${BB[@]}" -v "$p:/x:ro" 'echo ran' >"$WORK/out" 2>"$WORK/err"; rc=$?
	check "volume $p is refused" [ "$rc" -eq 125 ] && grep -q 'dangerous host path' "$WORK/err"
done

# --- 4. a planted docker config in HOME ------------------------------------------------
# The config's proxies are injected into containers as HTTP_PROXY by any
# client that reads it.
mkdir -p "$WORK/home/.docker"
echo '{"proxies":{"default":{"httpProxy":"http://planted.invalid:1"}}}' >"$WORK/home/.docker/config.json"
out=$(env -i HOME="$WORK/home" PATH=/usr/local/bin:/usr/bin:/bin docker run --rm --label "$TAG" \
	symbi-test/busybox:latest sh -c 'echo ${HTTP_PROXY-unset}')
expect_eq "control: a docker client with that HOME uses the planted config" "http://planted.invalid:1" "$out"
out=$(env -i PATH=/usr/local/bin:/usr/bin:/bin "$SB" run "${BB[@]}" -e HOME="$WORK/home" \
	'echo "${HTTP_PROXY-unset}|$HOME"')
expect_eq "env -i CLI, program HOME at the planted config: the client ignores it" "unset|$WORK/home" "$out"

# --- 5. images that declare VOLUME ------------------------------------------------------
cid=$(docker create symbi-test/busybox:latest true)
docker export "$cid" | docker import --change 'VOLUME /data' --change 'CMD ["/bin/sh"]' - "$VOLIMG" >/dev/null
docker rm "$cid" >/dev/null
check "control: the test image declares VOLUME /data" \
	bash -c "docker image inspect -f '{{json .Config.Volumes}}' $VOLIMG | grep -q '/data'"
vols=$(docker volume ls -q | wc -l)
docker run --name "symbi-it-volctl-$$" --label "$TAG" "$VOLIMG" true
expect_eq "control: a plain run of it leaves an anonymous volume on the daemon's disk" "$((vols + 1))" "$(docker volume ls -q | wc -l)"
docker rm -v "symbi-it-volctl-$$" >/dev/null
j=$("$SB" run --backend docker --image "$VOLIMG" --extra-flag "--label=$TAG" --memory 512m --timeout 60 --json \
	'grep " /data " /proc/mounts | cut -d" " -f3; dd if=/dev/zero of=/data/fill bs=1M count=300 2>&1 >/dev/null | grep -q "No space left on device"; echo "ENOSPC $?"; du -m /data/fill | cut -f1')
expect_eq "VOLUME image: /data is a tmpfs, the write past its cap fails with ENOSPC, 100 MiB kept" \
	"$(printf 'tmpfs\nENOSPC 0\n100')" "$(json_field stdout <<<"$j")"
expect_eq "VOLUME image: no anonymous volume left" "$vols" "$(docker volume ls -q | wc -l)"
out=$("$SB" run --backend gvisor --image "$VOLIMG" --extra-flag "--label=$TAG" --timeout 120 \
	'dd if=/dev/zero of=/data/fill bs=1M count=300 2>&1 >/dev/null | grep -q "No space left on device"; echo "ENOSPC $?"; du -m /data/fill | cut -f1')
expect_eq "VOLUME image under gVisor: the write past the cap fails with ENOSPC" "$(printf 'ENOSPC 0\n100')" "$out"
expect_eq "VOLUME image under gVisor: no anonymous volume left" "$vols" "$(docker volume ls -q | wc -l)"

# --- 6. the CLI and its watchdog SIGKILLed together ----------------------------------------
before=$(containers)
start=$(date +%s)
mkdir -p "$WORK/kill-vol"
"$SB" run "${BB[@]}" --timeout 8 -v "$WORK/kill-vol:/data:ro" 'sleep 300' >/dev/null 2>&1 &
cli=$!
for _ in $(seq 1 150); do [ "$(docker ps -q --filter "label=$TAG" | wc -l)" -gt "$before" ] && break; sleep 0.1; done
# Killed only once the program runs: a client killed while it still feeds
# the bootstrap its code leaves a bootstrap that exits on the cut input
# (and a container that stops on its own, which is not what this tests).
for _ in $(seq 1 150); do
	docker ps -q --filter "label=$TAG" | xargs -r -n1 docker top 2>/dev/null | grep -q 'sleep 300' && break
	sleep 0.1
done
kids=$(pgrep -P "$cli" | tr '\n' ' ')
watchdog=$(pgrep -P "$cli" -x symbi-watchdog)
# Through the Engine API there is no docker client: the watchdog is the
# CLI's only child.
check "the CLI has its watchdog and no docker client ($kids)" [ "$(wc -w <<<"$kids")" -eq 1 ] && [ -n "$watchdog" ]
expect_eq "the watchdog is no shell: it is the CLI's own executable" "$(readlink -f "$SB")" \
	"$(readlink "/proc/$watchdog/exe")"
# Stopped first, so that none of them sees another die: all go at once,
# as when a service's cgroup is killed.
kill -STOP "$cli" $kids; kill -KILL "$cli" $kids; wait "$cli" 2>/dev/null
while [ $(( $(date +%s) - start )) -le 9 ]; do sleep 0.5; done # past the 8 s deadline
expect_eq "control: with CLI and watchdog killed, the container runs on past its deadline" \
	"$((before + 1))" "$(docker ps -q --filter "label=$TAG" | wc -l)"
expect_eq "control: ... and its pinned volume stays mounted" 1 "$(staged_mounts)"
"$SB" run --backend docker --image symbi-test/busybox:latest 'true'
for _ in $(seq 1 100); do [ "$(containers)" -eq "$before" ] && break; sleep 0.1; done
expect_eq "the next start sweeps it (its owner is gone)" "$before" "$(containers)"
expect_eq "... and unmounts its staged volume" 0 "$(staged_mounts)"
# A removal that fails (the daemon unreachable at that moment, as when it
# dies mid-run and comes back) leaves the container; the next start sweeps it.
printf '#!/bin/sh\n[ "$1" = rm ] && exit 1\nexec docker "$@"\n' >"$WORK/no-rm-docker"
chmod +x "$WORK/no-rm-docker"
out=$("$SB" run "${BB[@]}" --docker-binary "$WORK/no-rm-docker" 'echo ran')
expect_eq "control: a run whose removal failed still ran" ran "$out"
expect_eq "control: ... and its container stayed behind" "$((before + 1))" "$(containers)"
"$SB" run --backend docker --image symbi-test/busybox:latest 'true'
expect_eq "the next start sweeps the container left by the failed removal" "$before" "$(containers)"
# A container kept on purpose (--keep) is left alone once stopped.
"$SB" run "${BB[@]}" --keep 'echo kept' >/dev/null
"$SB" run --backend docker --image symbi-test/busybox:latest 'true'
expect_eq "a stopped --keep container survives the sweep" "$((before + 1))" "$(containers)"
docker ps -aq --filter "label=$TAG" | xargs -r docker rm -fv >/dev/null
# The rules of the sweep, on containers that only carry the labels.
past=$(( $(date +%s) - 10 )); future=$(( $(date +%s) + 3600 ))
docker run -d --label "$TAG" --label io.symbi.sandbox=1 --label "io.symbi.sandbox.deadline=$past" \
	--label io.symbi.sandbox.owner=other-host/1/1/1 --name "symbi-it-expired-$$" symbi-test/busybox:latest sleep 300 >/dev/null
docker run -d --label "$TAG" --label io.symbi.sandbox=1 --label "io.symbi.sandbox.deadline=$future" \
	--label io.symbi.sandbox.owner=other-host/1/1/1 --name "symbi-it-live-$$" symbi-test/busybox:latest sleep 300 >/dev/null
"$SB" run --backend docker --image symbi-test/busybox:latest 'true'
check "the sweep removes a container past its deadline" bash -c "! docker inspect symbi-it-expired-$$ >/dev/null 2>&1"
check "the sweep keeps one within its deadline whose owner it cannot judge" \
	bash -c "docker inspect symbi-it-live-$$ >/dev/null"
docker rm -fv "symbi-it-live-$$" >/dev/null

# --- 7. 50 processes under gVisor ---------------------------------------------------------
FIFTY='for i in $(seq 1 50); do sleep 3 & done; wait; echo all-done'
out=$(docker run --rm --label "$TAG" --runtime=runsc --network none --pids-limit 256 \
	symbi-test/busybox:latest sh -c "$FIFTY"); rc=$?
check "control: a host pids limit of 256 crashes gVisor with 50 processes (exit $rc, '$out')" [ "$out" != all-done ]
j=$("$SB" run "${GV[@]}" --json "$FIFTY")
expect_eq "gvisor, default pids limit: 50 processes complete" all-done "$(json_field stdout <<<"$j")"
expect_eq "gvisor, default pids limit: exit 0" 0 "$(json_field exit_code <<<"$j")"
j=$("$SB" run "${GV[@]}" --pids-limit 20 --json "$FIFTY")
check "gvisor, pids limit 20: the program's forks are refused" grep -q "can't fork" <<<"$(json_field stderr <<<"$j")"
expect_eq "gvisor, pids limit 20: the sandbox survives and reports the program's own exit" \
	"exited 2" "$(json_field status <<<"$j") $(json_field exit_code <<<"$j")"

# --- 8. a forged bootstrap marker ------------------------------------------------------------
for marker in 'symbi-sandbox-bootstrap: forged' 'symbi-sandbox-bootstrap 0123456789abcdef0123456789abcdef: forged'; do
	j=$("$SB" run "${BB[@]}" --json "echo '$marker' >&2; exit 127")
	expect_eq "forged marker ($marker): status exited" exited "$(json_field status <<<"$j")"
	expect_eq "forged marker: the program's exit 127" 127 "$(json_field exit_code <<<"$j")"
	expect_eq "forged marker: its stderr kept as output" "$marker" "$(json_field stderr <<<"$j")"
done
j=$("$SB" run "${BB[@]}" --shell /no/such/shell --json 'true')
expect_eq "control: the bootstrap's own failure is still status error" error "$(json_field status <<<"$j")"
expect_eq "control: ... with its message, without the secret" \
	"symbi-sandbox-bootstrap: shell '/no/such/shell' was not found in the image" "$(json_field error <<<"$j")"
out=$("$SB" run "${BB[@]}" 'cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | tr "\0" "\n" | grep -cE "(^|[^0-9a-f])[0-9a-f]{32}([^0-9a-f]|\$)"')
expect_eq "the secret is in no argv or environment the program can read" 0 "$out"

# --- 9. hidden labels ---------------------------------------------------------------------------
for flags in "--extra-flag=--label=io.symbi.sandbox=0" "--extra-flag=--label=io.symbi.sandbox.deadline=99999999999"; do
	"$SB" run "${BB[@]}" "$flags" 'echo ran' >"$WORK/out" 2>"$WORK/err"; rc=$?
	check "refused: $flags" [ "$rc" -eq 125 ] && grep -q "the sandbox's own" "$WORK/err" && [ ! -s "$WORK/out" ]
done
"$SB" run --backend docker --image symbi-test/busybox:latest --extra-flag --label --extra-flag io.symbi.sandbox=0 'true' 2>"$WORK/err"
check "refused: --label io.symbi.sandbox=0 as two entries" grep -q "the sandbox's own" "$WORK/err"

# --- 10. runc under --backend gvisor ---------------------------------------------------------------
"$SB" run "${GV[@]}" --runtime-name runc 'echo ran-on-runc' >"$WORK/out" 2>"$WORK/err"; rc=$?
check "gvisor with --runtime-name runc is refused (exit 125)" [ "$rc" -eq 125 ] && grep -q "is not gVisor" "$WORK/err"
check "... and nothing ran" test ! -s "$WORK/out"
out=$("$SB" run "${GV[@]}" 'grep -c "Sun Jan 10 15:06:54 PST 2016" /proc/version')
expect_eq "control: the registered runsc runtime runs gVisor" 1 "$out"

# --- 10b. the runtime that ran is checked (docker inspect) -----------------------------------------
# The allowlist refuses --runtime under --backend gvisor; the hook calls the
# backend past it, so that a real container really runs on runc.
if cc -std=gnu11 -D_GNU_SOURCE -I"$ROOT/include" -I"$ROOT/src" -o "$WORK/hook" "$ROOT/tests/integration/gvisor_runtime_hook.c" \
	"$ROOT/build/libsymbi-sandbox.a" -ljansson -lseccomp -lm 2>"$WORK/cc.log"; then
	# Through the Engine API the container is checked before it starts.
	j=$("$WORK/hook" symbi-test/busybox:latest "$TAG" --runtime=runc)
	expect_eq "gvisor (API), a container made for runc past the allowlist: status error" error \
		"$(json_field status <<<"$j")"
	expect_eq "... with the runtime named, and it never started" \
		"the container was made with runtime 'runc', not 'runsc': the gvisor backend refuses to start it" \
		"$(json_field error <<<"$j")"
	expect_eq "... so it printed nothing" "" "$(json_field stdout <<<"$j")"
	expect_eq "... and its container is removed" 0 "$(containers)"
	# Through the CLI (a client of the operator's), after the run.
	j=$(HOOK_DOCKER_BINARY=$(command -v docker) "$WORK/hook" symbi-test/busybox:latest "$TAG" --runtime=runc)
	expect_eq "gvisor (CLI), container run on runc past the allowlist: status error" error "$(json_field status <<<"$j")"
	expect_eq "... with the runtime named" \
		"the container ran with runtime 'runc', not 'runsc': the gvisor backend refuses a run without gVisor (its output is withheld)" \
		"$(json_field error <<<"$j")"
	expect_eq "... and the output produced on runc withheld" "" "$(json_field stdout <<<"$j")"
	j=$("$WORK/hook" symbi-test/busybox:latest "$TAG")
	expect_eq "control: the same hook without the flag runs under gVisor" \
		"exited ran" "$(json_field status <<<"$j") $(json_field stdout <<<"$j" | head -1)"
	expect_eq "... and its container is removed too" 0 "$(containers)"
else
	not_ok "build the runtime hook (gvisor_runtime_hook.c): $(head -3 "$WORK/cc.log")"
fi

# --- 10c. a crash of runsc is status error; the program's own deaths are not ------------------------
# From the host, SIGKILL this suite's container's runsc-sandbox or
# runsc-gofer (found by the container's full id on its command line) once
# the program has printed its first line and said so through a volume; the
# program sleeps meanwhile.
kill_runsc() { # PROCESS-NAME MARK-FILE
	local cid pid i
	for i in $(seq 1 600); do
		cid=$(docker ps -q --no-trunc --filter "label=$TAG" --filter status=running)
		[ -n "$cid" ] && [ -e "$2" ] && pid=$(pgrep -f "^$1 .*$cid" | head -1) &&
			[ -n "$pid" ] && break
		sleep 0.1
	done
	[ -n "$pid" ] && kill -KILL "$pid"
}
for proc in runsc-sandbox runsc-gofer; do
	mkdir -p "$WORK/crash-$proc"
	kill_runsc "$proc" "$WORK/crash-$proc/started" &
	j=$("$SB" run "${GV[@]}" --timeout 60 -v "$WORK/crash-$proc:/mark" --json \
		'echo started; touch /mark/started; sleep 50; echo never')
	wait $!
	expect_eq "$proc SIGKILLed from the host: status error" error "$(json_field status <<<"$j")"
	expect_eq "... with the precise message" \
		"the gVisor sandbox (runsc) died, or the program killed the sandbox's bootstrap: the container ended with status 137 (killed by signal 9) before the program's exit was recorded; docker passes on no message from runsc" \
		"$(json_field error <<<"$j")"
	expect_eq "... the output before the crash kept" started "$(json_field stdout <<<"$j")"
done
check "control: docker itself reports a killed runsc-sandbox as the container's exit 137, no error" bash -c "
	docker run -d --label '$TAG' --name symbi-it-crash-$$ --runtime=runsc symbi-test/busybox:latest sleep 60 >/dev/null &&
	cid=\$(docker inspect -f '{{.Id}}' symbi-it-crash-$$) &&
	for i in \$(seq 1 100); do pid=\$(pgrep -f \"^runsc-sandbox .*\$cid\") && break; sleep 0.1; done &&
	kill -KILL \$pid && docker wait symbi-it-crash-$$ >/dev/null &&
	[ \"\$(docker inspect -f '{{.State.ExitCode}}|{{.State.Error}}|{{.State.OOMKilled}}' symbi-it-crash-$$)\" = '137||false' ]"
docker rm -fv "symbi-it-crash-$$" >/dev/null 2>&1
for case in 'exit 2|exited 2 null' 'exit 137|signaled -1 9' 'echo out; kill -9 $$|signaled -1 9' 'exit 0|exited 0 null'; do
	code=${case%%|*}
	j=$("$SB" run "${GV[@]}" --json "echo err >&2; $code")
	expect_eq "gvisor, the program's own '$code' is its result, not a crash" "${case#*|} err" \
		"$(json_field status <<<"$j") $(json_field exit_code <<<"$j") $(json_field signal <<<"$j") $(json_field stderr <<<"$j")"
done
j=$("$SB" run "${GV[@]}" --max-output 100 --json 'head -c 90 /dev/zero | tr "\0" a >&2; exit 4')
expect_eq "gvisor: the exit line straddling the output cap is still found and not output" \
	"exited 4 false $(head -c 90 /dev/zero | tr '\0' a)" \
	"$(json_field status <<<"$j") $(json_field exit_code <<<"$j") $(json_field stderr_truncated <<<"$j") $(json_field stderr <<<"$j")"
j=$("$SB" run "${GV[@]}" --max-output 100 --json 'head -c 5000 /dev/zero >&2; exit 3')
expect_eq "gvisor: the exit line past the output cap is still found" "exited 3 true" \
	"$(json_field status <<<"$j") $(json_field exit_code <<<"$j") $(json_field stderr_truncated <<<"$j")"
j=$("$SB" run "${GV[@]}" --json '(sleep 1; echo late >&2) & echo forged-free >&2; exit 5')
expect_eq "gvisor: a background writer cannot push the exit line out" "exited 5 forged-free" \
	"$(json_field status <<<"$j") $(json_field exit_code <<<"$j") $(json_field stderr <<<"$j")"
j=$("$SB" run "${GV[@]}" --json 'echo "symbi-sandbox-bootstrap 0123456789abcdef0123456789abcdef exit 0" >&2; kill -9 $PPID')
expect_eq "gvisor: a forged exit line does not hide a dead bootstrap" error "$(json_field status <<<"$j")"
j=$("$SB" run "${BB[@]}" --json 'kill -9 $PPID; echo alive')
expect_eq "control, docker (runc): Linux keeps the program from killing init (PID 1), which gVisor does not" \
	"exited 0 alive" "$(json_field status <<<"$j") $(json_field exit_code <<<"$j") $(json_field stdout <<<"$j")"

# --- 11. /dev is noexec ------------------------------------------------------------------------------
EXEC_DEV='printf "#!/bin/sh\necho EXEC-OK\n" >/dev/x && chmod +x /dev/x && echo copied; /dev/x 2>/dev/null || echo noexec'
out=$(docker run --rm --label "$TAG" --read-only symbi-test/busybox:latest sh -c "$EXEC_DEV")
expect_eq "control: docker's own /dev lets a copied binary run" "$(printf 'copied\nEXEC-OK')" "$out"
expect_eq "docker: /dev is noexec" "$(printf 'copied\nnoexec')" "$("$SB" run "${BB[@]}" "$EXEC_DEV")"
expect_eq "gvisor: /dev is noexec" "$(printf 'copied\nnoexec')" "$("$SB" run "${GV[@]}" "$EXEC_DEV")"
expect_eq "docker: /dev/null and /dev/shm still work" ok \
	"$("$SB" run "${BB[@]}" 'echo x >/dev/null && echo y >/dev/shm/f && test -c /dev/urandom && echo ok')"

# --- leftovers ---------------------------------------------------------------------------------------
expect_eq "no container of this suite left" 0 "$(containers)"
expect_eq "no anonymous volume left" "$volumes_before" "$(docker volume ls -q | sort)"
expect_eq "no staging mount left" 0 "$(staged_mounts)"
check "no staging directory left" bash -c '! ls /run/symbi-sandbox/volumes/ 2>/dev/null | grep -q .'
expect_eq "no bind over /bin/sh left on the host" "$binds_before" "$(sh_binds)"

# --- 12. gVisor applies the container's seccomp profile (--oci-seccomp) ---------------------------------
# Needs the daemon that scripts/setup starts now; an older one must be
# restarted (scripts/stop-test-daemon; scripts/setup).
out=$("$SB" run "${GV[@]}" 'unshare -U true 2>/dev/null && echo unshared || echo denied')
expect_eq "gvisor: unshare(CLONE_NEWUSER) is denied inside gVisor (the container's seccomp profile applies)" denied "$out"
check "gvisor: runsc is registered with --oci-seccomp (else restart the test daemon with scripts/setup)" \
	bash -c "docker info --format '{{json .Runtimes.runsc}}' | grep -q -- --oci-seccomp"
finish
