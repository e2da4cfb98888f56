#!/bin/sh
# Lock acquire + release pairs/s over HTTP, hostsync (SQLite, group commit) vs PostgreSQL
# (pgbench), both durable, 32 clients each. Usage (from the repository root):
#   HOSTSYNC=build/hostsync bench/lock_bench.sh
# Knobs (environment): CLIENTS=32 SECONDS_RUN=10 THREADS=$CLIENTS GROUP_COMMIT=1
# SHARED_LOCK=0 SKIP_PG=0. Method and figures: bench/README.md.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${HOSTSYNC:=$here/../build/hostsync}"
out=$("$here/build_tool.sh" lock_loadgen "$HOSTSYNC")
HOSTSYNC=$(cd "$(dirname "$HOSTSYNC")" && pwd)/$(basename "$HOSTSYNC") LOADGEN=$out exec python3 "$here/lock_bench.py"
