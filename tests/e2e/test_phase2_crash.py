"""Crash safety by doing it: kill -9 the runner at every step boundary and at chosen depths
of its loops (failpoints, the same on every machine), rerun, and check that every complete
record appears exactly once."""
import os
import random
import signal
import subprocess
import time
import unittest

from harness import Root, HEADER, HOSTSYNC, tricky_records, csv_records

FAILPOINTS = ["before_rename", "before_seal", "before_state", "before_cursor", "after_cursor"]


def emitted_packets(root):
    """Packets in complete sync files, sealed or not: a renamed file is sealed by the next
    run, never emitted again."""
    return sum(len(f.read_bytes().splitlines()) for f in root.outbox.glob("sync_*.jsonl")) \
        if root.outbox.exists() else 0


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

    def test_kill_at_chosen_depths_during_large_runs(self):
        """40 runs, each killed at a point chosen by a seeded generator: the N-th record of
        the extract loop, the first output block, a commit step, or not at all. Where each
        kill lands is the same on every machine, so every outcome is asserted."""
        seed = int(os.environ.get("CRASH_SEED", "12345"))
        print(f"crash test seed: CRASH_SEED={seed}", flush=True)
        rnd = random.Random(seed)
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(60_000, seed=7))
        total, next_id = 60_000, 60_001
        kills = 0
        for round_no in range(40):
            max_packets = rnd.choice([2_000, 10_000, 40_000])
            pending = total - emitted_packets(root)
            if round_no % 5 == 4 or pending == 0:   # the writer keeps appending
                root.append(tricky_records(500, start=next_id, seed=round_no))
                total, next_id, pending = total + 500, next_id + 500, pending + 500
            batch = min(max_packets, pending)
            point = rnd.choice([f"csv_record@{rnd.randint(1, batch)}", "fs_block@1", *FAILPOINTS, None])
            env = {"HOSTSYNC_FAILPOINT": point} if point else {}
            p = root.run("--max-packets", str(max_packets), env=env)
            expected = -signal.SIGKILL if point else 0
            self.assertEqual(p.returncode, expected, f"round {round_no}, failpoint {point}: {p.err}")
            kills += point is not None
        sealed_before = len(root.seals())
        print(f"crash test: {kills} of 40 runs killed, {sealed_before} files sealed by the "
              f"interrupted series", flush=True)
        self.assertGreater(sealed_before, 0)
        root.run(check=True)
        assert_converged(self, root)

    def test_random_kills_never_break_the_invariants(self):
        """An extra on top of the failpoints: kills at random moments. Where they land
        depends on the machine, so nothing is asserted about that, only about what must
        hold after each kill."""
        seed = int(os.environ.get("CRASH_SEED", "12345"))
        print(f"random kill seed: CRASH_SEED={seed}", flush=True)
        rnd = random.Random(seed)
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(60_000, seed=3))
        for _ in range(6):
            proc = subprocess.Popen([HOSTSYNC, "run", "phase2.lua", "--root", str(root.path), "--quiet",
                                     "--max-packets", "20000"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rnd.uniform(0, 0.3))   # where the kill lands cannot change an outcome: all checked alike
            proc.kill()
            self.assertIn(proc.wait(), (0, -signal.SIGKILL))
            # A kill before the run made the outbox leaves none: nothing to look at then.
            torn = [n for n in os.listdir(root.outbox) if n.endswith(".torn")] if root.outbox.exists() else []
            self.assertEqual(torn, [])
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
