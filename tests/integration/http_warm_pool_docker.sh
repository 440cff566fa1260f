#!/usr/bin/env bash
# tests/integration/http_warm_pool.sh again, on the docker backend: warm
# containers, each serving one execution by an exec through the Engine API.
BACKEND=docker exec bash "$(dirname "$0")/http_warm_pool.sh"
