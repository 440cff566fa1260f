#!/usr/bin/env bash
# The cgroup v2 lane as one more suite: Debian 12's kernel in QEMU with a
# cgroup v2 only hierarchy, running the native backend's suites as root and
# as a user in a delegated subtree (tests/vm/run says how). Its TAP names
# start with "v2: ".
exec "$(dirname "$0")/../vm/run" "$@"
