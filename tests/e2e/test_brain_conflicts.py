"""The conflicts record (docs/brain.md, "Conflicts"): POST /conflicts records a push
conflict and posts the coordinator's alert in the same transaction; the coordinator
assigns an owner; the owner (or the coordinator, or the reporter) resolves it; who may do
what is enforced by the token's identity."""
import os
import shutil
import sqlite3
import tempfile
import unittest

from brain_support import Brain, call, make_token


class ConflictsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="hostsync-conflicts-")
        cls.db = os.path.join(cls.dir, "brain.sqlite")
        cls.marcus = make_token(cls.db, agent="marcus")
        cls.milo = make_token(cls.db, ai="gemini", agent="milo", machine="m2")
        cls.priya = make_token(cls.db, ai="chatgpt", agent="priya", machine="m3")
        cls.rowan = make_token(cls.db, ai="grok", agent="rowan", machine="m4")
        cls.outsider = make_token(cls.db, agent="grace", project="Q")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.base = Brain(self, self.db, threads=4).base

    def record(self, token=None, **extra):
        body = {"project": "P", "files": ["README.md", "src/app.lua"], "local_commit": "abc123",
                "upstream_commit": "def456", "summary": "docs: readme"}
        body.update(extra)
        return call(self.base, "POST", "/conflicts", token or self.milo, body)

    def conflict(self, cid, token=None):
        st, body = call(self.base, "GET", "/conflicts?project=P", token or self.marcus)
        self.assertEqual(st, 200, body)
        return next(c for c in body["conflicts"] if c["id"] == cid)

    def test_record_posts_alert_in_the_same_transaction(self):
        st, got = self.record()
        self.assertEqual(st, 201, got)
        self.assertEqual((got["coordinator"], got["status"]), ("marcus", "open"))
        c = self.conflict(got["id"])
        self.assertEqual(c["reporter"], {"ai": "gemini", "agent": "milo", "machine": "m2"})
        self.assertEqual(c["files"], ["README.md", "src/app.lua"])
        self.assertEqual((c["local_commit"], c["upstream_commit"], c["summary"]), ("abc123", "def456", "docs: readme"))
        self.assertEqual(c["chat_id"], got["chat_id"])
        st, chat = call(self.base, "GET", f"/chat?since={got['chat_id'] - 1}&limit=1", self.marcus)
        alert = chat["messages"][0]
        self.assertEqual((alert["id"], alert["type"], alert["agent"]), (got["chat_id"], "alert", "milo"))
        self.assertIn("marcus", alert["mentions"])
        self.assertIn(f"CONFLICT #{got['id']} in P", alert["message"])
        self.assertIn("README.md, src/app.lua", alert["message"])
        self.assertEqual(alert["metadata"]["conflict_id"], got["id"])
        # the policy's coordinator, when given, is the one alerted (and who may assign)
        st, got2 = self.record(coordinator="@Rowan")
        self.assertEqual((st, got2["coordinator"]), (201, "rowan"))
        self.assertEqual(self.conflict(got2["id"])["coordinator"], "rowan")

    def test_validation_and_project_access(self):
        for body, field in (({"files": ["a"]}, "project"), ({"project": "P"}, "files"),
                            ({"project": "P", "files": []}, "files"), ({"project": "P", "files": [3]}, "files"),
                            ({"project": "P", "files": ["a"], "coordinator": "not a name"}, "coordinator")):
            st, res = call(self.base, "POST", "/conflicts", self.milo, body)
            self.assertEqual(st, 400, (body, res))
            self.assertIn(field, res["error"])
        st, res = self.record(token=self.outsider)
        self.assertEqual(st, 403, res)
        self.assertEqual(call(self.base, "GET", "/conflicts?project=P", self.outsider)[0], 403)
        self.assertEqual(call(self.base, "GET", "/conflicts", self.marcus)[0], 400)
        self.assertEqual(call(self.base, "GET", "/conflicts?project=P&status=nope", self.marcus)[0], 400)
        self.assertEqual(call(self.base, "POST", "/conflicts/999999/assign", self.marcus, {"to": "priya"})[0], 404)
        self.assertEqual(call(self.base, "POST", "/conflicts/x/assign", self.marcus, {"to": "priya"})[0], 400)
        # nothing half-applied: a refused record left neither a row nor an alert
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute("SELECT COUNT(*) FROM push_conflicts WHERE project_id IS NULL OR project_id <> 'P'")
                         .fetchone()[0], 0)
        con.close()

    def test_assign_and_resolve_permissions_and_workflow(self):
        cid = self.record()[1]["id"]
        path = f"/conflicts/{cid}"
        # only the coordinator assigns
        for token in (self.milo, self.priya):
            st, res = call(self.base, "POST", path + "/assign", token, {"to": "priya"})
            self.assertEqual(st, 403, res)
            self.assertIn("only its coordinator @marcus", res["error"])
        # nobody else than the assignee, coordinator or reporter resolves
        self.assertEqual(call(self.base, "POST", path + "/resolve", self.rowan, {})[0], 403)
        st, res = call(self.base, "POST", path + "/assign", self.marcus, {"to": "@priya"})
        self.assertEqual(st, 200, res)
        self.assertEqual((res["status"], res["assigned_to"]), ("assigned", "priya"))
        st, chat = call(self.base, "GET", f"/chat?since={res['chat_message_id'] - 1}&limit=1", self.priya)
        decision = chat["messages"][0]
        self.assertEqual((decision["type"], decision["agent"]), ("decision", "marcus"))
        self.assertIn("priya", decision["mentions"])
        self.assertEqual([c["id"] for c in call(self.base, "GET", "/conflicts?project=P&status=assigned",
                                                 self.priya)[1]["conflicts"]].count(cid), 1)
        self.assertEqual(call(self.base, "POST", path + "/resolve", self.rowan, {})[0], 403)
        st, res = call(self.base, "POST", path + "/resolve", self.priya, {"resolution": "merged both in 0f1e2d"})
        self.assertEqual(st, 200, res)
        self.assertEqual((res["status"], res["resolved_by"], res["resolution"]), ("resolved", "priya", "merged both in 0f1e2d"))
        self.assertIsNotNone(res["resolved_at"])
        st, chat = call(self.base, "GET", f"/chat?since={res['chat_message_id'] - 1}&limit=1", self.milo)
        self.assertEqual(chat["messages"][0]["type"], "sync")
        self.assertIn("Pull and continue", chat["messages"][0]["message"])
        # resolved is final
        self.assertEqual(call(self.base, "POST", path + "/resolve", self.marcus, {})[0], 409)
        self.assertEqual(call(self.base, "POST", path + "/assign", self.marcus, {"to": "milo"})[0], 409)
        # the reporter may resolve its own conflict without an assignment
        cid2 = self.record()[1]["id"]
        st, res = call(self.base, "POST", f"/conflicts/{cid2}/resolve", self.milo, {})
        self.assertEqual((st, res["resolved_by"]), (200, "milo"))
        st, body = call(self.base, "GET", "/conflicts?project=P&status=resolved", self.marcus)
        self.assertTrue({cid, cid2} <= {c["id"] for c in body["conflicts"]})


if __name__ == "__main__":
    unittest.main(verbosity=2)
