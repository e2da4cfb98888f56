"""Several runs started together never emit a record twice."""
import subprocess
import unittest

from harness import Root, HEADER, HOSTSYNC, tricky_records, csv_records


class ConcurrencyTest(unittest.TestCase):
    def start(self, root, *extra):
        return subprocess.Popen([HOSTSYNC, "run", "phase2.lua", "--root", str(root.path), "--quiet", *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def test_runs_started_together_emit_each_record_once(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(30_000))
        procs = [self.start(root) for _ in range(4)]
        outs = [(p.wait(), p.stdout.read().decode(), p.stderr.read().decode()) for p in procs]
        for code, out, err in outs:
            self.assertEqual(code, 0, err)
        emitted = [o for _, o, _ in outs if o.startswith("OK: 30000 packets")]
        idle = [o for _, o, _ in outs if o == "OK: no new packets; skip seal\n"]
        self.assertEqual((len(emitted), len(idle)), (1, 3), outs)
        _, records = csv_records(root.index)
        self.assertEqual(len(root.packets()), len(records))
        root.reference_verify(self)

    def test_lock_held_without_waiting_exits_75(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(60_000))
        first = self.start(root)
        # Wait until the first run holds the lock (its lock file has its pid).
        import time
        lock = root.state_dir / "run.lock"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (lock.exists() and lock.read_text().strip()):
            time.sleep(0.005)
        second = self.start(root, "--wait", "0")
        code = second.wait()
        err = second.stderr.read().decode()
        self.assertEqual(first.wait(), 0)
        if code == 0:
            self.skipTest("the first run finished before the second started; nothing to race")
        self.assertEqual(code, 75, err)
        self.assertIn("held by pid", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
