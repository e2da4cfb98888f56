#!/usr/bin/env python3
"""Cross-check the Python pieces of the Phase 2 benchmark against each other.

    python3 bench/selftest_python.py

No hostsync needed; about ten seconds. Checks that:
- gen_index_csv.py is deterministic, appends with continuing ids, and writes what
  Python's csv module reads back as 10-field records;
- phase2_reference.py's outbox passes tests/e2e/reference_verify.py --csv, on generated
  data and on edge cases (BOM, LF and CRLF, blank lines, line breaks in quotes, an
  incomplete final record, a bad row), with line numbers checked against csv.reader's
  own line_num in text mode;
- compare_outboxes.py says SAME for equal packets (also when split differently over
  files) and reports an injected difference;
- reference_verify.py rejects each kind of tampering, tolerates a torn seal fragment,
  handles two seals and quarantine.jsonl, and --after-crash accepts what a crash leaves.
Not named test_*.py: it is not one of CTest's end-to-end tests.
"""

import base64
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GEN = os.path.join(HERE, "gen_index_csv.py")
REF = os.path.join(HERE, "phase2_reference.py")
CMP = os.path.join(HERE, "compare_outboxes.py")
VERIFY = os.path.join(REPO, "tests", "e2e", "reference_verify.py")
INDEX, OUTBOX, STATE = "infield/ai_save/index.csv", "infield/ai_save/outbox", "infield/ai_save/phase2"

sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import reference_verify as rv  # noqa: E402

failures = 0
TMP = tempfile.mkdtemp(prefix="phase2-selftest-")


def check(cond, what, detail=""):
    global failures
    print("%s %s" % ("ok  " if cond else "FAIL", what))
    if not cond:
        failures += 1
        if detail:
            print("     " + detail.replace("\n", "\n     "))


def run(*args):
    p = subprocess.run([sys.executable, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def new_root(name, data):
    root = os.path.join(TMP, name)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "infield/ai_save"))
    with open(os.path.join(root, INDEX), "wb") as f:
        f.write(data)
    return root


def outbox(root, name=""):
    return os.path.join(root, OUTBOX, name)


def sync_file(root):
    return outbox(root, [n for n in os.listdir(outbox(root)) if n.startswith("sync_")][0])


def verify(root, *extra):
    return run(VERIFY, root, *extra)


def expect_ok(root, what, *extra):
    rc, out, err = verify(root, *extra)
    check(rc == 0 and out.startswith("OK "), what, out + err)
    return out, err


def expect_fail(root, what, needle, *extra):
    rc, out, err = verify(root, *extra)
    check(rc == 1 and needle in err, what, "rc=%d, wanted %r in:\n%s%s" % (rc, needle, out, err))


def reseal(root):
    """Recompute every seal's sha256/bytes/chain and state.json after editing sync files."""
    seals = [json.loads(l) for l in open(outbox(root, "seals.jsonl"), encoding="utf-8")]
    chain = "0" * 64
    for s in seals:
        data = open(outbox(root, s["file"]), "rb").read()
        s["sha256"], s["bytes"] = hashlib.sha256(data).hexdigest(), len(data)
        seqs = [json.loads(l)["seq"] for l in data.splitlines()]
        s["packets"], s["first_seq"], s["last_seq"] = len(seqs), seqs[0], seqs[-1]
        s["prev_chain"] = chain
        chain = s["chain"] = hashlib.sha256((chain + s["sha256"]).encode()).hexdigest()
    with open(outbox(root, "seals.jsonl"), "w", encoding="utf-8") as f:
        for s in seals:
            f.write(rv.canonical(s) + "\n")
    state_path = os.path.join(root, STATE, "state.json")
    state = json.load(open(state_path))
    state.update(last_chain_hash=chain, last_file=seals[-1]["file"],
                 last_seq=seals[-1]["last_seq"], seals=len(seals))
    with open(state_path, "w") as f:
        f.write(rv.canonical(state))


