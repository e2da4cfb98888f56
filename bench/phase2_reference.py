#!/usr/bin/env python3
"""A straightforward Python implementation of the Phase 2 packet format (docs/phase2.md).

    phase2_reference.py --root DIR [--index PATH] [--outbox DIR] [--state-dir DIR] [--quiet]

It is the baseline `hostsync run phase2.lua` is benchmarked against: the obvious,
idiomatic code a competent engineer would write with the standard library (csv, json,
hashlib), single-threaded, no tricks. It does a full first run only:

- reads <root>/infield/ai_save/index.csv with the csv module;
- writes one packet per complete record to outbox/.sync_<run_id>.jsonl.tmp, fsyncs it and
  renames it to outbox/sync_<run_id>.jsonl;
- appends the seal to outbox/seals.jsonl (fsync) and writes phase2/state.json.

Not implemented (hostsync does them): the cursor file diff_state.json and its
fingerprint, incremental runs, the run lock, crash recovery, --quarantine. A root whose
outbox already holds a seal is refused. A bad row stops the run like hostsync does
without --quarantine: everything before it is sealed, the error names the line, exit 1.

The packets are byte for byte what hostsync writes, except the run_id and observed_at
values (bench/compare_outboxes.py checks that).
"""

import argparse
import csv
import hashlib
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path


def jcs(row):
    """RFC 8785 canonical JSON of an object whose values are strings (docs/phase2.md)."""
    keys = sorted(row, key=lambda k: k.encode("utf-16-be"))
    return json.dumps({k: row[k] for k in keys}, ensure_ascii=False, separators=(",", ":"))


