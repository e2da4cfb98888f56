"""Crash safety by doing it: kill -9 the runner at random moments and at every step
boundary, rerun, and check that every complete record appears exactly once."""
import os
import random
import signal
import subprocess
import time
import unittest

from harness import Root, HEADER, HOSTSYNC, tricky_records, csv_records, hostsync

FAILPOINTS = ["before_rename", "before_seal", "before_state", "before_cursor", "after_cursor"]


def assert_converged(test, root):
    """Everything complete in index.csv is in the outbox exactly once, in order."""
    _, records = csv_records(root.index)
    packets = root.packets()
    test.assertEqual([p["seq"] for p in packets], list(range(1, len(packets) + 1)))
    test.assertEqual([(p["source"]["line_no"], p["row"]) for p in packets], records)
    p = root.run("verify", "--deep")
    test.assertEqual(p.returncode, 0, p.err)
    root.reference_verify(test)
    test.assertEqual([n for n in os.listdir(root.outbox) if n.endswith(".tmp")], [])


class CrashTest(unittest.TestCase):
    def test_kill_at_every_step_boundary(self):
        for point in FAILPOINTS:
            with self.subTest(failpoint=point):
                root = Root(self)
                root.write(HEADER.encode() + tricky_records(200))
                p = root.run(env={"HOSTSYNC_FAILPOINT": point})
                self.assertEqual(p.returncode, -signal.SIGKILL, p.err)
                root.append(tricky_records(50, start=201))
                p = root.run(env={"HOSTSYNC_FAILPOINT": point})   # crash again, during recovery's run
                self.assertEqual(p.returncode, -signal.SIGKILL, p.err)
                root.run(check=True)
                assert_converged(self, root)

    def test_kill_at_random_moments_during_large_runs(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(150_000, seed=7))
        # How long does a full run take here? Kill within that window.
        probe = Root(self)
        probe.write(root.index.read_bytes())
        t0 = time.monotonic()
        probe.run(check=True)
        full = time.monotonic() - t0
        rnd = random.Random(int(os.environ.get("CRASH_SEED", "12345")))
        kills = 0
        next_id = 150_001
        for round_no in range(40):
            proc = subprocess.Popen([HOSTSYNC, "run", "phase2.lua", "--root", str(root.path), "--quiet",
                                     "--max-packets", str(rnd.choice([5_000, 20_000, 100_000]))],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rnd.uniform(0, full * 1.2))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
            if round_no % 5 == 4:   # the writer keeps appending, sometimes a torn tail
                root.append(tricky_records(500, start=next_id, seed=round_no))
                next_id += 500
        sealed_before = len(root.seals())
        print(f"random crash test: {kills} of 40 runs killed, {sealed_before} files sealed by the "
              f"interrupted runs", flush=True)
        self.assertGreater(kills, 10, "the kills should land while runs are working")
        self.assertGreater(sealed_before, 0, "some runs should have committed between the kills")
        root.run(check=True)
        assert_converged(self, root)

    def test_torn_seal_line_is_terminated_and_file_resealed(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(10))
        root.run(env={"HOSTSYNC_FAILPOINT": "before_seal"})
        seals_path = root.outbox / "seals.jsonl"
        # A crash in the middle of appending the seal line: half a line, no newline.
        with open(seals_path, "ab") as f:
            f.write(b'{"bytes":1234,"chain":"ab')
        p = root.run(check=True)
        self.assertIn("torn seal line", p.err)
        self.assertIn("sealed sync_", p.err)
        lines = seals_path.read_bytes().split(b"\n")
        self.assertEqual(lines[0], b'{"bytes":1234,"chain":"ab')   # never rewritten
        self.assertEqual(len(root.seals()), 1)
        assert_converged(self, root)
        v = root.run("verify")
        self.assertEqual(v.returncode, 0, v.err)
        self.assertIn("torn by a crash", v.err)

    def test_torn_unsealed_sync_file_is_set_aside_and_reemitted(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(10))
        root.run(check=True)
        root.append(tricky_records(10, start=11))
        root.run(env={"HOSTSYNC_FAILPOINT": "before_seal"})
        unsealed = sorted(root.outbox.glob("sync_*.jsonl"))[-1]
        data = unsealed.read_bytes()
        unsealed.write_bytes(data[: len(data) - 40])   # damage: a torn final line
        p = root.run(check=True)
        self.assertIn("set aside", p.err)
        self.assertTrue((root.outbox / (unsealed.name + ".torn")).exists())
        assert_converged(self, root)

    def test_modified_sealed_file_is_refused(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(10))
        root.run(check=True)
        sync = sorted(root.outbox.glob("sync_*.jsonl"))[0]
        with open(sync, "ab") as f:
            f.write(b"{}\n")
        root.append(tricky_records(3, start=11))
        p = root.run()
        self.assertEqual(p.returncode, 1)
        self.assertIn(sync.name, p.err)
        self.assertIn("outbox was modified", p.err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
