#!/bin/sh
# Hook overhead and MCP round trip (bench/README.md, "Hooks"):
#   - lock acquire/release pairs/s and chat posts/s against `hostsync serve` without hooks
#     and with bench/all_hooks.lua (handles every event), side by side, and their ratio;
#   - a tool call through `hostsync mcp` against a local `hostsync serve`: median and p99.
# Usage (from the repository root): HOSTSYNC=build/hostsync bench/hooks_bench.sh
# Knobs (environment): CLIENTS=16 SECONDS_RUN=8 MCP_CALLS=500 ROUNDS=1 (alternating; medians). Never run in CI.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${HOSTSYNC:=$here/../build/hostsync}"
out=$("$here/build_tool.sh" lock_loadgen "$HOSTSYNC")
HOSTSYNC=$(cd "$(dirname "$HOSTSYNC")" && pwd)/$(basename "$HOSTSYNC") LOADGEN=$out exec python3 "$here/hooks_bench.py"
