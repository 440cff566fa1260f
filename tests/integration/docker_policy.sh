#!/usr/bin/env bash
# What the sandbox refuses (and that a refusal starts nothing), networking,
# SYMBIONT_ENV guards, and the gVisor backend, against the real engine.
source "$(dirname "$0")/../lib.sh"

require_engine runsc
require "the CLI" "run make" test -x "$SB"

# Every container of this suite carries its own label, so that other users
# of the same daemon do not disturb the counts.
SUITE="symbi-it-suite=$$-$RANDOM"
BB=(--backend docker --image symbi-test/busybox:latest --extra-flag "--label=$SUITE")
WORK=$(mktemp -d /tmp/symbi-it.XXXXXX)
SERVER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
containers() { docker ps -aq --filter "label=$SUITE" | wc -l; }
json_field() { python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(json.dumps(v) if not isinstance(v,str) else v, end="")' "$1"; }
before=$(containers)

# A stand-in docker that only records that it was called: a refused
# configuration must be refused before any docker command runs.
cat >"$WORK/docker" <<SH
#!/bin/sh
echo "\$@" >>"$WORK/docker-calls"
exec docker "\$@"
SH
chmod +x "$WORK/docker"

refuse() { # NAME EXPECTED-MESSAGE-FRAGMENT ARGS...
	local name=$1 want=$2; shift 2
	rm -f "$WORK/docker-calls"
	"$SB" run "${BB[@]}" --docker-binary "$WORK/docker" "$@" 'echo SHOULD-NOT-RUN' >"$WORK/out" 2>"$WORK/err"
	local rc=$?
	if [ "$rc" -eq 125 ] && grep -qF -- "$want" "$WORK/err" && [ ! -s "$WORK/out" ] && [ ! -e "$WORK/docker-calls" ]; then
		ok "refused: $name"
	else
		not_ok "refused: $name" "exit $rc" "stderr: $(cat "$WORK/err")" "docker calls: $(cat "$WORK/docker-calls" 2>/dev/null)"
	fi
}

mkdir -p "$WORK/links"
ln -s /etc "$WORK/links/etc"
ln -s /var/run/docker.sock "$WORK/links/sock"
refuse "volume /etc" 'dangerous host path "/etc"' -v /etc:/x
refuse "volume //etc" 'dangerous host path "/etc"' -v //etc:/x
refuse "volume /./etc/" 'dangerous host path "/etc"' -v /./etc/:/x
refuse "volume with .." "'..'" -v /tmp/../etc:/x
refuse "volume docker.sock" 'dangerous host path' -v /var/run/docker.sock:/s
refuse "volume symlink to /etc" 'after resolving symlinks' -v "$WORK/links/etc:/x"
refuse "volume beneath a symlink to /etc" 'after resolving symlinks' -v "$WORK/links/etc/newdir:/x"
refuse "volume symlink to docker.sock" 'after resolving symlinks' -v "$WORK/links/sock:/s"
refuse "volume host root" 'host root' -v /:/host
refuse "volume relative path" 'neither an absolute host path' -v ./x:/x
refuse "volume without container path" 'missing container path' -v /srv
refuse "--privileged" 'refused' --extra-flag --privileged
refuse "--cap-add" 'refused' --extra-flag --cap-add=SYS_ADMIN
refuse "--security-opt seccomp=unconfined" 'refused' --extra-flag --security-opt=seccomp=unconfined
refuse "--security-opt apparmor=unconfined" 'refused' --extra-flag --security-opt=apparmor=unconfined
refuse "--pid=host" 'refused' --extra-flag --pid=host
refuse "--ipc=host" 'refused' --extra-flag --ipc=host
refuse "--uts=host" 'refused' --extra-flag --uts=host
refuse "--userns=host" 'refused' --extra-flag --userns=host
refuse "--device" 'refused' --extra-flag --device=/dev/mem
refuse "--mount smuggling" 'refused' --extra-flag --mount=type=bind,source=/etc,target=/x
refuse "-v smuggling" 'refused' --extra-flag -v/etc:/x
# A flag on neither list is refused by the allowlist itself: --cidfile would
# have the docker client write a file on the host.
refuse "a flag on no list (--cidfile)" 'not on the list of flags' --extra-flag "--cidfile=$WORK/cid"
check "... and the host file was not written" test ! -e "$WORK/cid"
refuse "--volume smuggling" 'refused' --extra-flag --volume=/etc:/x
refuse "--network smuggling" 'refused' --extra-flag --network=host
refuse "--net smuggling" 'refused' --extra-flag --net=host
refuse "--memory override" 'refused' --extra-flag --memory=100g
refuse "--pids-limit override" 'refused' --extra-flag --pids-limit=-1
refuse "bare word in extra flags" 'not a flag' --extra-flag --label --extra-flag x=y --extra-flag alpine
refuse "network mode outside the list" 'not allowed' --network macvlan0
refuse "bad memory limit" 'memory_limit' --memory lots
refuse "bad cpu limit" 'cpu_limit' --cpus 0
refuse "image that looks like a flag" 'not a valid image reference' --image=--privileged
SYMBIONT_ENV=production refuse "host network in production" 'disabled in production' --network host
SYMBIONT_ENV=prod refuse "host network in prod (alias)" 'disabled in production' --network host
SYMBIONT_ENV=prodcution refuse "host network with an unknown SYMBIONT_ENV (fail closed)" 'SYMBIONT_ENV parse failed' --network host
expect_eq "refusals started no container" "$before" "$(containers)"

# The stand-in does run docker for allowed configurations (the control).
rm -f "$WORK/docker-calls"
out=$("$SB" run "${BB[@]}" --docker-binary "$WORK/docker" --extra-flag --label=k=v 'echo allowed')
expect_eq "control: an allowed extra flag runs" allowed "$out"
check "control: the stand-in was called" test -s "$WORK/docker-calls"

# --- networking -----------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/www" && echo "host-secret-page" >"$WORK/www/index.html"
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$WORK/www" >/dev/null 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 50); do curl -s "http://127.0.0.1:$PORT/" >/dev/null && break; sleep 0.1; done
check "control: the host server answers on loopback" bash -c "curl -s http://127.0.0.1:$PORT/ | grep -q host-secret-page"
FETCH="import urllib.request,sys
try:
    print(urllib.request.urlopen('http://127.0.0.1:$PORT/', timeout=5).read().decode().strip())
except OSError as e:
    print('unreachable', type(e).__name__)"
PYRUN=(--backend docker --image symbi-test/python:latest --shell python3 --timeout 30 --extra-flag "--label=$SUITE")
out=$("$SB" run "${PYRUN[@]}" "$FETCH")
check "--network none cannot reach the host's loopback server ($out)" grep -q "^unreachable" <<<"$out"
out=$("$SB" run "${PYRUN[@]}" --network host "$FETCH")
expect_eq "--network host reaches it" "host-secret-page" "$out"
out=$("$SB" run "${BB[@]}" 'ls /sys/class/net | tr "\n" " "')
expect_eq "--network none: only loopback inside" "lo " "$out"

# --- hardening visible from inside -------------------------------------------
out=$("$SB" run "${BB[@]}" 'touch /evil 2>/dev/null && echo wrote || echo read-only')
expect_eq "root filesystem is read-only" read-only "$out"
out=$("$SB" run "${BB[@]}" 'grep -E "^Cap(Eff|Prm|Bnd)" /proc/self/status | awk "{print \$2}" | sort -u')
expect_eq "no capabilities inside" 0000000000000000 "$out"
out=$("$SB" run "${BB[@]}" 'grep NoNewPrivs /proc/self/status | awk "{print \$2}"')
expect_eq "no_new_privs set" 1 "$out"
out=$("$SB" run "${BB[@]}" 'cp /bin/busybox /tmp/bb && /tmp/bb true 2>/dev/null && echo exec-ok || echo noexec')
expect_eq "/tmp is noexec" noexec "$out"
out=$("$SB" run "${BB[@]}" 'echo data >/tmp/f && cat /tmp/f')
expect_eq "/tmp is writable" data "$out"
out=$("$SB" run "${BB[@]}" --user 65534:65534 'id -u; id -g')
expect_eq "--user runs as that user" "$(printf '65534\n65534')" "$out"

# --- gVisor -----------------------------------------------------------------
# gVisor's kernel names itself with a fixed version string (its dmesg is
# out of reach: with --oci-seccomp the engine's profile refuses syslog).
out=$("$SB" run "${BB[@]}" --backend gvisor --timeout 60 'cat /proc/version; echo "exit-ok"')
check "gvisor: the program runs under gVisor's kernel" grep -q "Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016" <<<"$out"
check "control: the host's kernel is another" bash -c '! grep -q "Sun Jan 10 15:06:54 PST 2016" /proc/version' 
check "gvisor: the program's output" grep -q "exit-ok" <<<"$out"
"$SB" run "${BB[@]}" --backend gvisor --timeout 60 'exit 9'
expect_eq "gvisor: exit code" 9 $?
j=$("$SB" run "${BB[@]}" --backend gvisor --timeout 2 --json 'echo partial; sleep 60')
expect_eq "gvisor: timeout" timeout "$(json_field status <<<"$j")"
expect_eq "gvisor: partial output" partial "$(json_field stdout <<<"$j")"
"$SB" run "${BB[@]}" --backend gvisor --runsc-binary /nonexistent/runsc 'true' 2>"$WORK/err"
check "gvisor: missing runsc gives the reference's advice" grep -q "Install runsc and register it" "$WORK/err"
"$SB" run "${BB[@]}" --backend gvisor --extra-flag --runtime=runc 'true' 2>"$WORK/err"
check "gvisor: the runtime cannot be swapped through extra flags" grep -q "gvisor backend sets the runtime" "$WORK/err"

expect_eq "no container left by this suite" "$before" "$(containers)"
finish
