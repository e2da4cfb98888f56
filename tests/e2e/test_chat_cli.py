"""chat.lua against a real `hostsync serve` on a real SQLite file: post (types, @mentions,
projects), history and its filters, tail following the live stream across a server
restart (every message exactly once, in order), and the errors (docs/brain.md,
"The chatroom: chat.lua")."""
import json
import os
import pathlib
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import HOSTSYNC  # noqa: E402
from brain_support import Brain, call, make_token  # noqa: E402
from ports import RefusingPort  # noqa: E402

LINE = re.compile(r"^#(\d+) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (\w+)/@(\w+) \[(\w+)\] (.*)$")
NO_BRAIN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("HOSTSYNC_BRAIN_")}


def chat(*args, server=None, token_file=None, env=None, timeout=60):
    conn = []
    if server:
        conn += ["--server", server]
    if token_file:
        conn += ["--token-file", str(token_file)]
    cmd = [HOSTSYNC, "run", "chat.lua", *args[:1], *conn, *args[1:]] if args else [HOSTSYNC, "run", "chat.lua"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=dict(NO_BRAIN_ENV, **(env or {})))


def lines_of(stream, q):
    for line in stream:
        q.put(line)
    q.put(None)


class ChatCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ctmp = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-chat-cli-"))
        cls.addClassCleanup(shutil.rmtree, cls.ctmp, True)
        db = cls.ctmp / "brain.sqlite"
        cls.token_files = {}
        for ai, agent, machine, projects in [("claude", "marcus", "m1", "*"), ("gemini", "milo", "m2", "dj-waste")]:
            f = cls.ctmp / f"{agent}.token"
            f.write_text(make_token(db, ai, agent, machine, projects) + "\n")
            cls.token_files[agent] = f
        holder = unittest.TestCase()
        cls.brain = Brain(holder, db)
        cls.addClassCleanup(holder.doCleanups)

    def run_as(self, agent, *args, **kw):
        return chat(*args, server=self.brain.base, token_file=self.token_files[agent], **kw)

    def last_seq(self):
        last = 0
        while True:
            st, v = call(self.brain.base, "GET", f"/chat?since={last}&limit=1000", self.token_files["marcus"].read_text().strip())
            self.assertEqual(st, 200)
            if not v["messages"]:
                return last
            last = v["messages"][-1]["id"]

    def post(self, agent, *args, **kw):
        p = self.run_as(agent, "post", *args, **kw)
        self.assertEqual(p.returncode, 0, p.stderr)
        m = re.match(r"^#(\d+)", p.stdout)
        self.assertIsNotNone(m, p.stdout)
        return int(m.group(1)), p.stdout.strip()

    def test_post_and_history_filters(self):
        base = self.last_seq()
        s1, out1 = self.post("marcus", "Good morning team, @Rowan and @priya")
        self.assertEqual(out1, f"#{s1} (mentions @rowan, @priya)")
        s2, _ = self.post("milo", "--type", "alert", "--project", "dj-waste", "Build failing on dj-waste,", "@Marcus")
        # the connection from the environment instead of options
        p = chat("post", "--type", "decision", "Going with Option B\nfor the auth flow",
                 env={"HOSTSYNC_BRAIN_URL": self.brain.base, "HOSTSYNC_BRAIN_TOKEN_FILE": str(self.token_files["marcus"])})
        self.assertEqual(p.returncode, 0, p.stderr)
        s3 = int(p.stdout.strip().lstrip("#"))
        self.assertEqual([s1, s2, s3], [base + 1, base + 2, base + 3])

        p = self.run_as("milo", "history", "--since", str(base))
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 4, p.stdout)   # the decision has a continuation line
        got = [LINE.match(line_).groups() for line_ in lines[:3]]
        self.assertEqual([(g[0], g[2], g[3], g[4], g[5]) for g in got], [
            (str(s1), "claude", "marcus", "chat", "Good morning team, @Rowan and @priya"),
            (str(s2), "gemini", "milo", "alert", "Build failing on dj-waste, @Marcus"),
            (str(s3), "claude", "marcus", "decision", "Going with Option B")])
        self.assertEqual(lines[3], "    for the auth flow")

        p = self.run_as("marcus", "history", "--since", str(base), "--type", "alert")
        self.assertEqual([LINE.match(x).group(1) for x in p.stdout.splitlines()], [str(s2)])

        p = self.run_as("marcus", "history", "--since", str(base), "--mention", "@MARCUS", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        msgs = [json.loads(x) for x in p.stdout.splitlines()]
        self.assertEqual(len(msgs), 1)
        self.assertEqual((msgs[0]["id"], msgs[0]["agent"], msgs[0]["type"], msgs[0]["project"], msgs[0]["mentions"]),
                         (s2, "milo", "alert", "dj-waste", ["marcus"]))

        p = self.run_as("marcus", "history", "--since", str(base), "--mention", "priya")
        self.assertEqual([LINE.match(x).group(1) for x in p.stdout.splitlines()], [str(s1)])

        # --limit: the first N after --since; without --since the latest N
        p = self.run_as("marcus", "history", "--since", str(base), "--limit", "2")
        self.assertEqual([LINE.match(x).group(1) for x in p.stdout.splitlines()], [str(s1), str(s2)])
        p = self.run_as("marcus", "history", "--limit", "2", "--json")
        self.assertEqual([json.loads(x)["id"] for x in p.stdout.splitlines()], [s2, s3])

    def test_history_pages_past_the_servers_page_size(self):
        # The server answers at most 1000 per request: the latest and the filtered
        # messages must still come from beyond the first page.
        token = self.token_files["marcus"].read_text().strip()
        base = self.last_seq()
        for i in range(1100):
            st, _ = call(self.brain.base, "POST", "/chat", token,
                         {"message": f"bulk {i}" + (" @grace" if i in (5, 1050) else "")})
            self.assertEqual(st, 201)
        p = self.run_as("marcus", "history", "--limit", "1")
        self.assertEqual(LINE.match(p.stdout.strip()).group(6), "bulk 1099")
        p = self.run_as("marcus", "history", "--since", str(base), "--mention", "grace", "--json")
        self.assertEqual([json.loads(x)["message"] for x in p.stdout.splitlines()], ["bulk 5 @grace", "bulk 1050 @grace"])

    def test_bad_input(self):
        cases = [
            ((), 2, "expected a command"),
            (("shout", "hi"), 2, "unknown command 'shout'"),
            (("post",), 2, "post needs a MESSAGE"),
            (("post", "   "), 2, "the message is empty"),
            (("post", "--type", "gossip", "hi"), 2, "--type must be one of chat|sync|alert|handoff|question|decision"),
            (("history", "--limit", "0"), 2, "--limit must be an integer >= 1"),
            (("history", "--since", "-1"), 2, "--since must be an integer >= 0"),
            (("history", "--count", "3"), 2, "--count does not apply to 'history'"),
            (("tail", "--type", "alert"), 2, "--type does not apply to 'tail'"),
            (("history", "extra"), 2, "unexpected argument 'extra'"),
        ]
        for args, code, text in cases:
            with self.subTest(args=args):
                p = self.run_as("marcus", *args)
                self.assertEqual(p.returncode, code, p.stderr)
                self.assertIn(text, p.stderr)
                self.assertNotIn("traceback", p.stderr)
        before = self.last_seq()
        # milo's token is limited to dj-waste
        p = self.run_as("milo", "post", "--project", "village-bakery", "hi")
        self.assertEqual(p.returncode, 1)
        self.assertIn("403 this token may not use project 'village-bakery'", p.stderr)
        self.assertEqual(self.last_seq(), before)
        # no connection settings at all
        p = chat("history")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--server is required (or set HOSTSYNC_BRAIN_URL)", p.stderr)
        p = chat("history", server=self.brain.base)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--token-file is required (or set HOSTSYNC_BRAIN_TOKEN_FILE)", p.stderr)
        p = chat("history", server=self.brain.base, token_file=self.ctmp / "missing.token")
        self.assertEqual(p.returncode, 1)
        self.assertIn("chat: cannot read token file", p.stderr)
        # a token the server does not know: 401, and tail gives up instead of retrying forever
        bad = self.ctmp / "bad.token"
        bad.write_text("not-a-token\n")
        for args in (("history",), ("tail", "--since", "0")):
            with self.subTest(args=args):
                p = chat(*args, server=self.brain.base, token_file=bad)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn("401", p.stderr)
        # nothing listening
        p = chat("post", "hi", server=RefusingPort(self).url, token_file=self.token_files["marcus"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("chat: brain: connect 127.0.0.1", p.stderr)

    def test_tail_follows_across_a_server_restart(self):
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-chat-tail-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        db = tmp / "brain.sqlite"
        tok = tmp / "marcus.token"
        tok.write_text(make_token(db, "claude", "marcus", "m1", "*") + "\n")
        first = Brain(self, db)
        server = first.base

        def post(msg):
            p = chat("post", msg, server=server, token_file=tok)
            self.assertEqual(p.returncode, 0, p.stderr)
            return int(p.stdout.split()[0].lstrip("#"))

        s0 = post("before the tail")
        tail = subprocess.Popen([HOSTSYNC, "run", "chat.lua", "tail", "--server", server, "--token-file", str(tok),
                                 "--count", "6"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=NO_BRAIN_ENV)
        self.addCleanup(tail.stderr.close)
        self.addCleanup(tail.stdout.close)
        self.addCleanup(lambda: tail.poll() is None and (tail.kill(), tail.wait()))
        out, err = queue.Queue(), queue.Queue()
        threading.Thread(target=lines_of, args=(tail.stdout, out), daemon=True).start()
        threading.Thread(target=lines_of, args=(tail.stderr, err), daemon=True).start()
        # without --since the tail starts at the current end: it says where, then follows
        self.assertEqual(err.get(timeout=60), f"chat: tail: following after #{s0}\n")
        posted = [post(f"m{i}") for i in (1, 2)]
        seen = [out.get(timeout=60) for _ in range(2)]
        first.kill()                      # SIGTERM: the stream ends, reconnecting fails
        note = err.get(timeout=60)        # the second server starts only after this note
        self.assertRegex(note, rf"^chat: tail: disconnected \(connect 127\.0\.0\.1:{first.port}: .*\); "
                               rf"reconnecting in [\d.]+s from #{s0 + 2}\n$")
        second = Brain(self, db, port=first.port)
        self.assertEqual(second.base, server)
        posted += [post(f"m{i}") for i in (3, 4, 5, 6)]
        seen += [out.get(timeout=60) for _ in range(4)]
        self.assertEqual(tail.wait(60), 0)
        self.assertIsNone(out.get(timeout=10), "tail printed more than --count messages")
        got = [LINE.match(x.rstrip("\n")).groups() for x in seen]
        self.assertEqual([(int(g[0]), g[5]) for g in got], list(zip(posted, [f"m{i}" for i in range(1, 7)])))
        self.assertEqual(posted, list(range(s0 + 1, s0 + 7)))
        notes = []
        while (line := err.get(timeout=10)) is not None:
            notes.append(line)
        self.assertTrue(all(re.match(rf"chat: tail: disconnected \(.*\); reconnecting in [\d.]+s from #{s0 + 2}$", n)
                            for n in notes), notes)

    def test_tail_resumes_from_since_and_prints_json(self):
        base = self.last_seq()
        s1, _ = self.post("marcus", "one @milo")
        s2, _ = self.post("milo", "--type", "question", "two?")
        p = self.run_as("milo", "tail", "--since", str(base), "--count", "2", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        msgs = [json.loads(x) for x in p.stdout.splitlines()]
        self.assertEqual([(m["id"], m["message"], m["type"]) for m in msgs], [(s1, "one @milo", "chat"), (s2, "two?", "question")])


if __name__ == "__main__":
    unittest.main(verbosity=2)
