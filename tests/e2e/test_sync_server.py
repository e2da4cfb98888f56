"""The sync contract's server side (docs/sync-contract.md): /sync/push, /sync/pull,
/sync/events, /sync/conflict-resolve, /sync/tenant and /sync/policy of a real
`hostsync serve`, on a real SQLite file and on a real PostgreSQL (pgserver.py).

Every rule of seed sections 6.3, 7 and 8 is a row of RULES, pushed through HTTP with the
expected result, the expected stored winner and the expected sync_events record."""
import os
import pathlib
import random
import shutil
import tempfile
import threading
import unittest
import uuid

from brain_support import call
from harness import SOURCE_DIR, hostsync
from pgserver import PgServer
from sync_support import T1, T2, T3, SyncServer as Server, Tenant, item, make_sync_token as sync_token, subset
from waiting import wait_until

# Each rule: the stored entity (written first by a token of its level, or of `stored_by`;
# or None), then the
# incoming change by a token of `writer` level, based on the stored version ("current") or
# on none ("stale": an offline edit that never saw it). Expected: the push result's
# status, the stored entity afterwards (a subset) and the sync_events record (a subset,
# or None for no event).
RULES = [
    # section 6.3 (decide: a stale change meets a stored one)
    dict(name="6.3.2 a stale U1 delete beats stored A2 content (higher level)",
         stored=(2, {"at": T2}), writer=1, incoming={"at": T1, "deleted": True}, base="stale",
         status="applied", after={"deleted": True, "truth_level": 1},
         event={"kind": "discarded", "rule": "6.3.2"}),
    dict(name="6.3.2 stored A2 delete beats a stale L3 update",
         stored=(2, {"at": T1, "deleted": True}), writer=3, incoming={"at": T2}, base="stale",
         status="conflict", after={"deleted": True, "truth_level": 2},
         event={"kind": "discarded", "rule": "6.3.2"}),
    dict(name="6.3.2 both U1: a more recent stale delete wins",
         stored=(1, {"at": T1}), writer=1, incoming={"at": T2, "deleted": True}, base="stale",
         status="applied", after={"deleted": True}, event={"kind": "conflict", "rule": "6.3.2"}),
    dict(name="6.3.2 both U1: an older stale delete loses",
         stored=(1, {"at": T2}), writer=1, incoming={"at": T1, "deleted": True}, base="stale",
         status="conflict", after={"deleted": False}, event={"kind": "conflict", "rule": "6.3.2"}),
    dict(name="6.3.3A a stale U1 update beats stored L3 content, logged as discarded",
         stored=(3, {"at": T2}), writer=1, incoming={"at": T1}, base="stale",
         status="applied", after={"truth_level": 1}, event={"kind": "discarded", "rule": "6.3.3A"}),
    dict(name="6.3.3B both U1: the later stale write wins, conflict logged",
         stored=(1, {"at": T1}), writer=1, incoming={"at": T2}, base="stale",
         status="applied", after={"truth_level": 1, "last_modified_at": T2},
         event={"kind": "conflict", "rule": "6.3.3B", "detail": {"winner": "remote", "discarded_level": 1}}),
    dict(name="6.3.3B both U1: an older stale write loses, conflict with the current item",
         stored=(1, {"at": T2}), writer=1, incoming={"at": T1}, base="stale",
         status="conflict", after={"last_modified_at": T2},
         event={"kind": "conflict", "rule": "6.3.3B", "detail": {"winner": "local", "discarded_version": 0}}),
    dict(name="6.3.3C A2 beats stored L3 even when older",
         stored=(3, {"at": T2}), writer=2, incoming={"at": T1}, base="stale",
         status="applied", after={"truth_level": 2}, event={"kind": "discarded", "rule": "6.3.3C"}),
    dict(name="6.3.3C stored A2 beats a newer stale LN4",
         stored=(2, {"at": T1}), writer=4, incoming={"at": T2}, base="stale",
         status="conflict", after={"truth_level": 2}, event={"kind": "discarded", "rule": "6.3.3C"}),
    dict(name="6.3.3C same level: last write wins",
         stored=(3, {"at": T1}), writer=3, incoming={"at": T2}, base="stale",
         status="applied", after={"truth_level": 3, "last_modified_at": T2},
         event={"kind": "conflict", "rule": "6.3.3C"}),
    dict(name="6.3.4 a stale accepted change counts as U1 and wins by last write",
         stored=(1, {"at": T1}), writer=1, incoming={"at": T2, "truth_level": 4, "accepted_by_user": True},
         base="stale", status="applied", after={"truth_level": 1, "accepted_by_user": True},
         event={"kind": "conflict", "rule": "6.3.3B"}),
    dict(name="6.3.4 upgrade at sync time: accepted AI content is stored as U1",
         stored=(3, {"at": T1}), writer=1, incoming={"at": T2, "truth_level": 3, "accepted_by_user": True},
         base="current", status="applied", after={"truth_level": 1, "last_modified_by_level": 1},
         event={"kind": "upgrade"}),
    dict(name="6.3.3 a stale change identical to the stored one: applied, unchanged, no event",
         stored=(1, {"payload": {"title": "same"}}), writer=1, incoming={"payload": {"title": "same"}}, base="stale",
         status="applied", unchanged=True, after={"payload": {"title": "same"}, "last_modified_at": T1}, event=None),
    dict(name="fast-forward: a change built on the stored version applies without an event",
         stored=(3, {"at": T2}), writer=3, incoming={"at": T1}, base="current",
         status="applied", after={"truth_level": 3, "last_modified_at": T1}, event=None),
    # section 7 (check_write)
    dict(name="7.1 U1 writes anything, even ownership fields of A2 content",
         stored=(2, {}), writer=1, incoming={"payload": {"owner_id": "u-2"}}, base="current",
         status="applied", after={"payload": {"owner_id": "u-2"}}, event=None),
    dict(name="7.2 automation cannot change ownership",
         stored=(2, {"payload": {"owner_id": "u-1"}}), stored_by=1, writer=2, incoming={"payload": {"owner_id": "u-9"}},
         base="current", status="rejected", after={"payload": {"owner_id": "u-1"}},
         event={"kind": "write_rejected", "rule": "7.2"}),
    dict(name="7.2 automation cannot hard-delete a U1 entity",
         stored=(1, {}), writer=2, incoming={"deleted": True}, base="current",
         status="rejected", after={"deleted": False}, event={"kind": "write_rejected", "rule": "7.2"}),
    dict(name="7.2 automation may update system fields of U1 content, which stays U1 (logged)",
         stored=(1, {"payload": {"title": "mine"}}), writer=2, incoming={"payload": {"title": "mine", "status": "done"}},
         base="current", status="applied",
         after={"payload": {"title": "mine", "status": "done"}, "truth_level": 1, "origin_source": "user:desktop",
                "last_modified_by_level": 2},
         event={"kind": "system_update", "rule": "7.2"}),
    dict(name="5.2 automation rewriting U1 content is a proposal",
         stored=(1, {"payload": {"title": "mine"}}), writer=2, incoming={"payload": {"title": "auto"}},
         base="current", status="proposal", after={"payload": {"title": "mine"}},
         event={"kind": "proposal", "rule": "5.2"}),
    dict(name="7.3 AI cannot change a billing field",
         stored=(3, {"payload": {"plan": "free"}}), stored_by=1, writer=3, incoming={"payload": {"plan": "pro"}},
         base="current", status="rejected", after={"payload": {"plan": "free"}},
         event={"kind": "write_rejected", "rule": "7.3"}),
    dict(name="7.3 AI never replaces U1 content: a proposal",
         stored=(1, {"payload": {"title": "mine"}}), writer=4, incoming={"payload": {"title": "better"}},
         base="current", status="proposal", after={"payload": {"title": "mine"}, "truth_level": 1},
         event={"kind": "proposal", "rule": "7.3"}),
    dict(name="7.3 an AI deletion of U1 content is a proposal",
         stored=(1, {}), writer=3, incoming={"deleted": True}, base="current",
         status="proposal", after={"deleted": False}, event={"kind": "proposal", "rule": "7.3"}),
    dict(name="7.3 AI may create new content",
         stored=None, writer=3, incoming={}, base="current", status="applied", after={"truth_level": 3}, event=None),
    # identity binds the level (checked by the server before any policy)
    dict(name="forged truth level is rejected",
         stored=None, writer=3, incoming={"truth_level": 1}, base="current", status="rejected",
         reason="forged truth level", after=None, event={"kind": "write_rejected", "rule": "forged_level"}),
    dict(name="forged accepted_by_user is rejected",
         stored=(3, {}), writer=2, incoming={"truth_level": 3, "accepted_by_user": True}, base="current",
         status="rejected", reason="forged accepted_by_user", after={"accepted_by_user": False},
         event={"kind": "write_rejected", "rule": "forged_acceptance"}),
    dict(name="an item for another tenant is rejected",
         stored=None, writer=1, incoming={"tenant_id": "someone-else"}, base="current", status="rejected",
         reason="cross-tenant", after=None, event={"kind": "write_rejected", "rule": "cross_tenant"}),
    # section 8 (the tenant's vault_mode, default local_first)
    dict(name="8.1 local_first: AI cloud output is a proposal, even for new content",
         stored=None, writer=5, incoming={}, base="current", status="proposal", after=None,
         event={"kind": "proposal", "rule": "8.1"}),
    dict(name="8.2 cloud_first: AI cloud new content is applied", mode="cloud_first",
         stored=None, writer=5, incoming={}, base="current", status="applied", after={"truth_level": 5}, event=None),
    dict(name="8.2 cloud_first: AI cloud still never replaces U1 content", mode="cloud_first",
         stored=(1, {}), writer=5, incoming={"payload": {"title": "cloud"}}, base="current",
         status="proposal", after={"truth_level": 1}, event={"kind": "proposal", "rule": "7.3"}),
]


