"""Event hooks (docs/hooks.md) against a real `hostsync serve` and real local
HTTP receivers: both examples, the allow-list (what reaches a receiver that is not on
it: nothing), budgets that stop a looping or hoarding hook while the server answers,
retries until dead, hooks that would feed each other forever, hot reload with a broken
edit, at-least-once delivery across a kill -9 at a failpoint, and no queue without hooks.
Every test runs on SQLite and on PostgreSQL."""
import json
import os
import shutil
import signal
import tempfile
import unittest

from brain_support import Brain, call, make_token
from harness import hostsync
from pgserver import PgServer
from sink_support import RecordingSink
from sync_support import db_rows, item, make_sync_token
from waiting import HANG_GUARD, wait_until

SOURCE = os.environ.get("HOSTSYNC_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(SOURCE, "examples", "hooks")


class HookTests:
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hostsync-hooks-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.db = self.database()
        self.marcus = make_token(self.db, "claude", "marcus", "m1", "P")
        self.lena = make_token(self.db, "gemini", "lena", "m2", "P")

    def write(self, name, text):
        """Writes a file by rename, as an editor does (a new inode: the server sees a change)."""
        path = os.path.join(self.tmp, name)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
        return path

    def serve(self, hooks, env=None, **kw):
        cfg = self.write("brain.json", json.dumps({"hooks": hooks}))
        return Brain(self, self.db, threads=2, extra=["--no-web", "--config", cfg], env=env, **kw)

    def report(self, failed=False):
        args = ["run", "brain_admin.lua", "hooks", "--json", "--limit", "1000", "--db", self.db] + (["--failed"] if failed else [])
        proc = hostsync(*args, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.err)
        return json.loads(proc.out)

    def settled(self, total):
        """Waits until `total` events exist and none is pending -> the report."""
        def done():
            r = self.report()
            ev = r["events"]
            return r if sum(ev.values()) == total and ev.get("pending", 0) == 0 else None
        return wait_until(done, f"{total} hook events handled")

    def chat(self, brain, message, token=None):
        status, body = call(brain.base, "POST", "/chat", token or self.marcus, {"message": message, "project": "P"})
        self.assertEqual(status, 201, body)
        return body["id"]

    def messages(self, brain):
        status, body = call(brain.base, "GET", "/chat?since=0", self.marcus)
        self.assertEqual(status, 200, body)
        return body["messages"]

    # --- the examples --------------------------------------------------------------------

    def test_mention_webhook_example_forwards_mentions_of_humans_only(self):
        sink = RecordingSink(self)
        brain = self.serve({"file": os.path.join(EXAMPLES, "mention_webhook.lua"), "allow_hosts": ["127.0.0.1"],
                            "settings": {"webhook_url": sink.url, "humans": ["alice"]}})
        first = self.chat(brain, "@alice the build is red, @lena is on it")
        self.chat(brain, "@lena fyi only")
        report = self.settled(2)
        self.assertEqual(report["events"], {"done": 2})
        self.assertEqual(len(sink.requests), 1)
        headers, body, _ = sink.requests[0]
        doc = json.loads(body)
        self.assertEqual(doc["text"], "@alice the build is red, @lena is on it")
        self.assertEqual(doc["mentions"], ["alice"])
        self.assertEqual(doc["chat_id"], first)
        self.assertEqual(doc["from"], {"ai": "claude", "agent": "marcus"})
        self.assertEqual(doc["project"], "P")
        self.assertTrue(headers.get("Idempotency-Key", "").startswith("hostsync-hook-"), headers)
        self.assertTrue(all(r["ok"] for r in report["runs"]), report["runs"])

    def test_handoff_to_task_example_creates_the_receivers_task(self):
        brain = self.serve(os.path.join(EXAMPLES, "handoff_to_task.lua"))
        status, body = call(brain.base, "POST", "/handoffs", self.marcus,
                            {"to_agent": "lena", "artifact": "parser", "project": "P"})
        self.assertEqual(status, 201, body)
        hid = body["id"]

        def tasks():
            s, b = call(brain.base, "GET", "/tasks?project=P", self.marcus)
            self.assertEqual(s, 200, b)
            return b["tasks"]
        task = wait_until(lambda: tasks() and tasks()[0], "the hook's task")
        self.assertEqual(task["assigned_to"], "lena")
        self.assertEqual(task["created_by"], "hooks")
        self.assertEqual(task["project_id"], "P")
        self.assertEqual(task["title"], f"Handoff #{hid} from @marcus: parser")
        # The receiver acknowledges: no second task. The task the hook created is itself
        # an event (one hook deep) that this file has no handler for.
        status, body = call(brain.base, "POST", f"/handoffs/{hid}/ack", self.lena, {})
        self.assertEqual(status, 200, body)
        report = self.settled(5)   # handoff chat, handoff, task, ack chat, ack
        self.assertEqual(report["events"], {"done": 2, "skipped": 3})
        self.assertEqual(len(tasks()), 1)
        # The receiver may update the task made for it.
        status, body = call(brain.base, "POST", f"/tasks/{task['id']}", self.lena, {"status": "in_progress"})
        self.assertEqual(status, 200, body)
        rows = db_rows(self.db, "SELECT origin, depth FROM hook_events WHERE kind = 'task' ORDER BY id")
        self.assertEqual(rows[0]["depth"], 1)
        self.assertIsNotNone(rows[0]["origin"])

    def test_a_lease_taken_over_after_expiry_raises_lock_expired(self):
        hook = self.write("h.lua", """return { on_lock_expired = function(e)
            return { action = "post_chat", project = e.project,
                     message = ("%s expired: @%s had token %d, @%s took it"):format(e.lock, e.holder.agent, e.fencing_token, e.taken_by.agent) }
          end }""")
        brain = self.serve({"file": hook})
        status, body = call(brain.base, "POST", "/locks/push:P/acquire", self.marcus, {"ttl_seconds": 1})
        self.assertEqual(status, 200, body)
        first = body["fencing_token"]
        # Lena retries until the one-second lease is over (an observed state, not a sleep).
        wait_until(lambda: call(brain.base, "POST", "/locks/push:P/acquire", self.lena, {"ttl_seconds": 60})[0] == 200,
                   "the lease to expire")
        report = self.settled(2)   # lock_expired, and the hook's chat (no handler)
        self.assertEqual(report["events"], {"done": 1, "skipped": 1})
        self.assertEqual([m["message"] for m in self.messages(brain)], [f"push:P expired: @marcus had token {first}, @lena took it"])
        # A release and a fresh grant raise nothing.
        status, body = call(brain.base, "POST", "/locks/push:P/release", self.lena, {"fencing_token": call(brain.base, "GET", "/locks/push:P", self.lena)[1]["fencing_token"]})
        self.assertEqual(status, 200, body)
        status, body = call(brain.base, "POST", "/locks/push:P/acquire", self.marcus, {"ttl_seconds": 60})
        self.assertEqual(status, 200, body)
        self.assertEqual(db_rows(self.db, "SELECT COUNT(*) AS n FROM hook_events WHERE kind = 'lock_expired'"), [{"n": 1}])

    def test_pushes_and_a_users_resolve_raise_sync_events(self):
        sink = RecordingSink(self)
        hook = self.write("h.lua", """return { on_sync_event = function(e, ctx)
            return { action = "http_post", url = ctx.settings.url, json = e } end }""")
        brain = self.serve({"file": hook, "allow_hosts": ["127.0.0.1"], "settings": {"url": sink.url}})
        user = make_sync_token(self.db, "t1", 1, "alice")
        ai = make_sync_token(self.db, "t1", 3, "model")

        def push(token, it):
            status, body = call(brain.base, "POST", "/sync/push", token, {"items": [it]})
            self.assertEqual(status, 200, body)
            return body["results"][0]
        first = push(user, item("n1", 1, payload={"title": "mine", "secret": "s"}))
        self.assertEqual(first["status"], "applied", first)
        proposal = push(ai, item("n1", 3, version=first["version"], payload={"title": "ai idea"}))
        self.assertEqual(proposal["status"], "proposal", proposal)
        status, merged = call(brain.base, "POST", "/sync/conflict-resolve", user,
                              {"entity_type": "note", "entity_id": "n1", "base_version": first["version"],
                               "payload": {"title": "merged"}, "proposal_version": proposal["version"]})
        self.assertEqual(status, 200, merged)
        self.assertEqual(self.settled(3)["events"], {"done": 3})
        got = sorted((json.loads(b) for _, b, _ in sink.requests), key=lambda e: e["version"])
        self.assertEqual([(e["status"], e["entity_id"], e["truth_level"], e["by"]["agent"]) for e in got],
                         [("applied", "n1", 1, "alice"), ("proposal", "n1", 3, "model"), ("resolved", "n1", 1, "alice")])
        self.assertEqual((got[2]["version"], got[2]["proposal_version"], got[2]["events"]),
                         (merged["version"], proposal["version"], ["resolved"]))
        for e in got:
            self.assertNotIn("payload", e, "a hook sees no payload")

    # --- what a hook may not do ------------------------------------------------------------

    def test_http_post_only_to_allowed_hosts(self):
        allowed = RecordingSink(self)
        other = RecordingSink(self)
        allowed_port = allowed.server.server_address[1]
        other_port = other.server.server_address[1]
        hook = self.write("h.lua", """
            return { on_chat = function(e, ctx) return { action = "http_post", url = e.message, json = { n = e.id } } end }""")
        brain = self.serve({"file": hook, "allow_hosts": [f"127.0.0.1:{allowed_port}"], "max_attempts": 1})
        attempts = [
            f"http://127.0.0.1:{other_port}/inbox",                      # another port of an allowed host
            f"http://localhost:{allowed_port}/inbox",                    # another name for it
            f"http://127.0.0.1:{allowed_port}@127.0.0.1:{other_port}/",  # user info: read either way
            f"http://127.0.0.1.:{other_port}/",
            f"ftp://127.0.0.1:{allowed_port}/",
        ]
        for url in attempts:
            self.chat(brain, url)
        self.chat(brain, f"http://127.0.0.1:{allowed_port}/inbox")
        report = self.settled(len(attempts) + 1)
        self.assertEqual(report["events"], {"dead": len(attempts), "done": 1})
        self.assertEqual(other.requests, [])
        self.assertEqual(len(allowed.requests), 1)
        failed = self.report(failed=True)["runs"]
        self.assertEqual(len(failed), len(attempts))
        for r in failed:
            self.assertIn("http_post", r["error"])

    def test_a_looping_or_hoarding_hook_is_stopped_and_the_server_answers(self):
        hook = self.write("h.lua", """
            return { on_chat = function(e)
              if e.message == "loop" then while true do end end
              if e.message == "hog" then local t = {} for i = 1, 1e9 do t[i] = ("x"):rep(4096) .. i end end
              return { action = "post_chat", message = "seen " .. e.message }
            end }""")
        brain = self.serve({"file": hook, "max_attempts": 1, "max_depth": 0,
                            "max_instructions": 1000000, "max_memory": 8 * 1024 * 1024})
        self.chat(brain, "loop")
        self.chat(brain, "hog")
        self.chat(brain, "fine")
        report = self.settled(3)   # the three chats; the hook's reply raises none (max_depth 0)
        self.assertEqual(report["events"], {"dead": 2, "done": 1})
        errors = sorted(r["error"] for r in self.report(failed=True)["runs"])
        self.assertEqual(len(errors), 2, errors)
        self.assertIn("instruction budget exceeded", errors[0])
        self.assertIn("memory budget exceeded", errors[1])
        self.assertEqual([m["message"] for m in self.messages(brain)], ["loop", "hog", "fine", "seen fine"])
        status, _ = call(brain.base, "GET", "/whoami", self.marcus)
        self.assertEqual(status, 200)

    def test_a_failing_hook_is_retried_then_dead(self):
        hook = self.write("h.lua", 'return { on_chat = function(e) error("boom " .. e.attempt) end }')
        brain = self.serve({"file": hook, "max_attempts": 3, "retry_base": 0.01})
        self.chat(brain, "hello")
        report = self.settled(1)
        self.assertEqual(report["events"], {"dead": 1})
        runs = sorted(report["runs"], key=lambda r: r["attempt"])
        self.assertEqual([r["attempt"] for r in runs], [1, 2, 3])
        self.assertEqual([r["ok"] for r in runs], [False] * 3)
        for r in runs:
            self.assertIn(f"boom {r['attempt']}", r["error"])
        row = db_rows(self.db, "SELECT status, attempts, last_error FROM hook_events")[0]
        self.assertEqual((row["status"], row["attempts"]), ("dead", 3))
        self.assertIn("boom 3", row["last_error"])

    def test_hooks_cannot_feed_each_other_forever(self):
        hook = self.write("h.lua", 'return { on_chat = function(e) return { action = "post_chat", message = "echo " .. e.message } end }')
        brain = self.serve({"file": hook})   # max_depth 1 by default
        self.chat(brain, "ping")
        self.settled(2)   # the post (depth 0) and the first echo (depth 1); the second echo raises none
        self.assertEqual([m["message"] for m in self.messages(brain)], ["ping", "echo ping", "echo echo ping"])
        rows = db_rows(self.db, "SELECT depth FROM hook_events ORDER BY id")
        self.assertEqual([r["depth"] for r in rows], [0, 1])
        self.assertTrue(any("hooks deep" in line for line in brain.lines), brain.lines)

    # --- reload, restart ---------------------------------------------------------------------

    def test_a_broken_edit_keeps_the_old_hooks_and_says_why(self):
        v1 = 'return { on_chat = function(e) if e.agent ~= "hooks" then return { action = "post_chat", message = "%s " .. e.message } end end }'
        hook = self.write("h.lua", v1 % "v1")
        brain = self.serve({"file": hook, "max_depth": 0})
        wait_until(lambda: self.report()["files"], "the runner's first load")
        self.write("h.lua", "return { on_chat = function(e) this is not lua }")
        report = wait_until(lambda: (lambda r: r if r["files"] and r["files"][0]["last_error"] else None)(self.report()),
                            "the refused edit in the admin view")
        self.assertIn("h.lua", report["files"][0]["last_error"])
        self.assertTrue(any("not reloaded, the old one stays in force" in line for line in brain.lines), brain.lines)
        self.chat(brain, "a")
        self.settled(1)   # the hook's reply raises none (max_depth 0)
        self.write("h.lua", v1 % "v2")
        wait_until(lambda: self.report()["files"][0]["last_error"] is None, "the fixed file loaded")
        self.chat(brain, "b")
        self.settled(2)
        self.assertEqual([m["message"] for m in self.messages(brain)], ["a", "v1 a", "b", "v2 b"])

    def test_an_event_committed_before_a_crash_runs_after_restart(self):
        sink = RecordingSink(self)
        hooks = {"file": os.path.join(EXAMPLES, "mention_webhook.lua"), "allow_hosts": ["127.0.0.1"],
                 "settings": {"webhook_url": sink.url, "humans": ["alice"]}}
        env = dict(os.environ, HOSTSYNC_FAILPOINT="hook_before_claim")
        brain = self.serve(hooks, env=env)
        try:
            call(brain.base, "POST", "/chat", self.marcus, {"message": "@alice after the crash", "project": "P"})
        except OSError:
            pass   # the runner may kill the server before the answer is sent
        self.assertEqual(brain.proc.wait(HANG_GUARD), -signal.SIGKILL)
        rows = db_rows(self.db, "SELECT status, attempts FROM hook_events")
        self.assertEqual(rows, [{"status": "pending", "attempts": 0}])
        self.assertEqual(len(db_rows(self.db, "SELECT seq FROM chatroom")), 1)
        self.assertEqual(sink.requests, [])
        self.serve(hooks)
        report = self.settled(1)
        self.assertEqual(report["events"], {"done": 1})
        self.assertEqual([json.loads(b)["text"] for _, b, _ in sink.requests], ["@alice after the crash"])

    # --- configuration ------------------------------------------------------------------------

    def test_without_hooks_nothing_is_queued(self):
        brain = Brain(self, self.db, threads=2, extra=["--no-web"])
        self.chat(brain, "@lena hello")
        status, body = call(brain.base, "POST", "/handoffs", self.marcus, {"to_agent": "lena", "project": "P"})
        self.assertEqual(status, 201, body)
        self.assertEqual(db_rows(self.db, "SELECT COUNT(*) AS n FROM hook_events"), [{"n": 0}])

    def test_bad_hooks_are_refused_before_listening(self):
        broken = self.write("broken.lua", "return { on_chat = ")
        none = self.write("none.lua", "return { on_chats = function() end }")
        cases = [
            (["--hooks", broken], "broken.lua"),
            (["--hooks", none], "defines no handler"),
            (["--hooks", os.path.join(self.tmp, "missing.lua")], "missing.lua"),
            (["--config", self.write("c1.json", json.dumps({"hooks": {"file": none, "allowed_hosts": []}}))], "no setting 'allowed_hosts'"),
            (["--config", self.write("c2.json", json.dumps({"hooks": {"file": broken, "max_attempts": 0}}))], "max_attempts"),
            # The hooks' own messages and tasks carry an agent name by the common rule.
            (["--config", self.write("c3.json", json.dumps({"hooks": {"file": none, "agent": "Hook Bot!"}}))], "hooks.agent"),
        ]
        for extra, needle in cases:
            proc = hostsync("serve", "--port", "0", "--no-web", "--db", self.db, *extra, timeout=60)
            self.assertNotEqual(proc.returncode, 0, extra)
            self.assertIn(needle, proc.err, extra)

    def test_a_hook_cannot_set_the_headers_the_server_sets(self):
        sink = RecordingSink(self)
        hook = self.write("h.lua", """return { on_chat = function(e, ctx)
            return { action = "http_post", url = ctx.settings.url, json = {},
                     headers = { [e.message] = "forged" } } end }""")
        brain = self.serve({"file": hook, "allow_hosts": ["127.0.0.1"], "max_attempts": 1,
                            "settings": {"url": sink.url}})
        reserved = ["Idempotency-Key", "x-hostsync-hook-event", "Host", "Content-Length"]
        for name in reserved + ["X-Team"]:
            self.chat(brain, name)
        report = self.settled(len(reserved) + 1)
        self.assertEqual(report["events"], {"dead": len(reserved), "done": 1})
        for r in self.report(failed=True)["runs"]:
            self.assertIn("is set by the server", r["error"])
        self.assertEqual(len(sink.requests), 1, "only the run with a header of its own sent anything")
        headers = sink.requests[0][0]
        self.assertEqual(headers["X-Team"], "forged")
        self.assertTrue(headers["Idempotency-Key"].startswith("hostsync-hook-"), headers)



class HookSQLiteTest(HookTests, unittest.TestCase):
    def database(self):
        return os.path.join(self.tmp, "brain.sqlite")


class HookPostgresTest(HookTests, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = PgServer().__enter__()
        cls.addClassCleanup(cls.pg.__exit__, None, None, None)

    def database(self):
        return self.pg.create_database("hooks_" + self._testMethodName[5:40])


if __name__ == "__main__":
    unittest.main(verbosity=2)
