"""The brain's access model (docs/brain.md, "Access"), tested from the route table itself.

`brain_admin.lua routes --json` lists every route the server serves with its access rule.
Each route is run as every principal: no token, a bad, a revoked and an expired token, a
token of another project, of another tenant, of a lower level, without a tenant, and the
allowed one. The expected answer follows from the rule alone; a refused request must
leave every table as it was, a list or stream must show nothing of another project, and
an allowed write must store the token's identity in the right project or tenant. A route
without an example request here fails the test: a new route cannot skip its rule.
"""
import http.client
import json
import os
import shutil
import sqlite3
import tempfile
import unittest
import uuid

from brain_support import Brain, call
from harness import SOURCE_DIR, hostsync
from waiting import wait_until

LEVELS = {1: "user", 5: "ai-cloud"}

# name: (ai, agent, machine, projects, tenant, level)
PRINCIPALS = {
    "allowed": ("claude", "marcus", "m1", "web", "t1", 1),
    "other_project": ("gemini", "milo", "m2", "other", "t1", 1),
    "other_tenant": ("grok", "rowan", "m3", "web", "t2", 1),
    "lower_level": ("chatgpt", "priya", "m4", "web", "t1", 5),
    "no_tenant": ("claude", "grace", "m5", "web", None, None),
}
UNAUTHENTICATED = ("none", "bad", "revoked", "expired")


def make_token(db, ai, agent, machine, projects, tenant=None, level=None, extra=()):
    args = ["run", "brain_admin.lua", "token", "create", "--ai", ai, "--agent", agent, "--machine", machine,
            "--project", projects, "--db", db, *extra]
    if tenant:
        args += ["--tenant", tenant, "--level", LEVELS[level]]
    return hostsync(*args, check=True, timeout=60).out.strip()


