"""task.lua and `chat.lua inbox` against a real `hostsync serve` (docs/brain.md, "Tasks:
task.lua", "The inbox"): create, list with the server's filters, update as the assignee
or creator (and refused as anyone else, with nothing stored), show with the history,
--json, the inbox with its resume cursor, and the usage errors."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import unittest

from brain_support import Brain, make_token
from harness import HOSTSYNC
from sync_support import db_rows

ENV = {k: v for k, v in os.environ.items() if not k.startswith("HOSTSYNC_BRAIN_")}


class TaskCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-task-cli-"))
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.db = cls.tmp / "brain.sqlite"
        for ai, agent, machine, projects in [("claude", "marcus", "m1", "*"), ("gemini", "milo", "m2", "web"),
                                             ("chatgpt", "priya", "m3", "web")]:
            (cls.tmp / f"{agent}.token").write_text(make_token(cls.db, ai, agent, machine, projects) + "\n")
        holder = unittest.TestCase()
        cls.brain = Brain(holder, cls.db)
        cls.addClassCleanup(holder.doCleanups)

    def run_as(self, agent, script, command, *args):
        env = dict(ENV, HOSTSYNC_BRAIN_URL=self.brain.base, HOSTSYNC_BRAIN_TOKEN_FILE=str(self.tmp / f"{agent}.token"))
        return subprocess.run([HOSTSYNC, "run", script, command, *args], capture_output=True, text=True, timeout=60, env=env)

    def task(self, agent, *args):
        return self.run_as(agent, "task.lua", *args)

    def test_create_update_list_show(self):
        p = self.task("marcus", "create", "Complete", "mobile", "QA", "--project", "web", "--assign", "@Milo")
        self.assertEqual(p.returncode, 0, p.stderr)
        first = p.stdout.splitlines()[0]
        m = re.match(r"^#(\d+) \[open\] @milo Complete mobile QA \(web, by @marcus\)$", first)
        self.assertIsNotNone(m, p.stdout)
        tid = m.group(1)
        p = self.task("milo", "update", tid, "--status", "in_progress", "--note", "on it")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"\n  \S+Z gemini/@milo status open -> in_progress: on it\n$")
        # priya is neither the assignee nor the creator: refused, nothing stored.
        p = self.task("priya", "update", tid, "--status", "done")
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"task: update #{tid}: 403 @priya may not update task {tid} (only its assignee @milo or its creator "
                      "@marcus may)", p.stderr)
        self.assertEqual(db_rows(self.db, "SELECT status FROM tasks WHERE id = ?", tid), [{"status": "in_progress"}])
        p = self.task("milo", "update", tid, "--assign", "priya", "--note", "yours")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.task("priya", "update", tid, "--status", "done", "--unassign", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        t = json.loads(p.stdout)
        self.assertEqual((t["status"], t["assigned_to"], len(t["history"])), ("done", None, 4))
        self.assertEqual(db_rows(self.db, "SELECT status, assigned_to FROM tasks WHERE id = ?", tid),
                         [{"status": "done", "assigned_to": None}])
        p = self.task("marcus", "show", tid)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0], f"#{tid} [done] @- Complete mobile QA (web, by @marcus)")
        self.assertEqual([re.sub(r"^  \S+Z ", "", x) for x in lines[1:]],
                         ["claude/@marcus title - -> Complete mobile QA; status - -> open; assigned_to - -> milo",
                          "gemini/@milo status open -> in_progress: on it",
                          "gemini/@milo assigned_to milo -> priya: yours",
                          "chatgpt/@priya status in_progress -> done; assigned_to priya -> -"])
        # list: the server's filters; --mine is the token's agent.
        self.assertEqual(self.task("marcus", "create", "Second", "--project", "web", "--assign", "priya").returncode, 0)
        p = self.task("priya", "list", "--mine")
        self.assertEqual(p.returncode, 0, p.stderr)
        mine = [x.split(" ", 3)[2:] for x in p.stdout.splitlines()]
        self.assertIn(["@priya", "Second (web, by @marcus)"], mine)
        self.assertEqual({who for who, _ in mine}, {"@priya"})
        p = self.task("marcus", "list", "--status", "done", "--json")
        self.assertEqual([json.loads(x)["id"] for x in p.stdout.splitlines()], [int(tid)])

    def test_inbox_from_chat_lua_resumes_from_its_cursor(self):
        p = self.run_as("priya", "chat.lua", "inbox")
        self.assertEqual(p.returncode, 0, p.stderr)
        start = int(re.search(r"resume with --since (\d+)", p.stderr).group(1))
        self.assertEqual(self.run_as("marcus", "chat.lua", "post", "--project", "web", "@Priya", "standup?").returncode, 0)
        self.assertEqual(self.task("marcus", "create", "Review", "--project", "web", "--assign", "priya").returncode, 0)
        p = self.run_as("priya", "chat.lua", "inbox", "--since", str(start), "--limit", "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        m = re.match(r"^#(\d+) \S+Z claude/@marcus mention \[chat #\d+ chat\] @Priya standup\?\n$", p.stdout)
        self.assertIsNotNone(m, p.stdout)
        self.assertIn(f"chat: inbox: 1 entry; resume with --since {m.group(1)}", p.stderr)
        p = self.run_as("priya", "chat.lua", "inbox", "--since", m.group(1), "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        entries = [json.loads(x) for x in p.stdout.splitlines()]
        self.assertEqual([(e["kind"], e["task"]["title"], e["task"]["assigned_to"]) for e in entries], [("task", "Review", "priya")])

    def test_usage_errors(self):
        cases = [
            (("task.lua", "finish"), "unknown command 'finish'"),
            (("task.lua", "update", "1"), "update needs --status, --assign, --unassign or --note"),
            (("task.lua", "update", "x", "--status", "done"), "update needs one task ID"),
            (("task.lua", "update", "1", "--status", "finished"), "--status must be one of open|in_progress|blocked|done"),
            (("task.lua", "update", "1", "--assign", "a b"), "--assign: 'a b' is not an agent name"),
            (("task.lua", "update", "1", "--assign", "x", "--unassign"), "give --assign or --unassign, not both"),
            (("task.lua", "list", "--note", "x"), "--note does not apply to 'list'"),
            (("task.lua", "create"), "create needs a TITLE"),
            (("chat.lua", "inbox", "--type", "alert"), "--type does not apply to 'inbox'"),
            (("chat.lua", "inbox", "--since", "-1"), "--since must be an integer >= 0"),
        ]
        for (script, *args), text in cases:
            with self.subTest(args=args):
                p = self.run_as("marcus", script, *args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(text, p.stderr)
        p = self.task("milo", "show", "999999")
        self.assertEqual(p.returncode, 1)
        self.assertIn("task: show #999999: 404 no task 999999", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