def edit_packets(root, fn):
    """fn(list of packet dicts) -> list of lines (str, without newline); then reseal."""
    path = sync_file(root)
    lines = open(path, "rb").read().decode().splitlines()
    new = fn([json.loads(l) for l in lines], lines)
    with open(path, "wb") as f:
        f.write("".join(l + "\n" for l in new).encode())
    reseal(root)


def compact(p):
    return json.dumps(p, ensure_ascii=False, separators=(",", ":"))


def text_mode_line_nos(data):
    """Record start lines per csv.reader's own line_num in text mode (newline='')."""
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    out, prev = [], 0
    for rec in reader:
        start, prev = prev + 1, reader.line_num
        if rec:
            out.append(start)
    return out[1:]


def packets_of(root):
    out = []
    for s in (json.loads(l) for l in open(outbox(root, "seals.jsonl"), encoding="utf-8")):
        out += [json.loads(l) for l in open(outbox(root, s["file"]), encoding="utf-8")]
    return out


# --- the generator --------------------------------------------------------------------

def test_generator():
    a, b = os.path.join(TMP, "a.csv"), os.path.join(TMP, "b.csv")
    run(GEN, a, "--records", "3000", "--seed", "5")
    run(GEN, b, "--records", "3000", "--seed", "5")
    check(open(a, "rb").read() == open(b, "rb").read(), "generator: same seed, same bytes")
    run(GEN, b, "--records", "3000", "--seed", "6")
    check(open(a, "rb").read() != open(b, "rb").read(), "generator: another seed, other bytes")
    rc, _, err = run(GEN, a, "--records", "50", "--seed", "5", "--append")
    data = open(a, "rb").read()
    rows = list(csv.reader(io.StringIO(data.decode(), newline=""), strict=True))
    check(rc == 0 and len(rows) == 3051 and [r[0] for r in rows[1:]] == [str(i) for i in range(1, 3051)],
          "generator: --append continues the ids", err)
    check(all(len(r) == 10 for r in rows), "generator: every record has 10 fields")
    check(data.endswith(b"\r\n") and data.count(b"\n") > len(rows),
          "generator: CRLF, and line breaks inside quoted fields")
    notes = [r[8] for r in rows[1:]]
    check(any("\r\n" in n for n in notes) and any("\n" in n.replace("\r\n", "") for n in notes),
          "generator: both LF and CRLF inside quotes")
    check(any('"' in f for r in rows for f in r) and any(not f.isascii() for r in rows for f in r)
          and any(f == "" for r in rows for f in r), "generator: quotes, UTF-8 and empty fields")
    return data


# --- reference + verifier + compare on generated data ---------------------------------------

def test_reference_on_generated(data):
    r1 = new_root("gen1", data)
    rc, out, err = run(REF, "--root", r1)
    check(rc == 0 and out.startswith("OK: 3050 packets seq 1..3050"), "reference: full run", out + err)
    expect_ok(r1, "verify --csv: the reference's outbox", "--csv")
    pk = packets_of(r1)
    check([p["source"]["line_no"] for p in pk] == text_mode_line_nos(data),
          "reference: line_no equals csv.reader line_num bookkeeping (text mode)")
    r2 = new_root("gen2", data)
    run(REF, "--root", r2)
    rc, out, err = run(CMP, r1, r2)
    check(rc == 0 and "SAME 3050 packets" in out, "compare: two runs are the same", out + err)

    # one injected difference: compare names packet 1234 and the field
    r3 = os.path.join(TMP, "gen3")
    shutil.rmtree(r3, ignore_errors=True)
    shutil.copytree(r2, r3)

    def change(ps, lines):
        ps[1233]["row"]["status"] = ps[1233]["row"]["status"] + "!"
        lines[1233] = compact(ps[1233])
        return lines
    edit_packets(r3, change)
    rc, out, err = run(CMP, r1, r3)
    check(rc == 1 and "DIFF at packet 1234" in out and "row.status" in out,
          "compare: reports the injected difference", out + err)
    expect_fail(r3, "verify: a changed row with recomputed seal fails on row_hash", "row_hash")

    # the same packets split over two files compare equal, and verify with two seals
    r4 = split_in_two(r2, 1000)
    rc, out, err = run(CMP, r1, r4)
    check(rc == 0 and "SAME 3050 packets" in out, "compare: same packets over two files", out + err)
    expect_ok(r4, "verify --csv: two seals", "--csv")
    return r1, r4


