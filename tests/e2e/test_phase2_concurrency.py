"""Several runs started together never emit a record twice."""
import os
import signal
import subprocess
import unittest

from harness import Root, HEADER, HOSTSYNC, tricky_records, csv_records
from waiting import wait_for_stop


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
        root.write(HEADER.encode() + tricky_records(1_000))
        # The first run stops itself (SIGSTOP) while it holds the lock, so the race is
        # certain instead of depending on timing.
        first = subprocess.Popen([HOSTSYNC, "run", "phase2.lua", "--root", str(root.path), "--quiet"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=dict(os.environ, HOSTSYNC_FAILPOINT="before_rename:stop"))
        self.addCleanup(lambda: first.poll() is None and first.kill())
        wait_for_stop(first.pid)
        second = self.start(root, "--wait", "0")
        code = second.wait()
        err = second.stderr.read().decode()
        self.assertEqual(code, 75, err)
        self.assertIn("held by pid %d" % first.pid, err)
        first.send_signal(signal.SIGCONT)
        self.assertEqual(first.wait(timeout=60), 0)
        self.assertEqual(len(root.packets()), 1_000)


if __name__ == "__main__":
    unittest.main(verbosity=2)
