"""Run receipts of the artifact pipeline (docs/pipeline.md, "Run receipts"): ids, the
hash chain, records citing receipts, `adam.lua verify`, runs killed before their
receipt, and repositories written before receipts had ids (migrated by appending).

The chain is checked here by an independent implementation written from the docs, so a
bug shared by the writer and `adam.lua verify` cannot hide."""
import hashlib
import json
import signal
import unittest

from harness import hostsync
from reference_verify import canonical
from test_pipeline import AT, Repo, write_input

ZERO = "0" * 64
CHAIN_FIELDS = {"receipt_sha256", "prev_chain", "chain"}


def sha(data):
    return hashlib.sha256(data).hexdigest()


def check_chain(test, repo):
    """Recomputes every receipt's hash and chain from the bytes on disk (docs/pipeline.md)."""
    raw = (repo.path / ".adam_os/runs/receipts.jsonl").read_bytes()
    head, offset, chained = None, 0, []
    for line in raw.splitlines(keepends=True):
        try:
            r = json.loads(line)
        except ValueError:
            r = None   # a torn fragment
        if isinstance(r, dict) and "chain" in r:
            body = {k: v for k, v in r.items() if k not in CHAIN_FIELDS}
            test.assertEqual(r["receipt_sha256"], sha(canonical(body).encode()))
            if head is None:
                expected = sha(raw[:offset]) if offset else ZERO
                if offset:
                    test.assertEqual(r["legacy"]["receipts_bytes"], offset)
                    test.assertEqual(r["legacy"]["receipts_sha256"], expected)
                head = expected
            test.assertEqual(r["prev_chain"], head)
            head = sha((head + r["receipt_sha256"]).encode())
            test.assertEqual(r["chain"], head)
            test.assertRegex(r["receipt_id"], r"^rcpt_[0-9a-f]{24}$")
            chained.append(r)
        else:
            test.assertIsNone(head, "an unchained receipt after the chain started")
        offset += len(line)
    return chained


def verify(repo):
    return hostsync("run", "adam.lua", "verify", "--repo", repo.path)


