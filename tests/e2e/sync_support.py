"""Helpers for the sync e2e tests: sync tokens (tenant + level), a server, SyncItems and
a tenant with one token per level, a client that runs `hostsync run sync_client.lua`
against its own vault, and what the database holds (read by tests/e2e/db_rows.lua, the
same way on SQLite and PostgreSQL)."""
import json
import os
import uuid

from harness import HERE, hostsync
from brain_support import Brain, call

LEVELS = {1: "user", 2: "automation", 3: "ai-local", 4: "ai-lan", 5: "ai-cloud"}


def make_sync_token(db, tenant, level, agent="syncer"):
    proc = hostsync("run", "brain_admin.lua", "token", "create", "--ai", "claude", "--agent", agent,
                    "--machine", "m1", "--project", "*", "--tenant", tenant, "--level", LEVELS[level],
                    "--db", str(db), timeout=60)
    assert proc.returncode == 0, proc.err
    return proc.out.strip()


SOURCES = {1: "user:desktop", 2: "automation:rule-1", 3: "ai-local:model-x", 4: "ai-lan:box", 5: "ai-cloud:llama"}
T1, T2, T3 = "2025-11-24T16:00:00Z", "2025-11-24T17:00:00Z", "2025-11-24T18:00:00Z"


def item(eid, level=None, at=T1, payload=None, version=0, mid=None, **fields):
    it = {"entity_type": "note", "entity_id": eid, "origin_source": SOURCES.get(level or 1),
          "origin_chain": [{"level": level or 1, "source": SOURCES.get(level or 1), "timestamp": at}],
          "version": version, "last_modified_at": at, "payload": payload if payload is not None else {"title": eid},
          "mutation_id": mid or str(uuid.uuid4())}
    if level is not None:
        it["truth_level"] = level
    it.update(fields)
    return it


class Tenant:
    """A fresh tenant on the shared server, with one token per level."""

    def __init__(self, case, levels=(1, 2, 3, 4, 5)):
        self.case = case
        self.name = "t-" + uuid.uuid4().hex[:12]
        self.tok = {lv: make_sync_token(case.db, self.name, lv, agent=f"l{lv}") for lv in levels}

    def push(self, level, *items, expect=200):
        st, body = call(self.case.server.base, "POST", "/sync/push", self.tok[level], {"items": list(items)})
        self.case.assertEqual(st, expect, body)
        return body["results"] if expect == 200 else body

    def push1(self, level, it):
        return self.push(level, it)[0]

    def pull(self, since=0, limit=None, level=1):
        q = f"/sync/pull?since={since}" + (f"&limit={limit}" if limit else "")
        st, body = call(self.case.server.base, "GET", q, self.tok[level])
        self.case.assertEqual(st, 200, body)
        return body

    def pull_all(self, since=0, level=1):
        out = []
        while True:
            body = self.pull(since, 5000, level)
            out += body["changes"]
            since = body["next"]
            if not body["more"]:
                return out

    def entity(self, eid):
        """The entity's current stored item (from the feed), or None."""
        got = [c["item"] for c in self.pull_all() if c["kind"] == "entity" and c["item"]["entity_id"] == eid]
        return got[-1] if got else None

    def events(self, eid=None, level=1):
        q = "/sync/events?limit=1000" + (f"&entity_type=note&entity_id={eid}" if eid else "")
        st, body = call(self.case.server.base, "GET", q, self.tok[level])
        self.case.assertEqual(st, 200, body)
        return body["events"]



def subset(got, want):
    if isinstance(want, dict):
        return isinstance(got, dict) and all(k in got and subset(got[k], v) for k, v in want.items())
    return got == want


class SyncServer(Brain):
    """`hostsync serve` for the sync tests: 4 threads unless told, extra flags (e.g.
    --sync-policy); otherwise brain_support.Brain (stderr collected, killed at cleanup)."""

    def __init__(self, test, db, port=0, extra=(), threads=4):
        super().__init__(test, db, threads=threads, port=port, extra=extra)


