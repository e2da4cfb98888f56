#!/usr/bin/env python3
"""Independent verifier of a Phase 2 outbox, written only from docs/phase2.md.

    reference_verify.py ROOT [--csv] [--after-crash] [--index PATH] [--outbox DIR]
                             [--state-dir DIR] [-q]

Exit 0 and `OK N packets, chain X` on stdout when the outbox is sound; exit 1 and
`FAIL: <file> line <n> (seq <s>): <what>` on stderr at the first problem; exit 2 on a
usage error. Notes (torn fragments skipped, files that are not expected) go to stderr.

What it checks (the "Verifying an outbox by hand" procedure of docs/phase2.md, made
strict):

- seals.jsonl: every line that parses is a seal with exactly the documented fields, in
  RFC 8785 canonical form; lines that do not parse are torn fragments, reported and
  skipped. For each seal in order: prev_chain, the file's SHA-256 and size, chain,
  packets/first_seq/last_seq, run_id (that of the file name), cursors that never go back;
  every sealed file appears once.
- every packet of every sealed file: exactly the fields packet_version, run_id, seq,
  source{path, line_no}, row, row_hash, observed_at in that order, compact JSON on one
  `\\n`-terminated line with `row` in canonical form; seq continuing by one from 1 across
  files; line_no increasing; every row with the same keys; row_hash correct;
  observed_at ISO 8601 with a UTC offset.
- an adoption seal (a takeover of the PowerShell original's deployment) only as the first
  seal, with any 64-hex prev_chain (the old head); its manifest: canonical, exactly the
  documented fields, agreeing with the seal and with the old state files it carries;
  every old file it names with that SHA-256, size, line count and seq range; the sums;
  chain_reproduced recomputed; seq of the next seal from the manifest's last_seq + 1.
- no `sync_*.jsonl` without a seal (or a place in the adoption manifest) and no temporary
  (`*.tmp`) file in the outbox or the state directory.
- phase2/state.json: exactly last_chain_hash, last_file, last_seq, seals, updated_at,
  agreeing with the last seal. phase2/diff_state.json (if present): version, source, a
  cursor not behind the last seal's.
- outbox/quarantine.jsonl (if present): documented fields, canonical form, one entry per
  offset, raw_base64 as long as the span.

--csv also re-reads index.csv with Python's csv module and checks that the packets'
rows are, in order, exactly the complete records before the last seal's cursor and after
the adoption's cursor if there is one (blank lines and the records listed in
quarantine.jsonl excepted): nothing lost, nothing
duplicated, each record in the file whose seal cursor range holds it, each line_no the
physical line the record starts on, each cursor's line_no the number of lines before its
offset, each quarantine entry's bytes those of index.csv, and the block hashes of
diff_state.json's fingerprint.

--after-crash accepts what a crash can leave before the next run repairs it (reported on
stderr instead of failing): a leftover .tmp file, one unsealed sync file (its packets are
still checked), and state files that are behind or missing.

Importable: verify(root, ...) returns a Summary or raises VerifyError.
"""

import argparse
import base64
import binascii
import csv
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass, field

ZERO_CHAIN = "0" * 64
PACKET_KEYS = ["packet_version", "run_id", "seq", "source", "row", "row_hash", "observed_at"]
SOURCE_KEYS = ["path", "line_no"]
SEAL_KEYS = {"seal_version", "file", "sha256", "bytes", "packets", "first_seq", "last_seq",
             "prev_chain", "chain", "run_id", "cursor", "sealed_at"}
CURSOR_KEYS = {"offset", "line_no"}
STATE_KEYS = {"last_chain_hash", "last_file", "last_seq", "seals", "updated_at"}
QUARANTINE_KEYS = {"quarantine_version", "run_id", "source", "reason", "raw_base64", "found_at"}
QSOURCE_KEYS = {"path", "line_no", "offset", "end_offset"}
DIFF_STATE_KEYS = {"diff_state_version", "source", "last_line_no", "offset", "fingerprint",
                   "updated_at"}

HEX64 = re.compile(r"[0-9a-f]{64}")
RUN_ID = re.compile(r"\d{8}_\d{6}")
SYNC_NAME = re.compile(r"sync_(\d{8}_\d{6})\.jsonl")
ADOPTION_NAME = re.compile(r"adoption_(\d{8}_\d{6})\.json")
OLD_SYNC_NAME = re.compile(r"sync_.+\.jsonl")
MANIFEST_KEYS = {"adoption_version", "run_id", "adopted_at", "source", "cursor", "files", "packets",
                 "first_seq", "last_seq", "legacy"}
MANIFEST_FILE_KEYS = {"file", "sha256", "bytes", "packets", "first_seq", "last_seq"}
LEGACY_KEYS = {"last_line_no", "last_chain_hash", "chain_reproduced", "diff_state_base64", "state_base64"}
LOCAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?[+-]\d\d:\d\d")
UTC_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")


class VerifyError(Exception):
    """The first problem found; str() names the file, line and seq where known."""

    def __init__(self, what, file=None, line=None, seq=None):
        where = []
        if file is not None:
            where.append(str(file))
        if line is not None:
            where.append("line %d" % line)
        if seq is not None:
            where.append("(seq %d)" % seq)
        super().__init__(("%s: %s" % (" ".join(where), what)) if where else what)
        self.what, self.file, self.line, self.seq = what, file, line, seq


