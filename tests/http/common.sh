# Helpers for the HTTP API tests (tests/integration/http_*.sh). Source after
# tests/lib.sh. Every server runs on 127.0.0.1 on a port the kernel picks, in
# a private temporary directory that the EXIT trap removes.
HTTP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGE=symbi-test/busybox:latest

# BACKEND (docker or native) is the backend under test; the *_native.sh
# wrappers run a suite again with BACKEND=native.
BACKEND=${BACKEND:-docker}
http_prereqs() {
	require "curl" "apt-get install curl (scripts/setup installs it)" command -v curl
	require "python3" "apt-get install python3" command -v python3
	require "the CLI" "run make" test -x "$SB"
	# The native backend needs no engine (the cgroup v2 lane's guest has
	# none); where one runs, its containers are counted all the same.
	if [ "$BACKEND" = docker ]; then
		require "a Docker engine" "run scripts/setup (it installs docker.io and starts a test daemon)" docker info
		require "image $IMAGE" "run scripts/setup (it builds the local test images)" docker image inspect "$IMAGE"
	elif ! docker info >/dev/null 2>&1; then
		ENGINE=none
	fi
	if [ "$BACKEND" = native ]; then
		require "a working native backend" "see 'symbi-sandbox doctor' (root or user namespaces, cgroups)" \
			"$SB" run --backend native true
	fi
	echo "# backend: $BACKEND"
}

WORK=$(mktemp -d /tmp/symbi-http-test.XXXXXX)
SERVER_PID=
PORT=
BASE=
cleanup() {
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

containers() { docker ps -aq --filter "label=io.symbi.sandbox" | wc -l; }
# Other suites may run containers at the same time: tests count their own by
# a marker in the code. MARK is unique to this run.
MARK=mark$$x$RANDOM
ENGINE=docker
marked_containers() {
	[ "$ENGINE" = none ] && { echo 0; return; }
	docker ps -a --no-trunc --filter "label=io.symbi.sandbox" --format '{{.Command}}' | grep -c -- "$MARK"
}
# Our sandboxed processes still alive (the native backend runs `sh -c CODE`),
# plus our containers. The bracket keeps grep from matching itself.
marked_left() {
	local procs
	procs=$(ps -eo args= | grep -c -- "[${MARK:0:1}]${MARK:1}")
	echo $((procs + $(marked_containers)))
}
# no_more_containers: none of ours (marked) is left, running or stopped.
no_more_containers() {
	local n; n=$(marked_left)
	if [ "$n" = 0 ]; then ok "no container or sandboxed process is left behind"
	else not_ok "no container or sandboxed process is left behind" "$n of this test remain"; fi
}

# A policy for tests: the busybox image, small limits, low maximums.
write_policy() { # FILE [extra JSON members]
	cat >"$1" <<JSON
{
  "default_backend": "$BACKEND",
  "allowed_backends": ["$BACKEND"],
  "default_image": "$IMAGE",
  "defaults": {"timeout": 20, "memory": "128m", "cpus": 1, "pids": 64, "max_output_bytes": 65536},
  "maximums": {"timeout": 30, "memory": "256m", "cpus": 1, "pids": 128, "max_output_bytes": 1048576},
  "max_running": 2, "max_queued": 8, "session_idle_ttl": 120, "max_session_idle_ttl": 600,
  "max_workspace_bytes": "8m"${2:+, $2}
}
JSON
}

# policy_and_state [extra JSON members]: the test policy in
# $WORK/policy.json (see write_policy) and the state directory $WORK/state.
policy_and_state() {
	write_policy "$WORK/policy.json" "$@"
	mkdir -p "$WORK/state"
}

# ws_path STATE_DIR SESSION_ID: where the server keeps that session's
# workspace (STATE_DIR/symbi-sandbox/<server>/sessions/<id>, see statedir.c).
ws_path() {
	local p
	for p in "$1"/symbi-sandbox/*/sessions/"$2"; do echo "$p"; return; done
}

# start_server ARGS...: starts `serve` and waits until it listens.
start_server() {
	rm -f "$WORK/ready"
	"$SB" serve --listen 127.0.0.1:0 --ready-file "$WORK/ready" "$@" 2>>"$WORK/server.err" &
	SERVER_PID=$!
	for _ in $(seq 100); do
		[ -s "$WORK/ready" ] && break
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -s "$WORK/ready" ]; then
		not_ok "server starts" "$(cat "$WORK/server.err")"
		finish
	fi
	PORT=$(cat "$WORK/ready")
	BASE="http://127.0.0.1:$PORT"
}

# stop_server: SIGTERM, then wait; sets SERVER_RC.
stop_server() {
	kill -TERM "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID"
	SERVER_RC=$?
	SERVER_PID=
}

# http METHOD PATH [curl args...]: sets STATUS; the body is in $WORK/body,
# the headers in $WORK/headers. Sends Content-Type: application/json unless
# the arguments name a Content-Type (a tokenless server refuses JSON bodies
# without it).
http() {
	local method=$1 path=$2 type=(-H 'Content-Type: application/json'); shift 2
	case " $* " in *Content-Type*|*content-type*) type=() ;; esac
	STATUS=$(curl -sS -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' -X "$method" \
		--max-time 60 "${type[@]}" "$@" "$BASE$path")
}
body() { cat "$WORK/body"; }
# jq-like: jfield 'expr' evaluates a Python expression on the body as `d`.
jfield() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print(v if isinstance(v,str) else json.dumps(v), end="")' "$WORK/body" "$1" 2>/dev/null; }
header() { grep -i "^$1:" "$WORK/headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

# expect_status NAME CODE [ERROR-CODE]: the status and, for errors, a JSON
# error body with that code.
expect_status() {
	local name=$1 want=$2 code=${3:-}
	if [ "$STATUS" != "$want" ]; then
		not_ok "$name" "expected HTTP $want, got $STATUS" "body: $(head -c 400 "$WORK/body")"
	elif [ -n "$code" ] && [ "$(jfield 'd["error"]["code"]')" != "$code" ]; then
		not_ok "$name" "expected error code $code" "body: $(head -c 400 "$WORK/body")"
	elif [ -n "$code" ] && [ -z "$(jfield 'd["error"]["message"]')" ]; then
		not_ok "$name" "error without a message" "body: $(head -c 400 "$WORK/body")"
	else
		ok "$name"
	fi
}

# expect_execute BODY NAME CODE [ERROR-CODE]: POST /v1/execute with BODY gets
# that answer (see expect_status).
expect_execute() {
	local body=$1; shift
	http POST /v1/execute -d "$body"
	expect_status "$@"
}

# relay_verdicts LABEL FILE: turns a checker's "PASS name" / "FAIL name: why" /
# "# note" lines into TAP; anything else is a failure.
relay_verdicts() {
	local label=$1 verdict rest
	while read -r verdict rest; do
		case $verdict in
		PASS) ok "$label: $rest" ;;
		FAIL) not_ok "$label: ${rest%%: *}" "${rest#*: }" ;;
		\#) echo "# $rest" ;;
		*) not_ok "$label checker output" "$verdict $rest" ;;
		esac
	done <"$2"
}