class ReceiptTest(unittest.TestCase):
    def test_receipts_are_chained_and_records_cite_them(self):
        repo = Repo(self)
        chain = repo.pipeline(write_input(self))
        repo.pipeline(write_input(self))   # a rerun: no new records, six more receipts
        receipts = check_chain(self, repo)
        self.assertEqual(len(receipts), 12)
        self.assertEqual(len({r["receipt_id"] for r in receipts}), 12)
        by_id = {r["receipt_id"]: r for r in receipts}
        for rec in repo.registry():
            receipt = by_id[rec["receipt_id"]]
            self.assertIn({"artifact_id": rec["artifact_id"], "sha256": rec["sha256"]}, receipt["outputs"])
            self.assertEqual(receipt["tool"], {"raw": "artifact_ingest", "sanitized": "artifact_sanitize",
                                               "canon": "artifact_canon_select",
                                               "bundle_manifest": "context_bundle_build",
                                               "build_spec": "spec_generate",
                                               "work_order": "work_order_emit"}[rec["artifact_type"]])
            self.assertEqual(receipt["inputs"], rec["parents"])
        # The rerun's receipts list the existing records as outputs; the records keep
        # citing the run that wrote them.
        self.assertEqual([r["outputs"] for r in receipts[6:]], [r["outputs"] for r in receipts[:6]])
        self.assertEqual([rec["receipt_id"] for rec in repo.registry()], [r["receipt_id"] for r in receipts[:6]])
        self.assertEqual(len(chain), 6)
        p = verify(repo)
        self.assertEqual(p.returncode, 0, p.err)
        self.assertRegex(p.out, r"^OK: 6 records \(0 from before receipt ids\), 12 receipts \(0 from before the "
                                r"chain, 0 torn fragments\), chain [0-9a-f]{64}")
        self.assertIn(receipts[-1]["chain"], p.out)

    def test_verify_finds_tampering(self):
        def damaged(edit):
            repo = Repo(self)
            repo.pipeline(write_input(self))
            path = repo.path / ".adam_os/runs/receipts.jsonl"
            lines = path.read_bytes().splitlines(keepends=True)
            edit(repo, path, lines)
            return verify(repo)

        def change_tool(repo, path, lines):
            r = json.loads(lines[2])
            r["tool"] = "artifact_ingest"
            lines[2] = (canonical(r) + "\n").encode()
            path.write_bytes(b"".join(lines))

        def drop_receipt(repo, path, lines):
            path.write_bytes(b"".join(lines[:2] + lines[3:]))

        def rehash_forged(repo, path, lines):   # a forger who recomputes receipt_sha256 but not the chain
            r = json.loads(lines[1])
            r["outputs"] = []
            r["receipt_sha256"] = sha(canonical({k: v for k, v in r.items() if k not in CHAIN_FIELDS}).encode())
            lines[1] = (canonical(r) + "\n").encode()
            path.write_bytes(b"".join(lines))

        def record_without_receipt(repo, path, lines):
            reg = repo.path / ".adam_os/artifacts/artifact_registry.jsonl"
            rec = repo.registry()[-1]
            del rec["receipt_id"]
            rec["artifact_id"] = "x"
            with open(reg, "a") as f:
                f.write(json.dumps(rec) + "\n")

        def modified_artifact(repo, path, lines):
            (repo.path / repo.registry()[0]["relpath"]).write_bytes(b"changed")

        cases = {
            "a receipt's content changed": (change_tool, r"receipts\.jsonl:3: receipt_sha256 does not match"),
            "a receipt removed": (drop_receipt, r"receipts\.jsonl:3: prev_chain does not match"),
            "a receipt rewritten with its own hash": (rehash_forged, r"receipts\.jsonl:2: chain is not sha256"),
            "a record appended by hand": (record_without_receipt, r"no receipt_id, after records that have one"),
            "an artifact modified": (modified_artifact, r"does not match its sha256"),
        }
        for name, (edit, pattern) in cases.items():
            with self.subTest(name):
                p = damaged(edit)
                self.assertEqual(p.returncode, 1, p.out)
                self.assertRegex(p.err, pattern)

    def test_a_run_killed_before_its_receipt_is_completed_by_the_next_run(self):
        repo = Repo(self)
        raw = repo.tool("artifact_ingest", "--src", write_input(self))[0]
        p = hostsync("run", "adam.lua", "artifact_sanitize", "--repo", repo.path, "--at", AT,
                     "--parent", raw["artifact_id"], env={"HOSTSYNC_FAILPOINT": "adam_before_receipt"})
        self.assertEqual(p.returncode, -signal.SIGKILL, p.err)
        san = repo.registry()[-1]
        self.assertEqual(san["artifact_type"], "sanitized")
        self.assertEqual(len(check_chain(self, repo)), 1)   # only ingest's receipt
        p = verify(repo)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"its receipt {san['receipt_id']} is not in the chain", p.err)
        # The next run (any tool) appends the dead run's receipt from what its records say.
        canon = repo.tool("artifact_canon_select", "--select", san["artifact_id"])[0]
        receipts = check_chain(self, repo)
        self.assertEqual([r["tool"] for r in receipts], ["artifact_ingest", "artifact_sanitize", "artifact_canon_select"])
        completed = receipts[1]
        self.assertEqual(completed["receipt_id"], san["receipt_id"])
        self.assertEqual(completed["outputs"], [{"artifact_id": san["artifact_id"], "sha256": san["sha256"]}])
        self.assertEqual(completed["inputs"], san["parents"])
        self.assertEqual(completed["meta"], {"interrupted": True, "completed_by": receipts[2]["receipt_id"]})
        self.assertEqual(canon["receipt_id"], receipts[2]["receipt_id"])
        p = verify(repo)
        self.assertEqual(p.returncode, 0, p.err)

    def test_a_repository_from_before_receipt_ids_is_continued_not_rewritten(self):
        """An old repository: receipts without ids or chain, records without receipt_id.
        The first new receipt commits to the old bytes; nothing old is rewritten."""
        repo = Repo(self)
        repo.pipeline(write_input(self))
        reg = repo.path / ".adam_os/artifacts/artifact_registry.jsonl"
        rec_path = repo.path / ".adam_os/runs/receipts.jsonl"
        old_records = [json.loads(l) for l in reg.read_text().splitlines()]
        for r in old_records:
            del r["receipt_id"]
        reg.write_text("".join(canonical(r) + "\n" for r in old_records))
        old_receipts = [{"at": r["at"], "tool": r["tool"], "inputs": r["inputs"], "outputs": r["outputs"]}
                        for r in map(json.loads, rec_path.read_text().splitlines())]
        rec_path.write_text("".join(canonical(r) + "\n" for r in old_receipts) + '{"at":"torn')
        old_registry, old_log = reg.read_bytes(), rec_path.read_bytes()

        new = repo.tool("artifact_ingest", "--src", write_input(self, b"after the upgrade"))[0]
        self.assertTrue(reg.read_bytes().startswith(old_registry))
        self.assertTrue(rec_path.read_bytes().startswith(old_log))
        receipts = check_chain(self, repo)
        self.assertEqual(len(receipts), 1)
        first = receipts[0]
        self.assertEqual(first["legacy"], {"receipts_bytes": len(old_log) + 1,    # + the newline ending the torn line
                                           "receipts_sha256": sha(old_log + b"\n"),
                                           "registry_records": 6})
        self.assertEqual(new["receipt_id"], first["receipt_id"])
        p = verify(repo)
        self.assertEqual(p.returncode, 0, p.err)
        self.assertIn("OK: 7 records (6 from before receipt ids), 1 receipts (6 from before the chain, 1 torn fragments)",
                      p.out)
        # The old receipts are covered by the chain now: changing one is found.
        rec_path.write_bytes(old_log.replace(b"artifact_sanitize", b"artifact_sanitizE", 1)
                             + rec_path.read_bytes()[len(old_log):])
        p = verify(repo)
        self.assertEqual(p.returncode, 1)
        self.assertIn("the receipts before the chain changed", p.err)

    def test_export_verify_and_restore_receipts(self):
        from test_snapshot import keypair
        repo = Repo(self)
        wo = repo.pipeline(write_input(self))[5]
        key, recipient = keypair(self)
        enc, man = repo.tool("snapshot_export", "--work-order", wo["artifact_id"], "--recipient", recipient,
                             "--snapshot-id", "s1")
        p = hostsync("run", "adam.lua", "snapshot_verify", "--repo", repo.path, "--snapshot-id", "s1",
                     "--identity-file", key)   # no --at: verify records nothing
        self.assertEqual(p.returncode, 0, p.err)
        dest = repo.path.parent / (repo.path.name + "-restored")
        self.addCleanup(lambda: __import__("shutil").rmtree(dest, True))
        p = hostsync("run", "adam.lua", "snapshot_restore", "--repo", repo.path, "--snapshot-id", "s1",
                     "--identity-file", key, "--dest", dest)
        self.assertEqual(p.returncode, 0, p.err)
        export, checked, restored = check_chain(self, repo)[-3:]
        wo_link = {"artifact_id": wo["artifact_id"], "sha256": wo["sha256"]}
        snap_links = [{"artifact_id": r["artifact_id"], "sha256": r["sha256"]} for r in (enc, man)]
        self.assertEqual(export["inputs"], [wo_link])   # once, though both records name it
        self.assertEqual(export["outputs"], snap_links)
        self.assertEqual(enc["receipt_id"], export["receipt_id"])
        self.assertEqual(man["receipt_id"], export["receipt_id"])
        for receipt, tool in ((checked, "snapshot_verify"), (restored, "snapshot_restore")):
            self.assertEqual(receipt["tool"], tool)
            self.assertEqual(receipt["inputs"], snap_links)
            self.assertEqual(receipt["outputs"], [])
            self.assertNotIn("at", receipt)
            self.assertEqual(receipt["meta"]["snapshot_id"], "s1")
        self.assertEqual(restored["meta"]["dest"], str(dest))
        p = verify(repo)
        self.assertEqual(p.returncode, 0, p.err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
