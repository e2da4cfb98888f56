"""The brain on PostgreSQL: two `hostsync serve` instances on one database behave as one
(a lock taken through one is refused through the other; chat posted to one is read and
streamed from the other, woken by LISTEN/NOTIFY), and the API's lock race holds there too."""
import os
import shutil
import subprocess
import tempfile
import threading
import unittest

from brain_support import Brain, call, make_token, read_sse, race_for_lock
from harness import HOSTSYNC
from pgserver import PgServer

HERE = os.path.dirname(os.path.abspath(__file__))



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
        st, got = call(s1.base, "POST", "/locks/github-push:P/acquire", a, {"ttl_seconds": 60, "project": "P"})
        self.assertEqual(st, 200, got)
        st, body = call(s2.base, "POST", "/locks/github-push:P/acquire", b, {})
        self.assertEqual((st, body["holder"]["agent"]), (409, "marcus"))
        st, body = call(s2.base, "POST", "/locks/github-push:P/release", b, {"fencing_token": got["fencing_token"]})
        self.assertEqual(st, 403)
        st, body = call(s2.base, "POST", "/locks/github-push:P/release", a, {"fencing_token": got["fencing_token"]})
        self.assertEqual(st, 200, body)
        st, got2 = call(s1.base, "POST", "/locks/github-push:P/acquire", b, {})
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

    def test_post_notifies_and_a_stream_on_the_other_server_receives_it(self):
        a = make_token(self.url, agent="marcus")
        b = make_token(self.url, agent="milo", ai="gemini")
        s1 = Brain(self, self.url, threads=4)
        s2 = Brain(self, self.url, threads=4)
        # An independent LISTENer sees the brain's NOTIFY after the commit: the topic's name.
        listener = subprocess.Popen([HOSTSYNC, "run", os.path.join(HERE, "pg_listen.lua"), self.url, "hostsync_topics", "1"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: listener.poll() is None and listener.kill())
        self.assertEqual(listener.stdout.readline().strip(), "ready", listener.stderr.read() if listener.poll() else "")
        st, posted = call(s1.base, "POST", "/chat", a, {"message": "notify me"})
        self.assertEqual(st, 201, posted)
        out, err = listener.communicate(timeout=30)
        self.assertEqual((listener.returncode, out.strip()), (0, "chat"), err)
        # A stream on B, opened at the current end, receives what is then posted on A.
        sent = []
        got = read_sse(s2.port, b, None, 1, on_open=lambda: sent.append(
            call(s1.base, "POST", "/chat", a, {"message": "from A to B's stream"})[1]["id"]))
        self.assertEqual([(i, m["message"]) for i, m in got], [(sent[0], "from A to B's stream")])
        # The stream holds no worker: the server goes on serving.
        st, body = call(s2.base, "GET", f"/chat?since={sent[0] - 1}", b)
        self.assertEqual((st, [m["id"] for m in body["messages"]]), (200, sent))

    def test_concurrent_posts_reach_streams_on_both_servers_once_in_order(self):
        posters, each = 4, 15
        tokens = [make_token(self.url, agent=f"p{i}") for i in range(posters)]
        reader = make_token(self.url, agent="reader")
        servers = [Brain(self, self.url, threads=4) for _ in range(2)]
        total = posters * each + 1           # + the sentinel posted after everything else
        opened, results, errors = threading.Barrier(3), {}, []

        def stream(i):
            try:
                results[i] = read_sse(servers[i].port, reader, None, total, timeout=60, on_open=opened.wait)
            except Exception as e:   # noqa: BLE001 - reported by the main thread
                errors.append(e)
                opened.abort()
        readers = [threading.Thread(target=stream, args=(i,)) for i in range(2)]
        for t in readers:
            t.start()
        opened.wait(timeout=30)              # both streams have fixed their start point
        posted = []
        lock = threading.Lock()

        def post(i):
            for k in range(each):
                st, body = call(servers[k % 2].base, "POST", "/chat", tokens[i], {"message": f"p{i} #{k}"})
                assert st == 201, (st, body)
                with lock:
                    posted.append(body["id"])
        threads = [threading.Thread(target=post, args=(i,)) for i in range(posters)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(len(posted), posters * each)
        st, last = call(servers[0].base, "POST", "/chat", reader, {"message": "sentinel"})
        self.assertEqual(st, 201, last)
        for t in readers:
            t.join(120)
        self.assertEqual(errors, [])
        want = sorted(posted) + [last["id"]]
        for i in range(2):
            ids = [n for n, _ in results[i]]
            # every message exactly once, in id order, nothing from before the stream opened
            self.assertEqual(ids, want, f"stream on server {i}")
            self.assertEqual(results[i][-1][1]["message"], "sentinel")

    def test_conflict_recorded_assigned_resolved_across_servers(self):
        milo = make_token(self.url, agent="milo", ai="gemini", machine="m2")
        marcus = make_token(self.url, agent="marcus")
        priya = make_token(self.url, agent="priya", ai="chatgpt", machine="m3")
        s1, s2 = Brain(self, self.url, threads=2), Brain(self, self.url, threads=2)
        st, got = call(s1.base, "POST", "/conflicts", milo, {"project": "P", "files": ["README.md"], "local_commit": "abc"})
        self.assertEqual(st, 201, got)
        st, body = call(s2.base, "GET", f"/chat?since={got['chat_id'] - 1}&limit=1", marcus)
        self.assertEqual((body["messages"][0]["type"], body["messages"][0]["metadata"]["conflict_id"]), ("alert", got["id"]))
        self.assertEqual(call(s2.base, "POST", f"/conflicts/{got['id']}/assign", priya, {"to": "priya"})[0], 403)
        st, c = call(s2.base, "POST", f"/conflicts/{got['id']}/assign", marcus, {"to": "priya"})
        self.assertEqual((st, c["status"], c["assigned_to"]), (200, "assigned", "priya"), c)
        st, c = call(s1.base, "POST", f"/conflicts/{got['id']}/resolve", priya, {"resolution": "def"})
        self.assertEqual((st, c["status"], c["resolved_by"], c["files"]), (200, "resolved", "priya", ["README.md"]), c)
        st, body = call(s2.base, "GET", "/conflicts?project=P&status=resolved", milo)
        self.assertEqual([x["id"] for x in body["conflicts"]], [got["id"]])
        self.assertEqual(call(s2.base, "POST", f"/conflicts/{got['id']}/resolve", marcus, {})[0], 409)

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
