"""Shared helpers for the end-to-end tests: run the real binary on real files."""
import hashlib
import json
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = pathlib.Path(__file__).resolve().parent
SOURCE_DIR = pathlib.Path(os.environ.get("HOSTSYNC_SOURCE_DIR", HERE.parent.parent))
HOSTSYNC = os.environ.get("HOSTSYNC", str(SOURCE_DIR / "build" / "hostsync"))
REFERENCE_VERIFY = HERE / "reference_verify.py"

INDEX_REL = "infield/ai_save/index.csv"
OUTBOX_REL = "infield/ai_save/outbox"
STATE_REL = "infield/ai_save/phase2"


def hostsync(*args, cwd=None, timeout=300, env=None, check=False):
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run([HOSTSYNC, *map(str, args)], cwd=cwd, capture_output=True,
                          timeout=timeout, env=full_env)
    proc.out = proc.stdout.decode("utf-8", "replace")
    proc.err = proc.stderr.decode("utf-8", "replace")
    if check and proc.returncode != 0:
        raise AssertionError(f"hostsync {' '.join(map(str, args))} exited {proc.returncode}:\n"
                             f"{proc.out}\n{proc.err}")
    return proc


class Root:
    """A temporary project root with the Phase 2 layout."""

    def __init__(self, test):
        self.path = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-e2e-"))
        test.addCleanup(shutil.rmtree, self.path, True)
        (self.path / "infield/ai_save").mkdir(parents=True)

    @property
    def index(self):
        return self.path / INDEX_REL

    @property
    def outbox(self):
        return self.path / OUTBOX_REL

    @property
    def state_dir(self):
        return self.path / STATE_REL

    def write(self, data: bytes):
        self.index.write_bytes(data)

    def append(self, data: bytes):
        with open(self.index, "ab") as f:
            f.write(data)

    def run(self, *args, **kw):
        return hostsync("run", "phase2.lua", "--root", self.path, "--quiet", *args, **kw)

    def seals(self):
        path = self.outbox / "seals.jsonl"
        if not path.exists():
            return []
        out = []
        for line in path.read_text("utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def packets(self):
        """Every packet of every sealed sync file, in seal order (an adoption's manifest,
        which names old files instead, is not a sync file)."""
        out = []
        for seal in self.seals():
            if seal["file"].startswith("adoption_"):
                continue
            for line in (self.outbox / seal["file"]).read_text("utf-8").splitlines():
                out.append(json.loads(line))
        return out

    def state(self, name="state.json"):
        return json.loads((self.state_dir / name).read_text("utf-8"))

    def snapshot(self):
        """Names, sizes and hashes of everything under the outbox and state dir."""
        snap = {}
        for base in (self.outbox, self.state_dir):
            if base.exists():
                for p in sorted(base.rglob("*")):
                    if p.is_file() and p.name != "run.lock":
                        snap[str(p.relative_to(self.path))] = hashlib.sha256(p.read_bytes()).hexdigest()
        return snap

    def reference_verify(self, test, csv=True):
        args = [sys.executable, str(REFERENCE_VERIFY), str(self.path)] + (["--csv"] if csv else [])
        proc = subprocess.run(args, capture_output=True, text=True)
        test.assertEqual(proc.returncode, 0, f"reference verifier failed:\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout


def jcs(row):
    keys = sorted(row, key=lambda k: k.encode("utf-16-be"))
    return json.dumps({k: row[k] for k in keys}, ensure_ascii=False, separators=(",", ":"))


HEADER = "id,name,note,amount\r\n"


def tricky_records(n, start=1, seed=1):
    """n CSV records (CRLF) with quoting, embedded newlines, UTF-8 and empty fields."""
    rnd = random.Random(seed + start)
    notes = ['plain', '"quoted, with comma"', '"line one\nline two"', '"she said ""hi"""',
             'caf\u00e9 \u6771\u4eac \U0001F600', '', '"crlf\r\ninside"', 'x' * 40]
    out = []
    for i in range(start, start + n):
        out.append(f"{i},name{i},{rnd.choice(notes)},{rnd.randint(0, 10**6)}\r\n")
    return "".join(out).encode("utf-8")


def csv_records(path):
    """The complete records of a CSV with Python's csv module, with the line each starts on."""
    import csv
    data = pathlib.Path(path).read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    last_nl = data.rfind(b"\n")
    text = data[:last_nl + 1].decode("utf-8")
    import io
    reader = csv.reader(io.StringIO(text, newline=""))
    header = None
    out = []
    line = 1
    for rec in reader:
        start = line
        line = reader.line_num + 1
        if header is None:
            header = rec
            continue
        if rec == []:
            continue
        out.append((start, dict(zip(header, rec))))
    return header, out


def main():
    unittest.main(verbosity=2)
