#!/usr/bin/env bash
# tests/integration/live_sessions.sh again, on the docker backend: a
# session's executions, contexts and streams in one live container (its
# processes run on the host under runc, so the host checks hold as they
# are).
LIVE_BACKEND=docker exec bash "$(dirname "$0")/live_sessions.sh"
