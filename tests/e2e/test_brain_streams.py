"""The brain's live streams hold no worker (issue 11): many open /chat/stream connections
on a 2-thread server, and the server still answers; every stream gets each message once;
a stream resumes from Last-Event-ID across a restart; a stream sees only what its token
may; /sync/stream pokes a follower with the version; on PostgreSQL a post or a push on
one server reaches the streams of another. Real servers, real sockets, real databases."""
import json
import os
import shutil
import tempfile
import unittest
import uuid

from brain_support import call, make_token
from http_support import EventStream
from pgserver import PgServer
from sync_support import SyncServer, make_sync_token

T1 = "2025-11-24T16:00:00Z"


class Stream(EventStream):
    """GET PATH with a bearer token (and Last-Event-ID); events' data decoded from JSON."""

    def __init__(self, port, path, token, last_id=None):
        headers = {"Authorization": "Bearer " + token}
        if last_id is not None:
            headers["Last-Event-ID"] = str(last_id)
        super().__init__(port, path, headers)

    def next(self):
        ev = super().next()
        return ev and (ev[0], ev[1], json.loads(ev[2]))


def server(test, db, workdir, port=0):
    """`hostsync serve --threads 2` whose background re-read of the topics is an hour
    apart: whatever a stream receives was published by a write's own refresh (or, across
    servers, on its NOTIFY), never found by that safety net."""
    config = os.path.join(workdir, "no-sweep.json")
    with open(config, "w") as f:
        json.dump({"stream_sweep": 3600}, f)
    return SyncServer(test, db, port=port, extra=["--config", config], threads=2)


def chat_stream(brain, token, last_id=None):
    return Stream(brain.port, "/chat/stream", token, last_id)


def post(brain, token, message, project=None):
    body = {"message": message}
    if project:
        body["project"] = project
    st, res = call(brain.base, "POST", "/chat", token, body)
    assert st == 201, (st, res)
    return res["id"]


def sync_item(eid):
    return {"entity_type": "note", "entity_id": eid, "origin_source": "user:desktop",
            "origin_chain": [{"level": 1, "source": "user:desktop", "timestamp": T1}],
            "version": 0, "last_modified_at": T1, "payload": {"title": eid}, "mutation_id": str(uuid.uuid4())}


def push(brain, token, *eids):
    st, body = call(brain.base, "POST", "/sync/push", token, {"items": [sync_item(e) for e in eids]})
    assert st == 200, (st, body)
    return max(r["version"] for r in body["results"])


class BrainStreamsSQLiteTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hostsync-brain-streams-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "brain.sqlite")

    def test_twenty_streams_on_two_threads_and_the_server_still_answers(self):
        marcus = make_token(self.db, agent="marcus", project="*")
        brain = server(self, self.db, self.dir)
        streams = [chat_stream(brain, marcus) for _ in range(20)]
        # Every stream is open and the two workers are free: a post and a lock answer.
        mid = post(brain, marcus, "hello all twenty")
        st, lock = call(brain.base, "GET", "/locks/github-push", marcus)
        self.assertEqual((st, lock["held"]), (200, False))
        st, acquired = call(brain.base, "POST", "/locks/github-push/acquire", marcus, {"ttl_seconds": 60})
        self.assertEqual(st, 200, acquired)
        second = post(brain, marcus, "and once more")
        for s in streams:
            got = s.take(2)
            self.assertEqual([(i, e, m["message"]) for i, e, m in got],
                             [(mid, "chat", "hello all twenty"), (second, "chat", "and once more")])
        # What the streams delivered is what is stored.
        st, hist = call(brain.base, "GET", f"/chat?since={mid - 1}", marcus)
        self.assertEqual([m["id"] for m in hist["messages"]], [mid, second])
        for s in streams:
            s.close()

    def test_a_stream_resumes_from_last_event_id_after_a_restart(self):
        marcus = make_token(self.db, agent="marcus", project="*")
        first = server(self, self.db, self.dir)
        ids = [post(first, marcus, f"m{i}") for i in range(1, 4)]
        s = chat_stream(first, marcus, last_id=ids[0])
        self.assertEqual([i for i, _, _ in s.take(2)], ids[1:])     # replayed from the table
        first.kill()                                              # SIGTERM: the stream ends cleanly
        self.assertIsNone(s.next())
        s.close()
        second = server(self, self.db, self.dir, port=first.port)
        later = post(second, marcus, "m4")
        # The client reconnects with the last id it saw: the rest, nothing twice, then live.
        s = chat_stream(second, marcus, last_id=ids[2])
        self.assertEqual(s.take(1)[0][:2], (later, "chat"))
        live = post(second, marcus, "m5")
        got = s.take(1)[0]
        self.assertEqual((got[0], got[2]["message"]), (live, "m5"))
        s.close()

    def test_a_stream_shows_only_what_its_token_may_see(self):
        marcus = make_token(self.db, agent="marcus", project="*")
        web = make_token(self.db, agent="milo", ai="gemini", project="web")
        brain = server(self, self.db, self.dir)
        before = [post(brain, marcus, "for web", "web"), post(brain, marcus, "for other", "other"),
                  post(brain, marcus, "for everyone")]
        s_web = chat_stream(brain, web, last_id=0)
        s_all = chat_stream(brain, marcus, last_id=0)
        after = [post(brain, marcus, "other again", "other"), post(brain, marcus, "web again", "web")]
        self.assertEqual([m["message"] for _, _, m in s_web.take(3)], ["for web", "for everyone", "web again"])
        self.assertEqual([i for i, _, _ in s_all.take(5)], before + after)
        s_web.close()
        s_all.close()

    def test_the_streams_of_a_revoked_token_end(self):
        from harness import hostsync
        keep = make_token(self.db, agent="keeper", project="*")
        gone = make_token(self.db, agent="leaver", machine="m9", project="*")
        brain = server(self, self.db, self.dir)
        kept, ended = chat_stream(brain, keep), chat_stream(brain, gone)
        listing = hostsync("run", "brain_admin.lua", "token", "list", "--db", self.db, check=True).out
        tid = [line.split("\t")[0] for line in listing.splitlines() if "/@leaver\tm9" in line][0]
        hostsync("run", "brain_admin.lua", "token", "revoke", tid, "--db", self.db, check=True)
        self.assertIsNone(ended.next())                  # the server ended it (a complete body)
        self.assertEqual(call(brain.base, "GET", "/chat/stream", gone)[0], 401)
        mid = post(brain, keep, "still streaming")
        self.assertEqual(kept.take(1)[0][0], mid)
        kept.close()
        ended.close()

    def test_sync_stream_pokes_a_follower_with_the_version(self):
        user = make_sync_token(self.db, "home", 1, agent="me")
        other = make_sync_token(self.db, "elsewhere", 1, agent="them")
        brain = server(self, self.db, self.dir)
        v1 = push(brain, user, "n1")
        s = Stream(brain.port, "/sync/stream", user)             # from now on
        s_other = Stream(brain.port, "/sync/stream", other)
        v2 = push(brain, user, "n2", "n3")
        self.assertGreater(v2, v1)
        self.assertEqual(s.take(1), [(v2, "sync", {"version": v2})])
        # Another tenant's pushes poke its own followers only.
        w = push(brain, other, "x1")
        self.assertEqual(s_other.take(1), [(w, "sync", {"version": w})])
        v3 = push(brain, user, "n4")
        self.assertEqual(s.take(1)[0][0], v3)
        # Resuming from an older version: a poke at once, with the current one.
        behind = Stream(brain.port, "/sync/stream", user, last_id=v1)
        self.assertEqual(behind.take(1), [(v3, "sync", {"version": v3})])
        # A token without a tenant has no sync stream; a bad resume point is a 400.
        brain_only = make_token(self.db, agent="nosync")
        self.assertEqual(call(brain.base, "GET", "/sync/stream", brain_only)[0], 403)
        st, body = call(brain.base, "GET", "/sync/stream", user, headers={"Last-Event-ID": "-3"})
        self.assertEqual(st, 400, body)
        for x in (s, s_other, behind):
            x.close()


class BrainStreamsPostgresTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = PgServer().__enter__()
        cls.url = cls.pg.url

    @classmethod
    def tearDownClass(cls):
        cls.pg.__exit__(None, None, None)

    def test_a_post_or_push_on_one_server_reaches_the_streams_of_the_other(self):
        marcus = make_token(self.url, agent="marcus", project="*")
        user = make_sync_token(self.url, "pg-home", 1, agent="me")
        workdir = tempfile.mkdtemp(prefix="hostsync-brain-streams-")
        self.addCleanup(shutil.rmtree, workdir, True)
        a = server(self, self.url, workdir)
        b = server(self, self.url, workdir)
        on_b = [chat_stream(b, marcus) for _ in range(10)]
        follower = Stream(b.port, "/sync/stream", user)
        mid = post(a, marcus, "from A")
        for s in on_b:
            got = s.take(1)[0]
            self.assertEqual((got[0], got[2]["message"]), (mid, "from A"))
        v = push(a, user, "p1")
        self.assertEqual(follower.take(1), [(v, "sync", {"version": v})])
        # B's workers are free while its streams are open.
        self.assertEqual(call(b.base, "GET", "/locks/x", marcus)[0], 200)
        for s in on_b + [follower]:
            s.close()


if __name__ == "__main__":
    unittest.main()
