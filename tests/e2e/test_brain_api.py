"""The brain's API: tokens (401), lock ownership and fencing, validation (400 naming the
field), chat history and the SSE stream resuming with Last-Event-ID."""
import os
import tempfile
import shutil
import unittest

from brain_support import Brain, call, make_token, read_sse


class BrainApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="hostsync-brain-")
        cls.db = os.path.join(cls.dir, "brain.sqlite")
        cls.marcus = make_token(cls.db, agent="marcus")
        cls.milo = make_token(cls.db, ai="gemini", agent="milo", machine="m2")
        cls.other = make_token(cls.db, agent="rowan", project="Q")
        cls.marcus_m2 = make_token(cls.db, agent="marcus", machine="m2")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.brain = Brain(self, self.db, threads=6)
        self.base = self.brain.base

    def test_401_without_or_with_bad_token(self):
        for token in (None, "hsb_nope", self.marcus + "x"):
            for method, path in (("GET", "/locks/x"), ("POST", "/locks/x/acquire"), ("GET", "/chat")):
                status, body = call(self.base, method, path, token=token, body={} if method == "POST" else None)
                self.assertEqual(status, 401, (token, path, body))
        status, body = call(self.base, "GET", "/whoami", token=self.marcus)
        self.assertEqual((status, body["agent"], body["ai"]), (200, "marcus", "claude"))
        # The token's database stores only hashes.
        import sqlite3
        con = sqlite3.connect(self.db)
        hashes = [r[0] for r in con.execute("SELECT token_sha256 FROM tokens")]
        con.close()
        self.assertNotIn(self.marcus, hashes)
        self.assertEqual(len(hashes[0]), 64)

    def test_revoked_token_401(self):
        token = make_token(self.db, agent="leaver", machine="m9")
        self.assertEqual(call(self.base, "GET", "/whoami", token)[0], 200)
        from harness import hostsync
        listing = hostsync("run", "brain_admin.lua", "token", "list", "--db", self.db, check=True).out
        tid = [line.split("\t")[0] for line in listing.splitlines() if "/@leaver\tm9" in line][0]
        self.assertNotIn(token, listing)
        hostsync("run", "brain_admin.lua", "token", "revoke", tid, "--db", self.db, check=True)
        self.assertEqual(call(self.base, "GET", "/whoami", token)[0], 401)

    def test_unknown_route_404(self):
        status, _ = call(self.base, "GET", "/nope", token=self.marcus)
        self.assertEqual(status, 404)

    def test_lock_ownership_and_fencing(self):
        st, got = call(self.base, "POST", "/locks/own/acquire", self.marcus, {"ttl_seconds": 60, "reason": "push"})
        self.assertEqual(st, 200, got)
        self.assertEqual(got["holder"]["agent"], "marcus")
        fence = got["fencing_token"]
        # Another agent is refused the lock, and cannot renew or release it with the token.
        st, body = call(self.base, "POST", "/locks/own/acquire", self.milo, {})
        self.assertEqual(st, 409)
        self.assertEqual(body["holder"]["agent"], "marcus")
        self.assertIn("expires_at", body)
        for op in ("release", "renew"):
            st, body = call(self.base, "POST", f"/locks/own/{op}", self.milo, {"fencing_token": fence})
            self.assertEqual(st, 403, body)
        # The same agent on another machine is another holder.
        st, body = call(self.base, "POST", "/locks/own/release", self.marcus_m2, {"fencing_token": fence})
        self.assertEqual(st, 403, body)
        # Identity in the body is ignored: it comes from the token.
        st, body = call(self.base, "POST", "/locks/own/release", self.milo,
                        {"fencing_token": fence, "agent": "marcus", "ai": "claude"})
        self.assertEqual(st, 403)
        st, body = call(self.base, "GET", "/locks/own", self.milo)
        self.assertEqual((st, body["held"], body["fencing_token"]), (200, True, fence))
        # The holder with a stale token is refused (409); with the current one it renews and releases.
        st, body = call(self.base, "POST", "/locks/own/release", self.marcus, {"fencing_token": fence - 1})
        self.assertEqual(st, 409)
        st, body = call(self.base, "POST", "/locks/own/renew", self.marcus, {"fencing_token": fence, "ttl_seconds": 120})
        self.assertEqual(st, 200, body)
        st, body = call(self.base, "POST", "/locks/own/release", self.marcus, {"fencing_token": fence})
        self.assertEqual(st, 200, body)
        st, body = call(self.base, "POST", "/locks/own/release", self.marcus, {"fencing_token": fence})
        self.assertEqual(st, 409)
        # Tokens keep increasing after release.
        st, got2 = call(self.base, "POST", "/locks/own/acquire", self.milo, {})
        self.assertEqual(st, 200)
        self.assertGreater(got2["fencing_token"], fence)
        call(self.base, "POST", "/locks/own/release", self.milo, {"fencing_token": got2["fencing_token"]})

    def test_400_names_the_field(self):
        cases = [
            ("POST", "/chat", b"{not json", "not valid JSON"),
            ("POST", "/chat", b"[1,2]", "JSON object"),
            ("POST", "/chat", b"{}", "'message'"),
            ("POST", "/chat", b'{"message": 5}', "'message'"),
            ("POST", "/chat", b'{"message": "hi", "type": "gossip"}', "'type'"),
            ("POST", "/locks/a/acquire", b'{"ttl_seconds": "soon"}', "'ttl_seconds'"),
            ("POST", "/locks/a/acquire", b'{"ttl_seconds": 1.5}', "'ttl_seconds'"),
            ("POST", "/locks/a/release", b'{}', "'fencing_token'"),
            ("POST", "/locks/a/renew", b'{"fencing_token": "1"}', "'fencing_token'"),
            ("POST", "/sync/state", b'{"project": "P"}', "'commit'"),
            ("POST", "/tasks", b'{"title": ["x"]}', "'title'"),
            ("POST", "/handoffs", b'{"artifact": "x"}', "'to_agent'"),
            ("GET", "/chat?since=abc", None, "'since'"),
            # Free-form objects nest at most 32 levels: a stored value must fit in an answer.
            ("POST", "/handoffs", ('{"to_agent": "milo", "dependencies": ' + '{"k": ' * 33 + '{}' + '}' * 34).encode(),
             "field 'dependencies' nests deeper than 32 levels"),
            ("POST", "/chat", ('{"message": "m", "metadata": ' + '{"k": ' * 40 + '1' + '}' * 41).encode(),
             "field 'metadata' nests deeper than 32 levels"),
        ]
        for method, path, raw, needle in cases:
            st, body = call(self.base, method, path, self.marcus, raw=raw)
            self.assertEqual(st, 400, (path, raw, body))
            self.assertIn(needle, body["error"], (path, raw))
        st, body = call(self.base, "POST", "/chat", self.marcus, raw=b'{"message":"' + b"x" * (9 << 20) + b'"}')
        self.assertEqual(st, 413)
        # Nothing was half-applied: no message from the refused posts.
        st, body = call(self.base, "GET", "/chat?since=0&limit=1000", self.marcus)
        self.assertFalse([m for m in body["messages"] if m["message"] in ("hi",)])
        # ...and the lists that would have carried them still answer.
        for path in ("/handoffs", "/chat?since=0"):
            self.assertEqual(call(self.base, "GET", path, self.marcus)[0], 200, path)
        # A project the token does not allow is refused.
        st, body = call(self.base, "POST", "/sync/state", self.other, {"project": "P", "commit": "abc"})
        self.assertEqual(st, 403)

    def test_sync_state_handoffs_tasks(self):
        st, body = call(self.base, "POST", "/sync/state", self.marcus, {"project": "P", "commit": "c0ffee", "message": "feat: x",
                                                                         "agent": "someone-else"})
        self.assertEqual(st, 200, body)
        st, body = call(self.base, "GET", "/sync/state?project=P", self.milo)
        self.assertEqual(body["last_push"]["agent"], "marcus")
        self.assertEqual(body["last_push"]["commit"], "c0ffee")
        st, body = call(self.base, "POST", "/handoffs", self.marcus, {"to_agent": "milo", "artifact": "hero.tsx",
                                                                      "dependencies": {"brand": "applied"}})
        self.assertEqual(st, 201, body)
        st, body = call(self.base, "GET", "/handoffs?to=milo", self.milo)
        self.assertEqual(body["handoffs"][-1]["from_agent"], "marcus")
        self.assertEqual(body["handoffs"][-1]["dependencies"], {"brand": "applied"})
        st, body = call(self.base, "POST", "/tasks", self.marcus, {"title": "mobile QA", "assigned_to": "milo", "project": "P"})
        self.assertEqual(st, 201, body)
        st, body = call(self.base, "GET", "/tasks?assigned_to=milo", self.milo)
        self.assertEqual(body["tasks"][-1]["title"], "mobile QA")
        self.assertEqual(body["tasks"][-1]["created_by"], "marcus")

    def _sse(self, last_id, count):
        return read_sse(self.brain.port, self.milo, last_id, count)

    def test_chat_history_and_stream_resume(self):
        ids = []
        for i in range(10):
            st, body = call(self.base, "POST", "/chat", self.marcus,
                            {"type": "sync" if i % 2 else "chat", "message": f"msg {i} for @Milo and @rowan"})
            self.assertEqual(st, 201, body)
            ids.append(body["id"])
        self.assertEqual(ids, sorted(ids))
        st, body = call(self.base, "GET", f"/chat?since={ids[0]}", self.milo)
        got = [m for m in body["messages"] if m["id"] in ids]
        self.assertEqual([m["id"] for m in got], ids[1:])
        self.assertEqual(got[0]["mentions"], ["milo", "rowan"])
        self.assertEqual(got[0]["agent"], "marcus")
        # Stream: read 4 events, "disconnect", resume with Last-Event-ID, post more meanwhile.
        first = self._sse(ids[0] - 1, 4)
        self.assertEqual([i for i, _ in first], ids[:4])
        for i in range(10, 13):
            st, body = call(self.base, "POST", "/chat", self.marcus, {"message": f"msg {i}"})
            ids.append(body["id"])
        rest = self._sse(first[-1][0], len(ids) - 4)
        self.assertEqual([i for i, _ in rest], ids[4:])
        self.assertEqual(rest[-1][1]["message"], "msg 12")
        # Without Last-Event-ID the stream starts at the end: only messages posted after.
        live = read_sse(self.brain.port, self.milo, None, 1,
                        on_open=lambda: ids.append(call(self.base, "POST", "/chat", self.marcus, {"message": "live"})[1]["id"]))
        self.assertEqual([(i, m["message"]) for i, m in live], [(ids[-1], "live")])


if __name__ == "__main__":
    unittest.main(verbosity=2)
