#!/usr/bin/env python3
"""Compare two Phase 2 outboxes packet by packet, ignoring run_id and observed_at values.

    compare_outboxes.py A B [--max-diffs N]

A and B are outbox directories, or project roots holding infield/ai_save/outbox. The
packets of each are read in seal order (sync files not yet sealed follow, by name), as
one stream, so the same packets split differently over files still compare equal. Two
packets are equal when their lines are byte for byte the same once the run_id and
observed_at values are blanked (both are still required to be present, in place).

Also compared, when both outboxes have the same number of seals: each seal's packets,
first_seq, last_seq and cursor (not sha256/chain/bytes, which cover run_id and
observed_at; a differing byte count is only noted).

Exit 0 and `SAME N packets` when equal; exit 1 and the first difference (packet number,
seq, file and line on each side, the field, the bytes around it) otherwise.
"""

import argparse
import json
import os
import re
import sys

# The envelope hostsync and the reference both write; the two masked values are the only
# parts a run is allowed to change.
MASK = re.compile(rb'^(\{"packet_version":"[^"]*","run_id":")([^"]*)(".*,"observed_at":")([^"]*)("\}\n?)$',
                  re.S)
SYNC_NAME = re.compile(r"sync_\d{8}_\d{6}\.jsonl")


def outbox_dir(path):
    nested = os.path.join(path, "infield", "ai_save", "outbox")
    return nested if os.path.isdir(nested) else path


def read_seals(out):
    seals = []
    path = os.path.join(out, "seals.jsonl")
    if os.path.exists(path):
        with open(path, "rb") as f:
            for raw in f:
                try:
                    seals.append(json.loads(raw))
                except ValueError:
                    pass  # a torn fragment
    return seals


def sync_files(out, seals):
    names = [s["file"] for s in seals if isinstance(s, dict) and "file" in s]
    rest = sorted(n for n in os.listdir(out) if SYNC_NAME.fullmatch(n) and n not in names)
    return names + rest


def packets(out, names):
    """Yield (file, line_no, raw_line) over all files in order."""
    for name in names:
        with open(os.path.join(out, name), "rb") as f:
            for n, raw in enumerate(f, 1):
                yield name, n, raw


def mask(raw):
    m = MASK.match(raw)
    if not m:
        return None
    return m.group(1) + b"*" + m.group(3) + b"*" + m.group(5)


def seq_of(raw):
    m = re.search(rb'"seq":(\d+)', raw)
    return int(m.group(1)) if m else None


def describe(a, b):
    """Name the first differing field and show the bytes around the first difference."""
    parts = []
    try:
        pa, pb = json.loads(a), json.loads(b)
        if list(pa) != list(pb):
            parts.append("field order/set: %s vs %s" % (list(pa), list(pb)))
        for k in pa:
            if k in ("run_id", "observed_at"):
                continue
            if pa.get(k) != pb.get(k):
                va, vb = pa.get(k), pb.get(k)
                if isinstance(va, dict) and isinstance(vb, dict):
                    sub = [x for x in list(va) + list(vb) if va.get(x) != vb.get(x)]
                    if sub:
                        k2 = sub[0]
                        parts.append("%s.%s: %r vs %r" % (k, k2, va.get(k2), vb.get(k2)))
                        break
                parts.append("%s: %r vs %r" % (k, va, vb))
                break
        else:
            if not parts:
                parts.append("same parsed values, different bytes (escaping, key order or spacing)")
    except ValueError as e:
        parts.append("a line is not JSON (%s)" % e)
    ma, mb = mask(a) or a, mask(b) or b
    i = next((i for i in range(min(len(ma), len(mb))) if ma[i] != mb[i]), min(len(ma), len(mb)))
    lo = max(0, i - 40)
    parts.append("first differing byte at column %d (masked line):\n  A: ...%r...\n  B: ...%r..."
                 % (i + 1, ma[lo:i + 40], mb[lo:i + 40]))
    return "\n".join(parts)


def compare(dir_a, dir_b, max_diffs=1, out=sys.stdout):
    a, b = outbox_dir(dir_a), outbox_dir(dir_b)
    seals_a, seals_b = read_seals(a), read_seals(b)
    it_a = packets(a, sync_files(a, seals_a))
    it_b = packets(b, sync_files(b, seals_b))
    diffs = 0
    n = 0
    while True:
        pa, pb = next(it_a, None), next(it_b, None)
        if pa is None and pb is None:
            break
        n += 1
        if pa is None or pb is None:
            have, side = (pb, "B") if pa is None else (pa, "A")
            print("DIFF at packet %d: only %s has it (%s line %d, seq %s); the other ends after %d packets"
                  % (n, side, have[0], have[1], seq_of(have[2]), n - 1), file=out)
            return 1
        ma, mb = mask(pa[2]), mask(pb[2])
        for side, p, m in (("A", pa, ma), ("B", pb, mb)):
            if m is None:
                print("DIFF at packet %d: %s %s line %d does not have the packet envelope "
                      "({\"packet_version\",\"run_id\",...,\"observed_at\"})" % (n, side, p[0], p[1]),
                      file=out)
                return 1
        if ma != mb:
            diffs += 1
            print("DIFF at packet %d (seq A %s, B %s): A %s line %d, B %s line %d\n%s"
                  % (n, seq_of(pa[2]), seq_of(pb[2]), pa[0], pa[1], pb[0], pb[1],
                     describe(pa[2], pb[2])), file=out)
            if diffs >= max_diffs:
                return 1
    if diffs:
        return 1
    if len(seals_a) == len(seals_b):
        for i, (sa, sb) in enumerate(zip(seals_a, seals_b), 1):
            for k in ("packets", "first_seq", "last_seq", "cursor"):
                if sa.get(k) != sb.get(k):
                    print("DIFF in seal %d: %s is %r in A, %r in B" % (i, k, sa.get(k), sb.get(k)),
                          file=out)
                    return 1
            if sa.get("bytes") != sb.get("bytes"):
                print("note: seal %d bytes %r vs %r (run_id/observed_at of different lengths?)"
                      % (i, sa.get("bytes"), sb.get("bytes")), file=sys.stderr)
    else:
        print("note: %d seals in A, %d in B: seals not compared" % (len(seals_a), len(seals_b)),
              file=sys.stderr)
    print("SAME %d packets" % n, file=out)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description="Compare two Phase 2 outboxes packet by packet.")
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--max-diffs", type=int, default=1, help="stop after N differing packets")
    args = ap.parse_args(argv)
    for d in (args.a, args.b):
        if not os.path.isdir(outbox_dir(d)):
            ap.error("%s is not an outbox or a root holding one" % d)
    return compare(args.a, args.b, args.max_diffs)


if __name__ == "__main__":
    sys.exit(main())
