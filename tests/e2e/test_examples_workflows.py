"""examples/ does what it says: the REPL transcript replays through the real REPL with
exactly its output, the Phase 2 crontab line runs as written against a real root and
receiver, the systemd units parse (systemd-analyze verify), end_session.lua hands a real
brain's tasks over with a handoff (and bad input changes nothing), and a running server
switched to an example policy by replacing its file decides pushes by it."""
import hashlib
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

from brain_support import Brain, call, make_token
from harness import Root, HEADER, HOSTSYNC, SOURCE_DIR, tricky_records
from sink_support import RecordingSink, assert_received_unaltered
from sync_support import Tenant, item, pull_all, db_rows
from waiting import HANG_GUARD, wait_for_stop, wait_until

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


END_SESSION = WORKFLOWS / "end_session.lua"
# The workflow reads the connection from the environment; the test's own must not leak in.
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTSYNC_BRAIN_", "HOSTSYNC_FAILPOINT"))}


class EndSessionTest(unittest.TestCase):
    """examples/workflows/end_session.lua against a real `hostsync serve`: what it stores
    (the handoff with its summary, the chat message, the tasks' new assignee and
    history, the receiver's inbox), and that every refusal stores nothing."""

    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-end-session-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.db = self.tmp / "brain.sqlite"
        self.tokens = {}
        for ai, agent, projects in [("claude", "marcus", "web,api"), ("gemini", "milo", "web"),
                                    ("chatgpt", "priya", "web"), ("grok", "rowan", "api")]:
            self.tokens[agent] = make_token(self.db, ai, agent, "m-" + agent, projects)
            (self.tmp / f"{agent}.token").write_text(self.tokens[agent] + "\n")
        self.brain = Brain(self, self.db, threads=2)

    def run_workflow(self, agent, *args, env=None, popen=False):
        e = dict(ENV, HOSTSYNC_BRAIN_URL=self.brain.base, HOSTSYNC_BRAIN_TOKEN_FILE=str(self.tmp / f"{agent}.token"))
        e.update(env or {})
        cmd = [HOSTSYNC, "run", str(END_SESSION), *args]
        if popen:
            return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=HANG_GUARD, env=e)

    def task(self, creator, title, project, assign, status="open"):
        st, body = call(self.brain.base, "POST", "/tasks", self.tokens[creator],
                        {"title": title, "project": project, "assigned_to": assign, "status": status})
        self.assertEqual(st, 201, body)
        return body["id"]

    def stored(self):
        """Everything the workflow could write: handoffs, chat, tasks, their history, inboxes."""
        return {t: db_rows(self.db, f"SELECT * FROM {t} ORDER BY 1")
                for t in ("handoffs", "chatroom", "tasks", "task_history", "inbox")}

    def test_hands_unfinished_tasks_over_with_a_handoff_and_its_chat_message(self):
        fix = self.task("marcus", "Fix login", "web", "marcus")
        mobile = self.task("priya", "Mobile QA", "web", "marcus", "in_progress")   # created by someone else
        deploy = self.task("marcus", "Deploy", "web", "marcus", "blocked")
        kept = self.task("marcus", "Write the changelog", "web", "marcus")
        done = self.task("marcus", "Old bug", "web", "marcus", "done")
        other_project = self.task("marcus", "API keys", "api", "marcus")
        not_mine = self.task("marcus", "Design review", "web", "priya")

        p = self.run_workflow("marcus", "--to", "@Milo", "--project", "web", "--keep", str(kept),
                              "--context", "login: the OAuth callback is half done")
        self.assertEqual(p.returncode, 0, p.stderr)
        hid, chat_seq = map(int, re.fullmatch(r"end_session: handoff #(\d+) to @milo recorded \(chat #(\d+)\); "
                                              rf"tasks handed over: #{fix} #{mobile} #{deploy}\n", p.stderr).groups())
        self.assertEqual(p.stdout.splitlines(), [f"#{fix} [open] Fix login -> @milo",
                                                 f"#{mobile} [in_progress] Mobile QA -> @milo",
                                                 f"#{deploy} [blocked] Deploy -> @milo"])

        # The tasks: moved ones keep their status, the rest are untouched.
        tasks = {r["id"]: (r["assigned_to"], r["status"]) for r in db_rows(self.db, "SELECT * FROM tasks")}
        self.assertEqual(tasks, {fix: ("milo", "open"), mobile: ("milo", "in_progress"), deploy: ("milo", "blocked"),
                                 kept: ("marcus", "open"), done: ("marcus", "done"),
                                 other_project: ("marcus", "open"), not_mine: ("priya", "open")})
        # Each move is in the task's history, by marcus, naming the handoff.
        moves = db_rows(self.db, "SELECT task_id, agent, changes, note FROM task_history WHERE note IS NOT NULL "
                                 "ORDER BY task_id")
        self.assertEqual([(m["task_id"], m["agent"], json.loads(m["changes"]), m["note"]) for m in moves],
                         [(t, "marcus", {"assigned_to": ["marcus", "milo"]}, f"handoff #{hid}")
                          for t in (fix, mobile, deploy)])

        # The handoff, with its summary.
        [h] = db_rows(self.db, "SELECT * FROM handoffs")
        self.assertEqual((h["id"], h["from_agent"], h["from_ai"], h["from_machine"], h["to_agent"], h["project_id"],
                          h["context"], h["acknowledged_at"]),
                         (hid, "marcus", "claude", "m-marcus", "milo", "web", "login: the OAuth callback is half done",
                          None))
        self.assertEqual(h["summary"].splitlines(), [
            "## Session Handoff: end of marcus's session", "**From:** claude/@marcus (m-marcus)", "**To:** @milo",
            "**Project:** web", "", "### Tasks for @milo", f"- [ ] #{fix} [open] Fix login",
            f"- [ ] #{mobile} [in_progress] Mobile QA", f"- [ ] #{deploy} [blocked] Deploy", "",
            "### Kept by @marcus", f"- #{kept} [open] Write the changelog", "",
            "### Context", "login: the OAuth callback is half done"])

        # The chat message, in the project, mentioning the receiver, pointing at the handoff.
        [c] = db_rows(self.db, "SELECT * FROM chatroom")
        self.assertEqual((c["seq"], c["message_type"], c["agent_id"], c["project_context"], json.loads(c["mentions"]),
                          json.loads(c["metadata"])), (chat_seq, "handoff", "marcus", "web", ["milo"], {"handoff_id": hid}))
        self.assertEqual(c["message"].splitlines(), [
            "SESSION HANDOFF to @milo: end of marcus's session",
            f"Tasks for @milo: #{fix} [open] Fix login; #{mobile} [in_progress] Mobile QA; #{deploy} [blocked] Deploy",
            f"Blocking: #{deploy}"])

        # The receiver learns it from its inbox: the handoff and the three tasks.
        st, inbox = call(self.brain.base, "GET", "/inbox", self.tokens["milo"])
        self.assertEqual(st, 200, inbox)
        got = [(e["kind"], e.get("handoff", {}).get("id") or e["task"]["id"]) for e in inbox["entries"]]
        self.assertEqual(got, [("handoff", hid), ("task", fix), ("task", mobile), ("task", deploy)])
        # ... and can pick it up with handoff.lua.
        p = subprocess.run([HOSTSYNC, "run", "handoff.lua", "ack", str(hid)], capture_output=True, text=True,
                           timeout=HANG_GUARD, env=dict(ENV, HOSTSYNC_BRAIN_URL=self.brain.base,
                                                        HOSTSYNC_BRAIN_TOKEN_FILE=str(self.tmp / "milo.token")))
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_dry_run_and_bad_input_change_nothing(self):
        fix = self.task("marcus", "Fix login", "web", "marcus")
        before = self.stored()
        p = self.run_workflow("marcus", "--to", "milo", "--project", "web", "--dry-run")
        self.assertEqual((p.returncode, p.stdout), (0, f"#{fix} [open] Fix login -> @milo\n"), p.stderr)
        self.assertIn("nothing changed", p.stderr)
        self.assertEqual(self.stored(), before)

        (self.tmp / "garbage.token").write_text("not-a-token\n")
        cases = [
            ((), {}, 2, "--to is required"),
            (("--to", "milo"), {}, 2, "--project is required"),
            (("--to", "mi lo", "--project", "web"), {}, 2, "--to: 'mi lo' is not an agent name"),
            (("--to", "@Marcus", "--project", "web"), {}, 2, "--to: @marcus is you; hand over to another agent"),
            (("--to", "milo", "--project", "web", "--keep", f"{fix},x"), {}, 2, "--keep: 'x' is not a task id"),
            (("--to", "milo", "--project", "web", "--keep", "999999,888888"), {}, 2,
             "--keep: #888888 #999999 are not among @marcus's unfinished tasks in web"),
            (("--to", "milo", "--project", "web", "extra"), {}, 2, "unexpected argument 'extra'"),
            # No token: a usage error before any request.
            (("--to", "milo", "--project", "web"), {"HOSTSYNC_BRAIN_TOKEN_FILE": ""}, 2,
             "--token-file is required (or set HOSTSYNC_BRAIN_TOKEN_FILE)"),
            (("--to", "milo", "--project", "web"), {"HOSTSYNC_BRAIN_TOKEN_FILE": str(self.tmp / "missing.token")}, 1,
             "end_session: cannot read token file"),
            (("--to", "milo", "--project", "web"), {"HOSTSYNC_BRAIN_TOKEN_FILE": str(self.tmp / "garbage.token")}, 1,
             "end_session: whoami: 401"),
            # A project the token may not use: the server refuses the listing.
            (("--to", "marcus", "--project", "api"), {"HOSTSYNC_BRAIN_TOKEN_FILE": str(self.tmp / "milo.token")}, 1,
             "end_session: listing your tasks in api: 403"),
        ]
        for args, env, status, text in cases:
            with self.subTest(args=args, env=env):
                p = self.run_workflow("marcus", *args, env=env)
                self.assertEqual(p.returncode, status, p.stderr)
                self.assertIn(text, p.stderr)
                self.assertEqual(p.stdout, "")
                self.assertEqual(self.stored(), before)

    def test_a_task_taken_meanwhile_is_named_and_the_rest_still_move(self):
        # The handoff is recorded, then the tasks move one request each: stop the run in
        # between, let the creator of one task take it back, and resume.
        mine = self.task("marcus", "Fix login", "web", "marcus")
        taken = self.task("priya", "Mobile QA", "web", "marcus")
        proc = self.run_workflow("marcus", "--to", "milo", "--project", "web", popen=True,
                                 env={"HOSTSYNC_FAILPOINT": "end_session_recorded:stop"})
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        wait_for_stop(proc.pid)
        st, body = call(self.brain.base, "POST", f"/tasks/{taken}", self.tokens["priya"], {"assigned_to": "priya"})
        self.assertEqual(st, 200, body)
        os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=HANG_GUARD)
        self.assertEqual(proc.returncode, 1, err)
        self.assertEqual(out, f"#{mine} [open] Fix login -> @milo\n")
        self.assertRegex(err, rf"^end_session: handoff #\d+ to @milo recorded \(chat #\d+\); tasks handed over: #{mine}; "
                              rf"not handed over: #{taken}: 403 @marcus may not update task {taken} ")
        tasks = {r["id"]: r["assigned_to"] for r in db_rows(self.db, "SELECT * FROM tasks")}
        self.assertEqual(tasks, {mine: "milo", taken: "priya"})
        self.assertEqual(len(db_rows(self.db, "SELECT id FROM handoffs")), 1)


    def test_a_task_of_yours_reassigned_meanwhile_is_not_taken_back(self):
        # As its creator, marcus may update a task another agent now holds: the run must
        # not use that right to take it from its new holder.
        mine = self.task("marcus", "Fix login", "web", "marcus")
        given = self.task("marcus", "Write docs", "web", "marcus")
        proc = self.run_workflow("marcus", "--to", "milo", "--project", "web", popen=True,
                                 env={"HOSTSYNC_FAILPOINT": "end_session_recorded:stop"})
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        wait_for_stop(proc.pid)
        st, body = call(self.brain.base, "POST", f"/tasks/{given}", self.tokens["marcus"], {"assigned_to": "priya"})
        self.assertEqual(st, 200, body)
        os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=HANG_GUARD)
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn(f"not handed over: #{given}: 409 now assigned to @priya", err)
        tasks = {r["id"]: r["assigned_to"] for r in db_rows(self.db, "SELECT * FROM tasks")}
        self.assertEqual(tasks, {mine: "milo", given: "priya"})


