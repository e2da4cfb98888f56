"""The brain on PostgreSQL: two `hostsync serve` instances on one database behave as one
(a lock taken through one is refused through the other; chat posted to one is read and
streamed from the other), and the API's lock race holds there too."""
import os
import shutil
import tempfile
import unittest

from brain_support import Brain, call, make_token, read_sse, race_for_lock
from pgserver import PgServer



@unittest.skipUnless(PgServer.available() or os.environ.get("CI"), "PostgreSQL binaries not installed")
class BrainPostgresTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = PgServer().__enter__()
        cls.url = cls.pg.url

    @classmethod
    def tearDownClass(cls):
        cls.pg.__exit__(None, None, None)

    def test_two_servers_one_database(self):
        a = make_token(self.url, agent="marcus")
        b = make_token(self.url, agent="milo", ai="gemini")
        s1 = Brain(self, self.url, threads=4)
        s2 = Brain(self, self.url, threads=4)
        st, got = call(s1.base, "POST", "/locks/github-push/acquire", a, {"ttl_seconds": 60, "project": "P"})
        self.assertEqual(st, 200, got)
        st, body = call(s2.base, "POST", "/locks/github-push/acquire", b, {})
        self.assertEqual((st, body["holder"]["agent"]), (409, "marcus"))
        st, body = call(s2.base, "POST", "/locks/github-push/release", b, {"fencing_token": got["fencing_token"]})
        self.assertEqual(st, 403)
        st, body = call(s2.base, "POST", "/locks/github-push/release", a, {"fencing_token": got["fencing_token"]})
        self.assertEqual(st, 200, body)
        st, got2 = call(s1.base, "POST", "/locks/github-push/acquire", b, {})
        self.assertEqual(st, 200, got2)
        self.assertGreater(got2["fencing_token"], got["fencing_token"])
        # Chat posted via one is read via the other, in order.
        ids = [call((s1 if i % 2 else s2).base, "POST", "/chat", a, {"message": f"pg {i}"})[1]["id"] for i in range(6)]
        st, body = call(s2.base, "GET", f"/chat?since={ids[0] - 1}", b)
        self.assertEqual([m["id"] for m in body["messages"]], ids)
        # ...and streamed from the other, resuming after the first three.
        streamed = read_sse(s1.port, b, ids[2], 3)
        self.assertEqual([i for i, _ in streamed], ids[3:])
        # The seed's tables are there with the seed's names (a Supabase database can be used).
        st, body = call(s1.base, "POST", "/sync/state", a, {"project": "P", "commit": "abc123"})
        self.assertEqual(st, 200, body)
        st, body = call(s2.base, "GET", "/sync/state?project=P", b)
        self.assertEqual(body["last_push"]["commit"], "abc123")

    def test_race_across_two_servers(self):
        clients, rounds = 8, 10
        tokens = [make_token(self.url, agent=f"r{i}") for i in range(clients)]
        servers = [Brain(self, self.url, threads=4) for _ in range(2)]
        tmp = tempfile.mkdtemp(prefix="hostsync-brain-pg-")
        self.addCleanup(shutil.rmtree, tmp, True)
        fences = race_for_lock(self, [s.base for s in servers], tokens, "pg-lock", rounds, tmp)
        self.assertEqual(len(fences), clients * rounds)
        self.assertTrue(all(x < y for x, y in zip(fences, fences[1:])))


if __name__ == "__main__":
    unittest.main(verbosity=2)
