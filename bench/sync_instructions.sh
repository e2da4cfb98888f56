#!/bin/sh
# bench/sync_instructions.sh [OTHER_TREE]: instructions per pushed and pulled item of the
# sync server (in-process, SQLite, policies/truth_hierarchy.lua), counted by valgrind's
# callgrind, so the figure does not depend on how busy the machine is
# (bench/sync_server_cost.lua measures time). With OTHER_TREE (a checkout or `git
# archive` of another version: its scripts/ and policies/ are used), the same is counted
# for it side by side and the ratio printed.
# Per item = (count at 3000 items - count at 1000 items) / 2000; a pull's count is the run
# with the pull minus the run without it, over 3000. HOSTSYNC: the binary (./build/hostsync).
set -eu
HOSTSYNC=${HOSTSYNC:-./build/hostsync}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$HERE/sync_instructions.lua

count() {   # tree n stage -> instructions
  HOSTSYNC_PATH="$1/scripts:$1/policies" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$HOSTSYNC" run "$WORK" "$2" "$3" 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

measure() {   # tree -> "push pull pull_ai_cloud", instructions per item
  p1=$(count "$1" 1000 push)
  p3=$(count "$1" 3000 push)
  u3=$(count "$1" 3000 pull1)
  r3=$(count "$1" 3000 pull5)
  echo "$(( (p3 - p1) / 2000 )) $(( (u3 - p3) / 3000 )) $(( (r3 - p3) / 3000 ))"
}

row() { printf '%-22s %10s %10s %16s\n' "$@"; }
row "instructions/item" push pull "pull (AI cloud)"
THIS=$(measure "$HERE/..")
row "this tree" $THIS
if [ $# -ge 1 ]; then
  OTHER=$(measure "$1")
  row "$(basename "$1")" $OTHER
  set -- $THIS $OTHER
  row "ratio this/other" "$(awk "BEGIN{printf \"%.2f\", $1/$4}")" "$(awk "BEGIN{printf \"%.2f\", $2/$5}")" \
    "$(awk "BEGIN{printf \"%.2f\", $3/$6}")"
fi
