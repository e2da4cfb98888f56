"""Several runs started together never emit a record twice; verify next to a run never
raises a false alarm."""
import os
import signal
import subprocess
import unittest

from harness import Root, HEADER, HOSTSYNC, tricky_records, csv_records
from waiting import wait_for_stop, wait_until, HANG_GUARD


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

    def stopped_run(self, root, point):
        """A run that stopped itself at `point` while holding the run lock."""
        run = subprocess.Popen([HOSTSYNC, "run", "phase2.lua", "--root", str(root.path), "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=dict(os.environ, HOSTSYNC_FAILPOINT=point + ":stop"))
        self.addCleanup(lambda: run.poll() is None and run.kill())
        wait_for_stop(run.pid)
        return run

    def test_verify_next_to_a_run_that_does_not_finish_is_no_false_alarm(self):
        """A cron'd verify meets a run between rename and seal, or between seal and
        state.json: it checks what is sealed and calls the rest work in progress."""
        for point, waiting_for in (("before_seal", "is not sealed yet"),
                                   ("before_state", "the run in progress updates it")):
            with self.subTest(failpoint=point):
                root = Root(self)
                root.write(HEADER.encode() + tricky_records(300))
                root.run(check=True)
                root.append(tricky_records(200, start=301))
                run = self.stopped_run(root, point)
                v = root.run("verify", "--wait", "0")
                self.assertEqual(v.returncode, 0, v.err)
                self.assertNotIn("FAILED", v.err)
                self.assertIn("a run is working", v.err)
                self.assertIn(waiting_for, v.err)
                sealed = 1 if point == "before_seal" else 2
                self.assertRegex(v.out, r"^OK: %d seals, %d packets" % (sealed, 300 if sealed == 1 else 500))
                run.send_signal(signal.SIGCONT)
                _, err = run.communicate(timeout=HANG_GUARD)
                self.assertEqual(run.returncode, 0, err)
                v = root.run("verify", "--wait", "0")
                self.assertEqual((v.returncode, v.err), (0, ""))
                self.assertRegex(v.out, r"^OK: 2 seals, 500 packets")

    def test_verify_waits_for_the_run_lock_then_checks_everything(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(300))
        run = self.stopped_run(root, "before_seal")
        verify = subprocess.Popen([HOSTSYNC, "run", "phase2.lua", "--root", str(root.path), "verify",
                                   "--wait", str(HANG_GUARD)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: verify.poll() is None and verify.kill())
        lock_path = str(root.state_dir / "run.lock")

        def verify_has_the_lock_file_open():
            try:
                return any(os.readlink(f"/proc/{verify.pid}/fd/{fd}") == lock_path
                           for fd in os.listdir(f"/proc/{verify.pid}/fd"))
            except FileNotFoundError:
                return False
        wait_until(verify_has_the_lock_file_open, "verify to wait for the run lock")
        self.assertIsNone(verify.poll(), "verify must wait while the run holds the lock")
        run.send_signal(signal.SIGCONT)
        _, err = run.communicate(timeout=HANG_GUARD)
        self.assertEqual(run.returncode, 0, err)
        out, err = verify.communicate(timeout=HANG_GUARD)
        self.assertEqual((verify.returncode, err), (0, b""))
        self.assertRegex(out.decode(), r"^OK: 1 seals, 300 packets")

    def test_a_run_waits_for_a_verify(self):
        """Verify holds the lock shared: a run started meanwhile is kept out."""
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(100))
        root.run(check=True)
        import fcntl
        with open(root.state_dir / "run.lock") as f:
            fcntl.flock(f, fcntl.LOCK_SH)   # what a verify holds while it reads
            p = root.run("--wait", "0")
            self.assertEqual(p.returncode, 75, p.err)
            v = root.run("verify", "--wait", "0")
            self.assertEqual((v.returncode, v.err), (0, ""), "verifies share the lock")

    def test_leftover_of_a_crash_is_still_reported_when_no_run_holds_the_lock(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(50))
        p = root.run(env={"HOSTSYNC_FAILPOINT": "before_seal"})
        self.assertEqual(p.returncode, -signal.SIGKILL)
        v = root.run("verify", "--wait", "0")
        self.assertEqual(v.returncode, 1)
        self.assertIn("is not sealed (a run seals it)", v.err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
