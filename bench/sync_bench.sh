#!/bin/sh
# Sync throughput: push 100,000 items in batches of 1000 to `hostsync serve`, pull them
# all; default policy vs a no-op policy on SQLite, and PostgreSQL side by side.
# The driver is bench/sync_bench.py (Python, one keep-alive connection).
#   bench/sync_bench.sh [--items N] [--no-pg] [--repeat N]     (HOSTSYNC=path/to/hostsync)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
uptime
exec python3 "$here/sync_bench.py" "$@"
