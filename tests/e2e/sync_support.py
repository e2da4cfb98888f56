"""Helpers for the sync-client e2e tests: sync tokens (tenant + level) and a client that
runs `hostsync run sync_client.lua` against its own vault."""
import json
import os

from harness import hostsync
from brain_support import Brain, call

LEVELS = {1: "user", 2: "automation", 3: "ai-local", 4: "ai-lan", 5: "ai-cloud"}


def make_sync_token(db, tenant, level, agent="syncer"):
    proc = hostsync("run", "brain_admin.lua", "token", "create", "--ai", "claude", "--agent", agent,
                    "--machine", "m1", "--project", "*", "--tenant", tenant, "--level", LEVELS[level],
                    "--db", str(db), timeout=60)
    assert proc.returncode == 0, proc.err
    return proc.out.strip()


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
