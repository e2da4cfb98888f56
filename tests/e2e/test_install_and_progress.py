"""What users see outside the test tree: an installed hostsync finds its scripts by bare
name from any directory, and a run on a terminal shows progress on stderr."""
import os
import pathlib
import pty
import select
import shutil
import subprocess
import tempfile
import unittest

from harness import HOSTSYNC, Root, HEADER, tricky_records

BUILD_DIR = os.environ.get("HOSTSYNC_BUILD_DIR") or str(pathlib.Path(HOSTSYNC).parent)


class InstallTest(unittest.TestCase):
    def test_installed_tree_runs_phase2_by_bare_name(self):
        prefix = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-install-"))
        self.addCleanup(shutil.rmtree, prefix, True)
        subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", str(prefix)], check=True,
                       capture_output=True)
        binary = prefix / "bin" / "hostsync"
        self.assertTrue(binary.exists())
        self.assertTrue((prefix / "share/hostsync/scripts/phase2.lua").exists())
        self.assertTrue((prefix / "share/hostsync/scripts/phase2/run.lua").exists())
        # Relocatable: move the whole prefix and run from an unrelated directory.
        moved = prefix.with_name(prefix.name + "-moved")
        prefix.rename(moved)
        self.addCleanup(shutil.rmtree, moved, True)
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(3))
        p = subprocess.run([str(moved / "bin/hostsync"), "run", "phase2.lua", "--root", str(root.path)],
                           cwd="/", capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("OK: 3 packets seq 1..3", p.stdout)


class ProgressTest(unittest.TestCase):
    def run_on_terminal(self, root, *extra):
        """Runs phase2 with stderr on a pseudo-terminal; returns (status, stderr text)."""
        master, slave = pty.openpty()
        env = dict(os.environ, HOSTSYNC_PROGRESS_INTERVAL="0")
        proc = subprocess.Popen([HOSTSYNC, "run", "phase2.lua", "--root", str(root.path), *extra],
                                stdout=subprocess.DEVNULL, stderr=slave, env=env)
        os.close(slave)
        out = b""
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.close(master)
        return proc.wait(), out.decode("utf-8", "replace")

    def test_progress_on_a_terminal_only(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(140_000))
        status, err = self.run_on_terminal(root)
        self.assertEqual(status, 0, err)
        self.assertRegex(err, r"phase2: \d+ records, [\d.]+ MB, [\d.]+ MB/s")
        # Not a terminal (a pipe, as under cron): no progress at all.
        root.append(tricky_records(140_000, start=140_001))
        p = subprocess.run([HOSTSYNC, "run", "phase2.lua", "--root", str(root.path)], capture_output=True,
                           text=True, env=dict(os.environ, HOSTSYNC_PROGRESS_INTERVAL="0"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("records,", p.stderr)

    def test_verify_and_deliver_show_progress_on_a_terminal(self):
        from sink_support import RecordingSink
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(140_000))
        root.run(check=True)
        status, err = self.run_on_terminal(root, "verify")
        self.assertEqual(status, 0, err)
        self.assertRegex(err, r"verify: \d+ records, [\d.]+ MB, [\d.]+ MB/s")
        sink = RecordingSink(self)
        status, err = self.run_on_terminal(root, "deliver", "--to", sink.url)
        self.assertEqual(status, 0, err)
        self.assertRegex(err, r"deliver: \d+ records, [\d.]+ MB, [\d.]+ MB/s")

    def test_quiet_silences_progress(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(140_000))
        status, err = self.run_on_terminal(root, "--quiet")
        self.assertEqual(status, 0, err)
        self.assertNotIn("records,", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
