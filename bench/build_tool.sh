#!/bin/sh
# Builds bench/NAME.cpp into NAME next to the hostsync binary given (when missing or older
# than the source) and prints its path. Used by lock_bench.sh and stream_bench.sh.
#   bench/build_tool.sh NAME HOSTSYNC
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$(dirname "$2")/$1
if [ ! -x "$out" ] || [ "$here/$1.cpp" -nt "$out" ]; then
  # shellcheck disable=SC2046
  c++ -O2 -std=c++17 -Wall -Wextra -o "$out" "$here/$1.cpp" $(pkg-config --cflags --libs cpp-httplib) -pthread
fi
echo "$out"
