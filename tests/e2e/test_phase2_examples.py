"""The systemd units in examples/systemd do what they say: their ExecStart lines, with the
paths a user would put there, run as written against a real root and a real receiver.
(`systemd-analyze verify` is not part of the suite: systemd is not among the test
dependencies; see docs/phase2.md.)"""
import pathlib
import shlex
import signal
import subprocess
import unittest

from harness import Root, HEADER, HOSTSYNC, SOURCE_DIR, tricky_records
from sink_support import RecordingSink, assert_received_unaltered
from waiting import wait_until, HANG_GUARD

UNITS = SOURCE_DIR / "examples" / "systemd"


def unit(name):
    """{key: [values]} of a unit file (keys may repeat, as ExecStart does)."""
    out = {}
    for line in (UNITS / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            k, v = line.split("=", 1)
            out.setdefault(k.strip(), []).append(v.strip())
    return out


def command(line, home, root, **replace):
    line = line.replace("%h", str(home)).replace("/usr/local/bin/hostsync", HOSTSYNC)
    for old, new in replace.items():
        line = line.replace(old, new)
    return shlex.split(line)


class SystemdExamplesTest(unittest.TestCase):
    def setUp(self):
        self.root = Root(self)
        self.home = self.root.path.parent / (self.root.path.name + "-home")
        self.home.mkdir()
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", str(self.home)]))
        (self.home / "MoCKA").symlink_to(self.root.path)
        self.root.write(HEADER.encode() + tricky_records(40))

    def test_the_timer_service_runs_delivers_and_verifies(self):
        u = unit("hostsync-phase2.service")
        self.assertEqual(u["Type"], ["oneshot"])
        self.assertEqual(u["SuccessExitStatus"], ["75"])
        cwd = u["WorkingDirectory"][0].replace("%h", str(self.home))
        sink = RecordingSink(self)
        token = self.home / ".config/hostsync/phase2-deliver.token"
        token.parent.mkdir(parents=True)
        token.write_text("secret-token\n")
        outs = []
        for line in u["ExecStart"]:
            p = subprocess.run(command(line, self.home, self.root,
                                       **{"https://brain.example/phase2/inbox": sink.url}),
                               cwd=cwd, capture_output=True, text=True, timeout=HANG_GUARD)
            self.assertEqual(p.returncode, 0, f"{line}\n{p.stdout}\n{p.stderr}")
            outs.append(p.stdout)
        self.assertIn("OK: 40 packets", outs[0])
        self.assertIn("OK: delivered 40 packets", outs[1])
        self.assertIn("OK: 1 seals, 40 packets", outs[2])
        assert_received_unaltered(self, sink, self.root)
        self.assertEqual(sink.requests[0][0]["Authorization"], "Bearer secret-token")
        t = unit("hostsync-phase2.timer")
        self.assertEqual((t["OnCalendar"], t["Persistent"]), (["*:0/15"], ["true"]))

    def test_the_watch_service_follows_appends(self):
        u = unit("hostsync-phase2-watch.service")
        self.assertEqual((u["Type"], u["Restart"]), (["simple"], ["on-failure"]))
        cwd = u["WorkingDirectory"][0].replace("%h", str(self.home))
        proc = subprocess.Popen(command(u["ExecStart"][0], self.home, self.root), cwd=cwd,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        wait_until(lambda: len(self.root.packets()) == 40, "the first run")
        self.root.append(tricky_records(5, start=41))
        wait_until(lambda: len(self.root.packets()) == 45, "the run after the append")
        proc.send_signal(signal.SIGTERM)   # what systemctl stop sends
        self.assertEqual(proc.wait(HANG_GUARD), -signal.SIGTERM)


if __name__ == "__main__":
    unittest.main(verbosity=2)