class SwitchingAServersPolicyTest(unittest.TestCase):
    """examples/policies/README.md, "Switching a running server to one", done as written:
    the file the server was started with is replaced atomically (a new file renamed over
    it), GET /sync/policy shows the new one, and the same kind of push is decided by it."""

    def test_an_ai_write_becomes_a_proposal_after_the_switch(self):
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-policy-switch-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        self.db = tmp / "brain.sqlite"
        policy = tmp / "policy.lua"
        shutil.copyfile(SOURCE_DIR / "policies" / "truth_hierarchy.lua", policy)
        # One worker: each worker holds its own copy of the policy, so with one the push
        # after GET /sync/policy showed the new file is decided by that same copy.
        self.server = Brain(self, self.db, threads=1, extra=("--sync-policy", str(policy)))
        t = Tenant(self, levels=(1, 3))

        def in_force():
            st, body = call(self.server.base, "GET", "/sync/policy", t.tok[1])
            self.assertEqual(st, 200, body)
            return body

        def stored(eid):
            """The entity and the proposals for it in the server's feed."""
            feed = [c for c in pull_all(self.server.base, t.tok[1]) if c["item"]["entity_id"] == eid]
            return ([c["item"]["payload"] for c in feed if c["kind"] == "entity"],
                    [c["item"]["payload"] for c in feed if c["kind"] == "proposal"])

        self.assertEqual(in_force()["sha256"], hashlib.sha256(policy.read_bytes()).hexdigest())
        # The default: local AI (level 3) creates content directly.
        self.assertEqual(t.push1(3, item("before", 3, payload={"title": "by AI, before"}))["status"], "applied")
        self.assertEqual(stored("before"), ([{"title": "by AI, before"}], []))

        new = SOURCE_DIR / "examples" / "policies" / "ai_always_proposes.lua"
        shutil.copyfile(new, tmp / "policy.lua.new")
        os.rename(tmp / "policy.lua.new", policy)          # rename: no half-read file
        want = hashlib.sha256(new.read_bytes()).hexdigest()
        p = wait_until(lambda: (lambda b: b if b["sha256"] == want else None)(in_force()),
                       "GET /sync/policy to show the new policy", interval=0.2)
        self.assertEqual((p["path"], p["last_error"]), (str(policy), None))

        # The same kind of write is now a proposal: no entity, a proposal in the feed.
        r = t.push1(3, item("after", 3, payload={"title": "by AI, after"}))
        self.assertEqual((r["status"], r["reason"]), ("proposal", "AI output is a proposal until a user accepts it"), r)
        self.assertEqual(stored("after"), ([], [{"title": "by AI, after"}]))
        # ... and so is an AI edit of the content it created before the switch.
        r = t.push1(3, item("before", 3, payload={"title": "by AI, edited"}, version=1))
        self.assertEqual(r["status"], "proposal", r)
        self.assertEqual(stored("before"), ([{"title": "by AI, before"}], [{"title": "by AI, edited"}]))
        # A user accepting the proposal makes it user content (the policy's upgrade).
        r = t.push1(1, item("after", 3, payload={"title": "by AI, after"}, accepted_by_user=True))
        self.assertEqual(r["status"], "applied", r)
        [entity] = [c["item"] for c in pull_all(self.server.base, t.tok[1])
                    if c["kind"] == "entity" and c["item"]["entity_id"] == "after"]
        self.assertEqual((entity["payload"], entity["truth_level"]), ({"title": "by AI, after"}, 1))


if __name__ == "__main__":
    unittest.main()
