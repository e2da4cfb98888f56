"""The truth hierarchy cannot be walked around (issue 11, section 2): each test tries a
detour a hostile or unlucky client could take through a real `hostsync serve`, and checks
what the database holds afterwards (sync_entities, sync_proposals, sync_events, read
directly), not only what the server answered. On SQLite and on PostgreSQL."""
import calendar
import json
import os
import pathlib
import shutil
import tempfile
import time
import unittest

from brain_support import call
from harness import hostsync
from pgserver import PgServer
from sync_support import (T1, T2, T3, SyncClient, SyncServer, Tenant, db_rows, item, stored_entity, stored_events,
                          stored_proposals)
from waiting import wait_until

SECRETS = {"api_key": "SEKRIT-key", "permissions": "SEKRIT-perm", "plan": "SEKRIT-plan"}


def iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def epoch(text):
    """RFC 3339 as the server writes it (UTC, optional milliseconds) -> seconds."""
    main, _, frac = text.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S")) + (float("0." + frac) if frac else 0)


class HierarchyTests:
    """The suite; a subclass names the database (SQLite file or PostgreSQL URL)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-hierarchy-"))
        cls.db = cls.database()

        class Owner:
            addCleanup = staticmethod(cls.addClassCleanup)
        cls.server = SyncServer(Owner, cls.db, threads=4)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)

    def mode(self, t, vault_mode):
        st, body = call(self.server.base, "POST", "/sync/tenant", t.tok[1], {"vault_mode": vault_mode})
        self.assertEqual(st, 200, body)

    def policy_server(self, name, text):
        path = self.tmp / name
        path.write_text(text)
        return SyncServer(self, self.db, threads=2, extra=("--sync-policy", str(path)))

    # -- 1. a system-field update does not move content authority --------------------------

    def test_a_system_field_update_keeps_the_content_authority(self):
        t = Tenant(self, levels=(1, 2, 3))
        v1 = t.push1(1, item("k1", 1, T1, payload={"title": "mine", "status": "open"}))["version"]
        res = t.push1(2, item("k1", 2, T2, version=v1, payload={"title": "mine", "status": "done"}))
        self.assertEqual(res["status"], "applied", res)
        row = stored_entity(self.db, t.name, "k1")
        self.assertEqual((row["version"], row["payload"]), (res["version"], {"title": "mine", "status": "done"}))
        self.assertEqual((row["truth_level"], row["origin_source"], row["accepted_by_user"], row["last_modified_at"]),
                         (1, "user:desktop", False, T1), "the user's content keeps its level, origin and clock")
        self.assertEqual(row["last_modified_by_level"], 2, "the last writer was the automation")
        self.assertEqual((row["origin_chain"][-1]["level"], row["origin_chain"][-1]["writer"]["level"]), (2, 2))
        self.assertEqual(res["item"]["truth_level"], 1, "the answer shows what was stored")
        # Still U1: an AI edit is a proposal, an automation delete is refused.
        v2 = res["version"]
        self.assertEqual(t.push1(3, item("k1", 3, T3, version=v2, payload={"title": "ai", "status": "done"}))["status"],
                         "proposal")
        res = t.push1(2, item("k1", 2, T3, version=v2, payload={"title": "mine", "status": "done"}, deleted=True))
        self.assertEqual(res["status"], "rejected", res)
        row = stored_entity(self.db, t.name, "k1")
        self.assertEqual((row["version"], row["truth_level"], row["deleted"], row["payload"]["title"]),
                         (v2, 1, False, "mine"))
        events = stored_events(self.db, t.name, "k1")
        self.assertEqual([(e["kind"], e["rule"], e["writer_level"]) for e in events],
                         [("system_update", "7.2", 2), ("proposal", "7.3", 3), ("write_rejected", "7.2", 2)])
        self.assertEqual(events[0]["result_version"], v2)
        self.assertEqual(len(stored_proposals(self.db, t.name, "k1")), 1)

    def test_a_system_field_update_does_not_raise_authority_either(self):
        t = Tenant(self, levels=(1, 2, 3))
        # A user pushes local-AI output as such (L3); an automation then sets its status.
        v1 = t.push1(1, item("k2", 3, T1, payload={"title": "ai draft"}))["version"]
        res = t.push1(2, item("k2", 2, T2, version=v1, payload={"title": "ai draft", "status": "done"}))
        self.assertEqual(res["status"], "applied", res)
        row = stored_entity(self.db, t.name, "k2")
        self.assertEqual((row["truth_level"], row["origin_source"], row["last_modified_by_level"]),
                         (3, "ai-local:model-x", 2))
        # Still L3 content: local AI may rewrite it.
        res = t.push1(3, item("k2", 3, T3, version=res["version"], payload={"title": "ai v2", "status": "done"}))
        self.assertEqual(res["status"], "applied", res)
        self.assertEqual(stored_entity(self.db, t.name, "k2")["payload"]["title"], "ai v2")

    # -- 2. a made-up base version is not current ----------------------------------------

    def test_a_made_up_version_goes_through_conflict_resolution(self):
        t = Tenant(self, levels=(1, 3))
        newer = t.push1(1, item("m1", 1, T2, payload={"title": "newer"}))["version"]
        res = t.push1(1, item("m1", 1, T1, version=1000000, payload={"title": "older"}))
        self.assertEqual((res["status"], res["current"]["payload"]), ("conflict", {"title": "newer"}))
        row = stored_entity(self.db, t.name, "m1")
        self.assertEqual((row["version"], row["payload"]), (newer, {"title": "newer"}))
        [e] = stored_events(self.db, t.name, "m1")
        self.assertEqual((e["kind"], e["rule"], e["incoming_version"], e["stored_version"], e["result_version"]),
                         ("conflict", "6.3.3B", 1000000, newer, None))
        # Same level, a base past the stored version and an older clock: the stored one stays.
        ai = t.push1(3, item("m2", 3, T2, payload={"title": "ai newer"}))["version"]
        res = t.push1(3, item("m2", 3, T1, version=999999, payload={"title": "ai older"}))
        self.assertEqual(res["status"], "conflict", res)
        self.assertEqual(stored_entity(self.db, t.name, "m2")["version"], ai)
        self.assertEqual([(e["kind"], e["rule"]) for e in stored_events(self.db, t.name, "m2")],
                         [("conflict", "6.3.3C")])
        # The exact base is current: applied without a decision.
        res = t.push1(3, item("m2", 3, T1, version=ai, payload={"title": "ai, on top"}))
        self.assertEqual(res["status"], "applied", res)
        self.assertEqual(len(stored_events(self.db, t.name, "m2")), 1)
        # An entity the server does not have: any base is a creation.
        self.assertEqual(t.push1(1, item("m3", 1, T1, version=5))["status"], "applied")
        self.assertEqual(stored_events(self.db, t.name, "m3"), [])

    # -- 3. closed proposals stay closed -------------------------------------------------

    def test_closed_proposals_do_not_come_back(self):
        t = Tenant(self, levels=(1, 3))
        v1 = t.push1(1, item("p1", 1, T1, payload={"title": "mine"}))["version"]
        prop = t.push1(3, item("p1", 3, T2, version=v1, payload={"title": "ai idea"}))
        self.assertEqual(prop["status"], "proposal", prop)
        early = SyncClient(str(self.tmp), t.name + "-early", self.server.base, t.tok[1], 1)
        early.run("pull", check=True)
        self.assertEqual([p["version"] for p in early.lines("proposals")], [prop["version"]])
        st, body = call(self.server.base, "POST", "/sync/conflict-resolve", t.tok[1],
                        {"entity_type": "note", "entity_id": "p1", "base_version": v1,
                         "payload": {"title": "mine + ai"}, "proposal_version": prop["version"]})
        self.assertEqual(st, 200, body)
        [row] = stored_proposals(self.db, t.name, "p1")
        self.assertEqual(row["status"], "resolved")
        # The feed no longer offers it as open, to a fresh vault or to one that pulled it.
        feed = [c for c in t.pull_all() if c["kind"] == "proposal"]
        self.assertEqual([(c["item"]["version"], c["item"]["status"]) for c in feed], [(prop["version"], "resolved")])
        self.assertGreater(feed[0]["version"], body["version"], "closing moved it to the end of the feed")
        fresh = SyncClient(str(self.tmp), t.name + "-fresh", self.server.base, t.tok[1], 1)
        fresh.run("pull", check=True)
        early.run("pull", check=True)
        for vault in (fresh, early):
            self.assertEqual(vault.lines("proposals"), [], vault.name)
            proc = vault.run("accept", "note", "p1", "--proposal", str(prop["version"]))
            self.assertEqual(proc.returncode, 1, proc.out + proc.err)
        # Accepting through a push closes the proposal too; a second acceptance is refused.
        p2 = t.push1(3, item("p1", 3, T3, version=body["version"], payload={"title": "ai idea 2"}))
        self.assertEqual(p2["status"], "proposal", p2)
        fresh.run("pull", check=True)
        early.run("pull", check=True)
        fresh.run("accept", "note", "p1", "--proposal", str(p2["version"]), check=True)
        self.assertIn("1 applied", fresh.run("sync", check=True).out)
        self.assertEqual([r["status"] for r in stored_proposals(self.db, t.name, "p1")], ["resolved", "accepted"])
        accepted = stored_entity(self.db, t.name, "p1")
        self.assertEqual((accepted["payload"], accepted["truth_level"]), ({"title": "ai idea 2"}, 1))
        early.run("accept", "note", "p1", "--proposal", str(p2["version"]), check=True)   # offline: it looked open
        out = early.run("push", check=True).out
        self.assertIn("1 rejected", out)
        self.assertIn("not open", out)
        self.assertEqual(stored_entity(self.db, t.name, "p1")["version"], accepted["version"])
        early.run("pull", check=True)
        self.assertEqual(early.lines("proposals"), [])

    # -- 4. provenance is recorded from the token ------------------------------------------

    def test_provenance_comes_from_the_token(self):
        t = Tenant(self, levels=(1, 5))
        self.mode(t, "cloud_first")
        u1_chain = [{"level": 1, "source": "user:web", "timestamp": T1}]
        res = t.push1(5, item("o1", 5, T1, origin_source="user:web", origin_chain=u1_chain))
        self.assertEqual(res["status"], "rejected", res)
        self.assertIn("origin_source", res["reason"])
        self.assertIsNone(stored_entity(self.db, t.name, "o1"))
        [e] = stored_events(self.db, t.name, "o1")
        self.assertEqual((e["kind"], e["rule"], e["writer_level"]), ("write_rejected", "forged_source", 5))

        res = t.push1(5, item("o1", 5, T1, origin_source="ai-cloud:llama", origin_chain=u1_chain))
        self.assertEqual(res["status"], "applied", res)
        row = stored_entity(self.db, t.name, "o1")
        [hop] = row["origin_chain"]
        [token_id] = [r["id"] for r in db_rows(self.db, "SELECT id FROM tokens WHERE tenant = ? AND level = 5", t.name)]
        self.assertEqual((hop["level"], hop["source"]), (5, "ai-cloud:llama"))
        self.assertEqual((hop["writer"]["level"], hop["writer"]["token_id"], hop["writer"]["agent"]), (5, token_id, "l5"))
        self.assertEqual(hop["claimed"], u1_chain[0], "what the client said is kept, marked as its claim")
        self.assertEqual((row["truth_level"], row["origin_source"], row["writer_token_id"]), (5, "ai-cloud:llama", token_id))

        # The next writer adds its own hop to the stored history, whatever chain it sends.
        res = t.push1(1, item("o1", 1, T2, version=res["version"], origin_chain=[]))
        chain = stored_entity(self.db, t.name, "o1")["origin_chain"]
        self.assertEqual([(h["level"], h["writer"]["level"]) for h in chain], [(5, 5), (1, 1)])
        self.assertEqual(chain[0], hop)
        # Without an origin_source the token names one; a proposal's chain is the server's too.
        self.mode(t, "local_first")
        res = t.push1(5, dict(item("o2", 5, T1), origin_source=None))
        self.assertEqual(res["status"], "proposal", res)
        [prop] = stored_proposals(self.db, t.name, "o2")
        self.assertEqual((prop["origin_source"], [h["writer"]["level"] for h in prop["origin_chain"]]),
                         ("ai-cloud:l5", [5]))

    # -- 5. the server bounds the future ---------------------------------------------------

    def test_a_time_in_the_far_future_is_bounded(self):
        t = Tenant(self, levels=(1,))
        before = time.time()
        res = t.push1(1, item("f1", 1, "9999-12-31T23:59:59Z", payload={"title": "from the future"}))
        after = time.time()
        self.assertEqual(res["status"], "applied", res)
        row = stored_entity(self.db, t.name, "f1")
        self.assertTrue(before - 5 <= epoch(row["last_modified_at"]) <= after + 5, row["last_modified_at"])
        self.assertEqual(res["item"]["last_modified_at"], row["last_modified_at"])
        [e] = stored_events(self.db, t.name, "f1")
        self.assertEqual((e["kind"], e["detail"]["claimed"], e["result_version"]),
                         ("clock_skew", "9999-12-31T23:59:59Z", res["version"]))
        # A later edit that never saw it now wins the last-write-wins comparison.
        later = t.push1(1, item("f1", 1, iso(time.time() + 30), payload={"title": "later"}))
        self.assertEqual(later["status"], "applied", later)
        self.assertEqual(stored_entity(self.db, t.name, "f1")["payload"], {"title": "later"})

    def test_the_skew_bound_is_configurable(self):
        srv = SyncServer(self, self.db, threads=1, extra=("--sync-max-clock-skew", "3600"))
        t = Tenant(self, levels=(1,))
        near, far = iso(time.time() + 1800), iso(time.time() + 7200)
        for eid, at in (("g1", near), ("g2", far)):
            st, body = call(srv.base, "POST", "/sync/push", t.tok[1], {"items": [item(eid, 1, at)]})
            self.assertEqual((st, body["results"][0]["status"]), (200, "applied"), body)
        self.assertEqual(stored_entity(self.db, t.name, "g1")["last_modified_at"], near)
        self.assertLess(epoch(stored_entity(self.db, t.name, "g2")["last_modified_at"]), time.time() + 60)
        proc = hostsync("serve", "--port", "0", "--db", self.db, "--sync-max-clock-skew", "-1", timeout=60)
        self.assertEqual(proc.returncode, 2, proc.err)
        self.assertIn("--sync-max-clock-skew", proc.err)

    # -- 6. section 7.3: what AI cloud sees --------------------------------------------------

    def test_ai_cloud_sees_only_redacted_data(self):
        t = Tenant(self, levels=(1, 5))
        self.mode(t, "cloud_first")
        first = item("r1", 3, T2, payload={"title": "user's", **SECRETS}, origin_source="ai-local:model-x")
        stored_v = t.push1(1, first)["version"]        # L3 content with protected fields, written by the user
        t.push1(1, item("r1", 3, T1, payload={"title": "stale", **SECRETS}))   # a logged conflict (both L3)

        def clean(what, body):
            self.assertNotIn("SEKRIT", json.dumps(body), what)

        def fetch(path, level):
            st, body = call(self.server.base, "GET", path, t.tok[level])
            self.assertEqual(st, 200, body)
            return body

        pulled = fetch("/sync/pull", 5)
        clean("pull", pulled)
        [ch] = [c for c in pulled["changes"] if c["item"]["entity_id"] == "r1"]
        self.assertEqual((ch["item"]["payload"], ch["item"]["redacted"]), ({"title": "user's"}, True))
        events = fetch("/sync/events", 5)
        self.assertTrue(events["events"])
        clean("events", events)
        # Every answer that carries an item: conflict `current`, a replayed answer.
        st, body = call(self.server.base, "POST", "/sync/push", t.tok[5],
                        {"items": [item("r1", 5, T1, payload={"title": "cloud, stale"}), first]})
        self.assertEqual(st, 200, body)
        clean("push answers", body)
        self.assertEqual([r["status"] for r in body["results"]], ["conflict", "applied"])
        self.assertTrue(body["results"][1]["replayed"])
        self.assertEqual(body["results"][0]["current"]["payload"], {"title": "user's"})
        # What AI cloud could not see it does not erase: a write keeps the hidden fields.
        res = t.push1(5, item("r1", 5, T3, version=stored_v, payload={"title": "cloud edit"}))
        self.assertEqual(res["status"], "applied", res)
        clean("applied answer", res)
        self.assertEqual(stored_entity(self.db, t.name, "r1")["payload"], {"title": "cloud edit", **SECRETS})
        # The user sees everything.
        self.assertEqual(t.entity("r1")["payload"], {"title": "cloud edit", **SECRETS})
        self.assertIn("SEKRIT", json.dumps(fetch("/sync/events", 1)))

    def test_redaction_rules_come_from_the_policy_and_reload(self):
        base = """