def split_in_two(src, k):
    """Copy src's one-file outbox into a two-seal outbox: packets 1..k, then the rest."""
    root = os.path.join(TMP, os.path.basename(src) + "-split")
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(src, root)
    seal = json.loads(open(outbox(root, "seals.jsonl")).read())
    lines = open(outbox(root, seal["file"]), "rb").read().splitlines(keepends=True)
    run_id2 = seal["run_id"][:-2] + "%02d" % ((int(seal["run_id"][-2:]) + 1) % 60)
    name2 = "sync_%s.jsonl" % run_id2
    second = [l.replace(b'"run_id":"%s"' % seal["run_id"].encode(), b'"run_id":"%s"' % run_id2.encode(), 1)
              for l in lines[k:]]
    with open(outbox(root, seal["file"]), "wb") as f:
        f.writelines(lines[:k])
    with open(outbox(root, name2), "wb") as f:
        f.writelines(second)
    # the first cursor: just after record k (found with the verifier's csv reader)
    recs = rv.CsvRecords(os.path.join(root, INDEX), seal["cursor"]["offset"], {})
    it = iter(recs)
    next(it)  # header
    for _ in range(k):
        _, _, end, _ = next(it)
    lines_before = open(os.path.join(root, INDEX), "rb").read()[:end].count(b"\n")
    s1 = dict(seal, last_seq=k, cursor={"offset": end, "line_no": lines_before})
    s2 = dict(seal, file=name2, run_id=run_id2, first_seq=k + 1)
    with open(outbox(root, "seals.jsonl"), "w") as f:
        f.write(rv.canonical(s1) + "\n" + rv.canonical(s2) + "\n")
    reseal(root)
    return root


# --- edge cases of index.csv ------------------------------------------------------------------

EDGE = ("\ufeffid,name,note\r\n"          # 1 BOM + header
        "1,Ada,plain\r\n"                  # 2
        "\r\n"                             # 3 blank
        "2,Bob,\"two\nlines\"\n"           # 4-5 LF-only, LF inside quotes
        "3,\"Zoë \"\"Z\"\"\",\"a\r\nb\rc\"\r\n"  # 6-7 CRLF and a bare CR inside quotes
        "\n"                               # 8 blank (LF)
        "4,東京,\"😀, ok\"\r\n"             # 9
        "5,,\r\n"                          # 10 empty fields
        ).encode("utf-8")


