"""Task and handoff lifecycle, the inbox and agent names (docs/brain.md, "Tasks",
"Handoffs", "The inbox", "Agent names") against a real `hostsync serve`, on SQLite and on
PostgreSQL: who may update a task (and what is stored when someone else tries), its
history, acknowledging a handoff exactly once (two at the same moment), the stored
summary, the inbox's feed and cursor, and migration 8 converting a version 7 database."""
import json
import os
import secrets
import shutil
import tempfile
import threading
import unittest

from brain_support import Brain, call, make_token
from harness import hostsync
from pgserver import PgServer
from sync_support import db_rows

HERE = os.path.dirname(os.path.abspath(__file__))


class LifecycleTests:
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hostsync-lifecycle-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.db = cls.database()
        cls.tok = {
            "marcus": make_token(cls.db, "claude", "Marcus", "m1", "*"),
            "milo": make_token(cls.db, "gemini", "@milo", "m2", "web"),
            "priya": make_token(cls.db, "chatgpt", "priya", "m3", "web"),
            "grace": make_token(cls.db, "grok", "grace", "m4", "other"),
            "rowan": make_token(cls.db, "claude", "ROWAN", "m5", "web"),
        }
        holder = unittest.TestCase()
        cls.brain = Brain(holder, cls.db, threads=4)
        cls.addClassCleanup(holder.doCleanups)

    def api(self, who, method, path, body=None):
        return call(self.brain.base, method, path, self.tok[who], body)

    def rows(self, sql, *params):
        return db_rows(self.db, sql, *params)

    def history_rows(self, tid):
        return self.rows("SELECT agent, changes, note FROM task_history WHERE task_id = ? ORDER BY id", tid)

    # Tasks ------------------------------------------------------------------------

    def test_a_task_is_updated_by_its_assignee_or_creator_only_and_keeps_its_history(self):
        st, res = self.api("marcus", "POST", "/tasks", {"title": "Mobile QA", "project": "web", "assigned_to": "@Milo",
                                                         "status": "pending", "created_by": "priya"})
        self.assertEqual(st, 201, res)
        tid = res["id"]
        # Stored as the API says: 'pending' is 'open', names normalised, the creator from the token.
        self.assertEqual(self.rows("SELECT status, assigned_to, created_by FROM tasks WHERE id = ?", tid),
                         [{"status": "open", "assigned_to": "milo", "created_by": "marcus"}])
        st, t = self.api("milo", "POST", f"/tasks/{tid}", {"status": "in_progress", "note": "on it"})
        self.assertEqual((st, t["status"]), (200, "in_progress"), t)
        # priya may use the project but is neither assignee nor creator; grace may not see it.
        before = (self.rows("SELECT * FROM tasks WHERE id = ?", tid), self.history_rows(tid))
        st, body = self.api("priya", "POST", f"/tasks/{tid}", {"status": "done", "assigned_to": "priya"})
        self.assertEqual((st, body["error"]), (403, f"@priya may not update task {tid} (only its assignee @milo or its "
                                                    "creator @marcus may)"))
        st, body = self.api("grace", "POST", f"/tasks/{tid}", {"status": "done"})
        self.assertEqual((st, body["error"]), (404, f"no task {tid}"))
        self.assertEqual(self.api("grace", "GET", f"/tasks/{tid}")[0], 404)
        self.assertEqual((self.rows("SELECT * FROM tasks WHERE id = ?", tid), self.history_rows(tid)), before)
        # The creator blocks it; the assignee hands it to priya, then is no longer allowed.
        self.assertEqual(self.api("marcus", "POST", f"/tasks/{tid}", {"status": "blocked", "note": "waiting for audit"})[0], 200)
        st, t = self.api("milo", "POST", f"/tasks/{tid}", {"assigned_to": "PRIYA"})
        self.assertEqual((st, t["assigned_to"]), (200, "priya"), t)
        self.assertEqual(self.api("milo", "POST", f"/tasks/{tid}", {"status": "done"})[0], 403)
        # The same values again change nothing and record nothing; an empty update is a 400.
        n = len(self.history_rows(tid))
        self.assertEqual(self.api("priya", "POST", f"/tasks/{tid}", {"status": "blocked", "assigned_to": "priya"})[0], 200)
        self.assertEqual(len(self.history_rows(tid)), n)
        st, body = self.api("priya", "POST", f"/tasks/{tid}", {})
        self.assertEqual(st, 400, body)
        self.assertIn("nothing to change", body["error"])
        for bad, field in (({"status": "finished"}, "field 'status' must be one of open, in_progress, blocked, done"),
                           ({"assigned_to": "mi lo"}, "field 'assigned_to': 'mi lo' is not an agent name"),
                           ({"assigned_to": 7}, "field 'assigned_to' must be a string")):
            st, body = self.api("priya", "POST", f"/tasks/{tid}", bad)
            self.assertEqual(st, 400, body)
            self.assertIn(field, body["error"])
        st, t = self.api("priya", "POST", f"/tasks/{tid}", {"status": "done", "assigned_to": None, "note": "shipped"})
        self.assertEqual((st, t["status"], t["assigned_to"]), (200, "done", None), t)
        # The history, as answered and as stored.
        want = [("marcus", {"title": [None, "Mobile QA"], "status": [None, "open"], "assigned_to": [None, "milo"]}, None),
                ("milo", {"status": ["open", "in_progress"]}, "on it"),
                ("marcus", {"status": ["in_progress", "blocked"]}, "waiting for audit"),
                ("milo", {"assigned_to": ["milo", "priya"]}, None),
                ("priya", {"status": ["blocked", "done"], "assigned_to": ["priya", None]}, "shipped")]
        st, t = self.api("marcus", "GET", f"/tasks/{tid}")
        self.assertEqual(st, 200, t)
        self.assertEqual([(h["by"]["agent"], h["changes"], h["note"]) for h in t["history"]], want)
        self.assertEqual([h["by"]["ai"] for h in t["history"]], ["claude", "gemini", "claude", "gemini", "chatgpt"])
        self.assertEqual([(r["agent"], json.loads(r["changes"]) if isinstance(r["changes"], str) else r["changes"], r["note"])
                          for r in self.history_rows(tid)], want)
        self.assertEqual(self.rows("SELECT status, assigned_to, created_by FROM tasks WHERE id = ?", tid),
                         [{"status": "done", "assigned_to": None, "created_by": "marcus"}])

    def test_task_listing_filters_on_the_server(self):
        ids = {}
        for title, who, status in (("list-a", "rowan", "open"), ("list-b", "rowan", "blocked"), ("list-c", "milo", "blocked")):
            st, res = self.api("marcus", "POST", "/tasks", {"title": title, "project": "web", "assigned_to": who, "status": status})
            self.assertEqual(st, 201, res)
            ids[title] = res["id"]

        def titles(query, who="marcus"):
            st, body = self.api(who, "GET", "/tasks" + query)
            self.assertEqual(st, 200, body)
            return [t["title"] for t in body["tasks"] if t["title"].startswith("list-")]
        self.assertEqual(titles("?assigned_to=@Rowan"), ["list-a", "list-b"])
        self.assertEqual(titles("?assigned_to=rowan&status=blocked"), ["list-b"])
        self.assertEqual(titles("?status=blocked&project=web"), ["list-b", "list-c"])
        self.assertEqual(titles("?assigned_to=rowan&status=pending"), ["list-a"], "pending is open")
        self.assertEqual(titles("?status=blocked", who="grace"), [])
        self.assertEqual(self.api("marcus", "GET", "/tasks?status=later")[0], 400)
        self.assertEqual(self.api("marcus", "GET", "/tasks?assigned_to=no%20one")[0], 400)

    # Handoffs ---------------------------------------------------------------------

    def test_a_handoff_is_acknowledged_once_by_its_receiver(self):
        st, res = self.api("marcus", "POST", "/handoffs", {"to_agent": "@MILO", "artifact": "hero.tsx", "project": "web",
                                                            "summary": "## Session Handoff\n- [x] Desktop design\n"})
        self.assertEqual(st, 201, res)
        hid = res["id"]
        self.assertEqual(self.rows("SELECT to_agent, from_agent, from_machine, summary FROM handoffs WHERE id = ?", hid),
                         [{"to_agent": "milo", "from_agent": "marcus", "from_machine": "m1",
                           "summary": "## Session Handoff\n- [x] Desktop design\n"}])
        before = self.rows("SELECT * FROM handoffs WHERE id = ?", hid)
        chat_before = self.rows("SELECT COUNT(*) AS n FROM chatroom")
        st, body = self.api("priya", "POST", f"/handoffs/{hid}/ack", {})
        self.assertEqual((st, body["error"]), (403, f"@priya may not acknowledge handoff {hid}: only its receiver @milo may"))
        self.assertEqual(self.api("grace", "POST", f"/handoffs/{hid}/ack", {})[0], 404)
        self.assertEqual(self.api("grace", "GET", f"/handoffs/{hid}")[0], 404)
        self.assertEqual((self.rows("SELECT * FROM handoffs WHERE id = ?", hid), self.rows("SELECT COUNT(*) AS n FROM chatroom")),
                         (before, chat_before))
        # Two acknowledgements at the same moment: one wins, the other is told who and when.
        answers, barrier = [], threading.Barrier(2)

        def ack(note):
            barrier.wait()
            answers.append(self.api("milo", "POST", f"/handoffs/{hid}/ack", {"note": note}))
        threads = [threading.Thread(target=ack, args=(n,)) for n in ("first", "second")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(st for st, _ in answers), [200, 409], answers)
        won = next(b for st, b in answers if st == 200)
        lost = next(b for st, b in answers if st == 409)
        self.assertEqual(lost["error"], f"handoff {hid} was already acknowledged by @milo at {won['acknowledged_at']}")
        stored = self.rows("SELECT acknowledged_by, acknowledged_by_ai, acknowledged_by_machine, ack_note FROM handoffs WHERE id = ?", hid)
        self.assertEqual(stored, [{"acknowledged_by": "milo", "acknowledged_by_ai": "gemini", "acknowledged_by_machine": "m2",
                                   "ack_note": won["ack_note"]}])
        # Exactly one chat message says so, mentioning the sender, in the handoff's project.
        acks = [m for m in self.api("marcus", "GET", "/chat?since=0&limit=1000")[1]["messages"]
                if m["metadata"] == {"handoff_id": hid, "acknowledged": True}]
        self.assertEqual([(m["id"], m["agent"], m["project"], m["mentions"]) for m in acks],
                         [(won["chat_id"], "milo", "web", ["marcus"])])
        # Listing by status; the summary is only sent by GET /handoffs/:id.
        open_ids = [h["id"] for h in self.api("milo", "GET", "/handoffs?to=Milo&status=open")[1]["handoffs"]]
        done = self.api("milo", "GET", "/handoffs?to=milo&status=acknowledged")[1]["handoffs"]
        self.assertNotIn(hid, open_ids)
        self.assertIn(hid, [h["id"] for h in done])
        self.assertEqual(self.api("milo", "GET", "/handoffs?status=later")[0], 400)
        st, got = self.api("milo", "GET", f"/handoffs/{hid}")
        self.assertEqual((st, got["summary"], got["status"]), (200, "## Session Handoff\n- [x] Desktop design\n", "acknowledged"))

    def test_the_summary_is_written_by_the_sender_until_acknowledged(self):
        st, res = self.api("marcus", "POST", "/handoffs", {"to_agent": "milo", "project": "web"})
        self.assertEqual(st, 201, res)
        hid = res["id"]
        st, body = self.api("milo", "POST", f"/handoffs/{hid}/summary", {"summary": "forged by the receiver"})
        self.assertEqual((st, body["error"]), (403, f"@milo may not write the summary of handoff {hid}: only its sender @marcus may"))
        st, body = self.api("marcus", "POST", f"/handoffs/{hid}/summary", {"summary": "x" * 65537})
        self.assertEqual((st, body["error"]), (400, "field 'summary' is longer than 65536 bytes"))
        self.assertEqual(self.rows("SELECT summary FROM handoffs WHERE id = ?", hid), [{"summary": None}])
        summary = "## Session Handoff: hero\n" + "é" * 100
        st, body = self.api("marcus", "POST", f"/handoffs/{hid}/summary", {"summary": summary})
        self.assertEqual((st, body["summary"], body["has_summary"]), (200, summary, True))
        self.assertEqual(self.api("milo", "POST", f"/handoffs/{hid}/ack", {})[0], 200)
        st, body = self.api("marcus", "POST", f"/handoffs/{hid}/summary", {"summary": "rewritten after the fact"})
        self.assertEqual(st, 409, body)
        self.assertEqual(self.rows("SELECT summary FROM handoffs WHERE id = ?", hid), [{"summary": summary}])

    # The inbox --------------------------------------------------------------------

    def inbox(self, who, since=0, limit=1000, expect=200):
        st, body = self.api(who, "GET", f"/inbox?since={since}&limit={limit}")
        self.assertEqual(st, expect, body)
        return body

    def test_the_inbox_is_what_concerns_the_agent_in_one_feed_with_a_cursor(self):
        start = self.inbox("rowan")["next"]
        self.assertEqual(self.inbox("rowan", since=start)["entries"], [])
        # What concerns rowan, by others...
        self.assertEqual(self.api("marcus", "POST", "/chat", {"message": "@Rowan please look", "project": "web"})[0], 201)
        self.assertEqual(self.api("marcus", "POST", "/chat", {"message": "@rowan secret plans", "project": "other"})[0], 201)
        self.assertEqual(self.api("milo", "POST", "/chat", {"message": "morning @ROWAN"})[0], 201)
        st, h = self.api("marcus", "POST", "/handoffs", {"to_agent": "rowan", "artifact": "footer", "project": "web",
                                                          "message": "Handing footer to @rowan"})
        self.assertEqual(st, 201, h)
        st, t = self.api("marcus", "POST", "/tasks", {"title": "inbox task", "project": "web", "assigned_to": "rowan"})
        self.assertEqual(st, 201, t)
        self.assertEqual(self.api("marcus", "POST", f"/tasks/{t['id']}", {"status": "blocked", "note": "wait"})[0], 200)
        # ...and by rowan itself, which is not in its own inbox.
        self.assertEqual(self.api("rowan", "POST", "/chat", {"message": "note to self @rowan", "project": "web"})[0], 201)
        self.assertEqual(self.api("rowan", "POST", f"/tasks/{t['id']}", {"status": "in_progress"})[0], 200)
        # Read in pages of two, following `next`: every entry once, in order.
        got, since = [], start
        while True:
            page = self.inbox("rowan", since=since, limit=2)
            got += page["entries"]
            self.assertEqual(page["next"], page["entries"][-1]["seq"] if page["entries"] else since)
            since = page["next"]
            if not page["more"]:
                break
        self.assertEqual([e["seq"] for e in got], sorted({e["seq"] for e in got}))
        summary = [(e["kind"], e["by"]["agent"], e["project"]) for e in got]
        self.assertEqual(summary, [("mention", "marcus", "web"), ("mention", "milo", None), ("handoff", "marcus", "web"),
                                   ("task", "marcus", "web"), ("task", "marcus", "web")])
        self.assertEqual(got[0]["chat"]["message"], "@Rowan please look")
        self.assertEqual((got[2]["handoff"]["id"], got[2]["handoff"]["artifact"]), (h["id"], "footer"))
        self.assertEqual((got[4]["task"]["status"], got[4]["change"]), ("blocked", {"changes": {"status": ["open", "blocked"]},
                                                                                    "note": "wait"}))
        # The stored rows are the same, the other project's mention included (rowan may not see it).
        stored = self.rows("SELECT kind, by_agent, project_id FROM inbox WHERE agent = 'rowan' AND seq > ? ORDER BY seq", start)
        self.assertEqual([(r["kind"], r["by_agent"], r["project_id"]) for r in stored],
                         [summary[0], ("mention", "marcus", "other"), *summary[1:]])
        # rowan's own update reached the creator's inbox.
        mine = [e for e in self.inbox("marcus")["entries"] if e["kind"] == "task" and e["task"]["id"] == t["id"]]
        self.assertEqual([(e["by"]["agent"], e["change"]["changes"]) for e in mine],
                         [("rowan", {"status": ["blocked", "in_progress"]})])
        self.assertEqual(self.api("rowan", "GET", "/inbox?project=other")[0], 403)
        self.assertEqual(self.api("rowan", "GET", "/inbox?since=-1")[0], 400)


