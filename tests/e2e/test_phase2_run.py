"""Phase 2 end to end: packets, seals, checkpoint, idempotent reruns, verify."""
import hashlib
import json
import pathlib
import unittest

from harness import Root, HEADER, tricky_records, csv_records, jcs, hostsync


def hostsync_run(*args, **kw):
    return hostsync("run", "phase2.lua", "--quiet", *args, **kw)

PACKET_FIELDS = ["packet_version", "run_id", "seq", "source", "row", "row_hash", "observed_at"]


class Phase2RunTest(unittest.TestCase):
    def test_first_run_emits_every_record_as_specified(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(50))
        p = root.run(check=True)
        self.assertRegex(p.out, r"^OK: 50 packets seq 1\.\.50 -> infield/ai_save/outbox/sync_\d{8}_\d{6}\.jsonl chain [0-9a-f]{64}\n$")
        packets = root.packets()
        header, records = csv_records(root.index)
        self.assertEqual(len(packets), 50)
        for seq, (p, (line_no, row)) in enumerate(zip(packets, records), start=1):
            self.assertEqual(list(p.keys()), PACKET_FIELDS)
            self.assertEqual(p["packet_version"], "0.1")
            self.assertRegex(p["run_id"], r"^\d{8}_\d{6}$")
            self.assertEqual(p["seq"], seq)
            self.assertEqual(p["source"], {"path": "infield/ai_save/index.csv", "line_no": line_no})
            self.assertEqual(p["row"], row)
            self.assertEqual(p["row_hash"], "sha256:" + hashlib.sha256(jcs(row).encode()).hexdigest())
            self.assertRegex(p["observed_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
        root.reference_verify(self)

    def test_seal_chain_and_checkpoint(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(5))
        root.run(check=True)
        root.append(tricky_records(3, start=6))
        root.run(check=True)
        seals = root.seals()
        self.assertEqual(len(seals), 2)
        prev = "0" * 64
        for seal in seals:
            data = (root.outbox / seal["file"]).read_bytes()
            self.assertEqual(seal["sha256"], hashlib.sha256(data).hexdigest())
            self.assertEqual(seal["prev_chain"], prev)
            self.assertEqual(seal["chain"], hashlib.sha256((prev + seal["sha256"]).encode()).hexdigest())
            prev = seal["chain"]
        self.assertEqual((seals[0]["first_seq"], seals[0]["last_seq"], seals[0]["packets"]), (1, 5, 5))
        self.assertEqual((seals[1]["first_seq"], seals[1]["last_seq"], seals[1]["packets"]), (6, 8, 3))
        state = root.state()
        self.assertEqual(state["last_chain_hash"], prev)
        self.assertEqual(state["last_seq"], 8)
        self.assertEqual(state["last_file"], seals[1]["file"])
        diff = root.state("diff_state.json")
        self.assertEqual(diff["offset"], root.index.stat().st_size)
        self.assertEqual(diff["last_line_no"], root.index.read_bytes().count(b"\n"))
        # Two runs within one second got distinct run ids and files.
        self.assertNotEqual(seals[0]["run_id"], seals[1]["run_id"])
        root.reference_verify(self)

    def test_nothing_new_prints_exactly_and_writes_nothing(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(4))
        root.run(check=True)
        before = root.snapshot()
        p = root.run()
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.out, "OK: no new packets; skip seal\n")
        self.assertEqual(root.snapshot(), before)

    def test_empty_and_header_only_files(self):
        root = Root(self)
        root.write(b"")
        p = root.run()
        self.assertEqual((p.returncode, p.out), (0, "OK: no new packets; skip seal\n"))
        root.write(HEADER.encode())
        p = root.run()
        self.assertEqual((p.returncode, p.out), (0, "OK: no new packets; skip seal\n"))
        root.append(tricky_records(2))
        p = root.run(check=True)
        self.assertIn("OK: 2 packets seq 1..2", p.out)
        self.assertEqual([p["source"]["line_no"] for p in root.packets()], [2, 3])

    def test_torn_final_record_waits_until_complete(self):
        root = Root(self)
        root.write(HEADER.encode() + b"1,a,b,2\r\n2,c,\"open quote\r\nstill open")
        p = root.run(check=True)
        self.assertIn("OK: 1 packets seq 1..1", p.out)
        self.assertIn("incomplete record", p.err)
        self.assertIn(":3:", p.err)
        root.append(b"\",9\r\n3,x,y,")
        p = root.run(check=True)
        self.assertIn("OK: 1 packets seq 2..2", p.out)
        root.append(b"7\n")
        root.run(check=True)
        packets = root.packets()
        self.assertEqual([p["seq"] for p in packets], [1, 2, 3])
        self.assertEqual(packets[1]["row"]["note"], "open quote\r\nstill open")
        self.assertEqual(packets[1]["source"]["line_no"], 3)
        self.assertEqual(packets[2]["source"]["line_no"], 5)
        self.assertEqual(packets[2]["row"]["amount"], "7")
        root.reference_verify(self)

    def test_bom_crlf_lf_blank_lines_and_line_numbers(self):
        root = Root(self)
        root.write(b"\xef\xbb\xbfid,v\n\n1,a\r\n\r\n\"2\",\"multi\nline\"\n3,\n")
        root.run(check=True)
        packets = root.packets()
        self.assertEqual([(p["source"]["line_no"], p["row"]) for p in packets], [
            (3, {"id": "1", "v": "a"}),
            (5, {"id": "2", "v": "multi\nline"}),
            (7, {"id": "3", "v": ""}),
        ])

    def test_one_megabyte_field(self):
        root = Root(self)
        big = "\u00e9" * 500_000 + "x"  # 1,000,001 bytes of UTF-8
        root.write(f'id,blob\n1,"{big}"\n2,small\n'.encode())
        root.run(check=True)
        packets = root.packets()
        self.assertEqual(packets[0]["row"]["blob"], big)
        self.assertEqual(packets[1]["source"]["line_no"], 3)

    def test_max_packets_splits_across_runs(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(10))
        self.assertIn("OK: 4 packets seq 1..4", root.run("--max-packets", "4", check=True).out)
        self.assertIn("OK: 4 packets seq 5..8", root.run("--max-packets", "4", check=True).out)
        self.assertIn("OK: 2 packets seq 9..10", root.run(check=True).out)
        root.reference_verify(self)

    def test_verify_accepts_good_outbox_and_names_broken_file(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(20))
        root.run(check=True)
        p = root.run("verify", "--deep")
        self.assertEqual(p.returncode, 0, p.err)
        self.assertRegex(p.out, r"^OK: 1 seals, 20 packets, chain [0-9a-f]{64}")
        sync = root.outbox / root.seals()[0]["file"]
        data = bytearray(sync.read_bytes())
        data[100] ^= 0x01
        sync.write_bytes(bytes(data))
        p = root.run("verify")
        self.assertEqual(p.returncode, 1)
        self.assertIn(sync.name, p.err)
        self.assertIn("SHA-256", p.err)

    def test_verify_finds_a_forged_packet_whose_hashes_were_recomputed(self):
        """Someone rewrites a packet and recomputes the file's hash, the chain and
        state.json: every hash agrees, but the packet is not what hostsync writes."""
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(5))
        root.run(check=True)
        forgeries = {
            "row is not a canonical JSON object": lambda p: p.replace('"row":{"amount"', '"row":{ "amount"', 1),
            "row_hash is not the SHA-256 of the object before it": lambda p: p.replace('"id":"3"', '"id":"9"', 1),
            "seq is 7, expected 3": lambda p: p.replace('"seq":3,', '"seq":7,', 1),
        }
        for name, forge in forgeries.items():
            with self.subTest(forgery=name):
                r = Root(self)
                r.write(root.index.read_bytes())
                r.run(check=True)
                seal = r.seals()[0]
                path = r.outbox / seal["file"]
                lines = path.read_text("utf-8").split("\n")
                lines[2] = forge(lines[2])
                data = "\n".join(lines).encode()
                path.write_bytes(data)
                seal.update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
                seal["chain"] = hashlib.sha256(("0" * 64 + seal["sha256"]).encode()).hexdigest()
                (r.outbox / "seals.jsonl").write_text(json.dumps(seal, sort_keys=True, separators=(",", ":")) + "\n")
                state = r.state()
                state["last_chain_hash"] = seal["chain"]
                (r.state_dir / "state.json").write_text(json.dumps(state))
                p = r.run("verify")
                self.assertEqual(p.returncode, 1, p.out)
                self.assertIn("%s:3: packet seq 3: %s" % (path, name), p.err)

    def test_verify_names_a_broken_packet_and_a_bad_state(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(3))
        root.run(check=True)
        state = root.state()
        state["last_chain_hash"] = "f" * 64
        (root.state_dir / "state.json").write_text(json.dumps(state))
        p = root.run("verify")
        self.assertEqual(p.returncode, 1)
        self.assertIn("last_chain_hash", p.err)

    def test_index_path_in_packets_is_relative_to_the_root(self):
        """--index as an absolute path, through a symlinked root, or with ./ and // all
        name the same file: source.path is its path relative to the root."""
        import os
        import tempfile
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(3))
        root.run(check=True)
        link = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-e2e-link-")) / "root"
        self.addCleanup(lambda: (link.unlink(), link.parent.rmdir()))
        link.symlink_to(root.path)
        forms = [
            (root.path, str(root.index)),                            # absolute, inside
            (link, str(root.index)),                                 # root given through a symlink
            (root.path, str(link / "infield/ai_save/index.csv")),    # index given through one
            (root.path, "./infield//ai_save/./index.csv"),
        ]
        for n, (root_arg, index_arg) in enumerate(forms):
            with self.subTest(root=str(root_arg), index=index_arg):
                root.append(tricky_records(1, start=4 + n))
                p = hostsync_run("--root", root_arg, "--index", index_arg, check=True)
                self.assertIn("OK: 1 packets", p.out)
        self.assertEqual({p["source"]["path"] for p in root.packets()}, {"infield/ai_save/index.csv"})
        self.assertEqual(root.state("diff_state.json")["source"], "infield/ai_save/index.csv")
        root.reference_verify(self)

    def test_index_outside_the_root_is_refused(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(3))
        other = Root(self)
        other.write(HEADER.encode() + tricky_records(3))
        for index in (str(other.index), "../x/index.csv", "infield/../../index.csv"):
            with self.subTest(index=index):
                p = root.run("--index", index)
                self.assertEqual(p.returncode, 2, p.err)
                self.assertIn("--index " + index, p.err)
                self.assertFalse(root.outbox.exists(), "nothing written")

    def test_status(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(3))
        root.run(check=True)
        p = root.run("status", check=True)
        self.assertIn("cursor:", p.out)
        self.assertRegex(p.out, r"last seal: sync_\d{8}_\d{6}\.jsonl seq 1\.\.3")


if __name__ == "__main__":
    unittest.main(verbosity=2)