def test_edge_cases():
    root = new_root("edge", EDGE + b"6,incomplete,no line break yet")
    rc, out, err = run(REF, "--root", root)
    check(rc == 0 and "OK: 5 packets" in out and "incomplete final record at line 11" in err,
          "reference: edge cases, incomplete final record held back", out + err)
    pk = packets_of(root)
    check([p["source"]["line_no"] for p in pk] == [2, 4, 6, 9, 10], "reference: edge-case line numbers",
          str([p["source"]["line_no"] for p in pk]))
    check(pk[1]["row"]["note"] == "two\nlines" and pk[2]["row"]["note"] == "a\r\nb\rc"
          and pk[2]["row"]["name"] == 'Zoë "Z"' and pk[0]["row"] == {"id": "1", "name": "Ada", "note": "plain"},
          "reference: values exactly as in the file")
    seal = json.loads(open(outbox(root, "seals.jsonl")).read())
    check(seal["cursor"] == {"offset": len(EDGE), "line_no": 10}, "reference: cursor after the last record",
          str(seal["cursor"]))
    expect_ok(root, "verify --csv: edge cases", "--csv")

    big = "x" * 300_000 + "\n" + "é" * 100_000
    root = new_root("edge-big", EDGE + ('6,big,"%s"\r\n' % big).encode())
    rc, out, err = run(REF, "--root", root)
    check(rc == 0 and "OK: 6 packets" in out and packets_of(root)[-1]["row"]["note"] == big,
          "reference: a 500 KB field", out + err)
    expect_ok(root, "verify --csv: a 500 KB field", "--csv")

    root = new_root("edge-quote", EDGE + b'6,"unclosed\r\nquote\r\n')
    rc, out, err = run(REF, "--root", root)
    check(rc == 0 and "OK: 5 packets" in out and "line 11" in err,
          "reference: an unclosed quote at the end is held back", out + err)
    expect_ok(root, "verify --csv: unclosed quote at the end", "--csv")

    root = new_root("edge-bad", EDGE + b"6,two fields\r\n7,x,y\r\n")
    rc, out, err = run(REF, "--root", root)
    check(rc == 1 and "OK: 5 packets" in out and "line 11" in err and "2 fields, header has 3" in err,
          "reference: a bad row stops the run after sealing what came before", out + err)
    expect_ok(root, "verify --csv: after a bad row", "--csv")

    # tamper with the CSV before the cursor: --csv notices, the plain verify cannot
    data = bytearray(open(os.path.join(root, INDEX), "rb").read())
    data[data.index(b"Ada")] = ord("I")
    open(os.path.join(root, INDEX), "wb").write(bytes(data))
    expect_ok(root, "verify without --csv does not read index.csv")
    expect_fail(root, "verify --csv: a changed record before the cursor", "row differs", "--csv")


# --- tampering with an outbox -------------------------------------------------------------------

def variant(base, name):
    root = os.path.join(TMP, name)
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(base, root)
    return root


