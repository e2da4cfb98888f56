#!/usr/bin/env python3
"""Runs one libFuzzer target for a bounded time: the seed corpus first, then mutation.

    run_fuzz.py --binary build/fuzz/csv_fuzz --target csv [--seconds 15] [--work build/fuzz/work]

The committed seeds (tests/fuzz/corpus/<target>) are read-only input; new interesting
inputs go to <work>/corpus-<target>, so they carry over to the next run on this machine
and the source tree never changes. Memory (-rss_limit_mb), time per input (-timeout,
a hang guard far above any healthy input) and total time (-max_total_time) are bounded.

A finding (crash, sanitizer report, broken property, leak, timeout, out of memory) exits
1 and prints how to reproduce it: the saved input as hex, and the command that replays
it. The mutation seed is fixed (printed; HOSTSYNC_FUZZ_SEED overrides it), so a run
from the same corpus starts the same way. docs/fuzzing.md has longer runs by hand.
"""
import argparse
import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
# Longest input per target: enough for the seeds that matter (age: three 64 KiB chunks;
# tar: a few entries), small enough to keep mutation fast.
MAX_LEN = {"csv": 8192, "json": 16384, "age": 200000, "tar": 65536}
DEFAULT_SEED = 20261123


def show(data, limit=4096):
    head = data[:limit]
    lines = [head[i:i + 32].hex(" ") for i in range(0, len(head), 32)]
    more = f"\n... ({len(data) - limit} more bytes)" if len(data) > limit else ""
    return "\n".join(lines) + more


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--target", required=True, choices=sorted(MAX_LEN))
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--work", default=None, help="working directory (default: next to the binary)")
    ap.add_argument("--missing", default=None, help="the fuzzers could not be built: print this and fail")
    args = ap.parse_args()
    if args.missing:
        print(f"fuzz_{args.target}: {args.missing}", file=sys.stderr)
        return 1

    binary = pathlib.Path(args.binary)
    work = pathlib.Path(args.work) if args.work else binary.parent / "work"
    corpus = work / f"corpus-{args.target}"
    findings = work / f"findings-{args.target}"
    corpus.mkdir(parents=True, exist_ok=True)
    findings.mkdir(parents=True, exist_ok=True)
    for old in findings.iterdir():   # only this run's findings count
        old.unlink()
    seed = int(os.environ.get("HOSTSYNC_FUZZ_SEED", DEFAULT_SEED))
    cmd = [str(binary), str(corpus), str(HERE / "corpus" / args.target),
           f"-dict={HERE / 'dict' / (args.target + '.dict')}",
           f"-max_total_time={args.seconds}", f"-max_len={MAX_LEN[args.target]}",
           "-rss_limit_mb=1536", "-malloc_limit_mb=1024", "-timeout=60",
           f"-seed={seed}", f"-artifact_prefix={findings}/", "-print_final_stats=1", "-close_fd_mask=1"]
    env = dict(os.environ,
               ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    print(f"fuzz_{args.target}: seed {seed} (HOSTSYNC_FUZZ_SEED replays it)\n  {' '.join(cmd)}", flush=True)
    # The outer timeout is a hang guard only: libFuzzer stops itself after --seconds.
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=args.seconds + 600)
    output = proc.stdout.decode("utf-8", "replace")
    saved = sorted(findings.iterdir())
    if proc.returncode == 0 and not saved:
        stats = [l for l in output.splitlines() if l.startswith(("stat::number_of_executed_units", "stat::peak_rss_mb",
                                                                "#", "INFO: seed corpus"))]
        print("\n".join(stats[-6:]))
        print(f"fuzz_{args.target}: OK, no finding")
        return 0
    print(output[-20000:])
    print(f"\nfuzz_{args.target}: FINDING (exit status {proc.returncode})")
    for path in saved:
        data = path.read_bytes()
        print(f"\n{path} ({len(data)} bytes):\n{show(data)}")
        print(f"reproduce: {binary} {path}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