@dataclass
class Summary:
    packets: int = 0            # packets in sealed files
    chain: str = ZERO_CHAIN     # the last seal's chain
    seals: int = 0
    fragments: int = 0          # torn lines skipped in seals.jsonl
    quarantined: int = 0        # entries in quarantine.jsonl
    csv_records: int = 0        # with --csv: records before the last cursor (after an adoption's), header excepted
    new_packets: int = 0        # packets in hostsync's sync files (not in files it took over)
    notes: list = field(default_factory=list)

    def line(self):
        return "OK %d packets, chain %s" % (self.packets, self.chain)


# --- JSON helpers -------------------------------------------------------------------

def jcs(row):  # RFC 8785 for an object of strings (docs/phase2.md)
    keys = sorted(row, key=lambda k: k.encode("utf-16-be"))
    return json.dumps({k: row[k] for k in keys}, ensure_ascii=False, separators=(",", ":"))


def canonical(obj):
    """RFC 8785 text of an object made of objects, strings and integers."""
    if isinstance(obj, dict):
        keys = sorted(obj, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical(obj[k])
                              for k in keys) + "}"
    if isinstance(obj, list):
        return "[" + ",".join(canonical(v) for v in obj) + "]"
    return json.dumps(obj, ensure_ascii=False)


def h(b):
    return hashlib.sha256(b).hexdigest()


