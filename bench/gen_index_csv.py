#!/usr/bin/env python3
"""Generate a realistic, deterministic append-only index.csv for Phase 2 benchmarks.

    gen_index_csv.py OUT --records N [--seed S] [--start-id K] [--append]

Writes a header line and N records (CRLF line endings, about 230 bytes per record on
average, so 1,000,000 records are about 230 MB) with 10 columns:

    id,created_at,machine,agent,path,sha256,size,tags,note,status

The same arguments always give the same bytes. The data exercises the CSV reader the way
real files do: quoted fields holding commas, doubled quotes, and in a few percent of the
rows line breaks (LF and CRLF) inside a quoted note; UTF-8 text (accents, CJK, emoji);
empty fields.

--append adds N records to an existing file without rewriting it: ids continue after the
file's last id (or from --start-id), and the new records are a deterministic function of
the seed and the first new id, so an incremental benchmark is reproducible too.

Standard library only.
"""

import argparse
import os
import random
import re
import sys

HEADER = "id,created_at,machine,agent,path,sha256,size,tags,note,status"
BASE_EPOCH = 1767225600  # 2026-01-01T00:00:00Z; created_at grows with the id
CHUNK = 20000            # records per write


def csv_field(s):
    """RFC 4180 quoting, only when needed."""
    if any(c in s for c in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


# --- pools of values (built once per run from the seeded RNG) ------------------------

MACHINES = [
    "ws-lab-01", "ws-lab-02", "ws-lab-03", "ws-lab-14", "build-07", "build-08",
    "gpu-node-a100-3", "gpu-node-h100-1", "laptop-ana", "laptop-joão", "mac-zürich",
    "東京-node-7", "srv-ingest-2", "pi-greenhouse", "nas-backup", "edge-müller-05",
    "", "kiosk-ñandú", "vm-ci-41", "dev-box-Ωmega", "ws-lab-05", "ws-lab-06",
    "build-09", "build-10", "gpu-node-a100-4", "gpu-node-a100-5", "laptop-ben",
    "laptop-chris", "srv-ingest-3", "vm-ci-42", "vm-ci-43", "nas-main",
]
AGENTS = [
    "ai_save/0.9.4", "ai_save/0.9.5", "ai_save/1.0.0-rc1", "ingest-bot/2.1",
    "claude-cli 1.2 (linux; x86_64)", "notebook-hook", "manual", "cron@nightly",
    "ai_save/0.9.5 (macOS 15.1, arm64)", "watcher \"fs\" v3", "", "scanner,rescan",
    "ai_save/1.0.0", "ai_save/1.0.0", "ai_save/1.0.1", "ai_save/1.0.1", "ingest-bot/2.2",
    "ai_save/1.0.1", "notebook-hook", "cron@hourly", "ai_save/1.0.2", "ai_save/1.0.2",
    "rsync-hook", "ai_save/1.0.2", "ai_save/1.0.2", "uploader/0.3", "ai_save/1.0.2",
    "ai_save/1.0.2", "ai_save/1.0.2", "ai_save/1.0.2", "ai_save/1.0.2", "ai_save/1.0.2",
]
TOP_DIRS = [
    "projects/alpha", "projects/beta-2026", "datasets/raw", "datasets/clean",
    "notebooks", "exports/weekly", "home/ana/Documents", "home/joão/Área de Trabalho",
    "研究/データ", "shared/Reports, Q3", "infield/captures", "tmp",
    "media/photos/2026", "clients/Müller & Söhne", "docs/\"draft\" notes", "🚀/launch",
    "projects/gamma", "projects/delta/src", "datasets/interim", "models/checkpoints",
    "home/ben/work", "home/chris/experiments", "exports/daily", "scratch",
    "projects/alpha/results", "projects/beta-2026/figures", "datasets/raw/2026-02",
    "media/audio", "archive/2025", "ci/artifacts", "home/ana/Downloads", "infield/ai_save",
]
SUB_DIRS = [
    "", "v1/", "v2/", "final/", "old/", "2026-03/", "run_17/", "checkpoints/",
    "résumé/", "图片/", "a/b/c/", "backup (copy)/",
]
BASENAMES = [
    "model", "weights", "report", "summary", "notes", "train", "eval", "config",
    "capture", "IMG_2044", "résumé", "Überblick", "議事録", "plan de travail",
    "data, part 1", "the \"best\" run", "café-menu", "emoji-🎉", "log", "index",
    "output", "results", "metrics", "checkpoint-0001", "checkpoint-0002", "sample",
    "frame_000123", "README", "requirements", "dataset", "labels", "predictions",
    "scores", "run", "export", "backup", "events", "history", "manifest", "tokens",
]
EXTS = [
    ".safetensors", ".pt", ".json", ".csv", ".md", ".txt", ".png", ".jpg",
    ".parquet", ".ipynb", ".yaml", ".tar.gz", ".pdf", "",
]
TAGS = [
    "", "", "", "ml", "raw", "draft", "final", "ml,vision", "nlp,eval", "backup",
    "keep", "review,urgent", "données", "画像,分類", "🔥", "a,b,c,d", "archived",
    "exp-42", "client,invoice,2026", "", "", "", "ml", "ml", "eval", "train", "raw",
    "draft", "final", "keep", "sweep", "ablation", "",
]
NOTE_WORDS = (
    "saved checkpoint after epoch loss dropped to accuracy improved re-run with new "
    "seed see ticket merged by ana reviewed uploaded from field station batch "
    "complete partial copy verified checksum mismatch retried later ok").split()
NOTE_EXTRAS = [
    "café", "naïve", "façade", "Ångström", "smørrebrød", "über", "niño", "Straße",
    "東京", "データ", "北京", "한국어", "✓", "🚀", "🎉", "👍🏽", "μ=0.01", "½ done",
]
STATUSES = ["ok"] * 8 + ["pending", "pending", "failed", "archived", "ok", "ok", "ok", "ok"]


def build_note(rng):
    """A free-text note: often empty, sometimes quoted words, commas, UTF-8 or line breaks."""
    r = rng.random()
    if r < 0.15:
        return ""
    words = [rng.choice(NOTE_WORDS) for _ in range(rng.randint(3, 14))]
    if rng.random() < 0.12:
        words.insert(rng.randrange(len(words) + 1), rng.choice(NOTE_EXTRAS))
    if rng.random() < 0.04:
        words.insert(rng.randrange(len(words) + 1), rng.choice(NOTE_EXTRAS))
    note = " ".join(words)
    if rng.random() < 0.20:
        note = note.replace(" ", ", ", 1)
    if rng.random() < 0.03:
        note = 'tagged "%s" by %s' % (rng.choice(NOTE_WORDS), note)
    return note


def build_pools(rng):
    paths = []
    for _ in range(4096):
        p = "%s/%s%s%s" % (rng.choice(TOP_DIRS), rng.choice(SUB_DIRS),
                           rng.choice(BASENAMES), rng.choice(EXTS))
        paths.append(csv_field(p))
    notes = [csv_field(build_note(rng)) for _ in range(4096)]
    # Multi-line notes for a few percent of the rows: LF and CRLF inside the quotes.
    multiline = []
    for i in range(256):
        nl = "\r\n" if i % 2 else "\n"
        lines = [build_note(rng) or "(empty)" for _ in range(rng.randint(2, 3))]
        multiline.append(csv_field(nl.join(lines)))
    # Everything is kept as UTF-8 bytes: joining bytes is a memcpy, while joining str
    # values of mixed widths (ASCII, CJK, emoji) would widen and re-encode every chunk.
    enc = lambda values: [v.encode("utf-8") for v in values]
    return {
        "machine": enc(csv_field(m) for m in MACHINES),  # 32
        "agent": enc(csv_field(a) for a in AGENTS),      # 32
        "path": enc(paths),                               # 4096
        "tags": enc(csv_field(t) for t in TAGS),          # 32
        "note": enc(notes),                               # 4096
        "note_ml": enc(multiline),                        # 256
        "status": enc(STATUSES),                          # 16
    }


# --- timestamps without datetime per record ---------------------------------------

_DAYS = {}


def _day_string(day):
    s = _DAYS.get(day)
    if s is None:
        import time
        s = time.strftime("%Y-%m-%dT", time.gmtime(BASE_EPOCH + day * 86400)).encode()
        _DAYS[day] = s
    return s


def created_at(rec_id, jitter):
    t = rec_id * 7 + jitter          # about one record every 7 seconds
    day, sec = divmod(t, 86400)
    h, rem = divmod(sec, 3600)
    m, s = divmod(rem, 60)
    return b"%s%02d:%02d:%02dZ" % (_day_string(day), h, m, s)


# --- records ----------------------------------------------------------------------

def generate(write, first_id, count, seed):
    # Seeding from (seed, first_id) makes an appended batch reproducible on its own.
    rng = random.Random("hostsync-bench:%d:%d" % (seed, first_id))
    pools = build_pools(rng)
    machine, agent, path = pools["machine"], pools["agent"], pools["path"]
    tags, note, note_ml, status = pools["tags"], pools["note"], pools["note_ml"], pools["status"]
    getrandbits = rng.getrandbits
    out = []
    end = first_id + count
    for rec_id in range(first_id, end):
        b = getrandbits(96)
        digest = b"%064x" % getrandbits(256)
        # carve independent indices out of the 96 random bits
        m = machine[b & 31]                 # bits 0-4
        a = agent[(b >> 5) & 31]            # bits 5-9
        p = path[(b >> 10) & 4095]          # bits 10-21
        t = tags[(b >> 22) & 31]            # bits 22-26
        sel = (b >> 27) & 1023              # bits 27-36
        if sel < 35:                        # 3.4%: a note with line breaks inside quotes
            n = note_ml[(b >> 37) & 255]
        else:
            n = note[(b >> 37) & 4095]      # bits 37-48
        if sel >= 1003:                     # 1.7%: size unknown
            size = b""
        else:                               # bits 49-68
            size = b"%d" % (((b >> 49) & 0xFFFF) * (((b >> 65) & 15) or 1) * 37)
        st = status[(b >> 69) & 15]         # bits 69-72
        jitter = (b >> 73) & 3              # bits 73-74
        out.append(b"%d,%s,%s,%s,%s,%s,%s,%s,%s,%s\r\n" % (
            rec_id, created_at(rec_id, jitter), m, a, p, digest, size, t, n, st))
        if len(out) == CHUNK:
            write(b"".join(out))
            out.clear()
    if out:
        write(b"".join(out))


LAST_ID = re.compile(rb"(?:^|\n)(\d+),\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ,")


def last_id_of(path):
    """The id of the last record of a file this script wrote (reads only its tail)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        tail_len = 1 << 16
        while True:
            f.seek(max(0, size - tail_len))
            tail = f.read()
            ids = LAST_ID.findall(tail)
            if ids or tail_len >= size:
                return int(ids[-1]) if ids else 0
            tail_len *= 4


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="the CSV file to write")
    ap.add_argument("--records", type=int, required=True, help="number of records")
    ap.add_argument("--seed", type=int, default=1, help="RNG seed (default 1)")
    ap.add_argument("--start-id", type=int, default=None,
                    help="first id (default 1, or the existing last id + 1 with --append)")
    ap.add_argument("--append", action="store_true",
                    help="append records to an existing file instead of writing a new one")
    args = ap.parse_args(argv)
    if args.records < 0:
        ap.error("--records must be >= 0")

    if args.append:
        if not os.path.exists(args.out):
            ap.error("--append: %s does not exist" % args.out)
        with open(args.out, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() == 0:
                ap.error("--append: %s is empty (no header)" % args.out)
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                ap.error("--append: %s does not end with a line break" % args.out)
        first = args.start_id if args.start_id is not None else last_id_of(args.out) + 1
        mode = "ab"
    else:
        first = args.start_id if args.start_id is not None else 1
        mode = "wb"

    with open(args.out, mode, buffering=1 << 20) as f:
        if not args.append:
            f.write((HEADER + "\r\n").encode("utf-8"))
        generate(f.write, first, args.records, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
