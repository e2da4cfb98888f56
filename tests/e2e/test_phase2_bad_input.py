"""Bad rows and rewritten history: a clear error naming the line, nothing lost or skipped."""
import base64
import json
import unittest

from harness import Root, HEADER, tricky_records

GOOD = b"id,name,note,amount\r\n1,a,b,1\r\n2,c,d,2\r\n"
BAD_ROWS = {
    "field count": b"3,only,three\r\n",
    "invalid UTF-8": b"3,\xff\xfe,x,3\r\n",
    "quote in unquoted field": b'3,ab"c,x,3\r\n',
    "text after closing quote": b'3,"ab"c,x,3\r\n',
}
AFTER = b"4,e,f,4\r\n5,g,h,5\r\n"


class BadRowTest(unittest.TestCase):
    def test_each_bad_row_stops_the_run_after_emitting_what_came_before(self):
        for kind, bad in BAD_ROWS.items():
            with self.subTest(kind=kind):
                root = Root(self)
                root.write(GOOD + bad + AFTER)
                p = root.run()
                self.assertEqual(p.returncode, 1, p.out + p.err)
                self.assertIn("index.csv", p.err)
                self.assertIn("line 4", p.err)
                self.assertIn("--quarantine", p.err)
                self.assertIn("OK: 2 packets seq 1..2", p.out)
                self.assertEqual([q["row"]["id"] for q in root.packets()], ["1", "2"])
                # Rerunning stops at the same row and emits nothing more.
                p = root.run()
                self.assertEqual(p.returncode, 1)
                self.assertIn("line 4", p.err)
                self.assertEqual(len(root.packets()), 2)
                self.assertEqual(root.run("verify").returncode, 0)

    def test_quarantine_sets_bad_rows_aside_once_and_goes_on(self):
        root = Root(self)
        bad = b"".join(BAD_ROWS.values())
        root.write(GOOD + bad + AFTER)
        p = root.run("--quarantine")
        self.assertEqual(p.returncode, 0, p.err)
        self.assertIn("OK: 4 packets", p.out)
        self.assertIn("quarantined 4 bad record(s)", p.err)
        self.assertEqual([q["row"]["id"] for q in root.packets()], ["1", "2", "4", "5"])
        entries = [json.loads(l) for l in (root.outbox / "quarantine.jsonl").read_text().splitlines()]
        self.assertEqual([e["source"]["line_no"] for e in entries], [4, 5, 6, 7])
        self.assertEqual(base64.b64decode(entries[1]["raw_base64"]), BAD_ROWS["invalid UTF-8"])
        self.assertEqual(base64.b64decode(entries[0]["raw_base64"]), BAD_ROWS["field count"])
        for e in entries:
            self.assertTrue(e["reason"])
        # A rerun (and a rerun after losing the cursor) adds nothing twice.
        root.run("--quarantine", check=True)
        (root.state_dir / "diff_state.json").unlink()
        p = root.run("--quarantine", check=True)
        self.assertEqual(p.out, "OK: no new packets; skip seal\n")
        self.assertEqual(len((root.outbox / "quarantine.jsonl").read_text().splitlines()), 4)
        root.reference_verify(self)
        self.assertEqual(root.run("verify", "--deep").returncode, 0)

    def test_bad_header(self):
        root = Root(self)
        root.write(b"id,name,id\n1,2,3\n")
        p = root.run()
        self.assertEqual(p.returncode, 1)
        self.assertIn("id", p.err)
        self.assertFalse((root.outbox / "seals.jsonl").exists())


class AppendOnlyTest(unittest.TestCase):
    def setUp(self):
        self.root = Root(self)
        self.root.write(HEADER.encode() + tricky_records(30))
        self.root.run(check=True)
        self.before = self.root.snapshot()

    def assert_refused(self, words):
        self.root.append(tricky_records(5, start=100))
        p = self.root.run()
        self.assertEqual(p.returncode, 1, p.out + p.err)
        self.assertIn(words, p.err)
        self.assertNotIn("OK:", p.out)
        self.assertEqual(self.root.snapshot(), self.before)

    def test_truncated_to_nothing(self):
        self.root.write(b"")
        p = self.root.run()
        self.assertEqual(p.returncode, 1)
        self.assertIn("shrank", p.err)
        self.assertEqual(self.root.snapshot(), self.before)

    def test_shrunk(self):
        data = self.root.index.read_bytes()
        self.root.write(data[: len(data) // 2])
        self.assert_refused("shrank")

    def test_rewritten_in_place_same_size(self):
        data = bytearray(self.root.index.read_bytes())
        i = data.index(b"name7")
        data[i:i + 5] = b"NAME7"
        self.root.write(bytes(data))
        self.assert_refused("rewritten")

    def test_header_changed(self):
        data = self.root.index.read_bytes()
        self.root.write(data.replace(b"id,name", b"ID,name", 1))
        self.assert_refused("rewritten")

    def test_replaced_by_longer_different_history(self):
        self.root.write(HEADER.encode() + tricky_records(40, seed=99))
        self.assert_refused("rewritten")

    def test_deep_verify_finds_an_edit_in_any_block(self):
        root = Root(self)
        # 12 full 1 MiB blocks and a tail: an edit in a middle block that a run may not sample.
        rows = b"".join(b"%d,n,%s,1\r\n" % (i, b"z" * 90) for i in range(1, 130_000))
        root.write(HEADER.encode() + rows)
        root.run(check=True)
        self.assertEqual(root.run("verify", "--deep").returncode, 0)
        data = bytearray(root.index.read_bytes())
        pos = 6 * 1024 * 1024
        pos = data.index(b"zzz", pos)
        data[pos] = ord("y")
        root.write(bytes(data))
        p = root.run("verify", "--deep")
        self.assertEqual(p.returncode, 1)
        self.assertIn("rewritten", p.err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
