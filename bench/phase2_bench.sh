#!/usr/bin/env bash
# Phase 2 benchmark: hostsync vs the straightforward Python reference, on the same CSV.
#
#   bench/phase2_bench.sh [WORK_DIR] [RECORDS]      (defaults: /tmp/phase2-bench 1000000)
#
# Environment: HOSTSYNC (binary, default ./build/hostsync), PYTHON (default python3),
# SEED (generator seed, default 1), RERUNS (timed no-op reruns, default 10),
# CACHE (cold|warm; default cold when /proc/sys/vm/drop_caches is writable, else warm).
#
# Steps, all in one run: generate index.csv once; (a) full hostsync run on root A;
# (a2) hostsync verify of A's outbox (cold cache for the packets when possible), then again warm;
# (b) full Python reference run on root B; compare the two outboxes packet by packet;
# (c) hostsync reruns with nothing new; (d) append 1% more records and time an incremental
# hostsync run; verify A's outbox with tests/e2e/reference_verify.py --csv; print a table.
# Never run in CI (it writes ~1 GB under WORK_DIR and takes minutes).
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${1:-/tmp/phase2-bench}
N=${2:-1000000}
SEED=${SEED:-1}
RERUNS=${RERUNS:-10}
PY=${PYTHON:-python3}
HOSTSYNC=${HOSTSYNC:-$REPO/build/hostsync}
case $HOSTSYNC in /*) ;; *) HOSTSYNC=$PWD/$HOSTSYNC ;; esac
INDEX_REL=infield/ai_save/index.csv
OUTBOX_REL=infield/ai_save/outbox
A=$WORK/A
B=$WORK/B
LOG=$WORK/logs
TIME_FMT='%e s %M KB %U user %S sys'   # wall, peak RSS, CPU
status=0

die() { echo "phase2_bench: $*" >&2; exit 2; }
[[ $N =~ ^[0-9]+$ && $N -gt 0 ]] || die "RECORDS must be a positive integer"
[[ -x $HOSTSYNC ]] || die "no hostsync binary at $HOSTSYNC (build it, or set HOSTSYNC)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time) is needed for wall time and peak RSS"

# --- cache policy ---------------------------------------------------------------------
can_drop=0
if [[ ${CACHE:-} != warm ]] && { sync; (echo 3 > /proc/sys/vm/drop_caches) 2>/dev/null; }; then
    can_drop=1
fi
[[ ${CACHE:-} == cold && $can_drop == 0 ]] && die "CACHE=cold but /proc/sys/vm/drop_caches is not writable"
if (( can_drop )); then
    CACHE_NOTE="cold page cache before each full run (drop_caches)"
else
    CACHE_NOTE="warm page cache for both full runs (drop_caches not permitted or CACHE=warm; index.csv pre-read)"
fi
prepare_full_run() {   # $1: the index.csv about to be read
    if (( can_drop )); then
        sync; echo 3 > /proc/sys/vm/drop_caches
    else
        cat "$1" > /dev/null
    fi
}

# timed NAME CMD...: runs CMD under GNU time; sets T_<NAME> (wall seconds), M_<NAME> (peak
# RSS, KB) and C_<NAME> (user + sys CPU seconds).
timed() {
    local name=$1; shift
    local rc=0
    /usr/bin/time -f "$TIME_FMT" -o "$LOG/$name.time" "$@" > "$LOG/$name.out" 2> "$LOG/$name.err" || rc=$?
    local t m u s
    read -r t _ m _ u _ s _ < <(tail -n 1 "$LOG/$name.time")
    printf -v "T_$name" '%s' "$t"
    printf -v "M_$name" '%s' "$m"
    printf -v "C_$name" '%s' "$(calc '%.2f' "$u + $s")"
    printf '  %-12s %8s s %9s KB  exit %d   %s\n' "$name" "$t" "$m" "$rc" "$(head -c 200 "$LOG/$name.out" | head -n 1)"
    if (( rc != 0 )); then
        echo "    $name failed (exit $rc); stderr:" >&2
        head -n 12 "$LOG/$name.err" | sed 's/^/    | /' >&2
    fi
    return $rc
}

calc() { awk "BEGIN { printf \"$1\", $2 }"; }

mkdir -p "$WORK" || die "cannot create $WORK"
rm -rf "$A" "$B" "$LOG"
mkdir -p "$A/infield/ai_save" "$B/infield/ai_save" "$LOG"

echo "== machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo) RAM"
echo "== hostsync: $HOSTSYNC ($("$HOSTSYNC" version 2>/dev/null | head -n 1))"
echo "== python:   $($PY --version 2>&1)"
echo "== cache:    $CACHE_NOTE"
echo "== load:     $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews wall times; CPU times less so)"

# --- the CSV, generated once ------------------------------------------------------------
CSV=$WORK/index.csv
echo "== generating $N records (seed $SEED) -> $CSV"
t0=$(date +%s.%N)
"$PY" "$REPO/bench/gen_index_csv.py" "$CSV" --records "$N" --seed "$SEED" || die "generator failed"
t1=$(date +%s.%N)
SIZE=$(stat -c %s "$CSV")
MB=$(calc '%.1f' "$SIZE / 1e6")
echo "   $MB MB in $(calc '%.1f' "$t1 - $t0") s"
cp "$CSV" "$A/$INDEX_REL"
cp "$CSV" "$B/$INDEX_REL"

# --- (a) hostsync, full first run --------------------------------------------------------
echo "== (a) hostsync full run"
prepare_full_run "$A/$INDEX_REL"
hs_ok=1
timed hs_full "$HOSTSYNC" run phase2.lua --root "$A" --quiet || { hs_ok=0; status=1; }

# --- (a2) hostsync verify of what the full run wrote ------------------------------------------
if (( hs_ok )); then
    echo "== (a2) hostsync verify of the full run's outbox"
    prepare_full_run "$A/$OUTBOX_REL/$(ls "$A/$OUTBOX_REL" | grep -m1 '^sync_')"
    timed hs_verify "$HOSTSYNC" run phase2.lua --root "$A" --quiet verify || status=1
    timed hs_verify_warm "$HOSTSYNC" run phase2.lua --root "$A" --quiet verify || status=1
fi

# --- (b) Python reference, full first run ------------------------------------------------
echo "== (b) Python reference full run"
prepare_full_run "$B/$INDEX_REL"
py_ok=1
timed py_full "$PY" "$REPO/bench/phase2_reference.py" --root "$B" || { py_ok=0; status=1; }

# --- same output? -------------------------------------------------------------------------
SAME="not compared"
if (( hs_ok && py_ok )); then
    echo "== compare outboxes (packet by packet, run_id and observed_at ignored)"
    if "$PY" "$REPO/bench/compare_outboxes.py" "$A/$OUTBOX_REL" "$B/$OUTBOX_REL" > "$LOG/compare.out" 2>&1; then
        SAME=$(tail -n 1 "$LOG/compare.out")
    else
        SAME="DIFFERENT (see $LOG/compare.out)"
        status=1
    fi
    sed 's/^/   /' "$LOG/compare.out"
fi

# --- (c) reruns with nothing new -----------------------------------------------------------
RERUN="n/a"
if (( hs_ok )); then
    echo "== (c) hostsync rerun with nothing new ($RERUNS runs)"
    timed hs_rerun "$HOSTSYNC" run phase2.lua --root "$A" --quiet || status=1
    grep -q "no new packets" "$LOG/hs_rerun.out" || { echo "   rerun did not say 'no new packets'" >&2; status=1; }
    if command -v hyperfine > /dev/null; then
        hyperfine --warmup 2 --runs "$RERUNS" --shell=none --style basic \
            --export-json "$LOG/rerun.json" \
            "$HOSTSYNC run phase2.lua --root $A --quiet" > "$LOG/hyperfine.out" 2>&1 || status=1
        RERUN=$("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.4f %.4f" % (r["mean"], r["stddev"] or 0))' "$LOG/rerun.json")
        RERUN_HOW="hyperfine, $RERUNS runs"
    else
        total=0
        for _ in $(seq "$RERUNS"); do
            s=$(date +%s%N)
            "$HOSTSYNC" run phase2.lua --root "$A" --quiet > /dev/null 2>&1 || status=1
            e=$(date +%s%N)
            total=$((total + e - s))
        done
        RERUN="$(calc '%.4f' "$total / $RERUNS / 1e9") 0"
        RERUN_HOW="shell loop, $RERUNS runs"
    fi
    read -r RERUN_MEAN RERUN_SD <<< "$RERUN"
    echo "   mean $RERUN_MEAN s (sd $RERUN_SD, $RERUN_HOW)"
fi

# --- (d) append 1% and run incrementally -----------------------------------------------------
if (( hs_ok )); then
    ADD=$(( N / 100 > 0 ? N / 100 : 1 ))
    echo "== (d) append $ADD records (1%) and run incrementally"
    "$PY" "$REPO/bench/gen_index_csv.py" "$A/$INDEX_REL" --records "$ADD" --seed "$SEED" --append \
        || die "append failed"
    timed hs_incr "$HOSTSYNC" run phase2.lua --root "$A" --quiet || status=1
    grep -q "^OK: $ADD packets" "$LOG/hs_incr.out" \
        || { echo "   the incremental run did not emit the $ADD new records" >&2; status=1; }
fi

# --- the independent verifier on hostsync's outbox ------------------------------------------------
VERIFY="not run"
if (( hs_ok )); then
    echo "== tests/e2e/reference_verify.py --csv on A (hostsync's outbox, both seals)"
    t0=$(date +%s.%N)
    if "$PY" "$REPO/tests/e2e/reference_verify.py" "$A" --csv > "$LOG/verify.out" 2> "$LOG/verify.err"; then
        VERIFY=$(head -n 1 "$LOG/verify.out")
    else
        VERIFY="FAILED: $(grep -m1 FAIL "$LOG/verify.err")"
        status=1
    fi
    t1=$(date +%s.%N)
    echo "   $VERIFY ($(calc '%.1f' "$t1 - $t0") s)"
fi

# --- the table ------------------------------------------------------------------------------------------
echo
echo "Phase 2 benchmark: $N records, $MB MB index.csv; $CACHE_NOTE"
printf '%-36s %14s %14s\n' "" "hostsync" "python ref"
fmt_t() { [[ -n ${1:-} ]] && printf '%s s' "$1" || printf 'failed'; }
printf '%-36s %14s %14s\n' "full run, wall" "$(fmt_t "${T_hs_full:-}")" "$(fmt_t "${T_py_full:-}")"
if (( hs_ok )) && [[ -n ${T_hs_full:-} && -n ${T_py_full:-} ]]; then
    printf '%-36s %14s %14s\n' "full run, throughput" \
        "$(calc '%.1f MB/s' "$SIZE / 1e6 / ($T_hs_full > 0 ? $T_hs_full : 0.01)")" \
        "$(calc '%.1f MB/s' "$SIZE / 1e6 / ($T_py_full > 0 ? $T_py_full : 0.01)")"
    printf '%-36s %14s\n' "ratio python / hostsync" "$(calc '%.1fx' "$T_py_full / ($T_hs_full > 0 ? $T_hs_full : 0.01)")"
fi
printf '%-36s %14s %14s\n' "full run, CPU user+sys" "${C_hs_full:-?} s" "${C_py_full:-?} s"
printf '%-36s %14s %14s\n' "full run, peak RSS" "${M_hs_full:-?} KB" "${M_py_full:-?} KB"
if (( hs_ok )); then
    printf '%-36s %14s\n' "verify of the full run, wall" "$(fmt_t "${T_hs_verify:-}")"
    printf '%-36s %14s\n' "verify, CPU user+sys" "${C_hs_verify:-?} s"
    printf '%-36s %14s\n' "verify again (warm cache), wall" "$(fmt_t "${T_hs_verify_warm:-}")"
    printf '%-36s %14s\n' "verify again, CPU user+sys" "${C_hs_verify_warm:-?} s"
    printf '%-36s %14s\n' "verify, peak RSS" "${M_hs_verify:-?} KB"
    [[ -n ${T_hs_verify:-} ]] && printf '%-36s %14s\n' "verify / full run (wall)" "$(calc '%.2f' "$T_hs_verify / ($T_hs_full > 0 ? $T_hs_full : 0.01)")"
    printf '%-36s %14s\n' "rerun, nothing new (mean)" "$RERUN_MEAN s"
    printf '%-36s %14s\n' "rerun / full run" "$(calc '%.2f%%' "100 * $RERUN_MEAN / ($T_hs_full > 0 ? $T_hs_full : 0.01)")"
    printf '%-36s %14s\n' "rerun, peak RSS" "${M_hs_rerun:-?} KB"
    printf '%-36s %14s\n' "incremental run (+$ADD records)" "$(fmt_t "${T_hs_incr:-}")"
    printf '%-36s %14s\n' "incremental run, peak RSS" "${M_hs_incr:-?} KB"
fi
echo "outputs: $SAME"
echo "reference verifier on hostsync's outbox: $VERIFY"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "logs: $LOG"
exit $status