class SyncServerTests:
    """The suite; a subclass names the database (SQLite file or PostgreSQL URL)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-sync-"))
        cls.db = cls.database()
        cls._cleanups_cls = []

        class Owner:
            addCleanup = staticmethod(cls.addClassCleanup)
        cls.server = Server(Owner, cls.db, threads=6)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)

    # -- basics -----------------------------------------------------------------------

    def test_push_then_pull_in_version_order_with_paging(self):
        t = Tenant(self, levels=(1,))
        res = t.push(1, *[item(f"n{i}", payload={"i": i}) for i in range(5)])
        self.assertEqual([r["status"] for r in res], ["applied"] * 5)
        versions = [r["version"] for r in res]
        self.assertEqual(versions, list(range(versions[0], versions[0] + 5)))
        self.assertEqual([r["entity_id"] for r in res], [f"n{i}" for i in range(5)])
        page = t.pull(0, 2)
        self.assertEqual(([c["version"] for c in page["changes"]], page["more"]), (versions[:2], True))
        self.assertEqual(page["next"], versions[1])
        rest = t.pull(page["next"])
        self.assertEqual(([c["version"] for c in rest["changes"]], rest["more"]), (versions[2:], False))
        it = rest["changes"][-1]["item"]
        self.assertEqual(rest["changes"][-1]["kind"], "entity")
        self.assertTrue(subset(it, {"entity_type": "note", "entity_id": "n4", "tenant_id": t.name, "truth_level": 1,
                                    "version": versions[4], "payload": {"i": 4}, "deleted": False,
                                    "accepted_by_user": False, "last_modified_by_level": 1,
                                    "origin_source": "user:desktop", "last_modified_at": T1}), it)
        self.assertEqual(t.pull(rest["next"]), {"changes": [], "next": rest["next"], "more": False})

    def test_one_entity_several_times_in_one_batch(self):
        t = Tenant(self, levels=(1,))
        res = t.push(1, item("a", 1, T1, payload={"v": 1}), item("b"), item("a", 1, T2, payload={"v": 2}),
                     item("a", 1, T1, payload={"v": 3}))
        self.assertEqual([r["status"] for r in res], ["applied", "applied", "applied", "conflict"])
        a = t.entity("a")
        self.assertEqual((a["payload"], a["version"]), ({"v": 2}, res[2]["version"]))
        self.assertEqual(res[3]["current"], a)
        self.assertEqual([(c["item"]["entity_id"], c["version"]) for c in t.pull_all()],
                         [("b", res[1]["version"]), ("a", res[2]["version"])])
        self.assertEqual([e["kind"] for e in t.events("a")], ["conflict", "conflict"])

    def test_replayed_mutation_changes_nothing(self):
        t = Tenant(self, levels=(1, 3))
        first = item("r1", payload={"v": 1}, mid="m-1")
        a = t.push1(1, first)
        self.assertEqual(a["status"], "applied")
        # Same mutation id again (even with other content), alone and twice in one batch.
        again = dict(first, payload={"v": 2})
        b = t.push(1, again, again)
        self.assertEqual(a["item"]["payload"], {"v": 1})
        for r in b:   # the first result again, without the stored item (docs/sync-contract.md)
            self.assertEqual(r, dict({k: v for k, v in a.items() if k != "item"}, replayed=True))
        self.assertEqual(t.entity("r1")["payload"], {"v": 1})
        self.assertEqual(len(t.pull_all()), 1)
        # A rejected mutation is replayed as rejected, and logged once.
        bad = item("r2", 3, truth_level=1, mid="m-2")
        self.assertEqual(t.push1(3, bad)["status"], "rejected")
        self.assertTrue(t.push1(3, bad)["replayed"])
        self.assertEqual(len(t.events("r2")), 1)
        # Mutation ids are per tenant: another tenant's m-1 is its own.
        u = Tenant(self, levels=(1,))
        self.assertNotIn("replayed", u.push1(1, item("r1", mid="m-1")))

    def test_request_errors(self):
        t = Tenant(self, levels=(1,))
        base, tok = self.server.base, t.tok[1]
        st, body = call(base, "POST", "/sync/push", tok, {"items": [item(f"x{i}") for i in range(1001)]})
        self.assertEqual(st, 400)
        self.assertIn("'items'", body["error"])
        self.assertEqual(call(base, "POST", "/sync/push", tok, {})[0], 400)
        self.assertEqual(call(base, "POST", "/sync/push", tok, raw=b"{nope")[0], 400)
        self.assertEqual(call(base, "GET", "/sync/pull?since=-1", tok)[0], 400)
        self.assertEqual(call(base, "GET", "/sync/pull?limit=5001", tok)[0], 400)
        # Per-item problems never fail the request: each is answered in order.
        res = t.push(1, item("ok1"), {"entity_type": "note", "entity_id": "x"},
                     item("bad", payload=[1, 2]), item("late", last_modified_at="yesterday"), item("ok2"))
        self.assertEqual([r["status"] for r in res], ["applied", "rejected", "rejected", "rejected", "applied"])
        self.assertIn("mutation_id", res[1]["reason"])
        self.assertIn("payload", res[2]["reason"])
        self.assertIn("last_modified_at", res[3]["reason"])
        # Oversize bodies get 413.
        st, _ = call(base, "POST", "/sync/push", tok, raw=b"{\"items\": [" + b" " * (9 * 1024 * 1024) + b"]}")
        self.assertEqual(st, 413)

    # -- the rules, table-driven --------------------------------------------------------

    def test_every_rule_through_http(self):
        tenants = {}
        for rule in RULES:
            with self.subTest(rule["name"]):
                mode = rule.get("mode", "local_first")
                if mode not in tenants:
                    tenants[mode] = Tenant(self)
                    if mode != "local_first":
                        st, body = call(self.server.base, "POST", "/sync/tenant", tenants[mode].tok[1],
                                        {"vault_mode": mode})
                        self.assertEqual((st, body["vault_mode"]), (200, mode))
                t = tenants[mode]
                eid = "e-" + uuid.uuid4().hex[:8]
                stored = None
                if rule["stored"]:
                    lv, kw = rule["stored"]
                    kw = dict(kw)
                    at = kw.pop("at", T1)
                    st_item = item(eid, lv, at, **kw)
                    r = t.push1(rule.get("stored_by", lv), st_item)
                    self.assertEqual(r["status"], "applied", r)
                    stored = t.entity(eid)
                    self.assertEqual(stored["truth_level"], lv)
                inc = dict(rule["incoming"])
                inc.setdefault("payload", {"title": "changed"})
                at = inc.pop("at", T2)
                lv = inc.pop("truth_level", rule["writer"])
                version = stored["version"] if (stored and rule["base"] == "current") else 0
                sent = item(eid, lv, at, version=version, **inc)
                res = t.push1(rule["writer"], sent)
                self.assertEqual(res["status"], rule["status"], res)
                if "reason" in rule:
                    self.assertIn(rule["reason"], res["reason"])
                after = t.entity(eid)
                if rule["after"] is None:
                    self.assertIsNone(after)
                else:
                    self.assertTrue(subset(after, rule["after"]), after)
                if res["status"] == "conflict" or rule.get("unchanged"):
                    self.assertEqual(res["current"], stored)
                if rule.get("unchanged"):
                    self.assertEqual((res["unchanged"], res["version"]), (True, stored["version"]))
                if res["status"] == "proposal":
                    prop = [c for c in t.pull_all() if c["kind"] == "proposal" and c["version"] == res["version"]]
                    self.assertEqual(len(prop), 1)
                    self.assertEqual(prop[0]["item"]["payload"], sent["payload"])
                    self.assertEqual(prop[0]["item"]["base_version"], stored["version"] if stored else 0)
                events = t.events(eid)
                if rule["event"] is None:
                    self.assertEqual(events, [])
                else:
                    self.assertEqual(len(events), 1, events)
                    e = events[0]
                    self.assertTrue(subset(e, rule["event"]), e)
                    self.assertEqual(e["mutation_id"], sent["mutation_id"])
                    self.assertEqual(e["incoming"]["payload"], sent["payload"])
                    self.assertEqual(e["writer_level"], rule["writer"])
                    if stored:
                        self.assertEqual((e["stored"], e["stored_version"]), (stored, stored["version"]))
                    else:
                        self.assertIsNone(e["stored"])

    # -- conflict-resolve and vault_mode ----------------------------------------------------

    def test_conflict_resolve(self):
        t = Tenant(self, levels=(1, 3))
        t.push1(1, item("c1", 1, T2, payload={"title": "server"}))
        stored = t.entity("c1")
        res = t.push1(1, item("c1", 1, T1, payload={"title": "offline"}))
        self.assertEqual((res["status"], res["current"]), ("conflict", stored))
        merge = {"entity_type": "note", "entity_id": "c1", "base_version": stored["version"],
                 "payload": {"title": "server + offline"}}
        st, body = call(self.server.base, "POST", "/sync/conflict-resolve", t.tok[3], merge)
        self.assertEqual(st, 403, body)
        st, body = call(self.server.base, "POST", "/sync/conflict-resolve", t.tok[1], dict(merge, base_version=0))
        self.assertEqual((st, body["current"]), (409, stored))
        st, body = call(self.server.base, "POST", "/sync/conflict-resolve", t.tok[1], dict(merge, base_version="x"))
        self.assertEqual(st, 400)
        self.assertIn("base_version", body["error"])
        st, body = call(self.server.base, "POST", "/sync/conflict-resolve", t.tok[1], merge)
        self.assertEqual(st, 200, body)
        now = t.entity("c1")
        self.assertEqual(body["item"], now)
        self.assertTrue(subset(now, {"payload": {"title": "server + offline"}, "truth_level": 1,
                                     "accepted_by_user": True, "version": body["version"]}))
        self.assertEqual(now["origin_chain"][:-1], stored["origin_chain"])
        self.assertEqual(now["origin_chain"][-1]["source"], "resolve")
        ev = t.events("c1")
        self.assertEqual([e["kind"] for e in ev], ["conflict", "resolved"])
        self.assertEqual((ev[1]["stored"], ev[1]["incoming"], ev[1]["result_version"]), (stored, now, now["version"]))
        # Resolving a proposal closes it: a second resolve naming it is refused.
        r = t.push1(3, item("c1", 3, T3, version=now["version"], payload={"title": "ai idea"}))
        self.assertEqual(r["status"], "proposal")
        pick = {"entity_type": "note", "entity_id": "c1", "base_version": now["version"],
                "payload": {"title": "ai idea, edited"}, "proposal_version": r["version"]}
        st, body = call(self.server.base, "POST", "/sync/conflict-resolve", t.tok[1], pick)
        self.assertEqual(st, 200, body)
        st, body = call(self.server.base, "POST", "/sync/conflict-resolve", t.tok[1], dict(pick, base_version=body["version"]))
        self.assertEqual(st, 404, body)

    def test_vault_mode(self):
        t = Tenant(self, levels=(1, 5))
        base = self.server.base
        self.assertEqual(call(base, "GET", "/sync/tenant", t.tok[5]), (200, {"tenant": t.name, "vault_mode": "local_first"}))
        self.assertEqual(t.push1(5, item("v1", 5))["status"], "proposal")
        st, _ = call(base, "POST", "/sync/tenant", t.tok[5], {"vault_mode": "cloud_first"})
        self.assertEqual(st, 403)
        st, body = call(base, "POST", "/sync/tenant", t.tok[1], {"vault_mode": "sideways"})
        self.assertEqual(st, 400)
        self.assertIn("vault_mode", body["error"])
        self.assertEqual(call(base, "POST", "/sync/tenant", t.tok[1], {"vault_mode": "cloud_first"})[0], 200)
        self.assertEqual(call(base, "GET", "/sync/tenant", t.tok[5])[1]["vault_mode"], "cloud_first")
        self.assertEqual(t.push1(5, item("v2", 5))["status"], "applied")
        self.assertEqual(call(base, "POST", "/sync/tenant", t.tok[1], {"vault_mode": "local_first"})[0], 200)
        self.assertEqual(t.push1(5, item("v3", 5))["status"], "proposal")

    # -- security --------------------------------------------------------------------------

    def test_tenants_are_isolated(self):
        a, b = Tenant(self, levels=(1,)), Tenant(self, levels=(1,))
        a.push1(1, item("secret", payload={"pin": "1234"}))
        self.assertEqual(b.pull_all(), [])
        self.assertEqual(b.events(), [])
        # b cannot write into a's tenant, by tenant_id or by the same entity id.
        r = b.push1(1, item("secret", tenant_id=a.name, payload={"pin": "0000"}))
        self.assertEqual(r["status"], "rejected")
        self.assertIn("cross-tenant", r["reason"])
        self.assertEqual(b.push1(1, item("secret", payload={"pin": "0000"}))["status"], "applied")
        self.assertEqual(a.entity("secret")["payload"], {"pin": "1234"})
        self.assertEqual(a.entity("secret")["tenant_id"], a.name)
        # A brain token without a tenant gets 403 on every sync route.
        proc = hostsync("run", "brain_admin.lua", "token", "create", "--ai", "claude", "--agent", "x",
                        "--machine", "m", "--project", "*", "--db", str(self.db), check=True)
        plain = proc.out.strip()
        for method, path, body in [("POST", "/sync/push", {"items": []}), ("GET", "/sync/pull", None),
                                   ("GET", "/sync/events", None), ("GET", "/sync/tenant", None),
                                   ("GET", "/sync/policy", None),
                                   ("POST", "/sync/conflict-resolve", {"entity_type": "note"})]:
            st, body = call(self.server.base, method, path, plain, body)
            self.assertEqual(st, 403, (path, body))
        self.assertEqual(call(self.server.base, "GET", "/sync/pull", None)[0], 401)

    def test_token_admin_shows_tenant_and_level(self):
        db = self.tmp / "admin.sqlite"
        sync_token(db, "acme", 4)
        bad = hostsync("run", "brain_admin.lua", "token", "create", "--ai", "a", "--agent", "b", "--machine", "m",
                       "--project", "*", "--tenant", "acme", "--level", "boss", "--db", db)
        self.assertEqual(bad.returncode, 2, bad.err)
        self.assertIn("--level", bad.err)
        lonely = hostsync("run", "brain_admin.lua", "token", "create", "--ai", "a", "--agent", "b", "--machine", "m",
                          "--project", "*", "--tenant", "acme", "--db", db)
        self.assertEqual(lonely.returncode, 2, lonely.err)
        listing = hostsync("run", "brain_admin.lua", "token", "list", "--db", db, check=True).out
        self.assertIn("tenant=acme level=ai-lan", listing)

    # -- paging under concurrent pushes -----------------------------------------------------

    def test_paging_from_random_cursors_during_pushes(self):
        t = Tenant(self, levels=(1,))
        top = [max(r["version"] for r in t.push(1, *[item(f"pre{i}") for i in range(20)]))]
        done = threading.Event()
        failures, readers = [], []

        def pusher():
            rng = random.Random(1)
            try:
                for b in range(25):
                    res = t.push(1, *[item(f"b{b}-{i}") for i in range(rng.randint(1, 40))])
                    top[0] = max(r["version"] for r in res)
            except BaseException as e:  # noqa: BLE001 (reported by the main thread)
                failures.append(e)
            finally:
                done.set()

        def reader(seed):
            # Page with random sizes from a random cursor until a page says "no more"
            # after the pusher finished: then everything after the cursor must have been seen.
            rng = random.Random(seed)
            try:
                start = rng.randint(0, top[0])
                seen, since = [], start
                while True:
                    was_done = done.is_set()
                    body = t.pull(since, rng.randint(1, 17))
                    seen += [(c["version"], c["item"]["entity_id"]) for c in body["changes"]]
                    since = body["next"]
                    if not body["more"] and was_done:
                        break
                readers.append((start, seen))
            except BaseException as e:  # noqa: BLE001
                failures.append(e)

        threads = [threading.Thread(target=pusher)] + [threading.Thread(target=reader, args=(s,)) for s in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if failures:
            raise failures[0]
        everything = {c["item"]["entity_id"]: c["version"] for c in t.pull_all()}
        self.assertEqual(len(everything), len(set(everything.values())))
        self.assertEqual(len(readers), 4)
        for start, seen in readers:
            versions = [v for v, _ in seen]
            self.assertEqual(versions, sorted(set(versions)), "a version was repeated or out of order")
            want = sorted((v, e) for e, v in everything.items() if v > start)
            self.assertEqual(seen, want, f"from cursor {start}: missed or extra changes")

    def test_two_servers_share_one_version_counter(self):
        # Two server processes on one database, four clients pushing through both at once:
        # every applied change gets its own version, with no gap (one counter row per
        # tenant, taken inside each write transaction), and the feed holds them all.
        t = Tenant(self, levels=(1,))
        servers = [self.server, Server(self, self.db, threads=4)]
        versions, failures = [], []

        def client(c):
            try:
                for b in range(8):
                    batch = [item(f"c{c}-{b}-{i}", mid=f"c{c}-{b}-{i}") for i in range(25)]
                    while True:   # 503: the database was busy and nothing was applied; the ids make a retry safe
                        st, body = call(servers[(c + b) % 2].base, "POST", "/sync/push", t.tok[1], {"items": batch})
                        if st != 503:
                            break
                    if st != 200:
                        raise AssertionError(f"push: {st} {body}")
                    versions.extend(r["version"] for r in body["results"] if r["status"] == "applied")
            except BaseException as e:  # noqa: BLE001 (reported by the main thread)
                failures.append(e)
        threads = [threading.Thread(target=client, args=(c,)) for c in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if failures:
            raise failures[0]
        self.assertEqual(len(versions), 4 * 8 * 25)
        self.assertEqual(sorted(versions), list(range(min(versions), min(versions) + len(versions))))
        self.assertEqual(sorted(c["version"] for c in t.pull_all()), sorted(versions))

    # -- policies: budgets and hot reload ---------------------------------------------------

    def _policy_file(self, name, text):
        path = self.tmp / name
        tmp = self.tmp / (name + ".new")
        tmp.write_text(text)
        os.replace(tmp, path)   # a new inode: the server notices even within one mtime tick
        return path

    def test_runaway_policy_rejects_the_item_and_the_server_keeps_serving(self):
        path = self._policy_file("evil.lua", """
