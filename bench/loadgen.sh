#!/bin/sh
# Builds bench/lock_loadgen.cpp next to the hostsync binary given as $1 (when missing or
# older than the source) and prints its path. Used by lock_bench.sh and stream_bench.sh.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$(dirname "$1")/lock_loadgen
if [ ! -x "$out" ] || [ "$here/lock_loadgen.cpp" -nt "$out" ]; then
  # shellcheck disable=SC2046
  c++ -O2 -std=c++17 -Wall -Wextra -o "$out" "$here/lock_loadgen.cpp" $(pkg-config --cflags --libs cpp-httplib) -pthread
fi
echo "$out"