class SyncClient:
    """One replica: a vault file, a token file, a level. run() returns the process."""

    def __init__(self, workdir, name, base, token, level, env=None):
        self.name, self.level, self.token, self.base = name, level, token, base
        self.vault = os.path.join(workdir, name + ".db")
        self.token_file = os.path.join(workdir, name + ".token")
        with open(self.token_file, "w") as f:
            f.write(token + "\n")
        self.env = env or {}
        self.run("init", "--level", LEVELS[level], "--origin-source", f"{LEVELS[level]}:{name}",
                 "--server", base, "--token-file", self.token_file, check=True)

    def run(self, *args, check=False, env=None, timeout=120):
        proc = hostsync("run", "sync_client.lua", "--vault", self.vault, *args, env={**self.env, **(env or {})},
                        timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{self.name}: sync_client {' '.join(args)} exited {proc.returncode}:\n"
                                 f"{proc.out}\n{proc.err}")
        return proc

    def lines(self, *args):
        return [json.loads(x) for x in self.run(*args, check=True).out.splitlines() if x.strip()]

    def get(self, etype, eid):
        proc = self.run("get", etype, eid)
        return json.loads(proc.out) if proc.returncode == 0 else None

    def put(self, etype, eid, payload):
        return self.run("put", etype, eid, "--payload", json.dumps(payload), check=True)


def pull_all(base, token, since=0):
    """The server's feed from `since` -> list of changes, paging until `more` is false."""
    out = []
    while True:
        st, body = call(base, "GET", f"/sync/pull?since={since}&limit=5000", token)
        assert st == 200, body
        out.extend(body["changes"])
        if not body["more"]:
            return out
        since = body["next"]


def events_all(base, token):
    out, since = [], 0
    while True:
        st, body = call(base, "GET", f"/sync/events?since={since}&limit=1000", token)
        assert st == 200, body
        got = body.get("events", [])
        out.extend(got)
        if not got or not body.get("more", False):
            return out
        since = body.get("next", got[-1].get("id", since))


def db_rows(db, sql, *params):
    """The rows of one query on the server's database (SQLite path or postgres:// URL),
    as dicts; run by the binary, so both backends are read alike."""
    proc = hostsync("run", HERE / "db_rows.lua", str(db), sql, *map(str, params), timeout=60)
    assert proc.returncode == 0, proc.err
    return [json.loads(line) for line in proc.out.splitlines() if line.strip()]


JSON_COLUMNS = ("payload", "origin_chain", "stored", "incoming", "detail")
BOOL_COLUMNS = ("deleted", "accepted_by_user")


def _typed(row):
    for k in JSON_COLUMNS:
        if isinstance(row.get(k), str):
            row[k] = json.loads(row[k])
    for k in BOOL_COLUMNS:
        if k in row:
            row[k] = bool(row[k])
    return row


def stored_entity(db, tenant, eid, etype="note"):
    """The sync_entities row of an entity (JSON columns decoded), or None."""
    rows = db_rows(db, "SELECT * FROM sync_entities WHERE tenant = ? AND entity_type = ? AND entity_id = ?",
                   tenant, etype, eid)
    return _typed(rows[0]) if rows else None


def stored_proposals(db, tenant, eid, etype="note"):
    return [_typed(r) for r in db_rows(db, "SELECT * FROM sync_proposals WHERE tenant = ? AND entity_type = ? "
                                           "AND entity_id = ? ORDER BY version", tenant, etype, eid)]


def stored_events(db, tenant, eid, etype="note"):
    """The sync_events rows of an entity in order (JSON columns decoded)."""
    return [_typed(r) for r in db_rows(db, "SELECT * FROM sync_events WHERE tenant = ? AND entity_type = ? "
                                           "AND entity_id = ? ORDER BY id", tenant, etype, eid)]
