"""Taking over a deployment of the seed's PowerShell original: resume after its
last_line_no, continue its chain, never change its files; refuse, changing nothing, what
cannot be adopted safely."""
import base64
import hashlib
import json
import signal
import subprocess
import sys
import unittest

from harness import Root, HEADER, REFERENCE_VERIFY, tricky_records, csv_records
from legacy_support import LegacyDeployment, single_line_records, BOM, ps_pretty_state


def adoption_seal(root):
    seals = root.seals()
    return seals[0], json.loads((root.outbox / seals[0]["file"]).read_text("utf-8"))


class AdoptionTest(unittest.TestCase):
    def legacy(self, runs=3, per_run=20, **kw):
        root = Root(self)
        root.write(HEADER.encode())
        old = LegacyDeployment(root, **kw)
        for i in range(runs):
            root.append(single_line_records(per_run, start=1 + i * per_run))
            self.assertIsNotNone(old.run())
        return root, old

    def assert_sound(self, root):
        p = root.run("verify", "--deep")
        self.assertEqual(p.returncode, 0, p.err)
        root.reference_verify(self)

    def test_run_takes_over_and_continues_the_chain(self):
        for seq_style in ("per_run", "record_index"):
            with self.subTest(seq_style=seq_style):
                root, old = self.legacy(seq_style=seq_style)
                before = old.fingerprint()
                head = old.chain()
                ds_bytes, st_bytes = old.diff_state.read_bytes(), old.state.read_bytes()
                root.append(single_line_records(5, start=61))
                p = root.run(check=True)
                self.assertIn("took over the existing deployment: 3 old file(s), 60 packet(s)", p.err)
                self.assertIn("old chain head %s (reproduced from the files)" % head, p.err)
                self.assertIn("resuming after line 61 of infield/ai_save/index.csv", p.err)
                self.assertEqual(old.fingerprint(), before, "no old file changed")

                seal, manifest = adoption_seal(root)
                self.assertRegex(seal["file"], r"^adoption_\d{8}_\d{6}\.json$")
                self.assertEqual(seal["prev_chain"], head)
                self.assertEqual(seal["chain"], hashlib.sha256((head + seal["sha256"]).encode()).hexdigest())
                self.assertEqual([(f["file"], f["sha256"]) for f in manifest["files"]], sorted(before.items()))
                self.assertEqual(manifest["legacy"]["last_line_no"], 61)
                self.assertTrue(manifest["legacy"]["chain_reproduced"])
                self.assertEqual(base64.b64decode(manifest["legacy"]["diff_state_base64"]), ds_bytes)
                self.assertEqual(base64.b64decode(manifest["legacy"]["state_base64"]), st_bytes)
                last_old_seq = 20 if seq_style == "per_run" else 60
                self.assertEqual((seal["packets"], seal["first_seq"], seal["last_seq"]), (60, 1, last_old_seq))
                self.assertEqual(seal["cursor"]["line_no"], 61)

                new = root.packets()
                self.assertEqual([p["seq"] for p in new], list(range(last_old_seq + 1, last_old_seq + 6)))
                _, records = csv_records(root.index)
                self.assertEqual([(p["source"]["line_no"], p["row"]) for p in new], records[60:])
                self.assertEqual(root.state()["last_chain_hash"], root.seals()[-1]["chain"])
                self.assertEqual(root.state("diff_state.json")["offset"], root.index.stat().st_size)
                self.assertEqual(root.run(check=True).out, "OK: no new packets; skip seal\n")
                self.assertEqual(len(root.seals()), 2, "adopted once")
                self.assert_sound(root)

    def test_adopt_alone_then_run(self):
        root, old = self.legacy(runs=2)
        before = root.snapshot()
        p = root.run("status", check=True)
        self.assertIn("takeover:  a deployment of the PowerShell original, 2 old file(s), 40 packet(s); "
                      "the next run takes it over and resumes at line 41", p.out)
        self.assertEqual(root.snapshot(), before, "status changes nothing")
        p = root.run("adopt", check=True)
        self.assertRegex(p.out, r"^OK: adopted -> adoption_\d{8}_\d{6}\.json chain [0-9a-f]{64}\n$")
        self.assertEqual([s["file"] for s in root.seals()][1:], [])
        self.assertEqual(root.run("adopt", check=True).out, "OK: nothing to adopt\n")
        self.assertIn("adopted:   adoption_", root.run("status", check=True).out)
        self.assert_sound(root)
        root.append(single_line_records(3, start=41))
        self.assertIn("OK: 3 packets seq 21..23", root.run(check=True).out)
        self.assert_sound(root)

    def test_only_state_files_no_sync_files(self):
        """The old sync files were archived elsewhere: the state files alone say where to go on."""
        root, old = self.legacy(runs=2)
        for f in old.files():
            f.unlink()
        head = json.loads(old.state.read_bytes().decode("utf-8-sig"))["last_chain_hash"]
        root.append(single_line_records(2, start=41))
        p = root.run(check=True)
        self.assertIn("0 old file(s), 0 packet(s)", p.err)
        self.assertIn("not reproducible from the files", p.err)
        seal, manifest = adoption_seal(root)
        self.assertEqual((seal["prev_chain"], seal["first_seq"], seal["last_seq"]), (head, 1, 0))
        self.assertEqual([p["source"]["line_no"] for p in root.packets()], [42, 43])
        self.assertEqual([p["seq"] for p in root.packets()], [1, 2])
        self.assert_sound(root)

    def test_physical_line_numbers_and_a_last_record_on_several_lines(self):
        """An original that numbered physical lines and saved the start line of its last
        record, which spans lines: that record has a packet, so it was sent."""
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(30))
        old = LegacyDeployment(root, numbering="lines", seq_style="record_index")
        root.append(b'31,x,"two\r\nlines",5\r\n')
        old.run()
        last_line_no = old.last_line_no()
        self.assertEqual(last_line_no, root.index.read_bytes().count(b"\n") - 1, "inside the last record")
        root.append(tricky_records(4, start=32))
        p = root.run(check=True)
        self.assertIn("took over", p.err)
        seal, _ = adoption_seal(root)
        self.assertEqual(seal["cursor"]["line_no"], last_line_no + 1)
        _, records = csv_records(root.index)
        self.assertEqual([(p["source"]["line_no"], p["row"]) for p in root.packets()], records[31:])
        self.assert_sound(root)

    def test_what_cannot_be_adopted_safely_is_refused_and_nothing_changes(self):
        cases = {}

        def beyond(root, old):
            old.diff_state.write_bytes(ps_pretty_state("last_line_no", 500))
        cases["beyond"] = (beyond, "says line 500 was read, but infield/ai_save/index.csv has only 61 complete lines")

        def inside(root, old):
            root.append(b'61,x,"a\r\nb\r\nc",1\r\n')
            old.diff_state.write_bytes(ps_pretty_state("last_line_no", 63))
        cases["inside a record nobody sent"] = (
            inside, "says line 63 was read, but that line is inside the record on lines 62..64 of "
            "infield/ai_save/index.csv, and no old packet holds that record")

        def garbage(root, old):
            with open(old.files()[1], "ab") as f:
                f.write(b"{not json\r\n")
        cases["a line that does not parse"] = (garbage, "line 21 is not JSON")

        def torn(root, old):
            with open(old.files()[2], "ab") as f:
                f.write(b'{"packet_version":"0.1","run_id":')
        cases["a torn last line"] = (torn, "ends with an incomplete line")

        def utf16(root, old):
            f = old.files()[0]
            f.write_bytes(b"\xff\xfe" + f.read_bytes().decode("utf-8-sig").encode("utf-16-le"))
        cases["UTF-16"] = (utf16, "is UTF-16")

        def behind(root, old):
            old.diff_state.write_bytes(ps_pretty_state("last_line_no", 41))
        cases["packets after last_line_no"] = (behind, "holds line 61 of infield/ai_save/index.csv, after last_line_no 41")

        def lost(root, old):
            old.files()[1].unlink()
        cases["a lost file"] = (lost, "20 record(s) of infield/ai_save/index.csv up to line 61 are in no old sync file (the first on line 22)")

        def bad_head(root, old):
            old.state.write_bytes(ps_pretty_state("last_chain_hash", "not a hash"))
        cases["bad chain head"] = (bad_head, 'last_chain_hash is "not a hash", not a SHA-256 in hex')

        def no_cursor(root, old):
            old.diff_state.unlink()
        cases["no diff_state.json"] = (no_cursor, "diff_state.json is missing: adoption needs the original's last_line_no")

        for name, (damage, message) in cases.items():
            with self.subTest(case=name):
                root, old = self.legacy()
                damage(root, old)
                before = root.snapshot()
                p = root.run()
                self.assertEqual(p.returncode, 1, p.out + p.err)
                self.assertIn("cannot take over the existing Phase 2 deployment", p.err)
                self.assertIn(message, p.err)
                self.assertIn("Nothing was changed", p.err)
                self.assertEqual(root.snapshot(), before)
                v = root.run("verify")
                self.assertEqual(v.returncode, 1)
                self.assertIn("has not taken over yet", v.err)

    def test_import_csv_record_numbers_are_refused_when_a_value_spans_lines(self):
        root = Root(self)
        root.write(HEADER.encode() + single_line_records(5) + b'6,x,"two\r\nlines",6\r\n'
                   + single_line_records(5, start=7))
        old = LegacyDeployment(root, numbering="records")
        old.run()
        before = root.snapshot()
        p = root.run()
        self.assertEqual(p.returncode, 1, p.err)
        self.assertIn("numbered lines differently", p.err)
        self.assertEqual(root.snapshot(), before)

    def test_crash_during_adoption_converges(self):
        for point in ("adopt_before_seal", "adopt_before_state"):
            with self.subTest(failpoint=point):
                root, old = self.legacy()
                before = old.fingerprint()
                root.append(single_line_records(3, start=61))
                p = root.run(env={"HOSTSYNC_FAILPOINT": point})
                self.assertEqual(p.returncode, -signal.SIGKILL, p.err)
                p = root.run(check=True)
                if point == "adopt_before_seal":
                    self.assertIn("left unsealed by an interrupted adoption", p.err)
                    self.assertIn("took over", p.err)
                else:
                    self.assertIn("has last_line_no 61 but no byte offset (not written by hostsync); the cursor "
                                  "comes from the last seal, and the file is rewritten", p.err)
                self.assertIn("OK: 3 packets", p.out)
                self.assertEqual(old.fingerprint(), before)
                self.assertEqual(len([s for s in root.seals() if s["file"].startswith("adoption_")]), 1)
                self.assertEqual(len(list(root.outbox.glob("adoption_*.json"))), 1)
                self.assert_sound(root)

    def test_a_changed_old_file_is_found(self):
        root, old = self.legacy()
        root.run(check=True)
        f = old.files()[0]
        data = bytearray(f.read_bytes())
        data[60] ^= 0x01
        f.write_bytes(bytes(data))
        v = root.run("verify")
        self.assertEqual(v.returncode, 1)
        self.assertIn(f.name, v.err)
        self.assertIn("SHA-256", v.err)
        ref = subprocess.run([sys.executable, str(REFERENCE_VERIFY), str(root.path)], capture_output=True, text=True)
        self.assertEqual(ref.returncode, 1)
        self.assertIn(f.name + ": size/SHA-256 differ from the adoption manifest", ref.stderr)
        with open(f, "ab") as out:
            out.write(b"{}\r\n")
        root.append(single_line_records(1, start=61))
        p = root.run()
        self.assertEqual(p.returncode, 1)
        self.assertIn(f.name, p.err)
        self.assertIn("outbox was modified", p.err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