class LifecycleSQLiteTest(LifecycleTests, unittest.TestCase):
    @classmethod
    def database(cls):
        return os.path.join(cls.tmp, "brain.sqlite")


class LifecyclePostgresTest(LifecycleTests, unittest.TestCase):
    @classmethod
    def database(cls):
        cls.pg = PgServer().__enter__()
        cls.addClassCleanup(cls.pg.__exit__, None, None, None)
        return cls.pg.url


class MigrationTests:
    """Migration 8 on a database version 7 left: names, statuses, timestamps."""

    def test_version_7_data_is_converted(self):
        url = self.old_database()
        milo, marcus = secrets.token_hex(16), secrets.token_hex(16)
        out = hostsync("run", os.path.join(HERE, "brain_v7.lua"), url, milo, marcus, check=True, timeout=60).out
        self.assertEqual(out.strip(), "ok")
        brain = Brain(self, url, threads=2)   # migrates at start
        rows = lambda sql: db_rows(url, sql)  # noqa: E731
        self.assertEqual([r["agent"] for r in rows("SELECT agent FROM tokens ORDER BY id")], ["milo", "marcus"])
        self.assertEqual(rows("SELECT status, assigned_to, created_by FROM tasks ORDER BY id"),
                         [{"status": "open", "assigned_to": "milo", "created_by": "marcus"},
                          {"status": "done", "assigned_to": "priya", "created_by": "marcus"}])
        self.assertEqual(rows("SELECT from_agent, to_agent FROM handoffs"), [{"from_agent": "marcus", "to_agent": "milo"}])
        self.assertEqual(rows("SELECT agent_id FROM chatroom"), [{"agent_id": "milo"}])
        self.assertEqual(rows("SELECT held_by_agent FROM sync_locks"), [{"held_by_agent": "milo"}])
        stamped = rows("SELECT entity_id, changed_at IS NOT NULL AS stamped FROM sync_entities ORDER BY entity_id")
        self.assertEqual([(r["entity_id"], bool(r["stamped"])) for r in stamped], [("gone", True), ("live", False)])
        # And the converted rows work with the same agents' tokens: '@Milo' is milo.
        st, t = call(brain.base, "POST", "/tasks/1", milo, {"status": "in_progress"})
        self.assertEqual((st, t.get("status")), (200, "in_progress"), t)
        st, body = call(brain.base, "POST", "/locks/push:web/renew", milo, {"fencing_token": 5})
        self.assertEqual(st, 200, body)
        st, body = call(brain.base, "POST", "/handoffs/1/ack", milo, {})
        self.assertEqual((st, body.get("acknowledged_by")), (200, "milo"), body)
        self.assertEqual(call(brain.base, "GET", "/whoami", marcus)[1]["agent"], "marcus")


class MigrationSQLiteTest(MigrationTests, unittest.TestCase):
    def old_database(self):
        d = tempfile.mkdtemp(prefix="hostsync-v7-")
        self.addCleanup(shutil.rmtree, d, True)
        return os.path.join(d, "brain.sqlite")


class MigrationPostgresTest(MigrationTests, unittest.TestCase):
    def old_database(self):
        pg = PgServer().__enter__()
        self.addCleanup(pg.__exit__, None, None, None)
        return pg.url


if __name__ == "__main__":
    unittest.main(verbosity=2)
