#!/bin/sh
# 1,000 open chat streams next to 32 lock clients on one `hostsync serve` (SQLite, default
# settings). Usage (from the repository root):
#   HOSTSYNC=build/hostsync bench/stream_bench.sh
# Knobs (environment): STREAMS=1000 CLIENTS=32 SECONDS_RUN=10 POSTS=20 IDLE=30 THREADS
# (unset: the server's default). Method and figures: bench/README.md, "Streams".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${HOSTSYNC:=$here/../build/hostsync}"
out=$("$here/build_tool.sh" lock_loadgen "$HOSTSYNC")
readers=$("$here/build_tool.sh" stream_readers "$HOSTSYNC")
HOSTSYNC=$(cd "$(dirname "$HOSTSYNC")" && pwd)/$(basename "$HOSTSYNC") LOADGEN=$out READERS=$readers \
  exec python3 "$here/stream_bench.py"