def test_tampering(one, two):
    r = variant(one, "t-byte")
    with open(sync_file(r), "r+b") as f:
        f.seek(100)
        c = f.read(1)
        f.seek(100)
        f.write(b"X" if c != b"X" else b"Y")
    expect_fail(r, "verify: one changed byte breaks the file hash", "SHA-256")

    r = variant(one, "t-order")
    edit_packets(r, lambda ps, ls: [ls[0]] + [compact({k: p[k] for k in ["run_id", "packet_version", "seq",
                                                                          "source", "row", "row_hash",
                                                                          "observed_at"]}) for p in ps[1:]])
    expect_fail(r, "verify: fields out of order", "in this order")

    r = variant(one, "t-extra")
    edit_packets(r, lambda ps, ls: ls[:5] + [compact(dict(ps[5], extra=1))] + ls[6:])
    expect_fail(r, "verify: an extra field", "in this order")

    r = variant(one, "t-space")
    edit_packets(r, lambda ps, ls: ls[:7] + [json.dumps(ps[7], ensure_ascii=False)] + ls[8:])
    expect_fail(r, "verify: whitespace in a packet", "compact")

    r = variant(one, "t-rowkeys")
    def unsorted(ps, ls):
        p = ps[3]
        p["row"] = dict(reversed(list(p["row"].items())))
        return ls[:3] + [compact(p)] + ls[4:]
    edit_packets(r, unsorted)
    expect_fail(r, "verify: row keys not in canonical order", "canonical")

    r = variant(one, "t-escape")
    def escaped(ps, ls):
        return ls[:2] + [json.dumps(ps[2], ensure_ascii=True, separators=(",", ":"))] + ls[3:]
    edit_packets(r, escaped)
    expect_fail(r, "verify: non-ASCII written as \\u escapes (not canonical)", "compact")

    r = variant(one, "t-gap")
    def gap(ps, ls):
        for p in ps[10:]:
            p["seq"] += 1
        return ls[:10] + [compact(p) for p in ps[10:]]
    edit_packets(r, gap)
    expect_fail(r, "verify: a seq gap", "seq 11)")

    r = variant(one, "t-lost")
    edit_packets(r, lambda ps, ls: ls[:-1])
    expect_ok(r, "verify without --csv: a dropped last packet looks consistent")
    expect_fail(r, "verify --csv: a dropped packet is a lost record", "lost", "--csv")

    r = variant(one, "t-dup")
    def dup(ps, ls):
        extra = dict(ps[-1], seq=ps[-1]["seq"] + 1)
        return ls + [compact(extra)]
    edit_packets(r, dup)
    expect_fail(r, "verify --csv: a duplicated packet", "line_no", "--csv")

    r = variant(one, "t-time")
    def utc_z(ps, ls):
        ps[0]["observed_at"] = ps[0]["observed_at"][:19] + "Z"
        return [compact(ps[0])] + ls[1:]
    edit_packets(r, utc_z)
    expect_fail(r, "verify: observed_at without a UTC offset", "observed_at")

    r = variant(one, "t-state")
    os.remove(os.path.join(r, STATE, "state.json"))
    expect_fail(r, "verify: state.json missing", "state.json is missing")
    expect_ok(r, "verify --after-crash: state.json missing", "--after-crash")

    r = variant(one, "t-stale")
    st = json.load(open(os.path.join(r, STATE, "state.json")))
    st["last_chain_hash"] = "f" * 64
    open(os.path.join(r, STATE, "state.json"), "w").write(json.dumps(st))
    expect_fail(r, "verify: state.json last_chain_hash wrong", "last_chain_hash")
    expect_fail(r, "verify --after-crash: a state.json that matches no seal", "last_chain_hash", "--after-crash")

    r = variant(one, "t-tmp")
    open(outbox(r, ".sync_20990101_000000.jsonl.tmp"), "w").write("{")
    expect_fail(r, "verify: a leftover .tmp file", "temporary file")
    expect_ok(r, "verify --after-crash: a leftover .tmp file", "--after-crash")

    r = variant(one, "t-torn")
    with open(outbox(r, "seals.jsonl"), "ab") as f:
        f.write(b'{"bytes":123,"chain":"ab')
    out, err = expect_ok(r, "verify: a torn fragment at the end of seals.jsonl is skipped", "--csv")
    check("torn fragment" in err, "verify: the fragment is reported on stderr", err)
    with open(outbox(r, "seals.jsonl"), "ab") as f:
        f.write(b"\n")
    expect_ok(r, "verify: a terminated fragment line is skipped too", "--csv")

    r = variant(one, "t-seal")
    s = json.loads(open(outbox(r, "seals.jsonl")).read())
    s["last_seq"] += 1
    open(outbox(r, "seals.jsonl"), "w").write(rv.canonical(s) + "\n")
    expect_fail(r, "verify: seal last_seq wrong", "last_seq")
    s["last_seq"] -= 1
    open(outbox(r, "seals.jsonl"), "w").write(json.dumps(s) + "\n")
    expect_fail(r, "verify: seal not in canonical form", "canonical")

    r = variant(one, "t-cursor")
    s = json.loads(open(outbox(r, "seals.jsonl")).read())
    s["cursor"]["line_no"] += 1
    open(outbox(r, "seals.jsonl"), "w").write(rv.canonical(s) + "\n")
    expect_ok(r, "verify without --csv: a cursor line_no is not checked against index.csv")
    expect_fail(r, "verify --csv: a wrong cursor line_no", "cursor line_no", "--csv")

    # two seals
    r = variant(two, "t2-swap")
    lines = open(outbox(r, "seals.jsonl")).read().splitlines()
    open(outbox(r, "seals.jsonl"), "w").write(lines[1] + "\n" + lines[0] + "\n")
    expect_fail(r, "verify: seals swapped", "prev_chain")

    r = variant(two, "t2-unsealed")
    lines = open(outbox(r, "seals.jsonl")).read().splitlines()
    open(outbox(r, "seals.jsonl"), "w").write(lines[0] + "\n")
    expect_fail(r, "verify: a sync file without a seal", "without a seal")
    st = json.load(open(os.path.join(r, STATE, "state.json")))
    s1 = json.loads(lines[0])
    st.update(last_chain_hash=s1["chain"], last_file=s1["file"], last_seq=s1["last_seq"], seals=1)
    open(os.path.join(r, STATE, "state.json"), "w").write(rv.canonical(st))
    out, err = expect_ok(r, "verify --after-crash: an unsealed last file (crash before its seal)",
                         "--after-crash", "--csv")
    check(out.startswith("OK 1000 packets"), "verify --after-crash: counts only sealed packets", out)

    r = variant(two, "t2-behind")
    lines = open(outbox(r, "seals.jsonl")).read().splitlines()
    s1 = json.loads(lines[0])
    st = json.load(open(os.path.join(r, STATE, "state.json")))
    st.update(last_chain_hash=s1["chain"], last_file=s1["file"], last_seq=s1["last_seq"], seals=1)
    open(os.path.join(r, STATE, "state.json"), "w").write(rv.canonical(st))
    expect_fail(r, "verify: state.json one seal behind", "state.json")
    expect_ok(r, "verify --after-crash: state.json one seal behind", "--after-crash")

    r = variant(two, "t2-range")
    # move the first cursor back by one record: packet 1000 is then outside its seal's range
    lines = open(outbox(r, "seals.jsonl")).read().splitlines()
    s1, s2 = json.loads(lines[0]), json.loads(lines[1])
    recs = list(rv.CsvRecords(os.path.join(r, INDEX), s1["cursor"]["offset"], {}))
    end = recs[-2][2]
    s1["cursor"] = {"offset": end, "line_no": open(os.path.join(r, INDEX), "rb").read()[:end].count(b"\n")}
    open(outbox(r, "seals.jsonl"), "w").write(rv.canonical(s1) + "\n" + rv.canonical(s2) + "\n")
    expect_ok(r, "verify without --csv: cursors are only checked to move forward")
    expect_fail(r, "verify --csv: a record outside its seal's cursor range", "cursor range", "--csv")


