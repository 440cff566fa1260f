#!/usr/bin/env bash
# Live docker sandboxes on crun, the daemon's runtime that scripts/setup
# registers next to runc (scripts/crun-runtime; the default runtime stays
# runc): live_docker.sh's docker run (tests/integration/live_docker.c:
# execs, streams, signals, timeouts, OOM, confinement from inside, nothing
# left behind) with every container asked for with extra_flags
# --runtime=crun, the first checked to run on it. crun is what brings an
# exec under 40 ms here (README, "Live sandboxes").
LIVE_DOCKER_RUNTIME=crun source "$(dirname "$0")/live_docker.sh"
