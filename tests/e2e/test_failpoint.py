"""Failpoints fire exactly where they say, on every machine: at the N-th hit, as SIGKILL or
SIGSTOP, with output up to there flushed; a bad spec refuses to start."""
import os
import signal
import subprocess
import tempfile
import unittest

from harness import HOSTSYNC, hostsync
from waiting import wait_for_stop

LOOP = """
local failpoint = require "hostsync.failpoint"
for i = 1, 5 do
  io.write(i, "\\n")
  failpoint.hit("step")
  failpoint.hit("other")
end
io.write("done\\n")
"""


class FailpointTest(unittest.TestCase):
    def setUp(self):
        fd, self.script = tempfile.mkstemp(suffix=".lua")
        os.write(fd, LOOP.encode())
        os.close(fd)
        self.addCleanup(os.remove, self.script)

    def run_loop(self, spec):
        return hostsync("run", self.script, env={"HOSTSYNC_FAILPOINT": spec})

    def test_unset_never_fires(self):
        env = dict(os.environ)
        env.pop("HOSTSYNC_FAILPOINT", None)
        p = subprocess.run([HOSTSYNC, "run", self.script], capture_output=True, env=env)
        self.assertEqual((p.returncode, p.stdout), (0, b"1\n2\n3\n4\n5\ndone\n"))

    def test_nth_hit_kills_with_output_flushed(self):
        p = self.run_loop("step@3")
        self.assertEqual(p.returncode, -signal.SIGKILL)
        self.assertEqual(p.stdout, b"1\n2\n3\n")   # io.write's buffer reached the pipe

    def test_first_of_a_list_that_fires_wins(self):
        p = self.run_loop("nothere,other@2,step@4")
        self.assertEqual((p.returncode, p.stdout), (-signal.SIGKILL, b"1\n2\n"))

    def test_unknown_name_never_fires(self):
        p = self.run_loop("no_such_point")
        self.assertEqual((p.returncode, p.stdout), (0, b"1\n2\n3\n4\n5\ndone\n"))

    def test_stop_then_continue(self):
        proc = subprocess.Popen([HOSTSYNC, "run", self.script], stdout=subprocess.PIPE,
                                env=dict(os.environ, HOSTSYNC_FAILPOINT="step@2:stop"))
        wait_for_stop(proc.pid)
        proc.send_signal(signal.SIGCONT)
        out, _ = proc.communicate(timeout=60)
        self.assertEqual((proc.returncode, out), (0, b"1\n2\n3\n4\n5\ndone\n"))

    def test_bad_specs_refuse_to_start(self):
        for spec in ("step@0", "step@", "step@x", "@3", "step:later", ":stop"):
            with self.subTest(spec=spec):
                p = self.run_loop(spec)
                self.assertEqual(p.returncode, 2, p.err)
                self.assertIn("HOSTSYNC_FAILPOINT: bad spec", p.err)
                self.assertEqual(p.stdout, b"")


if __name__ == "__main__":
    unittest.main(verbosity=2)
