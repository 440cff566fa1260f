#!/usr/bin/env bash
# tests/integration/mcp_sdk.sh again, on the native backend.
BACKEND=native exec bash "$(dirname "$0")/mcp_sdk.sh"
