#!/usr/bin/env python3
"""The Python baseline of the delivery benchmark: what `phase2.lua deliver --to URL` does,
written the plain way with the standard library (PyPI is not reachable here, so urllib,
not requests).

    deliver_reference.py --root ROOT --to URL [--batch 500] [--batch-bytes 4194304]
                         [--checkpoint-every 1]

The same work and the same bytes on the wire as hostsync: the seals' chain is not
re-checked (hostsync checks it; it is cheap), but every file's SHA-256 is compared with
its seal before its packets are sent; each packet's key is the SHA-256 of its line;
the body is {"packets":[{"key","file","line","packet"},...]} with an Idempotency-Key
header (the first packet's key and the count); a batch ends after `batch` packets or once its entries
reach `batch-bytes`; the cursor (file, line, offset, key) is replaced atomically with
fsync at most every `checkpoint-every` seconds and at the end. No retries (none are
needed against the local sink).
"""
import argparse
import hashlib
import json
import os
import time
import urllib.request


def file_sha256(path):
    d = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return d.hexdigest()
            d.update(b)


def write_cursor(path, cursor):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(cursor, f, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)
    fd = os.open(os.path.dirname(path), os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--to", required=True)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--batch-bytes", type=int, default=4 * 1024 * 1024)
    ap.add_argument("--checkpoint-every", type=float, default=1.0)
    args = ap.parse_args()
    outbox = os.path.join(args.root, "infield/ai_save/outbox")
    cursor_dir = os.path.join(args.root, "infield/ai_save/phase2/deliver-python")
    os.makedirs(cursor_dir, exist_ok=True)
    cursor_path = os.path.join(cursor_dir, "cursor.json")
    seals = [json.loads(l) for l in open(os.path.join(outbox, "seals.jsonl"), encoding="utf-8")]

    entries, size, sent, requests = [], 0, 0, 0
    cursor, last_written = None, time.monotonic()

    def send():
        nonlocal entries, size, sent, requests, last_written
        body = b'{"packets":[' + b",".join(e for e, _ in entries) + b"]}"
        req = urllib.request.Request(args.to, data=body, method="POST", headers={
            "Content-Type": "application/json",
            "Idempotency-Key": "%s-%d" % (entries[0][1]["key"], len(entries))})
        with urllib.request.urlopen(req, timeout=30) as res:
            res.read()
            if not 200 <= res.status < 300:
                raise SystemExit("refused: %d" % res.status)
        requests += 1
        sent += len(entries)
        cur = entries[-1][1]
        if time.monotonic() - last_written >= args.checkpoint_every:
            write_cursor(cursor_path, cur)
            last_written = time.monotonic()
        entries, size = [], 0
        return cur

    for seal in seals:
        path = os.path.join(outbox, seal["file"])
        if os.path.getsize(path) != seal["bytes"] or file_sha256(path) != seal["sha256"]:
            raise SystemExit("%s has changed since it was sealed" % path)
        file_json = json.dumps(seal["file"]).encode()
        offset = 0
        with open(path, "rb") as f:
            for n, raw in enumerate(f, 1):
                line = raw[:-1]
                key = hashlib.sha256(line).hexdigest()
                entry = b'{"key":"%s","file":%s,"line":%d,"packet":%s}' % (key.encode(), file_json, n, line)
                entries.append((entry, {"file": seal["file"], "line": n, "offset": offset, "key": key}))
                size += len(entry)
                offset += len(raw)
                if len(entries) >= args.batch or size >= args.batch_bytes:
                    cursor = send()
    if entries:
        cursor = send()
    if cursor:
        write_cursor(cursor_path, cursor)
    print("OK: delivered %d packets in %d requests to %s" % (sent, requests, args.to))


if __name__ == "__main__":
    main()