local M = {}
function M.check_write(item)
  if item.payload.evil == "loop" then while true do end end
  if item.payload.evil == "alloc" then local t = {} while true do t[#t + 1] = string.rep("x", 4096) .. #t end end
  if item.payload.evil == "raise" then error("I refuse") end
  return { action = "apply" }
end
function M.decide(l, r) return { winner = "remote" } end
function M.redacts() return false end
return M
""")
        srv = Server(self, self.db, threads=2, extra=("--sync-policy", str(path)))
        t = Tenant(self, levels=(1,))
        st, res = call(srv.base, "POST", "/sync/push", t.tok[1], {"items": [
            item("p1", payload={"evil": "loop"}), item("p2", payload={"evil": "alloc"}),
            item("p3", payload={"evil": "raise"}), item("p4", payload={"fine": True})]})
        self.assertEqual(st, 200, res)
        res = res["results"]
        self.assertEqual([r["status"] for r in res], ["rejected", "rejected", "rejected", "applied"])
        self.assertIn("policy error", res[0]["reason"])
        self.assertIn("instruction budget exceeded", res[0]["reason"])
        self.assertIn("memory budget exceeded", res[1]["reason"])
        self.assertIn("I refuse", res[2]["reason"])
        self.assertEqual([e["kind"] for e in t.events()], ["policy_error"] * 3)
        for _ in range(3):
            st, res = call(srv.base, "POST", "/sync/push", t.tok[1], {"items": [item("p5")]})
            self.assertEqual((st, res["results"][0]["status"]), (200, "applied"))

    def test_policy_hot_reload(self):
        v1 = ('return { check_write = function() return { action = "apply" } end, decide = function() return { winner = "remote" } end,'
              ' redacts = function() return false end }\n')
        v2 = ('return { check_write = function() return { action = "reject", reason = "v2 says no" } end,'
              ' decide = function() return { winner = "local" } end, redacts = function() return false end }\n')
        path = self._policy_file("hot.lua", v1)
        srv = Server(self, self.db, threads=1, extra=("--sync-policy", str(path)))
        t = Tenant(self, levels=(1,))

        def push():
            st, body = call(srv.base, "POST", "/sync/push", t.tok[1], {"items": [item("h")]})
            self.assertEqual(st, 200, body)
            return body["results"][0]

        def policy():
            st, body = call(srv.base, "GET", "/sync/policy", t.tok[1])
            self.assertEqual(st, 200, body)
            return body

        import hashlib
        p = policy()
        self.assertEqual((p["path"], p["sha256"], p["last_error"]), (str(path), hashlib.sha256(v1.encode()).hexdigest(), None))
        self.assertEqual(push()["status"], "applied")
        self._policy_file("hot.lua", v2)
        wait_until(lambda: push()["status"] == "rejected", "the edited policy to take effect", interval=0.2)
        self.assertEqual(push()["reason"], "v2 says no")
        p = policy()
        self.assertEqual((p["sha256"], p["last_error"]), (hashlib.sha256(v2.encode()).hexdigest(), None))
        # A broken edit keeps v2 in force and says why.
        self._policy_file("hot.lua", "return { check_write = function( end }\n")
        wait_until(lambda: policy()["last_error"] is not None, "the broken edit to be noticed", interval=0.2)
        p = policy()
        self.assertEqual(p["sha256"], hashlib.sha256(v2.encode()).hexdigest())
        self.assertIn("hot.lua", p["last_error"])
        self.assertEqual(push()["reason"], "v2 says no")
        # The server's stderr is read by a thread: the log line can trail the answer.
        wait_until(lambda: any("not reloaded" in line and "hot.lua" in line for line in srv.lines),
                   f"the reload failure in the server log: {srv.lines}")
        # A broken policy at start-up stops the server before it listens.
        proc = hostsync("serve", "--port", "0", "--db", self.db, "--sync-policy", path, timeout=60)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("hot.lua", proc.err)

    def test_default_policy_is_the_truth_hierarchy(self):
        t = Tenant(self, levels=(1,))
        st, p = call(self.server.base, "GET", "/sync/policy", t.tok[1])
        self.assertEqual(st, 200, p)
        self.assertTrue(p["path"].endswith("policies/truth_hierarchy.lua"), p)
        import hashlib
        self.assertEqual(p["sha256"], hashlib.sha256((SOURCE_DIR / "policies/truth_hierarchy.lua").read_bytes()).hexdigest())


class SyncServerSQLiteTest(SyncServerTests, unittest.TestCase):
    @classmethod
    def database(cls):
        return cls.tmp / "brain.sqlite"


class SyncServerPostgresTest(SyncServerTests, unittest.TestCase):
    @classmethod
    def database(cls):
        cls.pg = PgServer().__enter__()
        cls.addClassCleanup(cls.pg.__exit__, None, None, None)
        return cls.pg.url


if __name__ == "__main__":
    unittest.main(verbosity=2)
