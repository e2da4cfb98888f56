"""Group commit (db.open(path, {group_commit = true}), on by default in `hostsync serve`)
keeps every guarantee of a plain transaction while concurrent transactions share a
batch: each is atomic, a failing one rolls back alone and the others of its batch commit,
and a response is only sent once its batch is committed, so a server killed with SIGKILL
right after answering never loses a granted lock or fencing token."""
import concurrent.futures
import os
import shutil
import signal
import sqlite3
import tempfile
import threading
import unittest

from brain_support import Brain, call, make_token
from harness import HERE
from http_support import Server
from waiting import wait_until


class GroupCommitTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hostsync-group-commit-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "group.sqlite")

    def serve_app(self, threads):
        con = sqlite3.connect(self.db)
        con.execute("CREATE TABLE rows (k TEXT NOT NULL, part INTEGER NOT NULL, PRIMARY KEY (k, part))")
        con.commit()
        con.close()
        os.environ["GROUP_DB"] = self.db
        self.addCleanup(os.environ.pop, "GROUP_DB", None)
        return Server(self, script=str(HERE / "db_group_app.lua"), threads=threads)

    def rows(self):
        con = sqlite3.connect(self.db)
        try:
            return sorted(con.execute("SELECT k, part FROM rows"))
        finally:
            con.close()

    def test_failing_transaction_rolls_back_alone_in_its_batch(self):
        srv = self.serve_app(threads=6)
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            # The holder waits inside its transaction until the three others queue
            # behind it, so all four share one batch.
            hold = pool.submit(call, srv.base, "POST", "/hold/a/3")
            holding = self.db + ".holding"
            wait_until(lambda: os.path.exists(holding) or hold.done(), "the holder to enter its transaction")
            self.assertTrue(os.path.exists(holding), "the holder never started its transaction")
            others = [pool.submit(call, srv.base, "POST", path) for path in ("/ok/b", "/fail/c", "/ok/d")]
            results = [hold.result(60)] + [f.result(60) for f in others]
        statuses = [st for st, _ in results]
        self.assertEqual(statuses, [200, 200, 409, 200], results)
        self.assertEqual(results[0][1]["queued"], 3)
        batches = {body["batch"] for _, body in results}
        self.assertEqual(len(batches), 1, f"not one batch: {results}")
        self.assertEqual(self.rows(), [("a", 1), ("a", 2), ("b", 1), ("b", 2), ("d", 1), ("d", 2)])

    def test_concurrent_transactions_are_atomic(self):
        srv = self.serve_app(threads=8)

        def client(i):
            out = {}
            for n in range(25):
                path = f"/{'fail' if n % 3 == 0 else 'ok'}/c{i}-{n}"
                out[path] = call(srv.base, "POST", path)[0]
            return out

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = {}
            for part in pool.map(client, range(8)):
                answers.update(part)
        expected = []
        for path, status in answers.items():
            kind, key = path[1:].split("/")
            self.assertEqual(status, 409 if kind == "fail" else 200, path)
            if kind == "ok":
                expected += [(key, 1), (key, 2)]
        self.assertEqual(self.rows(), sorted(expected))
        st, stats = call(srv.base, "GET", "/stats")
        self.assertEqual(stats["transactions"], len(answers))

    def test_sigkill_after_responses_loses_no_grant(self):
        clients = 16
        tokens = [make_token(self.db, agent=f"a{i}", machine=f"m{i}") for i in range(clients)]
        brain = Brain(self, self.db, threads=clients)
        granted = []            # (lock, fencing token) of every 200
        shared_fences = []      # tokens of the lock all clients fight for
        lock = threading.Lock()
        stop = threading.Event()

        def client(i):
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    st, body = call(brain.base, "POST", f"/locks/own-{i}-{n}/acquire", tokens[i], timeout=10)
                    if st == 200:
                        with lock:
                            granted.append((body["lock"], body["fencing_token"]))
                    st, body = call(brain.base, "POST", "/locks/shared/acquire", tokens[i],
                                    {"ttl_seconds": 600}, timeout=10)
                    if st == 200:
                        with lock:
                            shared_fences.append(body["fencing_token"])
                        call(brain.base, "POST", "/locks/shared/release", tokens[i],
                             {"fencing_token": body["fencing_token"]}, timeout=10)
                except OSError:
                    return   # the server is gone

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        # Kill once enough grants of both kinds were answered (counted, not timed).
        def enough():
            with lock:
                return len(granted) >= 200 and len(shared_fences) >= 3
        wait_until(enough, "200 grants and 3 grants of the shared lock")
        brain.proc.send_signal(signal.SIGKILL)
        brain.proc.wait()
        stop.set()
        for t in threads:
            t.join(30)
        with lock:
            answered = list(granted)
            fences = list(shared_fences)
        self.assertGreaterEqual(len(answered), 200)

        # Every grant answered before the kill is in the database after a restart.
        restarted = Brain(self, self.db, threads=2)
        con = sqlite3.connect(self.db)
        try:
            stored = dict(con.execute("SELECT id, fencing_token FROM sync_locks"))
            fence_rows = dict(con.execute("SELECT name, last_token FROM lock_fences"))
        finally:
            con.close()
        lost = [(name, tok) for name, tok in answered if stored.get(name) != tok]
        self.assertEqual(lost, [], "granted locks missing after SIGKILL")
        for name, tok in answered[:5]:
            st, body = call(restarted.base, "GET", f"/locks/{name}", tokens[0])
            self.assertEqual((st, body["held"], body["fencing_token"]), (200, True, tok))
        # (Strict order under the race is test_brain_locks.py's; threads append here in
        # whatever order they run.)
        self.assertGreaterEqual(len(fences), 3)
        self.assertEqual(len(set(fences)), len(fences), "a fencing token of the shared lock granted twice")
        self.assertGreaterEqual(fence_rows["shared"], max(fences))


if __name__ == "__main__":
    unittest.main()