# --- quarantine (hand-made outbox in the layout hostsync writes) ------------------------------------

def make_outbox(root, files, quarantine=()):
    """files: [(run_id, [(line_no, row)], cursor)]; quarantine: [(line_no, offset, end, raw)]."""
    os.makedirs(outbox(root), exist_ok=True)
    os.makedirs(os.path.join(root, STATE), exist_ok=True)
    chain, seq, seals = "0" * 64, 0, []
    for run_id, packets, cursor in files:
        name = "sync_%s.jsonl" % run_id
        out = []
        first = seq + 1
        for line_no, row in packets:
            seq += 1
            rj = rv.jcs(row)
            out.append('{"packet_version":"0.1","run_id":"%s","seq":%d,"source":{"path":"%s","line_no":%d},'
                       '"row":%s,"row_hash":"sha256:%s","observed_at":"2026-11-23T17:25:52+01:00"}\n'
                       % (run_id, seq, INDEX, line_no, rj, hashlib.sha256(rj.encode()).hexdigest()))
        data = "".join(out).encode()
        open(outbox(root, name), "wb").write(data)
        sha = hashlib.sha256(data).hexdigest()
        new_chain = hashlib.sha256((chain + sha).encode()).hexdigest()
        seals.append({"seal_version": "0.1", "file": name, "sha256": sha, "bytes": len(data),
                      "packets": len(packets), "first_seq": first, "last_seq": seq, "prev_chain": chain,
                      "chain": new_chain, "run_id": run_id, "cursor": cursor,
                      "sealed_at": "2026-11-23T16:25:53Z"})
        chain = new_chain
    with open(outbox(root, "seals.jsonl"), "w") as f:
        f.writelines(rv.canonical(s) + "\n" for s in seals)
    with open(os.path.join(root, STATE, "state.json"), "w") as f:
        f.write(rv.canonical({"last_chain_hash": chain, "last_file": seals[-1]["file"], "last_seq": seq,
                              "seals": len(seals), "updated_at": "2026-11-23T16:25:53Z"}))
    if quarantine:
        with open(outbox(root, "quarantine.jsonl"), "w") as f:
            for line_no, off, end, raw in quarantine:
                f.write(rv.canonical({"quarantine_version": "0.1", "run_id": files[0][0],
                                      "source": {"path": INDEX, "line_no": line_no, "offset": off,
                                                 "end_offset": end},
                                      "reason": "bad", "raw_base64": base64.b64encode(raw).decode(),
                                      "found_at": "2026-11-23T16:25:53Z"}) + "\n")


