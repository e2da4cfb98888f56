"""A deployment of the seed's PowerShell original (PHASE2_SYNC_SPEC v0.1), written the way
its scripts would have written it, for the adoption tests.

The seed gives the formats, not the scripts; this is what straightforward Windows
PowerShell 5.1 scripts following it produce, which is what hostsync must take over:

- diff_extract.ps1 reads index.csv with Import-Csv, so `source.line_no` is the record's
  index + 1 (the header is line 1): the physical line only while no record spans lines;
  `seq` restarts at 1 in each run (diff_state.json holds nothing else to continue from),
  or, in the other variant, is the record's index;
- each packet is `[ordered]@{...} | ConvertTo-Json -Compress -Depth 5`: the spec's field
  order, the row in header order (not RFC 8785), `'`, `<`, `>`, `&` escaped as \\u0027
  etc., non-ASCII as is; `row_hash` is SHA-256 of that row text, not of canonical JSON;
  `observed_at` is `(Get-Date).ToString("o")`, seven fractional digits;
- `Add-Content -Encoding UTF8` writes a UTF-8 byte order mark at the start of each new
  file and ends every line with CRLF;
- seal_outbox.ps1 chains the sync files in name order, `chain = sha256(chain + hash)`
  over lowercase hex strings from 64 zeros; run_phase2.ps1 stores the head:
  `@{last_chain_hash=...} | ConvertTo-Json | Set-Content -Encoding UTF8` (BOM, CRLF,
  PowerShell's four-space indent and two spaces after the colon), and diff_state.json
  likewise with `last_line_no`.
"""
import csv
import datetime
import hashlib
import io
import pathlib

BOM = b"\xef\xbb\xbf"
ZERO_CHAIN = "0" * 64


def ps_json_string(s):
    """A string as Windows PowerShell 5.1's ConvertTo-Json writes it."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif o < 0x20 or ch in "'<>&":
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def ps_object(pairs):
    """An [ordered] hashtable or PSCustomObject through ConvertTo-Json -Compress."""
    return "{" + ",".join(ps_json_string(k) + ":" + v for k, v in pairs) + "}"


def ps_pretty_state(name, value):
    """@{name=value} | ConvertTo-Json | Set-Content -Encoding UTF8."""
    v = ps_json_string(value) if isinstance(value, str) else str(value)
    return BOM + ('{\r\n    "%s":  %s\r\n}\r\n' % (name, v)).encode("utf-8")


def sha256_hex(b):
    return hashlib.sha256(b).hexdigest()


class LegacyDeployment:
    """The PowerShell original's runner over a project root (a harness.Root)."""

    def __init__(self, root, seq_style="per_run", numbering="records", source_path="infield/ai_save/index.csv"):
        self.root = root
        self.seq_style = seq_style          # "per_run" or "record_index"
        self.numbering = numbering          # "records" (Import-Csv) or "lines" (physical)
        self.source_path = source_path
        self.clock = datetime.datetime(2026, 11, 20, 8, 15, 2, tzinfo=datetime.timezone.utc)
        self.written = []                   # names of the sync files this runner wrote

    @property
    def diff_state(self):
        return self.root.state_dir / "diff_state.json"

    @property
    def state(self):
        return self.root.state_dir / "state.json"

    def last_line_no(self):
        if not self.diff_state.exists():
            return 0
        text = self.diff_state.read_bytes().decode("utf-8-sig")
        return int(text.split(":")[1].strip().rstrip("}").strip())

    def records(self):
        """(line_no as this runner numbers it, physical start line, header, row dict)."""
        data = self.root.index.read_bytes()
        if data.startswith(BOM):
            data = data[3:]
        text = data[: data.rfind(b"\n") + 1].decode("utf-8")
        reader = csv.reader(io.StringIO(text, newline=""))
        header, out, index, physical = None, [], 1, 1
        for rec in reader:
            start, physical = physical, reader.line_num + 1
            if header is None:
                header = rec
                continue
            if rec == []:
                continue
            index += 1
            line_no = index if self.numbering == "records" else start
            out.append((line_no, dict(zip(header, rec)), header))
        return out

    def run(self):
        """run_phase2.ps1: diff extract, seal, checkpoint. Returns the new file or None."""
        self.clock += datetime.timedelta(minutes=15)
        last = self.last_line_no()
        new = [r for r in self.records() if r[0] > last]
        if not new:
            return None   # 'OK: no new packets; skip seal'
        run_id = self.clock.strftime("%Y%m%d_%H%M%S")
        observed = self.clock.astimezone(datetime.timezone(datetime.timedelta(hours=1)))
        lines = []
        for n, (line_no, row, header) in enumerate(new, start=1):
            row_json = ps_object([(k, ps_json_string(row[k])) for k in header])
            seq = n if self.seq_style == "per_run" else line_no - 1
            stamp = observed.strftime("%Y-%m-%dT%H:%M:%S") + ".%07d" % (1234567 + n) + "+01:00"
            lines.append(ps_object([
                ("packet_version", ps_json_string("0.1")),
                ("run_id", ps_json_string(run_id)),
                ("seq", str(seq)),
                ("source", ps_object([("path", ps_json_string(self.source_path)), ("line_no", str(line_no))])),
                ("row", row_json),
                ("row_hash", ps_json_string("sha256:" + sha256_hex(row_json.encode("utf-8")))),
                ("observed_at", ps_json_string(stamp)),
            ]))
        self.root.outbox.mkdir(parents=True, exist_ok=True)
        path = self.root.outbox / ("sync_%s.jsonl" % run_id)
        path.write_bytes(BOM + "".join(l + "\r\n" for l in lines).encode("utf-8"))
        self.written.append(path.name)
        self.root.state_dir.mkdir(parents=True, exist_ok=True)
        self.diff_state.write_bytes(ps_pretty_state("last_line_no", new[-1][0]))
        self.state.write_bytes(ps_pretty_state("last_chain_hash", self.chain()))
        return path

    def files(self):
        """The sync files this runner wrote that are still there."""
        return sorted(p for p in (self.root.outbox / n for n in self.written) if p.exists())

    def chain(self):
        """seal_outbox.ps1's LAST_CHAIN_HASH over the sync files in name order."""
        chain = ZERO_CHAIN
        for f in self.files():
            chain = sha256_hex((chain + sha256_hex(f.read_bytes())).encode("ascii"))
        return chain

    def fingerprint(self):
        """Names, sizes and hashes of everything the original wrote: adoption must not
        change a byte of the packets."""
        return {f.name: sha256_hex(f.read_bytes()) for f in self.files()}


def single_line_records(n, start=1):
    """CSV records (CRLF) with quoting, commas, doubled quotes, UTF-8 and the characters
    PowerShell escapes, but no line break inside a value: Import-Csv's record numbers are
    then the physical line numbers."""
    notes = ['plain', '"quoted, with comma"', '"she said ""hi"""', "caf\u00e9 \u6771\u4eac \U0001F600",
             "it's <b> & co", '', 'x' * 40]
    return "".join(f"{i},name{i},{notes[i % len(notes)]},{i * 7}\r\n"
                   for i in range(start, start + n)).encode("utf-8")
