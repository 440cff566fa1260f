#!/usr/bin/env bash
# tests/integration/http_concurrency.sh again, on the native backend (namespaces,
# cgroups, seccomp; no daemon).
BACKEND=native exec bash "$(dirname "$0")/http_concurrency.sh"