def canonical(obj):
    """Canonical JSON of a seal or state object (ASCII keys, strings and integers)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def utc_now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class BadRow(Exception):
    def __init__(self, line_no, reason):
        super().__init__("index.csv line %d: %s" % (line_no, reason))
        self.line_no = line_no


def read_records(path, notes):
    """Yield (line_no, fields, end_offset, end_line) for each complete record of the CSV.

    line_no is the physical line the record starts on (the header is line 1),
    end_offset/end_line the byte offset and the number of lines just after the record.
    The file is read in binary and decoded line by line: the seal's cursor needs byte
    offsets, and a line is what ends in LF (a CRLF counts once), as in hostsync. A final
    record without its line break, or with an unclosed quote, is not complete: it is not
    yielded and a note is added to `notes`. Raises BadRow for a record hostsync refuses.
    """
    pos = 0            # bytes handed to the csv reader so far
    last_line = ""     # the last line handed to it
    eof = False

    def lines(f):
        nonlocal pos, last_line, eof
        for raw in f:
            if pos == 0 and raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 BOM is ignored
                last_line = raw[3:].decode("utf-8")
            else:
                last_line = raw.decode("utf-8")
            pos += len(raw)
            yield last_line
        eof = True

    with open(path, "rb") as f:
        csv.field_size_limit(sys.maxsize)  # fields may be large
        reader = csv.reader(lines(f), strict=True)
        prev_line_num = 0
        while True:
            line_no = prev_line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as e:
                raise BadRow(line_no, "invalid UTF-8 (%s)" % e.reason) from None
            except csv.Error as e:
                if eof:        # an unclosed quote at the end of the file
                    notes.append("an incomplete final record at line %d is waiting" % line_no)
                    return
                raise BadRow(line_no, "CSV quote error (%s)" % e) from None
            prev_line_num = reader.line_num
            if not last_line.endswith("\n"):   # the final record has no line break yet
                notes.append("an incomplete final record at line %d is waiting" % line_no)
                return
            if not fields:     # a blank line: no packet, but it counts as a line
                continue
            yield line_no, fields, pos, reader.line_num


def main(argv=None):
    ap = argparse.ArgumentParser(description="Reference (baseline) Phase 2 run in Python.")
    ap.add_argument("--root", default=".")
    ap.add_argument("--index", default="infield/ai_save/index.csv")
    ap.add_argument("--outbox", default="infield/ai_save/outbox")
    ap.add_argument("--state-dir", default="infield/ai_save/phase2")
    ap.add_argument("--quiet", action="store_true", help="accepted for symmetry; prints no progress anyway")
    args = ap.parse_args(argv)

    root = Path(args.root)
    index = root / args.index
    outbox = root / args.outbox
    state_dir = root / args.state_dir
    seals_path = outbox / "seals.jsonl"
    if seals_path.exists() and seals_path.stat().st_size > 0:
        print("error: %s already holds seals; this reference only does a first run" % seals_path,
              file=sys.stderr)
        return 1
    outbox.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)

    run_id = datetime.now(timezone.utc).strftime("%Y%m%d_%H%M%S")
    name = "sync_%s.jsonl" % run_id
    tmp_path = outbox / (".%s.tmp" % name)
    source_path = json.dumps(args.index, ensure_ascii=False)

    seq = 0
    cursor = {"offset": 0, "line_no": 0}
    file_hash = hashlib.sha256()
    nbytes = 0
    header = None
    error = None
    notes = []
    with open(tmp_path, "wb") as out:
        try:
            for line_no, fields, end_offset, end_line in read_records(index, notes):
                if header is None:
                    header = fields
                    cursor = {"offset": end_offset, "line_no": end_line}
                    continue
                if len(fields) != len(header):
                    raise BadRow(line_no, "%d fields, header has %d" % (len(fields), len(header)))
                row = dict(zip(header, fields))
                row_json = jcs(row)
                row_hash = hashlib.sha256(row_json.encode("utf-8")).hexdigest()
                observed_at = datetime.now().astimezone().isoformat(timespec="seconds")
                seq += 1
                packet = ('{"packet_version":"0.1","run_id":"%s","seq":%d,'
                          '"source":{"path":%s,"line_no":%d},"row":%s,'
                          '"row_hash":"sha256:%s","observed_at":"%s"}\n'
                          % (run_id, seq, source_path, line_no, row_json, row_hash, observed_at))
                data = packet.encode("utf-8")
                out.write(data)
                file_hash.update(data)
                nbytes += len(data)
                cursor = {"offset": end_offset, "line_no": end_line}
        except BadRow as e:
            error = e
        out.flush()
        os.fsync(out.fileno())

    for note in notes:
        print("note: %s" % note, file=sys.stderr)
    if seq == 0:
        tmp_path.unlink()
        if error:
            print("error: %s" % error, file=sys.stderr)
            return 1
        print("OK: no new packets; skip seal")
        return 0

    final_path = outbox / name
    if final_path.exists():
        tmp_path.unlink()
        print("error: %s already exists" % final_path, file=sys.stderr)
        return 1
    os.rename(tmp_path, final_path)
    dir_fd = os.open(outbox, os.O_RDONLY)
    os.fsync(dir_fd)
    os.close(dir_fd)

    sha = file_hash.hexdigest()
    prev_chain = "0" * 64
    chain = hashlib.sha256((prev_chain + sha).encode("ascii")).hexdigest()
    seal = {
        "seal_version": "0.1", "file": name, "sha256": sha, "bytes": nbytes, "packets": seq,
        "first_seq": 1, "last_seq": seq, "prev_chain": prev_chain, "chain": chain,
        "run_id": run_id, "cursor": cursor, "sealed_at": utc_now(),
    }
    with open(seals_path, "ab") as f:
        f.write((canonical(seal) + "\n").encode("utf-8"))
        f.flush()
        os.fdatasync(f.fileno())

    state = {"last_chain_hash": chain, "last_file": name, "last_seq": seq, "seals": 1,
             "updated_at": utc_now()}
    state_tmp = state_dir / "state.json.tmp"
    with open(state_tmp, "w", encoding="utf-8") as f:
        f.write(canonical(state) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(state_tmp, state_dir / "state.json")

    print("OK: %d packets seq 1..%d -> outbox/%s chain %s" % (seq, seq, name, chain))
    if error:
        print("error: %s" % error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
