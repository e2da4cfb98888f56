"""The C2SP CCTV age test vectors (npm package cctv-age 0.2.0) against hostsync.crypto.

The vectors are fetched at test time with `npm pack` into the build directory (never
committed) and checked against a pinned sha512 integrity. If they cannot be fetched the
test FAILS: they are a CI gate, not an optional extra.

Every vector whose features hostsync implements must give exactly its expected outcome:
success vectors decrypt to the expected payload hash; `payload failure` vectors fail in
the payload after releasing exactly the plaintext whose hash the vector gives; `HMAC
failure`, `header failure` and `no match` vectors fail with that class of error. Armored
vectors and ML-KEM hybrid (post-quantum) vectors are out of scope; the skipped list is
computed here and must equal the one in docs/api/crypto.md.
"""
import base64
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import tarfile
import tempfile
import unittest
import zlib

from harness import hostsync, SOURCE_DIR, HERE

PACKAGE = "cctv-age@0.2.0"
INTEGRITY = "sha512-1fiGAaWr+snqgu8+uCC7qPeApAuueOESET2npKe0FVLY+Huf+Kkia89Rybx/uoGNCml31SgAjiQIeFOY4K3New=="
BUILD_DIR = pathlib.Path(os.environ.get("HOSTSYNC_BUILD_DIR", SOURCE_DIR / "build"))
CACHE = BUILD_DIR / "cctv-age"
DOC = SOURCE_DIR / "docs" / "api" / "crypto.md"

EXPECT_KIND = {
    "success": "success",
    "payload failure": "payload",
    "HMAC failure": "hmac",
    "header failure": "header",
    "no match": "no_match",
}


def integrity_of(path):
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def fetch_package():
    """The package tarball, fetched with npm into the build dir (reused if intact)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    tgz = CACHE / "cctv-age-0.2.0.tgz"
    if tgz.exists() and integrity_of(tgz) == INTEGRITY:
        return tgz
    npm = shutil.which("npm")
    if npm is None:
        raise AssertionError("npm is not installed: cannot fetch the CCTV age vectors (CI gate)")
    proc = subprocess.run([npm, "pack", PACKAGE, "--pack-destination", str(CACHE)],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 or not tgz.exists():
        raise AssertionError(f"npm pack {PACKAGE} failed (the CCTV vectors are a CI gate):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    got = integrity_of(tgz)
    if got != INTEGRITY:
        tgz.unlink()
        raise AssertionError(f"{PACKAGE}: integrity {got} does not match the pinned {INTEGRITY}")
    return tgz


def load_vectors(tgz):
    """name -> bytes, from the package's index.js (each vector is a base64 literal)."""
    with tarfile.open(tgz) as tf:
        js = tf.extractfile("package/index.js").read().decode("utf-8")
    found = re.findall(r'// \.\./testdata/([A-Za-z0-9_]+)\nvar [A-Za-z0-9_]+ = __toBinary\("([A-Za-z0-9+/=]*)"\);', js)
    vectors = {name: base64.b64decode(b64) for name, b64 in found}
    if len(vectors) != 143:
        raise AssertionError(f"expected 143 vectors in {PACKAGE}, parsed {len(vectors)}")
    return vectors


def parse_vector(data):
    head, _, body = data.partition(b"\n\n")
    meta = {}
    for line in head.decode("utf-8").split("\n"):
        key, _, value = line.partition(": ")
        meta.setdefault(key, []).append(value)
    if meta.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    return meta, body


def skip_reason(name, meta):
    if meta.get("armored") == ["yes"]:
        return "armor"
    if any(i.startswith("AGE-SECRET-KEY-PQ-") for i in meta.get("identity", [])) or name.startswith("hybrid"):
        return "post-quantum"
    return None


def documented_skips():
    """The skipped vector names listed in docs/api/crypto.md (between the markers)."""
    text = DOC.read_text("utf-8")
    m = re.search(r"<!-- cctv-skipped -->(.*?)<!-- /cctv-skipped -->", text, re.S)
    if not m:
        raise AssertionError("docs/api/crypto.md has no <!-- cctv-skipped --> list")
    return set(re.findall(r"`([a-z0-9_]+)`", m.group(1)))


class CctvAgeTest(unittest.TestCase):
    def test_cctv_vectors(self):
        vectors = load_vectors(fetch_package())
        work = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-cctv-"))
        self.addCleanup(shutil.rmtree, work, True)
        manifest, expected, skipped = [], {}, {}
        for name in sorted(vectors):
            meta, body = parse_vector(vectors[name])
            reason = skip_reason(name, meta)
            if reason:
                skipped[name] = reason
                continue
            path = work / f"{name}.age"
            path.write_bytes(body)
            passphrases = meta.get("passphrase", [])
            manifest.append({"name": name, "file": str(path), "identities": meta.get("identity", []),
                             "passphrase": passphrases[0] if passphrases else None})
            expected[name] = (meta["expect"][0], meta.get("payload", [None])[0])
        (work / "manifest.jsonl").write_text("".join(json.dumps(m) + "\n" for m in manifest))
        hostsync("run", HERE / "age_cctv_run.lua", work / "manifest.jsonl", work / "results.jsonl",
                 check=True, timeout=600)
        results = {}
        for line in (work / "results.jsonl").read_text().splitlines():
            r = json.loads(line)
            results[r["name"]] = r

        failures = []
        for name, (expect, payload) in expected.items():
            r = results.get(name)
            want = EXPECT_KIND.get(expect)
            if r is None or want is None:
                failures.append(f"{name}: no result (expect {expect})")
                continue
            if r["kind"] != want:
                failures.append(f"{name}: expected {expect}, got {r['kind']}: {r['message']}")
            elif want in ("success", "payload") and payload is not None and r["sha256"] != payload:
                failures.append(f"{name}: released plaintext hash {r['sha256']} != {payload}")
        print(f"CCTV age: {len(expected)} run, {len(expected) - len(failures)} passed, "
              f"{len(skipped)} skipped ({sum(1 for v in skipped.values() if v == 'armor')} armor, "
              f"{sum(1 for v in skipped.values() if v == 'post-quantum')} post-quantum)")
        self.assertEqual(failures, [], "\n".join(failures))
        self.assertEqual(len(expected), 92)
        self.assertEqual(set(skipped), documented_skips(),
                         "docs/api/crypto.md must list exactly the skipped vectors")


if __name__ == "__main__":
    unittest.main(verbosity=2)
