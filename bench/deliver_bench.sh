#!/usr/bin/env bash
# Delivery benchmark: `phase2.lua deliver` against the plain Python deliverer
# (deliver_reference.py, urllib), both sending the same batches of the same outbox to the
# same kind of local receiver (deliver_sink.cpp), which logs a SHA-256 per request body:
# the two logs must be identical.
#
#   bench/deliver_bench.sh [WORK_DIR] [RECORDS]      (defaults: /tmp/deliver-bench 1000000)
#
# Environment: HOSTSYNC (default ./build/hostsync), PYTHON (python3), REPEAT (runs of each
# side, alternating, default 3; medians are reported), BATCH (packets per request, 500).
# Never run in CI: it writes ~1 GB under WORK_DIR.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${1:-/tmp/deliver-bench}
N=${2:-1000000}
REPEAT=${REPEAT:-3}
BATCH=${BATCH:-500}
PY=${PYTHON:-python3}
HOSTSYNC=${HOSTSYNC:-$REPO/build/hostsync}
case $HOSTSYNC in /*) ;; *) HOSTSYNC=$PWD/$HOSTSYNC ;; esac
ROOT=$WORK/root
LOG=$WORK/logs
SINK=$(dirname "$HOSTSYNC")/deliver_sink
status=0

die() { echo "deliver_bench: $*" >&2; exit 2; }
[[ -x $HOSTSYNC ]] || die "no hostsync binary at $HOSTSYNC"
[[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time) is needed"
if [[ ! -x $SINK || $REPO/bench/deliver_sink.cpp -nt $SINK ]]; then
    c++ -O2 -std=c++17 -Wall -Wextra -pthread -o "$SINK" "$REPO/bench/deliver_sink.cpp" -lcrypto || die "cannot build the sink"
fi
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

mkdir -p "$WORK" && rm -rf "$ROOT" "$LOG" && mkdir -p "$ROOT/infield/ai_save" "$LOG" || die "cannot create $WORK"
echo "== machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== hostsync: $HOSTSYNC; python: $($PY --version 2>&1)"
echo "== load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $N records -> outbox"
"$PY" "$REPO/bench/gen_index_csv.py" "$ROOT/infield/ai_save/index.csv" --records "$N" --seed 1 || die "generator failed"
"$HOSTSYNC" run phase2.lua --root "$ROOT" --quiet > "$LOG/run.out" || die "phase2 run failed"
BYTES=$(stat -c %s "$ROOT"/infield/ai_save/outbox/sync_*.jsonl | awk '{ s += $1 } END { print s }')
echo "   $(head -c 80 "$LOG/run.out")... ($(calc '%.0f' "$BYTES / 1e6") MB of packets)"

# one SIDE RUN: starts a sink, sends everything, stops the sink; prints "wall cpu rss".
one() {
    local side=$1 run=$2 port
    local sinklog=$LOG/sink-$side-$run.log
    "$SINK" 0 "$sinklog" 2> "$LOG/sink-$side-$run.err" &
    local sink_pid=$!
    for _ in $(seq 200); do port=$(sed -n 's/^listening on //p' "$LOG/sink-$side-$run.err"); [[ -n $port ]] && break; sleep 0.05; done
    [[ -n $port ]] || die "the sink did not start"
    local url=http://127.0.0.1:$port/inbox rc=0
    rm -rf "$ROOT/infield/ai_save/phase2/deliver" "$ROOT/infield/ai_save/phase2/deliver-python"
    if [[ $side == hostsync ]]; then
        /usr/bin/time -f '%e %U %S %M' -o "$LOG/$side-$run.time" \
            "$HOSTSYNC" run phase2.lua --root "$ROOT" --quiet deliver --to "$url" --batch "$BATCH" > "$LOG/$side-$run.out" 2>&1 || rc=$?
    else
        /usr/bin/time -f '%e %U %S %M' -o "$LOG/$side-$run.time" \
            "$PY" "$REPO/bench/deliver_reference.py" --root "$ROOT" --to "$url" --batch "$BATCH" > "$LOG/$side-$run.out" 2>&1 || rc=$?
    fi
    # The sink hashes on a second thread: wait until it has logged every body.
    exec 3<> "/dev/tcp/127.0.0.1/$port" && printf 'GET /drain HTTP/1.1\r\nConnection: close\r\n\r\n' >&3 \
        && head -c 1 <&3 > /dev/null; exec 3>&-
    kill "$sink_pid"; wait "$sink_pid" 2>/dev/null
    (( rc == 0 )) || { echo "   $side failed:"; sed 's/^/   | /' "$LOG/$side-$run.out"; status=1; }
    read -r wall user sys rss < <(tail -n 1 "$LOG/$side-$run.time")
    echo "$wall $(calc '%.2f' "$user + $sys") $rss"
}

declare -A WALL CPU RSS
for run in $(seq "$REPEAT"); do
    for side in hostsync python; do
        read -r w c r < <(one "$side" "$run")
        WALL[$side]+="$w "; CPU[$side]+="$c "; RSS[$side]+="$r "
        printf '  run %d %-9s %7s s wall %7s s cpu %8s KB  %s packets/s\n' "$run" "$side" "$w" "$c" "$r" "$(calc '%.0f' "$N / $w")"
    done
    if cmp -s "$LOG/sink-hostsync-$run.log" "$LOG/sink-python-$run.log"; then
        SAME="same $(wc -l < "$LOG/sink-hostsync-$run.log") request bodies (SHA-256 each, in order)"
    else
        SAME="DIFFERENT bodies (see $LOG/sink-*-$run.log)"; status=1
    fi
done

med() { tr ' ' '\n' <<< "$1" | grep . | median; }
hw=$(med "${WALL[hostsync]}"); pw=$(med "${WALL[python]}")
hc=$(med "${CPU[hostsync]}"); pc=$(med "${CPU[python]}")
echo
echo "Delivery of $N packets ($(calc '%.0f' "$BYTES / 1e6") MB) in batches of $BATCH to a local HTTP sink; medians of $REPEAT"
printf '%-28s %14s %14s\n' "" "hostsync" "python urllib"
printf '%-28s %12s s %12s s\n' "wall" "$hw" "$pw"
printf '%-28s %14s %14s\n' "packets/s" "$(calc '%.0f' "$N / $hw")" "$(calc '%.0f' "$N / $pw")"
printf '%-28s %12s s %12s s\n' "CPU user+sys" "$hc" "$pc"
printf '%-28s %14s\n' "ratio (wall) python/hostsync" "$(calc '%.1fx' "$pw / $hw")"
printf '%-28s %14s\n' "ratio (CPU) python/hostsync" "$(calc '%.1fx' "$pc / $hc")"
echo "bodies: $SAME"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
