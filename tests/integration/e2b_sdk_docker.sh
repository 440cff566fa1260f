#!/usr/bin/env bash
# tests/integration/e2b_sdk.sh again, on the docker backend (image
# symbi-test/python for both templates).
BACKEND=docker exec bash "$(dirname "$0")/e2b_sdk.sh"