local M = {}
function M.check_write() return { action = "apply" } end
function M.decide() return { winner = "remote" } end
function M.redacts(ctx) return ctx.reader_level >= 3 end
function M.redact(item, ctx)
  local c = {}
  for k, v in pairs(item) do c[k] = v end
  c.payload = {}
  for k, v in pairs(item.payload or {}) do if k ~= "HIDE" then c.payload[k] = v end end
  c.redacted = true
  return c
end
return M
"""
        srv = self.policy_server("redact.lua", base.replace("HIDE", "title"))
        t = Tenant(self, levels=(1, 3))
        st, _ = call(srv.base, "POST", "/sync/push", t.tok[1], {"items": [item("h1", payload={"title": "t", "body": "b"})]})
        self.assertEqual(st, 200)

        def seen(level):
            st, body = call(srv.base, "GET", "/sync/pull", t.tok[level])
            self.assertEqual(st, 200, body)
            return body["changes"][0]["item"]["payload"]
        self.assertEqual((seen(1), seen(3)), ({"title": "t", "body": "b"}, {"body": "b"}))
        path = self.tmp / "redact.lua"
        tmp = self.tmp / "redact.lua.new"
        tmp.write_text(base.replace("HIDE", "body"))
        os.replace(tmp, path)
        wait_until(lambda: seen(3) == {"title": "t"}, "the edited redaction to take effect", interval=0.2)
        # It fails closed: a redact that raises gives a stub, never the item.
        tmp.write_text(base.replace('c.redacted = true', 'error("no view today")'))
        os.replace(tmp, path)
        def failing_view():
            got = call(srv.base, "GET", "/sync/pull", t.tok[3])[1]["changes"][0]["item"]
            return got if "redaction_error" in got else None
        got = wait_until(failing_view, "the failing redaction to take effect", interval=0.2)
        self.assertEqual(set(got), {"entity_type", "entity_id", "tenant_id", "version", "redacted", "redaction_error"})
        self.assertIn("no view today", got["redaction_error"])
        self.assertEqual(seen(1), {"title": "t", "body": "b"})
        # A policy that does not say what each level may read does not load.
        path.write_text(base.replace("function M.redacts(ctx) return ctx.reader_level >= 3 end", ""))
        proc = hostsync("serve", "--port", "0", "--db", self.db, "--sync-policy", path, timeout=60)
        self.assertEqual(proc.returncode, 1, proc.err)
        self.assertIn("redacts", proc.err)

    # -- 7. the policy decides, the server stores what it decided ----------------------------

    POLICY = """
