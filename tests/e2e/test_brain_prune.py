"""brain_admin.lua prune (docs/brain.md, "Retention"; docs/sync-contract.md, "Retention")
with a real server: what each retention deletes (and what --dry-run only counts),
checked in the database; the horizons readers are told about (chat history and stream,
the inbox, sync events); and that no client breaks: a sync client whose cursor lies
behind pruned tombstones gets 410 and resyncs, so it learns the delete (and a closed
proposal) it never saw, while a queued change of its own is kept. Rows are made old by
setting their timestamps in the database, so nothing waits for a clock. SQLite and
PostgreSQL."""
import datetime
import http.client
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

from brain_support import Brain, call, make_token
from harness import HOSTSYNC, hostsync
from pgserver import PgServer
from sync_support import SyncClient, db_rows, make_sync_token

OLD = "2020-01-01T00:00:00.000Z"
NO_BRAIN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("HOSTSYNC_BRAIN_")}


class PruneTests:
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hostsync-prune-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = self.database()
        self.marcus = make_token(self.db, "claude", "marcus", "m1", "*")
        self.milo = make_token(self.db, "gemini", "milo", "m2", "web")
        self.brain = Brain(self, self.db, threads=4)

    def sql(self, statement, *args):
        """Runs one statement on the server's database -> its rows as tuples (columns in
        the order selected; booleans as 0/1 and JSON as text decoded, alike on both backends)."""
        cols = [c.strip().split()[-1] for c in statement.split(" FROM ")[0][len("SELECT "):].split(",")] \
            if statement.startswith("SELECT ") else []
        out = []
        for r in db_rows(self.db, statement, *args):
            row = []
            for c in cols:
                v = r[c]
                if isinstance(v, bool):
                    v = int(v)
                elif c == "payload":
                    v = json.loads(v)
                row.append(v)
            out.append(tuple(row))
        return out

    def prune(self, *args):
        p = hostsync("run", "brain_admin.lua", "prune", "--db", self.db, *args, timeout=120)
        self.assertEqual(p.returncode, 0, p.err)
        return p.out

    def prune_json(self, *args):
        return {r["name"]: r for r in map(json.loads, self.prune("--json", *args).splitlines())}

    def post(self, message, token=None):
        st, res = call(self.brain.base, "POST", "/chat", token or self.marcus, {"message": message, "project": "web"})
        self.assertEqual(st, 201, res)
        return res["id"]

    ONLY = ("--chat", "off", "--inbox", "off", "--sync-events", "off", "--sync-mutations", "off", "--sync-tombstones", "off",
            "--hooks", "off")

    def only(self, **keep):
        args = list(self.ONLY)
        for name, value in keep.items():
            args[args.index("--" + name.replace("_", "-")) + 1] = value
        return args

    def test_chat_and_inbox_are_pruned_as_a_prefix_and_readers_are_told(self):
        ids = [self.post(f"m{i} @milo") for i in range(10)]
        for bad in ("soon", "0d", "-1d", "3w"):
            p = hostsync("run", "brain_admin.lua", "prune", "--db", self.db, "--chat", bad, timeout=60)
            self.assertEqual(p.returncode, 2, p.err)
            self.assertIn("--chat must be a positive number with s, m, h or d (30d)", p.err)
        self.sql("UPDATE chatroom SET created_at = ? WHERE seq <= ?", OLD, ids[6])
        self.sql("UPDATE inbox SET created_at = ? WHERE seq <= 4", OLD)
        before = self.sql("SELECT COUNT(*) AS n FROM chatroom")
        out = self.prune("--dry-run", *self.only(chat="30d", inbox="30d"))
        self.assertRegex(out, rf"(?m)^chat: would delete 7 messages older than \S+Z through #{ids[6]}$")
        self.assertRegex(out, r"(?m)^inbox: would delete 4 inbox entries older than \S+Z through #4$")
        self.assertRegex(out, r"(?m)^sync_events: kept \(retention off\)$")
        self.assertEqual(self.sql("SELECT COUNT(*) AS n FROM chatroom"), before)
        self.assertEqual(self.sql("SELECT what FROM retention_horizons"), [])
        got = self.prune_json(*self.only(chat="30d", inbox="30d"))
        self.assertEqual((got["chat"]["count"], got["chat"]["through"]), (7, ids[6]))
        self.assertEqual((got["inbox"]["count"], got["inbox"]["through"]), (4, 4))
        self.assertEqual([r[0] for r in self.sql("SELECT seq FROM chatroom ORDER BY seq")], ids[7:])
        self.assertEqual(sorted(self.sql("SELECT what, tenant, through FROM retention_horizons")),
                         [("chat", "", ids[6]), ("inbox", "", 4)])
        # History from before the horizon: what is left, and where the gap ends.
        st, body = call(self.brain.base, "GET", "/chat?since=2", self.milo)
        self.assertEqual((st, [m["id"] for m in body["messages"]], body["pruned_through"]), (200, ids[7:], ids[6]))
        st, body = call(self.brain.base, "GET", f"/chat?since={ids[6]}", self.milo)
        self.assertNotIn("pruned_through", body)
        st, body = call(self.brain.base, "GET", "/inbox?since=0", self.milo)
        self.assertEqual((st, [e["seq"] for e in body["entries"]], body["pruned_through"]), (200, list(range(5, 11)), 4))
        # The stream resumed from before the horizon says so first, then goes on.
        events = self.stream_events(3, 4)
        self.assertEqual(events[0], ("pruned", None, {"pruned_through": ids[6], "since": 3}))
        self.assertEqual([(e, int(i)) for e, i, _ in events[1:]], [("chat", i) for i in ids[7:]])
        # chat.lua history says so too.
        p = subprocess.run([HOSTSYNC, "run", "chat.lua", "history", "--server", self.brain.base, "--token-file",
                            self.token_file(self.milo), "--since", "1"], capture_output=True, text=True, env=NO_BRAIN_ENV,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"chat: history: messages up to #{ids[6]} were pruned (brain_admin.lua prune)", p.stderr)
        self.assertEqual(len(p.stdout.splitlines()), 3)
        # Everything old: the newest row is kept, so the sequence never goes back.
        self.sql("UPDATE chatroom SET created_at = ?", OLD)
        got = self.prune_json(*self.only(chat="1d"))
        self.assertEqual((got["chat"]["count"], got["chat"]["through"]), (2, ids[8]))
        self.assertEqual(self.post("after the prune"), ids[9] + 1)

    def token_file(self, token):
        path = os.path.join(self.dir, f"{token[:12]}.token")
        with open(path, "w") as f:
            f.write(token + "\n")
        return path

    def stream_events(self, last_id, count):
        conn = http.client.HTTPConnection("127.0.0.1", self.brain.port, timeout=60)
        try:
            conn.request("GET", "/chat/stream", headers={"Authorization": "Bearer " + self.milo, "Last-Event-ID": str(last_id)})
            res = conn.getresponse()
            self.assertEqual(res.status, 200)
            out, cur = [], {}
            while len(out) < count:
                line = res.fp.readline().decode()
                self.assertNotEqual(line, "", "stream ended early")
                line = line.rstrip("\r\n")
                if line == "":
                    if cur.get("event") in ("chat", "pruned"):
                        out.append((cur["event"], cur.get("id"), json.loads(cur["data"])))
                    cur = {}
                elif ":" in line:
                    k, v = line.split(":", 1)
                    cur[k] = v[1:] if v.startswith(" ") else v
            return out
        finally:
            conn.close()

    def test_finished_hook_events_go_with_their_runs_and_pending_ones_stay(self):
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        # kind -> (status, finished_at, runs): the hooks runner's states (docs/hooks.md).
        events = {"old-done": ("done", OLD, 2), "old-dead": ("dead", OLD, 3), "old-skipped": ("skipped", OLD, 0),
                  "new-done": ("done", now, 1), "old-pending": ("pending", None, 1)}
        for kind, (status, finished, runs) in events.items():
            self.sql("INSERT INTO hook_events (kind, data, depth, status, attempts, next_at, created_at, finished_at) "
                     "VALUES (?, ?, 0, ?, 1, ?, ?, " + ("?)" if finished else "NULL)"),
                     kind, "{}", status, OLD, OLD, *([finished] if finished else []))
            eid = self.sql("SELECT id FROM hook_events WHERE kind = ?", kind)[0][0]
            for attempt in range(1, runs + 1):
                self.sql("INSERT INTO hook_runs (event_id, handler, ok, duration_ms, attempt, actions, at) "
                         "VALUES (?, ?, TRUE, 1.5, ?, 0, ?)", eid, "on_" + kind, attempt, OLD)
        before = sorted(self.sql("SELECT kind FROM hook_events"))
        got = self.prune_json("--dry-run", *self.only(hooks="7d"))
        self.assertEqual(got["hooks"]["count"], 3)
        self.assertEqual(sorted(self.sql("SELECT kind FROM hook_events")), before, "a dry run deletes nothing")
        got = self.prune_json(*self.only(hooks="7d"))
        self.assertEqual(got["hooks"]["count"], 3)
        self.assertEqual(sorted(r[0] for r in self.sql("SELECT kind FROM hook_events")), ["new-done", "old-pending"])
        self.assertEqual(sorted(r[0] for r in self.sql("SELECT handler FROM hook_runs")), ["on_new-done", "on_old-pending"],
                         "the runs of pruned events went with them; no run is left without its event")

    def test_sync_events_and_mutations(self):
        user = make_sync_token(self.db, "t1", 1, "alice")
        cloud = make_sync_token(self.db, "t1", 5, "llm")
        at = "2025-11-24T16:00:00Z"

        def push(token, mid, payload, version=0, level=1):
            src = {1: "user:desk", 5: "ai-cloud:llm"}[level]
            it = {"entity_type": "note", "entity_id": "n1", "origin_source": src, "truth_level": level,
                  "origin_chain": [{"level": level, "source": src, "timestamp": at}], "version": version,
                  "last_modified_at": at, "payload": payload, "mutation_id": mid}
            st, body = call(self.brain.base, "POST", "/sync/push", token, {"items": [it]})
            self.assertEqual(st, 200, body)
            return body["results"][0]
        first = push(user, "m-1", {"title": "mine"})
        self.assertEqual(first["status"], "applied")
        for i in range(3):   # AI cloud edits of user content: proposals, each an event
            self.assertEqual(push(cloud, f"c-{i}", {"title": f"ai {i}"}, first["version"], level=5)["status"], "proposal")
        events = [r[0] for r in self.sql("SELECT id FROM sync_events ORDER BY id")]
        self.assertEqual(len(events), 3)
        self.sql("UPDATE sync_events SET created_at = ? WHERE id <= ?", OLD, events[1])
        self.sql("UPDATE sync_mutations SET created_at = ? WHERE mutation_id IN ('m-1', 'c-0')", OLD)
        got = self.prune_json(*self.only(sync_events="7d", sync_mutations="7d"))
        self.assertEqual((got["sync_events"]["count"], got["sync_events"]["through"]), (2, events[1]))
        self.assertEqual(got["sync_mutations"]["count"], 2)
        self.assertEqual([r[0] for r in self.sql("SELECT id FROM sync_events")], events[2:])
        self.assertEqual(sorted(r[0] for r in self.sql("SELECT mutation_id FROM sync_mutations")), ["c-1", "c-2"])
        st, body = call(self.brain.base, "GET", "/sync/events?since=0", user)
        self.assertEqual((st, [e["id"] for e in body["events"]], body["pruned_through"]), (200, events[2:], events[1]))
        # A replay of a pruned mutation is no longer recognised as one: it is decided like a
        # stale write against what is stored (the same content: unchanged), never applied blindly.
        again = push(user, "m-1", {"title": "mine"})
        self.assertNotIn("replayed", again)
        self.assertEqual((again["status"], again.get("unchanged")), ("applied", True), again)
        stored = self.sql("SELECT version, payload FROM sync_entities WHERE entity_id = 'n1'")
        self.assertEqual(stored, [(first["version"], {"title": "mine"})])
        replayed = push(cloud, "c-1", {"title": "ai 1"}, first["version"], level=5)
        self.assertTrue(replayed["replayed"], replayed)

    def test_a_client_behind_pruned_tombstones_resyncs_and_learns_the_deletes(self):
        alice = make_sync_token(self.db, "t1", 1, "alice")
        bob = make_sync_token(self.db, "t1", 1, "bob")
        model = make_sync_token(self.db, "t1", 3, "model")
        a = SyncClient(self.dir, "a", self.brain.base, alice, 1)
        b = SyncClient(self.dir, "b", self.brain.base, bob, 1)
        d = SyncClient(self.dir, "d", self.brain.base, bob, 1)
        ai = SyncClient(self.dir, "ai", self.brain.base, model, 3)
        for eid in ("n1", "n2", "n3"):
            a.put("note", eid, {"title": eid})
        a.run("sync", check=True)
        ai.run("pull", check=True)
        ai.put("note", "n1", {"title": "n1, says the model"})
        self.assertIn("1 proposal", ai.run("push", check=True).out)
        for c in (b, d):   # both see n1..n3 and the open proposal
            c.run("pull", check=True)
            self.assertEqual(len(c.lines("proposals")), 1)
        cursor = int(re.search(r"cursor (\d+)", b.run("pull", check=True).out).group(1))
        # a deletes n2 and resolves the proposal (closing it); b and d do not pull.
        a.run("pull", check=True)
        a.run("delete", "note", "n2", check=True)
        a.run("push", check=True)
        proposal = a.lines("proposals")[0]["version"]
        a.run("resolve", "note", "n1", "--from-proposal", str(proposal), "--payload", '{"title": "n1, merged"}', check=True)
        d.put("note", "n2", {"title": "n2, edited offline"})   # d's queued change to the deleted note
        # The tombstone and the closed proposal get old, and are pruned.
        self.sql("UPDATE sync_entities SET changed_at = ? WHERE deleted", OLD)
        self.sql("UPDATE sync_proposals SET closed_at = ? WHERE status <> 'open'", OLD)
        tomb = self.sql("SELECT version FROM sync_entities WHERE deleted")[0][0]
        closed = self.sql("SELECT feed_version FROM sync_proposals WHERE status <> 'open'")[0][0]
        got = self.prune_json(*self.only(sync_tombstones="30d"))
        self.assertEqual((got["sync_tombstones"]["count"], got["sync_tombstones"]["tenants"]), (2, {"t1": max(tomb, closed)}))
        self.assertEqual(self.sql("SELECT COUNT(*) AS n FROM sync_entities WHERE deleted"), [(0,)])
        self.assertEqual(self.sql("SELECT COUNT(*) AS n FROM sync_proposals"), [(0,)])
        self.assertEqual(self.sql("SELECT what, tenant, through FROM retention_horizons"), [("sync_feed", "t1", max(tomb, closed))])
        # The feed from before the horizon is refused with a resync instruction; from 0 it is whole.
        st, body = call(self.brain.base, "GET", f"/sync/pull?since={cursor}", bob)
        self.assertEqual((st, body["resync"], body["pruned_through"], body["since"]), (410, True, max(tomb, closed), cursor))
        self.assertIn("resync", body["error"])
        self.assertEqual(call(self.brain.base, "GET", f"/sync/pull?since={max(tomb, closed)}", bob)[0], 200)
        # A pull from 0 is whole: its later pages (full=1) are answered from behind the
        # horizon, and its end moves the cursor past it.
        since, seen = 0, []
        while True:
            st, body = call(self.brain.base, "GET", f"/sync/pull?since={since}&limit=1" + ("&full=1" if since else ""), bob)
            self.assertEqual(st, 200, body)
            seen += [c["item"]["entity_id"] for c in body["changes"] if c["kind"] == "entity"]
            since = body["next"]
            if not body["more"]:
                break
        self.assertEqual(sorted(seen), ["n1", "n3"])
        self.assertGreaterEqual(since, max(tomb, closed))
        self.assertEqual(call(self.brain.base, "GET", f"/sync/pull?since={since}", bob)[0], 200)
        # b pulls (a page at a time): 410, full resync, n2 is gone and the proposal is no longer open.
        p = b.run("pull", "--page", "1", check=True)
        self.assertIn("full resync (the server pruned its history past this vault's cursor): 1 removed", p.out)
        self.assertIn("  removed note/n2\n", p.out)
        self.assertIn(f"pull: the server pruned its feed through v{max(tomb, closed)}", p.err)
        self.assertEqual(sorted(e["entity_id"] for e in b.lines("list")), ["n1", "n3"])
        self.assertEqual(b.get("note", "n1")["payload"], {"title": "n1, merged"})
        self.assertEqual(b.lines("proposals"), [])
        self.assertEqual(self.vault_rows(b, "SELECT status FROM proposals"), [("closed",)])
        # The next pull is an ordinary one.
        self.assertNotIn("resync", b.run("pull", check=True).out)
        # d keeps its queued change (its push decides: the note comes back).
        p = d.run("pull", check=True)
        self.assertIn("0 removed (deleted on the server), 1 kept with queued changes", p.out)
        self.assertIn("  kept note/n2 (its queued change will create it again)", p.out)
        self.assertIn("1 applied", d.run("push", check=True).out)
        self.assertEqual(self.sql("SELECT deleted, payload FROM sync_entities WHERE entity_id = 'n2'"),
                         [(0, {"title": "n2, edited offline"})])
        # A new vault's first pull is whole: the pruned delete does not reach it at all.
        c = SyncClient(self.dir, "c", self.brain.base, bob, 1)
        c.run("pull", check=True)
        self.assertEqual(sorted(e["entity_id"] for e in c.lines("list")), ["n1", "n2", "n3"])

    def vault_rows(self, client, statement):
        con = sqlite3.connect(f"file:{client.vault}?mode=ro", uri=True)
        try:
            return con.execute(statement).fetchall()
        finally:
            con.close()


class PruneSQLiteTest(PruneTests, unittest.TestCase):
    def database(self):
        return os.path.join(self.dir, "brain.sqlite")


class PrunePostgresTest(PruneTests, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = PgServer().__enter__()
        cls.addClassCleanup(cls.pg.__exit__, None, None, None)

    def database(self):
        return self.pg.create_database("prune_" + self._testMethodName[5:40])


if __name__ == "__main__":
    unittest.main(verbosity=2)
