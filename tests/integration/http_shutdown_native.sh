#!/usr/bin/env bash
# tests/integration/http_shutdown.sh again, on the native backend (namespaces,
# cgroups, seccomp; no daemon).
BACKEND=native exec bash "$(dirname "$0")/http_shutdown.sh"
