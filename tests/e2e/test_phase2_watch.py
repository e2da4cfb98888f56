"""phase2.lua --watch with real appends, a rotation, a deletion and a file put back: each
burst ends in a run, a lost file is reported once and waited for without spinning (the
watcher sleeps in poll(2) without a timeout), a different file in its place is refused by
the run and the watcher goes on. No timing bounds: every wait is for an observed state."""
import os
import signal
import subprocess
import threading
import unittest

from harness import Root, HEADER, HOSTSYNC, tricky_records, csv_records
from waiting import wait_until, HANG_GUARD

POLL = 7   # x86-64 syscall number of poll(2)


class Watcher:
    def __init__(self, test, root, *extra):
        self.proc = subprocess.Popen([HOSTSYNC, "run", "phase2.lua", "--root", str(root.path), "--quiet", "--watch",
                                      "--debounce", "0.05", *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out, self.err = [], []
        for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._read, args=(stream, sink), daemon=True).start()
        test.addCleanup(self.stop)

    @staticmethod
    def _read(stream, sink):
        for line in stream:
            sink.append(line.decode("utf-8", "replace"))

    def wait_err(self, text, count=1):
        wait_until(lambda: sum(text in l for l in self.err) >= count, f"watcher stderr: {text!r} x{count}")

    def sleeping_in_poll_without_timeout(self):
        """True once the watcher is blocked in poll(2) with an infinite timeout."""
        try:
            with open(f"/proc/{self.proc.pid}/syscall") as f:
                fields = f.read().split()
        except (FileNotFoundError, ProcessLookupError):
            return False
        return fields[0] == str(POLL) and int(fields[3], 16) in (0xffffffff, 0xffffffffffffffff)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(HANG_GUARD)
        for s in (self.proc.stdout, self.proc.stderr):
            s.close()


class WatchTest(unittest.TestCase):
    def packets_are(self, root, n):
        wait_until(lambda: len(root.packets()) == n, f"{n} packets in the outbox")

    def test_bursts_rotation_deletion_and_return(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(100))
        w = Watcher(self, root)
        w.wait_err("watching infield/ai_save/index.csv")
        self.packets_are(root, 100)
        for burst in range(3):
            start = 101 + burst * 50
            for k in range(5):   # five appends in a row: one burst
                root.append(tricky_records(10, start=start + k * 10))
            self.packets_are(root, 150 + burst * 50)
        wait_until(w.sleeping_in_poll_without_timeout, "the watcher to wait for events without a timeout")

        # Rotation: the file moves away. Said once, then nothing runs and nothing spins.
        rotated = root.index.with_name("index.csv.1")
        os.rename(root.index, rotated)
        w.wait_err("was moved away or deleted")
        wait_until(w.sleeping_in_poll_without_timeout, "the watcher to sleep while the file is gone")
        runs_before = len(w.out)
        with open(rotated, "ab") as f:   # appends to the rotated file are not followed
            f.write(tricky_records(3, start=251))
        # Put back: the run resumes with everything after the cursor.
        os.rename(rotated, root.index)
        w.wait_err("is back")
        self.packets_are(root, 253)
        root.append(tricky_records(7, start=254))
        self.packets_are(root, 260)
        self.assertEqual(sum("moved away" in l for l in w.err), 1, "said once")
        self.assertGreater(len(w.out), runs_before)

        # A different, shorter file in its place: the run refuses, the watcher goes on.
        os.rename(root.index, rotated)
        w.wait_err("was moved away or deleted", 2)
        root.write(HEADER.encode() + tricky_records(2, start=1000))
        w.wait_err("is back", 2)
        w.wait_err("shrank")
        w.wait_err("the run ended with exit status 1; waiting for the next change")
        self.assertIsNone(w.proc.poll(), "the watcher is still running")
        os.replace(rotated, root.index)   # the real file back (a rename over the impostor)
        root.append(tricky_records(5, start=261))
        self.packets_are(root, 265)

        # Deleted outright.
        root.index.unlink()
        w.wait_err("was moved away or deleted", 3)
        wait_until(w.sleeping_in_poll_without_timeout, "the watcher to sleep after the deletion")
        self.assertIsNone(w.proc.poll())
        _, records = csv_records(rotated) if rotated.exists() else (None, None)
        self.assertEqual([p["seq"] for p in root.packets()], list(range(1, 266)))
        v = root.run("verify")
        self.assertEqual(v.returncode, 0, v.err)

    def test_waits_for_an_index_that_does_not_exist_yet(self):
        root = Root(self)
        w = Watcher(self, root)
        w.wait_err("does not exist; waiting for it to appear")
        wait_until(w.sleeping_in_poll_without_timeout, "the watcher to sleep")
        self.assertFalse(root.outbox.exists())
        root.write(HEADER.encode() + tricky_records(20))
        w.wait_err("is back")
        self.packets_are(root, 20)
        root.reference_verify(self)

    def test_a_vanished_directory_ends_the_watcher(self):
        root = Root(self)
        d = root.path / "elsewhere"
        d.mkdir()
        (d / "index.csv").write_bytes(HEADER.encode() + tricky_records(3))
        w = Watcher(self, root, "--index", "elsewhere/index.csv")
        self.packets_are(root, 3)
        os.rename(d, root.path / "gone")
        self.assertEqual(w.proc.wait(HANG_GUARD), 1)
        w.wait_err("was moved or deleted; nothing left to watch")

    def test_watch_only_goes_with_run(self):
        root = Root(self)
        p = root.run("verify", "--watch")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--watch goes with run", p.err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