local M = {}
local function copy(t) local c = {} for k, v in pairs(t) do c[k] = v end return c end
function M.check_write(item, existing, ctx)
  local f, c = item.payload.forge, copy(item)
  if f == "tenant" then c.tenant_id = "someone-else"
  elseif f == "entity" then c.entity_id = "another"
  elseif f == "level" then c.truth_level = 1
  elseif f == "writer" then c.last_modified_by_level = 1
  elseif f == "chain" then c.origin_chain = {}
  elseif f == "hop" then
    c.origin_chain = copy(item.origin_chain)
    c.origin_chain[#c.origin_chain + 1] = { level = 1, source = "user:web", writer = { level = 1 } }
  elseif item.payload.stamp then c.payload = copy(item.payload); c.payload.stamped = "by the policy"
  else return { action = "apply" } end
  return { action = "apply", item = c }
end
function M.decide(l, r, ctx)
  local c = copy(r)
  c.payload = { merged = l.payload.title .. " + " .. r.payload.title }
  return { winner = "remote", item = c, rule = "merge", event = { kind = "conflict", rule = "merge" } }
end
function M.redacts() return false end
function M.redact(item) return item end
return M
"""

    def test_the_server_stores_what_the_policy_decided(self):
        srv = self.policy_server("decides.lua", self.POLICY)
        t = Tenant(self, levels=(1, 3))

        def push(level, it):
            st, body = call(srv.base, "POST", "/sync/push", t.tok[level], {"items": [it]})
            self.assertEqual(st, 200, body)
            return body["results"][0]

        res = push(1, item("d1", 1, T1, payload={"title": "a", "stamp": True}))
        self.assertEqual(res["status"], "applied", res)
        self.assertEqual(stored_entity(self.db, t.name, "d1")["payload"], {"title": "a", "stamp": True,
                                                                           "stamped": "by the policy"})
        res = push(1, item("d1", 1, T2, payload={"title": "b"}))       # stale: decide merges
        self.assertEqual(res["status"], "applied", res)
        self.assertEqual(stored_entity(self.db, t.name, "d1")["payload"], {"merged": "a + b"})
        self.assertEqual(res["item"]["payload"], {"merged": "a + b"})
        # The upgrade rule is the policy's: this one has none, so nothing is upgraded.
        res = push(1, item("d2", 3, T1, accepted_by_user=True))
        self.assertEqual(res["status"], "applied", res)
        row = stored_entity(self.db, t.name, "d2")
        self.assertEqual((row["truth_level"], row["accepted_by_user"]), (3, True))
        self.assertNotIn("upgrade:accepted_by_user", json.dumps(row["origin_chain"]))
        # What the server owns, a policy cannot forge.
        for forge in ("tenant", "entity", "level", "writer", "chain", "hop"):
            with self.subTest(forge):
                eid = "forged-" + forge
                res = push(3, item(eid, 3, T1, payload={"forge": forge}))
                self.assertEqual(res["status"], "rejected", res)
                self.assertIn("policy error", res["reason"])
                self.assertIsNone(stored_entity(self.db, t.name, eid))
                self.assertIsNone(stored_entity(self.db, t.name, "another"))
                self.assertEqual([e["kind"] for e in stored_events(self.db, t.name, eid)], ["policy_error"])
        self.assertEqual(db_rows(self.db, "SELECT count(*) AS n FROM sync_entities WHERE tenant = ?", "someone-else"),
                         [{"n": 0}])


class HierarchySQLiteTest(HierarchyTests, unittest.TestCase):
    @classmethod
    def database(cls):
        return cls.tmp / "brain.sqlite"


class HierarchyPostgresTest(HierarchyTests, unittest.TestCase):
    @classmethod
    def database(cls):
        cls.pg = PgServer().__enter__()
        cls.addClassCleanup(cls.pg.__exit__, None, None, None)
        return cls.pg.url


if __name__ == "__main__":
    unittest.main(verbosity=2)