def _no_dup_object(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError("duplicate key %r" % k)
        d[k] = v
    return d


def _no_constants(name):
    raise ValueError("%s is not JSON" % name)


def loads(text):
    """json.loads that rejects duplicate keys and NaN/Infinity, keeping key order."""
    return json.loads(text, object_pairs_hook=_no_dup_object, parse_constant=_no_constants)


def is_int(v):
    return type(v) is int


def check_keys(obj, expected, what, file, line, seq=None, ordered=False):
    if not isinstance(obj, dict):
        raise VerifyError("%s is not an object" % what, file, line, seq)
    if ordered:
        if list(obj) != list(expected):
            raise VerifyError("%s fields are %s, expected exactly %s in this order"
                              % (what, list(obj), list(expected)), file, line, seq)
    elif set(obj) != set(expected):
        missing = sorted(set(expected) - set(obj))
        extra = sorted(set(obj) - set(expected))
        raise VerifyError("%s fields: missing %s, unexpected %s" % (what, missing, extra),
                          file, line, seq)


def file_sha256(path):
    d = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return d.hexdigest()
            d.update(b)


# --- reading JSON Lines files that may hold torn fragments --------------------------

def read_jsonl_tolerant(path, label, summary, log):
    """[(line_no, raw_line_bytes, obj)] of the lines that parse; fragments are reported."""
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        return []
    pieces = data.split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()
    else:
        note(summary, log, "%s: the last line has no line break (a torn write; the next run "
                           "terminates it)" % label)
    out = []
    for n, raw in enumerate(pieces, 1):
        try:
            obj = loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            summary.fragments += 1
            note(summary, log, "%s line %d: torn fragment skipped (%d bytes)" % (label, n, len(raw)))
            continue
        out.append((n, raw, obj))
    return out


def note(summary, log, text):
    summary.notes.append(text)
    if log:
        log(text)


# --- index.csv ------------------------------------------------------------------------

def line_counts(path, offsets):
    """{offset: number of LF bytes before it} and whether each offset is a line start."""
    wanted = sorted(set(offsets))
    counts, starts = {}, {}
    pos = lines = 0
    prev_byte = b"\n"
    i = 0
    with open(path, "rb") as f:
        while i < len(wanted):
            chunk = f.read(1 << 22)
            while i < len(wanted) and wanted[i] <= pos + len(chunk):
                k = wanted[i] - pos
                counts[wanted[i]] = lines + chunk.count(b"\n", 0, k)
                starts[wanted[i]] = (chunk[k - 1:k] if k > 0 else prev_byte) == b"\n"
                i += 1
            if not chunk:
                break
            lines += chunk.count(b"\n")
            pos += len(chunk)
            prev_byte = chunk[-1:]
    return counts, starts


class CsvRecords:
    """The records of index.csv before `limit`, read with Python's csv module.

    Yields (line_no, start_offset, end_offset, fields) for every record, blank lines
    skipped, quarantined spans ({offset: (end_offset, line_no)}) skipped at the byte level.
    Lines end in LF (a CRLF is one line), as docs/phase2.md defines them.
    """

    def __init__(self, path, limit, quarantined):
        self.path, self.limit, self.quarantined = path, limit, quarantined
        self.pos = 0        # byte offset of the next line to read
        self.lines = 0      # lines read so far
        self.skipped = []   # quarantine offsets actually skipped

    def _readline(self, f):
        if self.pos >= self.limit:
            return None
        raw = f.readline()
        if not raw:
            raise VerifyError("index.csv ends at byte %d, before the cursor at %d"
                              % (self.pos, self.limit), "index.csv")
        if self.pos + len(raw) > self.limit:
            raise VerifyError("the cursor at byte %d is not at the end of a line" % self.limit,
                              "index.csv", self.lines + 1)
        start = self.pos
        self.pos += len(raw)
        self.lines += 1
        return start, raw

    def __iter__(self):
        with open(self.path, "rb") as f:
            current = {}

            def lines():
                while True:
                    got = self._readline(f)
                    if got is None:
                        return
                    start, raw = got
                    if start == 0 and raw.startswith(b"\xef\xbb\xbf"):
                        raw = raw[3:]
                    try:
                        text = raw.decode("utf-8")
                    except UnicodeDecodeError as e:
                        raise VerifyError("invalid UTF-8 in a record that is not quarantined "
                                          "(%s)" % e.reason, "index.csv", current["line"]) from None
                    yield text

            csv.field_size_limit(sys.maxsize)  # fields may be large
            reader = csv.reader(lines(), strict=True)
            while True:
                start, line_no = self.pos, self.lines + 1
                if start in self.quarantined:
                    end, q_line = self.quarantined[start]
                    if q_line != line_no:
                        raise VerifyError("quarantine entry at offset %d says line %d, the record "
                                          "starts on line %d" % (start, q_line, line_no),
                                          "quarantine.jsonl")
                    while self.pos < end:
                        if self._readline(f) is None:
                            break
                    if self.pos != end:
                        raise VerifyError("quarantine entry at offset %d ends at %d, not at the end "
                                          "of a line (%d)" % (start, end, self.pos), "quarantine.jsonl")
                    self.skipped.append(start)
                    continue
                current["line"] = line_no
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as e:
                    raise VerifyError("record starting on line %d does not parse (%s) and is not "
                                      "quarantined" % (line_no, e), "index.csv", line_no) from None
                if not fields:                  # a blank line
                    continue
                yield line_no, start, self.pos, fields


def check_fingerprint(index_path, diff_state, summary, log):
    fp = diff_state["fingerprint"]
    label = "diff_state.json"
    if not isinstance(fp, dict):
        raise VerifyError("fingerprint is not an object", label)
    for k in ("block_size", "blocks", "tail_sha256"):
        if k not in fp:
            raise VerifyError("fingerprint has no %s" % k, label)
    bs, blocks, offset = fp["block_size"], fp["blocks"], diff_state["offset"]
    if not is_int(bs) or bs <= 0:
        raise VerifyError("fingerprint.block_size %r is not a positive integer" % (bs,), label)
    if not isinstance(blocks, list):
        raise VerifyError("fingerprint.blocks is %s, expected a JSON array of hex strings%s"
                          % (json.dumps(blocks)[:40], " (an empty Lua table written as an object?)"
                             if blocks == {} else ""), label)
    if not all(isinstance(b, str) and HEX64.fullmatch(b) for b in blocks + [fp["tail_sha256"]]):
        raise VerifyError("fingerprint block hashes are not 64 lowercase hex digits", label)
    if len(blocks) != offset // bs:
        raise VerifyError("fingerprint has %d block hashes, the cursor at %d needs %d"
                          % (len(blocks), offset, offset // bs), label)
    with open(index_path, "rb") as f:
        for i, want in enumerate(blocks):
            got = h(f.read(bs))
            if got != want:
                raise VerifyError("fingerprint block %d (bytes %d..%d) is %s, index.csv has %s"
                                  % (i, i * bs, (i + 1) * bs, want, got), label)
        tail = f.read(offset - len(blocks) * bs)
        ok_tails = {h(tail)}
        if not tail and blocks:
            ok_tails.add(blocks[-1])
        if fp["tail_sha256"] not in ok_tails:
            raise VerifyError("fingerprint tail_sha256 does not match index.csv bytes %d..%d"
                              % (len(blocks) * bs, offset), label)
        if "header_sha256" in fp:
            f.seek(0)
            head = f.readline()
            variants = {head, head.rstrip(b"\r\n")}
            variants |= {v[3:] for v in variants if v.startswith(b"\xef\xbb\xbf")}
            if fp["header_sha256"] not in {h(v) for v in variants}:
                note(summary, log, "diff_state.json: header_sha256 matches no reading of the "
                                   "header line (the doc does not define its input)")


# --- a takeover of the PowerShell original --------------------------------------------

def old_file_seqs(path, label):
    """(lines, lowest seq, highest seq) of an old sync file: each line a JSON object with
    an integer seq; a BOM before the first line and CRLF line ends allowed."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data and not data.endswith(b"\n"):
        raise VerifyError("the last line has no line break", label)
    seqs = []
    for n, raw in enumerate(data.split(b"\n")[:-1] if data else [], 1):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            p = loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise VerifyError("not a JSON line (%s)" % e, label, n) from None
        if not isinstance(p, dict) or not is_int(p.get("seq")):
            raise VerifyError("not a packet with an integer seq", label, n)
        seqs.append(p["seq"])
    return len(seqs), (min(seqs) if seqs else None), (max(seqs) if seqs else None)


def check_adoption(out_dir, seal, n_seal, summary, log):
    """Checks an adoption seal's manifest and the old files; returns the manifest."""
    name = seal["file"]
    path = os.path.join(out_dir, name)
    if not os.path.isfile(path):
        raise VerifyError("the adoption manifest is missing", name)
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) != seal["bytes"] or h(raw) != seal["sha256"]:
        raise VerifyError("size/SHA-256 differ from its seal (seals.jsonl line %d)" % n_seal, name)
    if not raw.endswith(b"\n") or raw.count(b"\n") != 1:
        raise VerifyError("is not one line ending with a line break", name)
    try:
        m = loads(raw[:-1].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise VerifyError("not JSON (%s)" % e, name) from None
    check_keys(m, MANIFEST_KEYS, "manifest", name, None)
    if raw[:-1].decode("utf-8") != canonical(m):
        raise VerifyError("manifest is not in RFC 8785 canonical form", name)
    if m["adoption_version"] != "0.1":
        raise VerifyError("adoption_version %r" % m["adoption_version"], name)
    if m["run_id"] != ADOPTION_NAME.fullmatch(name).group(1):
        raise VerifyError("run_id %r is not the file name's" % m["run_id"], name)
    if not isinstance(m["adopted_at"], str) or not UTC_TIME.fullmatch(m["adopted_at"]):
        raise VerifyError("adopted_at %r is not ISO 8601 UTC with Z" % m["adopted_at"], name)
    for k in ("packets", "first_seq", "last_seq", "run_id", "cursor"):
        if m[k] != seal[k]:
            raise VerifyError("%s %r, its seal says %r" % (k, m[k], seal[k]), name)
    legacy = m["legacy"]
    check_keys(legacy, LEGACY_KEYS, "legacy", name, None)
    if not is_int(legacy["last_line_no"]) or legacy["last_line_no"] < 0:
        raise VerifyError("legacy.last_line_no %r" % legacy["last_line_no"], name)
    if m["cursor"]["line_no"] < legacy["last_line_no"]:
        raise VerifyError("cursor line %d is before last_line_no %d" % (m["cursor"]["line_no"],
                                                                        legacy["last_line_no"]), name)

    def old_state(field, key):
        b64 = legacy[field]
        if b64 is None:
            return None
        try:
            data = base64.b64decode(b64, validate=True)
            return loads(data.decode("utf-8-sig"))[key]
        except (binascii.Error, ValueError, UnicodeDecodeError, KeyError, TypeError):
            raise VerifyError("legacy.%s is not a base64 JSON object with %s" % (field, key), name) from None
    if old_state("diff_state_base64", "last_line_no") != legacy["last_line_no"]:
        raise VerifyError("legacy.last_line_no is not the one in the old diff_state.json", name)
    head = legacy["last_chain_hash"]
    if head != old_state("state_base64", "last_chain_hash"):
        raise VerifyError("legacy.last_chain_hash is not the one in the old state.json", name)
    want_prev = head.lower() if head is not None else ZERO_CHAIN
    if seal["prev_chain"] != want_prev:
        raise VerifyError("prev_chain %s, the old chain head is %s" % (seal["prev_chain"], want_prev),
                          "seals.jsonl", n_seal)

    files = m["files"]
    if not isinstance(files, list):
        raise VerifyError("files is not an array", name)
    names = [f.get("file") if isinstance(f, dict) else None for f in files]
    if names != sorted(set(n for n in names if isinstance(n, str))):
        raise VerifyError("files are not distinct names in name order", name)
    chain, total, seqs = ZERO_CHAIN, 0, []
    for f in files:
        check_keys(f, MANIFEST_FILE_KEYS, "files entry", name, None)
        if not OLD_SYNC_NAME.fullmatch(f["file"]) or "/" in f["file"]:
            raise VerifyError("files entry %r is not a sync_*.jsonl name" % f["file"], name)
        fpath = os.path.join(out_dir, f["file"])
        if not os.path.isfile(fpath):
            raise VerifyError("old file named by the adoption manifest is missing", f["file"])
        if os.path.getsize(fpath) != f["bytes"] or file_sha256(fpath) != f["sha256"]:
            raise VerifyError("size/SHA-256 differ from the adoption manifest", f["file"])
        count, lo, hi = old_file_seqs(fpath, f["file"])
        if (count, lo, hi) != (f["packets"], f["first_seq"], f["last_seq"]):
            raise VerifyError("holds %d packets seq %s..%s, the manifest says %s seq %s..%s"
                              % (count, lo, hi, f["packets"], f["first_seq"], f["last_seq"]), f["file"])
        chain = h((chain + f["sha256"]).encode("ascii"))
        total += count
        seqs += [x for x in (lo, hi) if x is not None]
    if (total, min(seqs, default=1), max(seqs, default=0)) != (m["packets"], m["first_seq"], m["last_seq"]):
        raise VerifyError("packets/first_seq/last_seq are not the sums over the files", name)
    if legacy["chain_reproduced"] != (head is not None and head.lower() == chain):
        raise VerifyError("chain_reproduced is %r, the rule over the files gives %s"
                          % (legacy["chain_reproduced"], chain), name)
    note(summary, log, "%s: a takeover of %d old file(s), %d packets, resuming at line %d"
         % (name, len(files), total, m["cursor"]["line_no"]))
    return m


# --- the verifier -------------------------------------------------------------------

def verify(root, index="infield/ai_save/index.csv", outbox="infield/ai_save/outbox",
           state_dir="infield/ai_save/phase2", check_csv=False, after_crash=False, log=None):
    summary = Summary()
    out_dir = os.path.join(root, outbox)
    st_dir = os.path.join(root, state_dir)
    index_path = os.path.join(root, index)
    seals_path = os.path.join(out_dir, "seals.jsonl")

    # -- files in the outbox and the state directory
    out_names = sorted(os.listdir(out_dir)) if os.path.isdir(out_dir) else []
    st_names = sorted(os.listdir(st_dir)) if os.path.isdir(st_dir) else []
    for d, names in ((outbox, out_names), (state_dir, st_names)):
        for name in names:
            if name.endswith(".tmp") or ".tmp." in name:
                msg = "temporary file left behind: %s/%s" % (d, name)
                if not after_crash:
                    raise VerifyError(msg, name)
                note(summary, log, msg)
    for name in out_names:
        if not (SYNC_NAME.fullmatch(name) or ADOPTION_NAME.fullmatch(name) or OLD_SYNC_NAME.fullmatch(name)
                or name in ("seals.jsonl", "quarantine.jsonl") or name.endswith(".tmp")):
            note(summary, log, "unexpected file in the outbox: %s" % name)

    # -- seals
    seals = []
    if os.path.exists(seals_path):
        seals = read_jsonl_tolerant(seals_path, "seals.jsonl", summary, log)
    chain, prev_cursor = ZERO_CHAIN, {"offset": 0, "line_no": 0}
    seen_files, seen_run_ids = set(), set()
    adopted = None
    for n, raw, seal in seals:
        label = "seals.jsonl"
        check_keys(seal, SEAL_KEYS, "seal", label, n)
        if raw.decode("utf-8") != canonical(seal):
            raise VerifyError("seal is not in RFC 8785 canonical form", label, n)
        if seal["seal_version"] != "0.1":
            raise VerifyError("seal_version %r, expected \"0.1\"" % seal["seal_version"], label, n)
        adoption = isinstance(seal["file"], str) and ADOPTION_NAME.fullmatch(seal["file"])
        if adoption and seals[0][0] != n:
            raise VerifyError("an adoption seal can only be the first seal", label, n)
        m = adoption or (SYNC_NAME.fullmatch(seal["file"]) if isinstance(seal["file"], str) else None)
        if not m:
            raise VerifyError("file %r is not a sync_<run_id>.jsonl name" % seal["file"], label, n)
        if seal["file"] in seen_files:
            raise VerifyError("%s is sealed twice" % seal["file"], label, n)
        seen_files.add(seal["file"])
        if seal["run_id"] != m.group(1):
            raise VerifyError("run_id %r is not the file's (%s)" % (seal["run_id"], m.group(1)),
                              label, n)
        if seal["run_id"] in seen_run_ids:
            raise VerifyError("run_id %s is used twice" % seal["run_id"], label, n)
        seen_run_ids.add(seal["run_id"])
        for k in ("sha256", "prev_chain", "chain"):
            if not isinstance(seal[k], str) or not HEX64.fullmatch(seal[k]):
                raise VerifyError("%s is not 64 lowercase hex digits" % k, label, n)
        for k in ("bytes", "packets", "first_seq", "last_seq"):
            if not is_int(seal[k]) or seal[k] < 0:
                raise VerifyError("%s is not a non-negative integer" % k, label, n)
        if not isinstance(seal["sealed_at"], str) or not UTC_TIME.fullmatch(seal["sealed_at"]):
            raise VerifyError("sealed_at %r is not ISO 8601 UTC with Z" % seal["sealed_at"], label, n)
        cur = seal["cursor"]
        check_keys(cur, CURSOR_KEYS, "cursor", label, n)
        if not all(is_int(cur[k]) and cur[k] >= 0 for k in CURSOR_KEYS):
            raise VerifyError("cursor values are not non-negative integers", label, n)
        if cur["offset"] < prev_cursor["offset"] or cur["line_no"] < prev_cursor["line_no"]:
            raise VerifyError("cursor %s goes back from %s" % (cur, prev_cursor), label, n)
        if seal["packets"] > 0 and cur["offset"] == prev_cursor["offset"]:
            raise VerifyError("cursor did not move although the file has packets", label, n)
        if adoption:
            chain = seal["prev_chain"]   # the old head; check_adoption compares it with state.json's
            manifest = check_adoption(out_dir, seal, n, summary, log)
            seen_files.update(f["file"] for f in manifest["files"])
            adopted = seal
        if seal["prev_chain"] != chain:
            raise VerifyError("prev_chain %s, the previous chain is %s" % (seal["prev_chain"], chain),
                              label, n)
        chain = h((chain + seal["sha256"]).encode("ascii"))
        if seal["chain"] != chain:
            raise VerifyError("chain %s, sha256_hex(prev_chain + sha256) is %s" % (seal["chain"], chain),
                              label, n)
        prev_cursor = cur

    # -- unsealed sync files
    unsealed = [nm for nm in out_names if SYNC_NAME.fullmatch(nm) and nm not in seen_files]
    if unsealed:
        msg = "sync file(s) without a seal: %s" % ", ".join(unsealed)
        if not after_crash or len(unsealed) > 1:
            raise VerifyError(msg, unsealed[0])
        note(summary, log, msg + " (a crash between rename and seal; the next run seals it)")

    # -- quarantine
    quarantined = {}
    q_path = os.path.join(out_dir, "quarantine.jsonl")
    if os.path.exists(q_path):
        for n, raw, q in read_jsonl_tolerant(q_path, "quarantine.jsonl", summary, log):
            label = "quarantine.jsonl"
            check_keys(q, QUARANTINE_KEYS, "quarantine entry", label, n)
            if raw.decode("utf-8") != canonical(q):
                raise VerifyError("entry is not in RFC 8785 canonical form", label, n)
            if q["quarantine_version"] != "0.1":
                raise VerifyError("quarantine_version %r" % q["quarantine_version"], label, n)
            if not isinstance(q["run_id"], str) or not RUN_ID.fullmatch(q["run_id"]):
                raise VerifyError("run_id %r" % q["run_id"], label, n)
            src = q["source"]
            check_keys(src, QSOURCE_KEYS, "source", label, n)
            if src["path"] != index:
                raise VerifyError("source.path %r, expected %r" % (src["path"], index), label, n)
            if not all(is_int(src[k]) and src[k] >= 0 for k in ("line_no", "offset", "end_offset")) \
                    or src["end_offset"] <= src["offset"] or src["line_no"] < 2:
                raise VerifyError("source line_no/offset/end_offset malformed: %s" % src, label, n)
            if not isinstance(q["reason"], str) or not q["reason"]:
                raise VerifyError("reason is empty", label, n)
            if not isinstance(q["found_at"], str) or not UTC_TIME.fullmatch(q["found_at"]):
                raise VerifyError("found_at %r is not ISO 8601 UTC with Z" % q["found_at"], label, n)
            try:
                rawrec = base64.b64decode(q["raw_base64"], validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise VerifyError("raw_base64 is not base64", label, n) from None
            if len(rawrec) != src["end_offset"] - src["offset"]:
                raise VerifyError("raw_base64 holds %d bytes, the span is %d"
                                  % (len(rawrec), src["end_offset"] - src["offset"]), label, n)
            if src["offset"] in quarantined:
                raise VerifyError("offset %d is quarantined twice" % src["offset"], label, n)
            quarantined[src["offset"]] = (src["end_offset"], src["line_no"], rawrec, n)
        summary.quarantined = len(quarantined)

    # -- with --csv, the records the packets must be
    records = None
    last_cursor = prev_cursor
    if check_csv:
        if not os.path.exists(index_path):
            raise VerifyError("index.csv not found at %s" % index_path, index)
        size = os.path.getsize(index_path)
        if size < last_cursor["offset"]:
            raise VerifyError("index.csv has %d bytes, the last seal's cursor is at %d"
                              % (size, last_cursor["offset"]), index)
        offsets = [s[2]["cursor"]["offset"] for s in seals]
        offsets += [q for q in quarantined if q <= size]
        counts, starts = line_counts(index_path, offsets)
        for n, _, seal in seals:
            c = seal["cursor"]
            if not starts[c["offset"]]:
                raise VerifyError("cursor offset %d is not at a line start of index.csv" % c["offset"],
                                  "seals.jsonl", n)
            if counts[c["offset"]] != c["line_no"]:
                raise VerifyError("cursor line_no %d, index.csv has %d lines before offset %d"
                                  % (c["line_no"], counts[c["offset"]], c["offset"]), "seals.jsonl", n)
        with open(index_path, "rb") as f:
            for off, (end, q_line, rawrec, n) in sorted(quarantined.items()):
                if end > size:
                    raise VerifyError("span %d..%d is past the end of index.csv" % (off, end),
                                      "quarantine.jsonl", n)
                f.seek(off)
                if f.read(end - off) != rawrec:
                    raise VerifyError("raw_base64 differs from index.csv bytes %d..%d" % (off, end),
                                      "quarantine.jsonl", n)
                if not starts[off] or counts[off] + 1 != q_line:
                    raise VerifyError("line_no %d, offset %d is on line %d%s"
                                      % (q_line, off, counts[off] + 1,
                                         "" if starts[off] else " (not at its start)"),
                                      "quarantine.jsonl", n)
        spans = {off: (end, q_line) for off, (end, q_line, _, _) in quarantined.items()
                 if off < last_cursor["offset"]}
        csv_iter = CsvRecords(index_path, last_cursor["offset"], spans)
        records = iter(csv_iter)
        header = None
        first = next(records, None)
        if first is not None:
            line_no, _, _, header = first
            if line_no != 1:
                raise VerifyError("the header is on line %d, not line 1" % line_no, index)
            if len(set(header)) != len(header):
                raise VerifyError("the header has duplicate column names", index, 1)
        if adopted is not None:
            # The records before the adoption's cursor were sent by the original.
            start = adopted["cursor"]["offset"]

            def after_adoption(it):
                for rec in it:
                    if rec[2] <= start:
                        continue
                    if rec[1] < start:
                        raise VerifyError("the record on line %d (bytes %d..%d) spans the adoption's "
                                          "cursor at byte %d" % (rec[0], rec[1], rec[2], start), index, rec[0])
                    yield rec
            records = after_adoption(records)

    # -- packets
    seq, last_line_no, keys = 0, 1, None
    prev_cursor = {"offset": 0, "line_no": 0}

    def check_file(name, seal, n_seal):
        nonlocal seq, last_line_no, keys, prev_cursor
        path = os.path.join(out_dir, name)
        run_id = SYNC_NAME.fullmatch(name).group(1)
        if not os.path.isfile(path):
            raise VerifyError("sealed file is missing", name)
        if seal is not None:
            size = os.path.getsize(path)
            if size != seal["bytes"]:
                raise VerifyError("file has %d bytes, its seal says %d" % (size, seal["bytes"]), name)
            got = file_sha256(path)
            if got != seal["sha256"]:
                raise VerifyError("SHA-256 is %s, its seal says %s" % (got, seal["sha256"]), name)
        first_seq = seq + 1
        count = 0
        with open(path, "rb") as f:
            for n, raw in enumerate(f, 1):
                count += 1
                expect = seq + 1
                if not raw.endswith(b"\n"):
                    raise VerifyError("last line has no line break", name, n, expect)
                try:
                    text = raw[:-1].decode("utf-8")
                    p = loads(text)
                except UnicodeDecodeError:
                    raise VerifyError("line is not UTF-8", name, n, expect) from None
                except ValueError as e:
                    raise VerifyError("line is not JSON (%s)" % e, name, n, expect) from None
                check_keys(p, PACKET_KEYS, "packet", name, n, expect, ordered=True)
                if not is_int(p["seq"]) or p["seq"] != expect:
                    raise VerifyError("seq is %r, expected %d" % (p["seq"], expect), name, n, expect)
                seq = expect
                check_keys(p["source"], SOURCE_KEYS, "source", name, n, seq, ordered=True)
                if p["packet_version"] != "0.1":
                    raise VerifyError("packet_version %r" % p["packet_version"], name, n, seq)
                if p["run_id"] != run_id:
                    raise VerifyError("run_id %r, the file's is %s" % (p["run_id"], run_id), name, n, seq)
                src = p["source"]
                if src["path"] != index:
                    raise VerifyError("source.path %r, expected %r" % (src["path"], index), name, n, seq)
                if not is_int(src["line_no"]) or src["line_no"] <= last_line_no:
                    raise VerifyError("source.line_no %r does not come after line %d"
                                      % (src["line_no"], last_line_no), name, n, seq)
                last_line_no = src["line_no"]
                row = p["row"]
                if not isinstance(row, dict) or not all(isinstance(v, str) for v in row.values()):
                    raise VerifyError("row is not an object of strings", name, n, seq)
                if list(row) != sorted(row, key=lambda k: k.encode("utf-16-be")):
                    raise VerifyError("row keys are not in canonical (UTF-16) order", name, n, seq)
                if keys is None:
                    keys = set(row)
                elif set(row) != keys:
                    raise VerifyError("row keys %s differ from the first row's %s"
                                      % (sorted(row), sorted(keys)), name, n, seq)
                want_hash = "sha256:" + h(jcs(row).encode("utf-8"))
                if p["row_hash"] != want_hash:
                    raise VerifyError("row_hash %r, the row's is %s" % (p["row_hash"], want_hash),
                                      name, n, seq)
                if not isinstance(p["observed_at"], str) or not LOCAL_TIME.fullmatch(p["observed_at"]):
                    raise VerifyError("observed_at %r is not ISO 8601 with a UTC offset"
                                      % (p["observed_at"],), name, n, seq)
                if json.dumps(p, ensure_ascii=False, separators=(",", ":")) != text:
                    raise VerifyError("packet is not compact canonical JSON (whitespace, escaping "
                                      "or a non-canonical row)", name, n, seq)
                if records is not None and seal is not None:
                    rec = next(records, None)
                    if rec is None:
                        raise VerifyError("no record of index.csv before the cursor is left for "
                                          "this packet (duplicate or invented)", name, n, seq)
                    r_line, r_start, r_end, fields = rec
                    if r_line != src["line_no"]:
                        raise VerifyError("source.line_no %d, the next record of index.csv starts on "
                                          "line %d" % (src["line_no"], r_line), name, n, seq)
                    if len(fields) != len(header):
                        raise VerifyError("the record on line %d has %d fields, the header %d (a bad "
                                          "row that was emitted)" % (r_line, len(fields), len(header)),
                                          name, n, seq)
                    want = dict(zip(header, fields))
                    if row != want:
                        diff = [k for k in want if row.get(k) != want[k]] or sorted(set(row) ^ set(want))
                        k = diff[0]
                        raise VerifyError("row differs from index.csv line %d in %r: packet %r, csv %r"
                                          % (r_line, k, row.get(k), want.get(k)), name, n, seq)
                    if r_start < prev_cursor["offset"] or r_end > seal["cursor"]["offset"]:
                        raise VerifyError("the record (bytes %d..%d) is outside this seal's cursor "
                                          "range %d..%d" % (r_start, r_end, prev_cursor["offset"],
                                                            seal["cursor"]["offset"]), name, n, seq)
        if seal is not None:
            if count != seal["packets"]:
                raise VerifyError("file has %d packets, its seal says %d" % (count, seal["packets"]),
                                  "seals.jsonl", n_seal)
            if count:
                if seal["first_seq"] != first_seq or seal["last_seq"] != seq:
                    raise VerifyError("first_seq/last_seq %d..%d, the file holds %d..%d"
                                      % (seal["first_seq"], seal["last_seq"], first_seq, seq),
                                      "seals.jsonl", n_seal)
            else:
                note(summary, log, "seals.jsonl line %d: %s holds no packet" % (n_seal, name))
            prev_cursor = seal["cursor"]
        return count

    new_packets = 0
    for n, _, seal in seals:
        if ADOPTION_NAME.fullmatch(seal["file"]):
            seq, last_line_no, prev_cursor = seal["last_seq"], seal["cursor"]["line_no"], seal["cursor"]
            summary.packets += seal["packets"]
        else:
            count = check_file(seal["file"], seal, n)
            summary.packets += count
            new_packets += count
        summary.seals += 1
    summary.chain = chain
    last_seq = seq
    if records is not None:
        rec = next(records, None)
        if rec is not None:
            raise VerifyError("the record on line %d is before the last cursor (offset %d) but no "
                              "packet holds it (lost)" % (rec[0], last_cursor["offset"]), index, rec[0])
        missed = sorted(set(spans) - set(csv_iter.skipped))
        if missed:
            raise VerifyError("quarantine entry at offset %d is not at the start of a record as "
                              "Python's csv module reads index.csv" % missed[0], "quarantine.jsonl")
        summary.csv_records = new_packets + len(csv_iter.skipped)
    summary.new_packets = new_packets
    if unsealed:
        extra = check_file(unsealed[0], None, None)
        note(summary, log, "%s: %d unsealed packets, seq %d..%d, check out"
             % (unsealed[0], extra, last_seq + 1, last_seq + extra))

    # -- state.json
    state_path = os.path.join(st_dir, "state.json")
    last = seals[-1][2] if seals else None
    if not os.path.exists(state_path):
        if seals and not after_crash:
            raise VerifyError("state.json is missing", "state.json")
        if seals:
            note(summary, log, "state.json is missing (the next run rebuilds it)")
    else:
        try:
            with open(state_path, "rb") as f:
                state = loads(f.read().decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise VerifyError("not JSON (%s)" % e, "state.json") from None
        check_keys(state, STATE_KEYS, "state", "state.json", None)
        if not isinstance(state["updated_at"], str) or not UTC_TIME.fullmatch(state["updated_at"]):
            raise VerifyError("updated_at %r is not ISO 8601 UTC with Z" % state["updated_at"],
                              "state.json")
        want = {"last_chain_hash": chain, "last_seq": last_seq, "seals": summary.seals,
                "last_file": last["file"] if last else None}
        got = {k: state[k] for k in want}
        if got != want:
            # Behind after a crash: it must then describe an earlier seal exactly.
            earlier = None
            c, s_count, s_seq = ZERO_CHAIN, 0, 0
            for _, _, s in seals:
                c, s_count, s_seq = s["chain"], s_count + 1, s["last_seq"] if s["packets"] else s_seq
                if got == {"last_chain_hash": c, "last_seq": s_seq, "seals": s_count,
                           "last_file": s["file"]}:
                    earlier = s_count
            bad = [k for k in want if got[k] != want[k]]
            msg = "state.json %s: %s, the outbox says %s" % (
                ", ".join(bad), ", ".join(repr(got[k]) for k in bad), ", ".join(repr(want[k]) for k in bad))
            if not (after_crash and earlier):
                raise VerifyError(msg, "state.json")
            note(summary, log, msg + " (behind: it matches seal %d; the next run rebuilds it)" % earlier)

    # -- diff_state.json
    ds_path = os.path.join(st_dir, "diff_state.json")
    if os.path.exists(ds_path):
        try:
            with open(ds_path, "rb") as f:
                ds = loads(f.read().decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise VerifyError("not JSON (%s)" % e, "diff_state.json") from None
        check_keys(ds, DIFF_STATE_KEYS, "diff_state", "diff_state.json", None)
        if ds["diff_state_version"] != 1:
            raise VerifyError("diff_state_version %r" % ds["diff_state_version"], "diff_state.json")
        if ds["source"] != index:
            raise VerifyError("source %r, expected %r" % (ds["source"], index), "diff_state.json")
        if not (is_int(ds["offset"]) and is_int(ds["last_line_no"])):
            raise VerifyError("offset/last_line_no are not integers", "diff_state.json")
        if ds["offset"] < last_cursor["offset"] or ds["last_line_no"] < last_cursor["line_no"]:
            msg = ("cursor (offset %d, line %d) is behind the last seal's (offset %d, line %d)"
                   % (ds["offset"], ds["last_line_no"], last_cursor["offset"], last_cursor["line_no"]))
            if not after_crash:
                raise VerifyError(msg, "diff_state.json")
            note(summary, log, msg + " (the next run rebuilds it)")
        if check_csv:
            size = os.path.getsize(index_path)
            if ds["offset"] > size:
                raise VerifyError("cursor at %d is past the end of index.csv (%d bytes)"
                                  % (ds["offset"], size), "diff_state.json")
            counts, starts = line_counts(index_path, [ds["offset"]])
            if counts[ds["offset"]] != ds["last_line_no"] or not starts[ds["offset"]]:
                raise VerifyError("last_line_no %d, index.csv has %d lines before offset %d%s"
                                  % (ds["last_line_no"], counts[ds["offset"]], ds["offset"],
                                     "" if starts[ds["offset"]] else " (not a line start)"),
                                  "diff_state.json")
            check_fingerprint(index_path, ds, summary, log)
    elif seals:
        note(summary, log, "diff_state.json is missing (a cache; the next run rebuilds it)")
    return summary


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Verify a Phase 2 outbox independently of hostsync (docs/phase2.md).")
    ap.add_argument("root", help="the project root (holds infield/ai_save/...)")
    ap.add_argument("--index", default="infield/ai_save/index.csv")
    ap.add_argument("--outbox", default="infield/ai_save/outbox")
    ap.add_argument("--state-dir", default="infield/ai_save/phase2")
    ap.add_argument("--csv", action="store_true",
                    help="also check the packets against index.csv read with Python's csv module")
    ap.add_argument("--after-crash", action="store_true",
                    help="accept what a crash leaves before the next run repairs it")
    ap.add_argument("-q", "--quiet", action="store_true", help="no notes on stderr")
    args = ap.parse_args(argv)
    log = None if args.quiet else (lambda s: print("note: " + s, file=sys.stderr))
    try:
        s = verify(args.root, index=args.index, outbox=args.outbox, state_dir=args.state_dir,
                   check_csv=args.csv, after_crash=args.after_crash, log=log)
    except VerifyError as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    except OSError as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    print(s.line())
    if args.csv and log:
        log("csv: %d records before the last cursor: %d in packets, %d quarantined"
            % (s.csv_records, s.new_packets, s.csv_records - s.new_packets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
