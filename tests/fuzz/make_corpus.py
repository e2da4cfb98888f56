#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus: tests/fuzz/corpus/<target>/<name>.

Structure-aware seeds, so that mutation starts from inputs that already reach deep into
each parser: valid CSVs with quotes, CRLF, a BOM, multi-line fields and every kind of bad
record; JSON with deep nesting, unicode escapes and numbers at the edges of a double;
real age files made by the `age` tool and by hostsync (X25519, several recipients,
scrypt at a cheap work factor, 0 to 3 payload chunks); tar archives from GNU tar (ustar,
pax, gnu, v7; long names, unicode names, links) and from hostsync.

The committed corpus is this script's output; rerun it (with `age`, GNU `tar` and a
built hostsync on PATH or in $HOSTSYNC) after changing it. age and tar seeds differ on
every run (random keys, nonces); the others are the same bytes.

    python3 tests/fuzz/make_corpus.py [--hostsync build/hostsync]
"""
import argparse
import io
import json
import os
import pathlib
import shutil
import subprocess
import tarfile
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
# The key and passphrase the age target holds (tests/fuzz/age_fuzz.cpp).
RECIPIENT = "age1qarff7ktvz6mgqm5cegxemqgmzqjd7vatdg3wmzjtps3y0pmy4hsw9988f"
PASSPHRASE = "fuzz"
WORK_FACTOR = 10


def csv_seeds():
    return {
        "simple": b"id,name,note\n1,Smith,hello\n2,Jones,\n",
        "crlf": b"id,name\r\n1,a\r\n2,b\r\n",
        "bom": b"\xef\xbb\xbfid,v\n1,x\n",
        "quotes": b'id,name,note\n1,"Smith, J.","said ""hi"""\n2,"two\nlines","cr\r\nlf"\n3,"",""""\n',
        "blank_lines": b"\n\r\nid,v\n\n1,a\r\n\n2,b\n",
        "bad_records": b'id,v\n1,2,3\n4\n5,"ab"x,"c\n6,d"\n7,\xc3\x28\n8,ok\n',
        "pending_tail": b"id,v\n1,a\n2,half-writ",
        "pending_quote": b'id,v\n1,"open\nstill open',
        "header_duplicates": b"a,b,a,,c,\n1,2,3,4,5,6\n",
        "header_quote_error": b'a,"b"c\n1,2\n',
        "empty_names": b",\n,\n\"\",\n",
        "unicode": "nom,été,日本\nélan,\u00e9t\u00e9,語\nx,\U0001F600,\u202e\n".encode(),
        "long_record": b"id,text\n1," + b"x" * 200 + b"\n2," + b'"' + b"y\n" * 40 + b'"\n3,z\n',
        "cr_in_data": b"id,v\n1,a\rb\n2,\"q\"\r\r\n3,c\r\n",
        "only_header": b"a,b,c\n",
        "one_column": b'v\n""\n1\n\n2\n',
        "phase2_index": ("timestamp,path,sha256,size\n2026-11-23T10:00:00Z,notes/a.md,"
                         + "ab" * 32 + ",120\n2026-11-23T10:00:01Z,\"notes/b, c.md\"," + "cd" * 32 + ",7\n").encode(),
    }


def json_seeds():
    deep_ok = b"[" * 500 + b"1" + b"]" * 500
    deep_bad = b"[" * 513 + b"]" * 513
    deep_obj = b'{"a":' * 200 + b"null" + b"}" * 200
    return {
        "object": b'{"id": 1, "name": "x", "tags": ["a", "b"], "ok": true, "none": null}',
        "registry_record": (b'{"artifact_id":"raw_0123456789abcdef01234567","artifact_type":"raw",'
                            b'"byte_size":12,"created_at_utc":"2026-11-23T10:00:00Z","media_type":"text/plain",'
                            b'"meta":{"source_name":"notes.txt"},"parents":[],"relpath":".adam_os/artifacts/raw/x",'
                            b'"sha256":"' + b"0" * 64 + b'"}'),
        "escapes": b'["\\u00e9", "\\ud83d\\ude00", "\\u0000", "\\"\\\\\\/\\b\\f\\n\\r\\t", "\\u20AC", "\\uFFFF"]',
        "lone_surrogate": b'["\\ud800"]',
        "lone_low_surrogate": b'["\\udc00x"]',
        "raw_utf8": '{"clé": "日本語", "emoji": "😀", "rtl": "\u202e"}'.encode(),
        "numbers": (b"[0, -0, 1, -1, 0.1, 1e308, 1.7976931348623157e308, 5e-324, 2.2250738585072014e-308,"
                    b" 123456789012345678901234567890, 9007199254740993, 1E+2, -1.5e-7, 1e-400, 0.30000000000000004,"
                    b" 4.35, 1e21, 1e-7, 123e-20]"),
        "number_too_big": b"[1e309]",
        "number_bad_forms": b"[01, 1., .5, +1, 1e, -, 0x10, NaN, Infinity]",
        "key_order": '{"\ue000": 1, "😀": 2, "a": 3, "B": 4, "": 5, "\u00e9": 6, "\u0080": 7}'.encode(),
        "duplicate_escaped_key": b'{"a": 1, "\\u0061": 2}',
        "whitespace": b' \t\n\r{ "a" :\n[ 1 ,\t2 ] }\r\n ',
        "bom": b'\xef\xbb\xbf{"a":1}',
        "trailing": b'{"a":1} x',
        "deep_ok": deep_ok,
        "deep_too_deep": deep_bad,
        "deep_object": deep_obj,
        "strings_controls": b'["a\tb", "\x01"]',
        "empty_containers": b'[{}, [], "", [[]], {"": {}}]',
        "scalars_true": b"true",
        "invalid_utf8": b'["\xc3\x28", "\xed\xa0\x80"]',
    }


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


def age_seeds(hostsync, tmp):
    seeds = {}
    plaintexts = {"empty": b"", "one_byte": b"x", "one_chunk": b"a" * 65536, "chunk_plus_one": b"b" * 65537,
                  "small_text": b"hello age\n" * 10}
    for name, plain in plaintexts.items():
        seeds["age_x25519_" + name] = run(["age", "-r", RECIPIENT], input=plain).stdout
    other = run(["age-keygen"]).stdout.decode()
    other_recipient = next(l.split(": ")[1] for l in other.splitlines() if l.startswith("# public key"))
    seeds["age_two_recipients"] = run(["age", "-r", other_recipient, "-r", RECIPIENT], input=b"two").stdout
    seeds["age_other_recipient_only"] = run(["age", "-r", other_recipient], input=b"no").stdout
    seeds["age_armored"] = run(["age", "-a", "-r", RECIPIENT], input=b"armor").stdout
    # hostsync's own writer, and scrypt at the cheap work factor the target accepts.
    script = tmp / "age_seeds.lua"
    script.write_text(f'''
local crypto = require "hostsync.crypto"
local out = arg[1]
local function put(name, data) local f = assert(io.open(out .. "/" .. name, "wb")); f:write(data); f:close() end
put("hostsync_x25519", crypto.age_encrypt(string.rep("z", 70000), {{ recipient = "{RECIPIENT}" }}))
put("hostsync_scrypt", crypto.age_encrypt("secret text", {{ passphrase = "{PASSPHRASE}", work_factor = {WORK_FACTOR} }}))
put("hostsync_scrypt_empty", crypto.age_encrypt("", {{ passphrase = "{PASSPHRASE}", work_factor = {WORK_FACTOR} }}))
''')
    outdir = tmp / "age_out"
    outdir.mkdir()
    run([hostsync, "run", str(script), str(outdir)])
    for p in outdir.iterdir():
        seeds[p.name] = p.read_bytes()
    # A header with an unknown stanza type before ours (age ignores unknown stanzas; the
    # MAC then fails, which is the point: the parser and the MAC path are both reached).
    x = seeds["age_x25519_small_text"]
    head, rest = x.split(b"\n", 1)
    seeds["age_unknown_stanza"] = head + b"\n-> grease-x a b\nZm9vYmFy\n" + rest
    return seeds


def tar_seeds(hostsync, tmp):
    seeds = {}
    src = tmp / "tree"
    (src / "dir/sub").mkdir(parents=True)
    (src / "dir/sub/file.txt").write_bytes(b"content\n")
    (src / "a-b").write_bytes(b"dash")
    (src / "empty").write_bytes(b"")
    (src / ("long_" + "n" * 120)).write_bytes(b"long name")
    (src / "données-été.md").write_bytes("unicode name".encode())
    (src / "exec.sh").write_bytes(b"#!/bin/sh\n")
    os.chmod(src / "exec.sh", 0o755)
    os.symlink("dir/sub/file.txt", src / "link")
    os.link(src / "a-b", src / "hard")
    for fmt in ("ustar", "posix", "gnu", "v7"):
        out = tmp / f"gnu_{fmt}.tar"
        # ustar and v7 cannot hold the long name (v7 not the unicode one either).
        names = ["."] if fmt in ("posix", "gnu") else ["dir", "a-b", "empty", "exec.sh", "link", "hard"]
        run(["tar", f"--format={fmt}", "--sort=name", "--owner=0", "--group=0", "--numeric-owner",
             "--mtime=@0", "-cf", str(out), "-C", str(src), *names])
        seeds[f"gnu_{fmt}"] = out.read_bytes()
    # Only what the extractor accepts (no links), so the seed gets through to the end.
    safe = ["dir", "a-b", "empty", "exec.sh", "données-été.md", "long_" + "n" * 120]
    out = tmp / "gnu_posix_safe.tar"
    run(["tar", "--format=posix", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0",
         "--pax-option=delete=atime,delete=ctime", "-cf", str(out), "-C", str(src), *safe])
    seeds["gnu_posix_safe"] = out.read_bytes()
    # Python's tarfile: pax with extended headers of its own, and hostile entries.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in (("ok.txt", b"fine"), ("../escape", b"x"), ("/abs", b"y"), ("a/../../b", b"z")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    seeds["python_pax_hostile"] = buf.getvalue()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        info = tarfile.TarInfo("pax_meta.txt")
        info.size = 3
        info.pax_headers = {"mtime": "1.5", "comment": "x" * 50, "path": "pax/path/é.txt", "size": "3"}
        tf.addfile(info, io.BytesIO(b"abc"))
    seeds["python_pax_headers"] = buf.getvalue()
    # hostsync's own writer (pax, deterministic).
    script = tmp / "tar_seed.lua"
    script.write_text('''
local tar = require "hostsync.tar"
local fs = require "hostsync.fs"
local root, out_dir, out_name = arg[1], arg[2], arg[3]
local w = assert(fs.safe_writer(out_dir, out_name))
assert(tar.write(w, root, { "dir", "dir/sub", "dir/sub/file.txt", "a-b", "données-été.md", "long_" .. string.rep("n", 120) }))
''')
    out = tmp / "hostsync.tar"
    run([hostsync, "run", str(script), str(src), str(tmp), out.name])
    seeds["hostsync_pax"] = out.read_bytes()
    return seeds


def write(target, seeds):
    d = CORPUS / target
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    for name, data in seeds.items():
        (d / name).write_bytes(data)
    print(f"{target}: {len(seeds)} seeds, {sum(map(len, seeds.values()))} bytes")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hostsync", default=os.environ.get("HOSTSYNC", str(HERE.parent.parent / "build/hostsync")))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        write("csv", csv_seeds())
        write("json", json_seeds())
        write("age", age_seeds(args.hostsync, tmp))
        write("tar", tar_seeds(args.hostsync, tmp))


if __name__ == "__main__":
    main()
