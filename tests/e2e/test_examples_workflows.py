"""examples/workflows/ does what it says: the REPL transcript replays through the real
REPL with exactly its output, the Phase 2 crontab line runs as written against a real root
and receiver, and the systemd units parse (systemd-analyze verify)."""
import os
import pathlib
import re
import shutil
import subprocess
import unittest

from harness import Root, HEADER, HOSTSYNC, SOURCE_DIR, tricky_records
from sink_support import RecordingSink, assert_received_unaltered
from waiting import HANG_GUARD

WORKFLOWS = SOURCE_DIR / "examples" / "workflows"


def transcript(path):
    """The first ```text block of a transcript -> (input lines, expected output lines)."""
    block = re.search(r"```text\n(.*?)```", path.read_text(), re.S)
    assert block, f"{path}: no ```text block"
    inputs, outputs = [], []
    for line in block.group(1).splitlines():
        if line.startswith("$ "):
            continue                        # the shell command that started the session
        elif line.startswith(("> ", ">> ")):
            inputs.append(line.split(" ", 1)[1])
        else:
            outputs.append(line)
    return inputs, outputs


class ReplTranscriptTest(unittest.TestCase):
    def test_the_policy_debugging_session_replays_exactly(self):
        inputs, expected = transcript(WORKFLOWS / "repl-debugging-a-policy.md")
        self.assertGreater(len(inputs), 5)
        p = subprocess.run([HOSTSYNC, "repl"], cwd=SOURCE_DIR, input="\n".join(inputs) + "\n",
                           capture_output=True, text=True, timeout=HANG_GUARD,
                           env=dict(os.environ, HOSTSYNC_HISTORY=""))
        self.assertEqual(p.stderr, "")
        self.assertEqual(p.stdout.splitlines(), expected)
        self.assertEqual(p.returncode, 0)

    def test_a_changed_output_line_would_be_caught(self):
        # The comparison is of every line: a transcript with one wrong value fails.
        inputs, expected = transcript(WORKFLOWS / "repl-debugging-a-policy.md")
        p = subprocess.run([HOSTSYNC, "repl"], cwd=SOURCE_DIR, input="\n".join(inputs[:-1]) + "\n",
                           capture_output=True, text=True, timeout=HANG_GUARD,
                           env=dict(os.environ, HOSTSYNC_HISTORY=""))
        self.assertNotEqual(p.stdout.splitlines(), expected)


class CrontabTest(unittest.TestCase):
    def test_the_crontab_line_runs_delivers_and_verifies(self):
        root = Root(self)
        root.write(HEADER.encode() + tricky_records(25))
        home = root.path.parent / (root.path.name + "-home")
        (home / ".config/hostsync").mkdir(parents=True)
        (home / ".local/state").mkdir(parents=True)
        self.addCleanup(shutil.rmtree, home, True)
        (home / ".config/hostsync/phase2-deliver.token").write_text("cron-token\n")
        sink = RecordingSink(self)
        lines = [l for l in (WORKFLOWS / "phase2.crontab").read_text().splitlines()
                 if l and not l.startswith("#")]
        env_lines = [l for l in lines if re.match(r"^[A-Z_]+=", l)]
        jobs = [l for l in lines if l not in env_lines]
        self.assertEqual(len(jobs), 1)
        fields = jobs[0].split(None, 5)
        self.assertEqual(fields[:5], ["*/15", "*", "*", "*", "*"])
        cmd = (fields[5].replace("/usr/local/bin/hostsync", HOSTSYNC).replace("/home/me", str(home))
               .replace("https://brain.example/phase2/inbox", sink.url))
        env = dict(os.environ)
        for l in env_lines:
            k, v = l.split("=", 1)
            env[k] = v.replace("/home/me/MoCKA", str(root.path))
        # cron runs the command with /bin/sh, as here.
        p = subprocess.run(["/bin/sh", "-c", cmd], env=env, capture_output=True, text=True, timeout=HANG_GUARD)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""))
        log = (home / ".local/state/hostsync-phase2.log").read_text()
        self.assertIn("OK: 1 seals, 25 packets", log)
        assert_received_unaltered(self, sink, root)
        self.assertEqual(sink.requests[0][0]["Authorization"], "Bearer cron-token")


class SystemdUnitsTest(unittest.TestCase):
    def test_the_units_parse(self):
        units = sorted((SOURCE_DIR / "examples" / "systemd").glob("hostsync-*"))
        self.assertEqual(len(units), 3)
        # verify checks that ExecStart's binary exists: point it at the built one.
        d = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / ("hostsync-units-" + str(os.getpid()))
        d.mkdir()
        self.addCleanup(shutil.rmtree, d, True)
        for u in units:
            (d / u.name).write_text(u.read_text().replace("/usr/local/bin/hostsync", HOSTSYNC))
        p = subprocess.run(["systemd-analyze", "verify", *[str(d / u.name) for u in units]],
                           capture_output=True, text=True, timeout=HANG_GUARD)
        self.assertEqual(p.returncode, 0, p.stderr)
        problems = [l for l in p.stderr.splitlines() if "hostsync-phase2" in l]
        self.assertEqual(problems, [], p.stderr)


if __name__ == "__main__":
    unittest.main()