def snapshot(db):
    """Every row of every table, as SQL text: what a refused request must not change."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return "\n".join(con.iterdump())
    finally:
        con.close()


def rows(db, sql, *args):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, args)]
    finally:
        con.close()


def declared(route):
    """The server's rule of a route in this test's notation: "lock", "tenant 1", ..."""
    return route["rule"] + (f" {route['level']}" if route["level"] is not None else "")


def expected(rule, who):
    """What a rule ("body", "tenant 1", ...) lets `who` do: 401, 403, 404, "ok" (its own
    scope) or "filtered" (a list without the other project's records)."""
    if rule == "public":   # the web view's static files: everyone, with or without a token
        return "ok"
    if who in UNAUTHENTICATED:
        return 401
    kind, _, level = rule.partition(" ")
    if kind == "identity":
        return "ok"
    if kind == "tenant":
        if who == "no_tenant":
            return 403
        if level and PRINCIPALS[who][5] > int(level):
            return 403
        return "ok"
    if kind in ("lock", "query", "body", "conflict", "task", "handoff"):
        if who == "other_project":
            return 404 if kind in ("conflict", "task", "handoff") else 403
        return "ok"
    if kind == "listing":
        return "filtered" if who == "other_project" else "ok"
    raise AssertionError(f"the test does not know access rule {rule!r}")


class BrainAccessTest(unittest.TestCase):
    def setUp(self):
        # A database per test: each seeds its own records.
        self.dir = tempfile.mkdtemp(prefix="hostsync-access-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "brain.sqlite")
        self.tok = {who: make_token(self.db, *p) for who, p in PRINCIPALS.items()}
        self.tok["none"] = None
        self.tok["bad"] = "hsb_" + "0" * 64
        self.tok["revoked"] = make_token(self.db, "claude", "leaver", "m6", "*", "t1", 1)
        tid = rows(self.db, "SELECT id FROM tokens WHERE agent = 'leaver'")[0]["id"]
        hostsync("run", "brain_admin.lua", "token", "revoke", tid, "--db", self.db, check=True)
        self.tok["expired"] = make_token(self.db, "claude", "temp", "m7", "*", "t1", 1, extra=("--expires-in", "1s"))
        self.tok["seeder"] = make_token(self.db, "claude", "seeder", "m0", "*")
        self.token_id = {r["agent"]: r["id"] for r in rows(self.db, "SELECT id, agent FROM tokens")}
        self.brain = Brain(self, self.db, threads=4)
        self.base = self.brain.base
        # The expired token: wait for the server to see it expired (a hang guard only).
        wait_until(lambda: call(self.base, "GET", "/whoami", self.tok["expired"])[0] == 401,
                   "the 1 s token to expire", interval=0.1)

    def api(self, who, method, path, body=None):
        return call(self.base, method, path, self.tok[who], body)

    def agent(self, who):
        return PRINCIPALS[who][1]

    def tenant(self, who):
        return PRINCIPALS[who][4]

    # Seed data, one record per scope, so that lists can be checked for leaks ----------

    def seed(self):
        self.assertEqual(self.api("allowed", "POST", "/chat", {"message": "web-secret", "project": "web"})[0], 201)
        self.assertEqual(self.api("other_project", "POST", "/chat", {"message": "other-secret", "project": "other"})[0], 201)
        st, res = self.api("allowed", "POST", "/handoffs", {"to_agent": "x", "artifact": "web-art", "project": "web"})
        self.assertEqual(st, 201, res)
        self.web_handoff = res["id"]
        self.assertEqual(self.api("other_project", "POST", "/handoffs", {"to_agent": "x", "artifact": "other-art", "project": "other"})[0], 201)
        self.assertEqual(self.api("allowed", "POST", "/handoffs", {"to_agent": "x", "artifact": "lobby-art"})[0], 201)
        st, res = self.api("allowed", "POST", "/tasks", {"title": "web-task", "project": "web"})
        self.assertEqual(st, 201, res)
        self.web_task = res["id"]
        self.assertEqual(self.api("other_project", "POST", "/tasks", {"title": "other-task", "project": "other"})[0], 201)
        self.assertEqual(self.api("allowed", "POST", "/tasks", {"title": "lobby-task"})[0], 201)
        self.assertEqual(self.api("allowed", "POST", "/sync/state", {"project": "web", "commit": "seeded"})[0], 200)
        self.assertEqual(self.api("allowed", "POST", "/conflicts", {"project": "web", "files": ["seed"]})[0], 201)
        self.assertEqual(self.api("allowed", "POST", "/locks/get:web/acquire", {"ttl_seconds": 600})[0], 200)
        st, res = self.api("allowed", "POST", "/sync/push", {"items": [self.item("t1-secret", 1)]})
        self.assertEqual((st, res["results"][0]["status"]), (200, "applied"), res)
        # An AI cloud edit of user content: a proposal, so t1 has an event to list.
        st, res = self.api("lower_level", "POST", "/sync/push", {"items": [self.item("t1-secret", 5, version=res["results"][0]["version"])]})
        self.assertEqual((st, res["results"][0]["status"]), (200, "proposal"), res)
        # Every principal's agent is mentioned once per scope: its inbox has one entry each.
        everyone = " ".join("@" + p[1] for p in PRINCIPALS.values())
        for scope, project in (("web", "web"), ("other", "other"), ("lobby", None)):
            body = {"message": f"{scope}-inbox {everyone}", **({"project": project} if project else {})}
            self.assertEqual(self.api("seeder", "POST", "/chat", body)[0], 201)
        # The lobby marker last: every authenticated reader's stream reaches it.
        st, res = self.api("allowed", "POST", "/chat", {"message": "lobby-marker"})
        self.assertEqual(st, 201)
        self.marker = res["id"]

    @staticmethod
    def item(eid, level, version=0):
        src = {1: "user:desk", 5: "ai-cloud:llm"}[level]
        at = "2025-11-24T16:00:00Z"
        return {"entity_type": "note", "entity_id": eid, "origin_source": src, "truth_level": level,
                "origin_chain": [{"level": level, "source": src, "timestamp": at}], "version": version,
                "last_modified_at": at, "payload": {"title": eid}, "mutation_id": str(uuid.uuid4())}

    # One example request per route --------------------------------------------------
    # Each returns (method, path, body, check): check(who, status, body) asserts what an
    # answered request did, for a principal the rule lets through.

    def holder(self, who):
        """The principal whose token takes a lock for `who`'s example (one allowed on web)."""
        return who if who in PRINCIPALS and who != "other_project" else "allowed"

    def held_lock(self, who, kind):
        name = f"{kind}-{who}:web"
        st, g = self.api(self.holder(who), "POST", f"/locks/{name}/acquire", {"ttl_seconds": 600})
        self.assertEqual(st, 200, g)
        return name, g["fencing_token"]

    def lock_row(self, name):
        got = rows(self.db, "SELECT * FROM sync_locks WHERE id = ?", name)
        return got[0] if got else None

    def ex_acquire(self, who):
        name = f"acq-{who}:web"

        def check(who, st, body):
            self.assertEqual(st, 200, body)
            r = self.lock_row(name)
            self.assertEqual((r["project_id"], r["held_by_agent"], r["holder_token_id"]),
                             ("web", self.agent(who), self.token_id[self.agent(who)]))
        return "POST", f"/locks/{name}/acquire", {"ttl_seconds": 60, "project": "web"}, check

    def ex_renew(self, who):
        name, fence = self.held_lock(who, "ren")
        before = self.lock_row(name)["expires_at"]

        def check(who, st, body):
            self.assertEqual(st, 200, body)
            self.assertGreater(self.lock_row(name)["expires_at"], before)
        return "POST", f"/locks/{name}/renew", {"fencing_token": fence, "ttl_seconds": 3600}, check

    def ex_release(self, who):
        name, fence = self.held_lock(who, "rel")

        def check(who, st, body):
            self.assertEqual(st, 200, body)
            self.assertIsNone(self.lock_row(name))
        return "POST", f"/locks/{name}/release", {"fencing_token": fence}, check

    def ex_get_lock(self, who):
        def check(who, st, body):
            self.assertEqual((st, body["held"], body["holder"]["agent"], body["project"]), (200, True, "marcus", "web"))
        return "GET", "/locks/get:web", None, check

    def ex_get_state(self, who):
        def check(who, st, body):
            self.assertEqual(st, 200, body)
            self.assertEqual((body["project"], body["last_push"]["commit"]), ("web", "seeded"))
        return "GET", "/sync/state?project=web", None, check

    def ex_post_state(self, who):
        def check(who, st, body):
            self.assertEqual(st, 200, body)
            r = rows(self.db, "SELECT * FROM sync_state WHERE project_id = 'web'")[0]
            self.assertEqual((r["last_push_commit"], r["last_push_agent"]), (f"c-{who}", self.agent(who)))
        return "POST", "/sync/state", {"project": "web", "commit": f"c-{who}"}, check

    def ex_post_chat(self, who):
        def check(who, st, body):
            self.assertEqual(st, 201, body)
            r = rows(self.db, "SELECT * FROM chatroom WHERE seq = ?", body["id"])[0]
            self.assertEqual((r["message"], r["project_context"], r["agent_id"]), (f"hi from {who}", "web", self.agent(who)))
        return "POST", "/chat", {"message": f"hi from {who}", "project": "web"}, check

    def visible(self, who, names, web, other, lobby):
        """A listing's names for `who`: the lobby's always, web's unless it is the other
        project's token, and never the other project's (no principal has both)."""
        self.assertIn(lobby, names)
        if who == "other_project":
            self.assertNotIn(web, names)
            self.assertIn(other, names)
        else:
            self.assertIn(web, names)
            self.assertNotIn(other, names)

    def ex_chat_history(self, who):
        def check(who, st, body):
            self.assertEqual(st, 200, body)
            self.visible(who, [m["message"] for m in body["messages"]], "web-secret", "other-secret", "lobby-marker")
        return "GET", "/chat?since=0&limit=1000", None, check

    def ex_chat_stream(self, who):
        # A live read: the stream is read right here, up to the lobby marker.
        def check(who, st, messages):
            self.assertEqual(st, 200)
            self.visible(who, messages, "web-secret", "other-secret", "lobby-marker")
        return "STREAM", "/chat/stream?since=0", None, check

    def ex_post_handoff(self, who):
        def check(who, st, body):
            self.assertEqual(st, 201, body)
            r = rows(self.db, "SELECT * FROM handoffs WHERE id = ?", body["id"])[0]
            self.assertEqual((r["project_id"], r["from_agent"], r["artifact"]), ("web", self.agent(who), f"art-{who}"))
        return "POST", "/handoffs", {"to_agent": "milo", "artifact": f"art-{who}", "project": "web"}, check

    def ex_list_handoffs(self, who):
        def check(who, st, body):
            self.assertEqual(st, 200, body)
            self.visible(who, [h["artifact"] for h in body["handoffs"]], "web-art", "other-art", "lobby-art")
        return "GET", "/handoffs", None, check

    def ex_post_task(self, who):
        def check(who, st, body):
            self.assertEqual(st, 201, body)
            r = rows(self.db, "SELECT * FROM tasks WHERE id = ?", body["id"])[0]
            self.assertEqual((r["project_id"], r["created_by"], r["title"]), ("web", self.agent(who), f"task-{who}"))
        return "POST", "/tasks", {"title": f"task-{who}", "project": "web"}, check

    def ex_list_tasks(self, who):
        def check(who, st, body):
            self.assertEqual(st, 200, body)
            self.visible(who, [t["title"] for t in body["tasks"]], "web-task", "other-task", "lobby-task")
        return "GET", "/tasks", None, check

    def ex_get_task(self, who):
        def check(who, st, body):
            self.assertEqual(st, 200, body)
            self.assertEqual((body["title"], body["project_id"], body["history"][0]["by"]["agent"]),
                             ("web-task", "web", "marcus"))
        return "GET", f"/tasks/{self.web_task}", None, check

    def ex_update_task(self, who):
        # A web task `who`'s agent created, so only access can refuse its update.
        st, res = self.api(self.holder(who), "POST", "/tasks", {"title": f"upd-{who}", "project": "web"})
        self.assertEqual(st, 201, res)
        tid = res["id"]

        def check(who, st, body):
            self.assertEqual(st, 200, body)
            self.assertEqual(rows(self.db, "SELECT status FROM tasks WHERE id = ?", tid), [{"status": "done"}])
            last = rows(self.db, "SELECT agent, note FROM task_history WHERE task_id = ? ORDER BY id DESC LIMIT 1", tid)
            self.assertEqual(last, [{"agent": self.agent(who), "note": f"by {who}"}])
        return "POST", f"/tasks/{tid}", {"status": "done", "note": f"by {who}"}, check

    def ex_get_handoff(self, who):
        def check(who, st, body):
            self.assertEqual((st, body["artifact"], body["project_id"]), (200, "web-art", "web"), body)
        return "GET", f"/handoffs/{self.web_handoff}", None, check

    def ex_ack_handoff(self, who):
        # A web handoff to `who`'s agent, so only access can refuse the acknowledgement.
        to = self.agent(who) if who in PRINCIPALS else "x"
        st, res = self.api("allowed", "POST", "/handoffs", {"to_agent": to, "artifact": f"ack-{who}", "project": "web"})
        self.assertEqual(st, 201, res)
        hid = res["id"]

        def check(who, st, body):
            self.assertEqual(st, 200, body)
            r = rows(self.db, "SELECT acknowledged_by, acknowledged_at FROM handoffs WHERE id = ?", hid)[0]
            self.assertEqual(r["acknowledged_by"], self.agent(who))
            self.assertIsNotNone(r["acknowledged_at"])
            msg = rows(self.db, "SELECT agent_id, project_context FROM chatroom WHERE seq = ?", body["chat_id"])
            self.assertEqual(msg, [{"agent_id": self.agent(who), "project_context": "web"}])
        return "POST", f"/handoffs/{hid}/ack", {"note": "mine"}, check

    def ex_handoff_summary(self, who):
        # A web handoff from `who`'s agent (its sender), so only access can refuse.
        st, res = self.api(self.holder(who), "POST", "/handoffs", {"to_agent": "x", "artifact": f"sum-{who}", "project": "web"})
        self.assertEqual(st, 201, res)
        hid = res["id"]

        def check(who, st, body):
            self.assertEqual(st, 200, body)
            self.assertEqual(rows(self.db, "SELECT summary FROM handoffs WHERE id = ?", hid), [{"summary": f"# by {who}"}])
        return "POST", f"/handoffs/{hid}/summary", {"summary": f"# by {who}"}, check

    def ex_inbox(self, who):
        def check(who, st, body):
            self.assertEqual(st, 200, body)
            self.visible(who, [e["chat"]["message"].split()[0] for e in body["entries"] if e["kind"] == "mention"],
                         "web-inbox", "other-inbox", "lobby-inbox")
            hidden = "web" if who == "other_project" else "other"
            self.assertNotIn(hidden, [e["project"] for e in body["entries"]], body)
        return "GET", "/inbox?since=0&limit=1000", None, check

    def ex_post_conflict(self, who):
        def check(who, st, body):
            self.assertEqual(st, 201, body)
            r = rows(self.db, "SELECT * FROM push_conflicts WHERE id = ?", body["id"])[0]
            self.assertEqual((r["project_id"], r["agent"]), ("web", self.agent(who)))
        return "POST", "/conflicts", {"project": "web", "files": [f"f-{who}"]}, check

    def ex_list_conflicts(self, who):
        def check(who, st, body):
            self.assertEqual(st, 200, body)
            self.assertIn(["seed"], [c["files"] for c in body["conflicts"]])
        return "GET", "/conflicts?project=web", None, check

    def conflict_for(self, who):
        """A web conflict whose coordinator is `who`'s agent (so only access can refuse)."""
        coord = self.agent(who) if who in PRINCIPALS else "marcus"
        st, c = self.api("allowed", "POST", "/conflicts", {"project": "web", "files": ["x"], "coordinator": coord})
        self.assertEqual(st, 201, c)
        return c["id"]

    def ex_assign(self, who):
        cid = self.conflict_for(who)

        def check(who, st, body):
            self.assertEqual(st, 200, body)
            r = rows(self.db, "SELECT * FROM push_conflicts WHERE id = ?", cid)[0]
            self.assertEqual((r["status"], r["assigned_to"]), ("assigned", "milo"))
        return "POST", f"/conflicts/{cid}/assign", {"to": "milo"}, check

    def ex_resolve(self, who):
        cid = self.conflict_for(who)

        def check(who, st, body):
            self.assertEqual(st, 200, body)
            r = rows(self.db, "SELECT * FROM push_conflicts WHERE id = ?", cid)[0]
            self.assertEqual((r["status"], r["resolved_by"]), ("resolved", self.agent(who)))
        return "POST", f"/conflicts/{cid}/resolve", {"resolution": "done"}, check

    def in_tenants(self, eid):
        got = rows(self.db, "SELECT tenant FROM sync_entities WHERE entity_id = ? UNION ALL "
                            "SELECT tenant FROM sync_proposals WHERE entity_id = ?", eid, eid)
        return sorted(r["tenant"] for r in got)

    def ex_push(self, who):
        eid = f"push-{who}"

        def check(who, st, body):
            self.assertEqual(st, 200, body)
            self.assertIn(body["results"][0]["status"], ("applied", "proposal"), body)
            self.assertEqual(self.in_tenants(eid), [self.tenant(who)])
        level = PRINCIPALS[who][5] if who in PRINCIPALS and PRINCIPALS[who][5] else 1
        return "POST", "/sync/push", {"items": [self.item(eid, level)]}, check

    def ex_pull(self, who):
        def check(who, st, body):
            self.assertEqual(st, 200, body)
            ids = [c["item"]["entity_id"] for c in body["changes"]]
            if self.tenant(who) == "t1":
                self.assertIn("t1-secret", ids)
            else:
                self.assertNotIn("t1-secret", ids)
        return "GET", "/sync/pull?since=0&limit=5000", None, check

    def ex_events(self, who):
        def check(who, st, body):
            self.assertEqual(st, 200, body)
            ids = [e["entity_id"] for e in body["events"]]
            if self.tenant(who) == "t1":
                self.assertIn("t1-secret", ids)
            else:
                self.assertNotIn("t1-secret", ids)
        return "GET", "/sync/events?since=0&limit=1000", None, check

    def ex_sync_stream(self, who):
        # A follower resuming from version 0 is poked at once with its own tenant's version.
        def check(who, st, version):
            self.assertEqual((st, version), (200, self.head(self.tenant(who))))
        return "POKE", "/sync/stream?since=0", None, check

    def head(self, tenant):
        got = rows(self.db, "SELECT last_version FROM sync_tenants WHERE tenant = ?", tenant)
        return got[0]["last_version"] if got else 0

    def ex_conflict_resolve(self, who):
        eid = f"merge-{who}"

        def check(who, st, body):
            self.assertEqual((st, body["status"]), (200, "applied"), body)
            self.assertEqual(self.in_tenants(eid), [self.tenant(who)])
        return "POST", "/sync/conflict-resolve", {"entity_type": "note", "entity_id": eid, "base_version": 0,
                                                  "payload": {"merged": True}}, check

    def ex_get_tenant(self, who):
        def check(who, st, body):
            self.assertEqual((st, body["tenant"]), (200, self.tenant(who)))
        return "GET", "/sync/tenant", None, check

    def ex_set_tenant(self, who):
        def check(who, st, body):
            self.assertEqual((st, body["tenant"]), (200, self.tenant(who)))
            r = rows(self.db, "SELECT vault_mode FROM sync_tenants WHERE tenant = ?", self.tenant(who))
            self.assertEqual(r, [{"vault_mode": "local_first"}])
        return "POST", "/sync/tenant", {"vault_mode": "local_first"}, check

    def ex_policy(self, who):
        def check(who, st, body):
            self.assertEqual(st, 200, body)
            self.assertTrue(body["path"].endswith("truth_hierarchy.lua"), body)
        return "GET", "/sync/policy", None, check

    def view_file(self, path, name):
        """A web view route: the file's bytes, whoever asks, and no data of any scope."""
        with open(SOURCE_DIR / "web" / name, encoding="utf-8") as f:
            want = f.read()

        def check(who, st, body):
            self.assertEqual((st, body), (200, want))
            for secret in ("web-secret", "other-secret", "lobby-marker", "t1-secret"):
                self.assertNotIn(secret, body)
        return "GET", path, None, check

    def ex_view_page(self, who):
        return self.view_file("/", "index.html")

    def ex_view_file(self, who):
        return self.view_file("/view/main.js", "main.js")

    def ex_whoami(self, who):
        def check(who, st, body):
            self.assertEqual((st, body["agent"], body.get("tenant")), (200, self.agent(who), self.tenant(who)))
        return "GET", "/whoami", None, check

    # (method, path) -> (the rule this test expects, the example). The rule is the test's
    # own: a route whose declared rule differs fails, as does a route missing here.
    EXAMPLES = {
        ("GET", "/"): ("public", ex_view_page),
        ("GET", "/view/:file"): ("public", ex_view_file),
        ("POST", "/locks/:name/acquire"): ("lock", ex_acquire),
        ("POST", "/locks/:name/renew"): ("lock", ex_renew),
        ("POST", "/locks/:name/release"): ("lock", ex_release),
        ("GET", "/locks/:name"): ("lock", ex_get_lock),
        ("GET", "/sync/state"): ("query", ex_get_state),
        ("POST", "/sync/state"): ("body", ex_post_state),
        ("POST", "/chat"): ("body", ex_post_chat),
        ("GET", "/chat"): ("listing", ex_chat_history),
        ("GET", "/chat/stream"): ("listing", ex_chat_stream),
        ("POST", "/handoffs"): ("body", ex_post_handoff),
        ("GET", "/handoffs"): ("listing", ex_list_handoffs),
        ("POST", "/tasks"): ("body", ex_post_task),
        ("GET", "/tasks"): ("listing", ex_list_tasks),
        ("GET", "/tasks/:id"): ("task", ex_get_task),
        ("POST", "/tasks/:id"): ("task", ex_update_task),
        ("GET", "/handoffs/:id"): ("handoff", ex_get_handoff),
        ("POST", "/handoffs/:id/ack"): ("handoff", ex_ack_handoff),
        ("POST", "/handoffs/:id/summary"): ("handoff", ex_handoff_summary),
        ("GET", "/inbox"): ("listing", ex_inbox),
        ("POST", "/conflicts"): ("body", ex_post_conflict),
        ("GET", "/conflicts"): ("query", ex_list_conflicts),
        ("POST", "/conflicts/:id/assign"): ("conflict", ex_assign),
        ("POST", "/conflicts/:id/resolve"): ("conflict", ex_resolve),
        ("POST", "/sync/push"): ("tenant", ex_push),
        ("GET", "/sync/pull"): ("tenant", ex_pull),
        ("GET", "/sync/events"): ("tenant", ex_events),
        ("POST", "/sync/conflict-resolve"): ("tenant 1", ex_conflict_resolve),
        ("GET", "/sync/tenant"): ("tenant", ex_get_tenant),
        ("POST", "/sync/tenant"): ("tenant 1", ex_set_tenant),
        ("GET", "/sync/policy"): ("tenant", ex_policy),
        ("GET", "/sync/stream"): ("tenant", ex_sync_stream),
        ("GET", "/whoami"): ("identity", ex_whoami),
    }

    def read_stream(self, who, path):
        """GET an event stream -> (status, chat messages up to the lobby marker)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.brain.port, timeout=30)
        try:
            headers = {"Authorization": "Bearer " + self.tok[who]} if self.tok[who] else {}
            conn.request("GET", path, headers=headers)
            res = conn.getresponse()
            if res.status != 200:
                return res.status, json.loads(res.read() or b"null")
            messages, cur = [], {}
            while True:
                line = res.fp.readline().decode()
                self.assertNotEqual(line, "", "stream ended before the marker")
                line = line.rstrip("\r\n")
                if line == "":
                    if cur.get("event") == "chat":
                        m = json.loads(cur["data"])
                        messages.append(m["message"])
                        if m["id"] >= self.marker:
                            return 200, messages
                    cur = {}
                elif ":" in line:
                    k, v = line.split(":", 1)
                    cur[k] = v[1:] if v.startswith(" ") else v
        finally:
            conn.close()

    def read_poke(self, who, path):
        """GET /sync/stream -> (status, the first poke's version; 0 without reading when the
        tenant has no version yet, so nothing would come)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.brain.port, timeout=30)
        try:
            headers = {"Authorization": "Bearer " + self.tok[who]} if self.tok[who] else {}
            conn.request("GET", path, headers=headers)
            res = conn.getresponse()
            if res.status != 200:
                return res.status, json.loads(res.read() or b"null")
            if self.head(self.tenant(who)) == 0:
                return 200, 0
            while True:
                line = res.fp.readline().decode()
                self.assertNotEqual(line, "", "stream ended before its poke")
                if line.startswith("data: "):
                    return 200, json.loads(line[6:])["version"]
        finally:
            conn.close()

    def test_every_route_for_every_principal(self):
        routes = [json.loads(x) for x in hostsync("run", "brain_admin.lua", "routes", "--json", check=True).out.splitlines()]
        self.assertGreaterEqual(len(routes), 27)
        missing = [f"{r['method']} {r['path']}" for r in routes if (r["method"], r["path"]) not in self.EXAMPLES]
        self.assertEqual(missing, [], "routes without an example request in this test (add one, with its rule)")
        self.seed()
        order = list(UNAUTHENTICATED) + ["other_project", "no_tenant", "lower_level", "other_tenant", "allowed"]
        for route in routes:
            rule, example = self.EXAMPLES[(route["method"], route["path"])]
            self.assertEqual(declared(route), rule, f"{route['method']} {route['path']}: the server's rule")
            for who in order:
                want = expected(rule, who)
                with self.subTest(route=f"{route['method']} {route['path']}", who=who, want=want):
                    method, path, body, check = example(self, who)
                    before = snapshot(self.db)
                    if method == "STREAM":
                        st, got = self.read_stream(who, path)
                    elif method == "POKE":
                        st, got = self.read_poke(who, path)
                    else:
                        st, got = self.api(who, method, path, body)
                    if want in ("ok", "filtered"):
                        check(who, st, got)
                        continue
                    self.assertEqual(st, want, got)
                    self.assertEqual(snapshot(self.db), before, "a refused request changed the database")
                    if who == "expired":
                        self.assertTrue(got["error"].startswith("this token expired at "), got)
                    elif who == "revoked":
                        self.assertEqual(got["error"], "this token was revoked")
                    elif want == 401:
                        self.assertEqual(got["error"], "missing or invalid bearer token")
                    elif want == 403 and not rule.startswith("tenant"):
                        self.assertEqual(got["error"], "this token may not use project 'web'")

    def test_a_listing_narrowed_to_a_project_needs_it(self):
        self.seed()
        for path in ("/chat?project=web", "/handoffs?project=web", "/tasks?project=web", "/chat/stream?project=web",
                     "/inbox?project=web"):
            if path.startswith("/chat/stream"):
                st, body = self.read_stream("other_project", path)
            else:
                st, body = self.api("other_project", "GET", path)
            self.assertEqual(st, 403, (path, body))
        st, body = self.api("allowed", "GET", "/tasks?project=web")
        self.assertEqual((st, [t["title"] for t in body["tasks"]]), (200, ["web-task"]))
        st, body = self.api("allowed", "GET", "/chat?project=web")
        self.assertEqual({m["project"] for m in body["messages"]}, {"web"})
        self.assertIn("web-secret", [m["message"] for m in body["messages"]])

    def test_another_projects_push_lock(self):
        # The case: a token allowed only 'other' took push:web with a 24 h lease.
        before = snapshot(self.db)
        st, body = self.api("other_project", "POST", "/locks/push:web/acquire", {"ttl_seconds": 86400})
        self.assertEqual((st, body["error"]), (403, "this token may not use project 'web'"))
        st, body = self.api("other_project", "POST", "/locks/push:web/acquire", {"ttl_seconds": 86400, "project": "other"})
        self.assertEqual(st, 400, body)
        self.assertIn("belongs to project 'web'", body["error"])
        self.assertEqual(snapshot(self.db), before)
        st, body = self.api("allowed", "POST", "/locks/push:web/acquire", {"project": "web"})
        self.assertEqual((st, body["project"]), (200, "web"))
        # A lobby lock is any token's, and has no project.
        st, body = self.api("other_project", "POST", "/locks/deploy/acquire", {})
        self.assertEqual(st, 200, body)
        self.assertIsNone(self.lock_row("deploy")["project_id"])
        for bad in ("push:", ":web"):
            self.assertEqual(self.api("allowed", "POST", f"/locks/{bad}/acquire", {})[0], 400)

    def test_a_stream_ends_when_its_token_is_revoked(self):
        token = make_token(self.db, "claude", "streamer", "m8", "web")
        tid = rows(self.db, "SELECT id FROM tokens WHERE agent = 'streamer'")[0]["id"]
        conn = http.client.HTTPConnection("127.0.0.1", self.brain.port, timeout=30)
        self.addCleanup(conn.close)
        conn.request("GET", "/chat/stream", headers={"Authorization": "Bearer " + token})
        res = conn.getresponse()
        self.assertEqual(res.status, 200)
        hostsync("run", "brain_admin.lua", "token", "revoke", tid, "--db", self.db, check=True)
        # The server ends the stream: read() returns at its last chunk (a stream that went
        # on would hit the socket timeout instead, and fail the test).
        res.read()
        self.assertEqual(call(self.base, "GET", "/chat/stream", token)[0], 401)

    def test_authentication_before_the_body(self):
        big = b"{" + b" " * (9 * 1024 * 1024) + b"}"
        before = snapshot(self.db)
        for who in ("none", "bad", "revoked"):
            st, body = call(self.base, "POST", "/chat", self.tok[who], raw=big)
            self.assertEqual(st, 401, (who, body))
        st, body = call(self.base, "POST", "/chat", self.tok["allowed"], raw=big)
        self.assertEqual(st, 413, body)
        self.assertEqual(snapshot(self.db), before)
        # Unknown paths are refused the same way: no route map for strangers. The web view's
        # files are public, but only the files: not another name, method or path under /view/.
        self.assertEqual(self.api("none", "GET", "/no/such/route")[0], 401)
        self.assertEqual(self.api("allowed", "GET", "/no/such/route")[0], 404)
        for path in ("/view/no-such-file.js", "/view/", "/view/../scripts/brain/app.lua", "/view/%2e%2e%2fapp.lua"):
            self.assertEqual(self.api("none", "GET", path)[0], 401, path)
            self.assertEqual(self.api("allowed", "GET", path)[0], 404, path)
        st, body = call(self.base, "POST", "/", None, raw=big)
        self.assertEqual(st, 401, body)
        self.assertEqual(snapshot(self.db), before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