def test_quarantine():
    good = b"id,name,note,amount\r\n1,a,b,1\r\n2,c,d,2\r\n"
    bad = [b"3,only,three\r\n", b"3,\xff\xfe,x,3\r\n", b'3,ab"c,x,3\r\n', b'3,"ab"c,x,3\r\n']
    after = b"4,e,f,4\r\n5,g,h,5\r\n"
    data = good + b"".join(bad) + after
    q, off = [], len(good)
    for i, b in enumerate(bad):
        q.append((4 + i, off, off + len(b), b))
        off += len(b)
    row = lambda i, n, no, a: {"id": i, "name": n, "note": no, "amount": a}
    files = [("20261123_162552", [(2, row("1", "a", "b", "1")), (3, row("2", "c", "d", "2"))],
              {"offset": len(good), "line_no": 3}),
             ("20261123_162553", [(8, row("4", "e", "f", "4")), (9, row("5", "g", "h", "5"))],
              {"offset": len(data), "line_no": 9})]
    root = new_root("quarantine", data)
    make_outbox(root, files, q)
    out, err = expect_ok(root, "verify --csv: quarantined records set aside", "--csv")
    check("4 quarantined" in err, "verify --csv: counts the quarantined records", err)

    root = new_root("quarantine-missing", data)
    make_outbox(root, files, q[:1] + q[2:])
    expect_fail(root, "verify --csv: a bad record neither emitted nor quarantined", "invalid UTF-8", "--csv")

    root = new_root("quarantine-raw", data)
    make_outbox(root, files, q[:1] + [(5, q[1][1], q[1][2], b"3,xx,x,3\r\n")] + q[2:])
    expect_fail(root, "verify --csv: raw_base64 not the file's bytes", "raw_base64", "--csv")

    root = new_root("quarantine-line", data)
    make_outbox(root, files, q[:1] + [(6,) + q[1][1:]] + q[2:])
    expect_fail(root, "verify --csv: a quarantine line_no that is wrong", "line_no", "--csv")

    root = new_root("quarantine-end", data)
    make_outbox(root, files, [(4, q[0][1], q[0][2] - 2, q[0][3][:-2])] + q[1:])
    expect_fail(root, "verify --csv: a quarantine span that stops before the line end", "end of a line", "--csv")

    root = new_root("quarantine-dup", data)
    make_outbox(root, files, q + q[:1])
    expect_fail(root, "verify: the same offset quarantined twice", "quarantined twice")


def main():
    try:
        data = test_generator()
        one, two = test_reference_on_generated(data)
        test_edge_cases()
        test_tampering(one, two)
        test_quarantine()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    print("%s: %d failure(s)" % ("FAILED" if failures else "PASSED", failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
