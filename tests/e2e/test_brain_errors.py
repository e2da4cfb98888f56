"""How the brain answers a failed request (scripts/brain/errors.lua): a busy database is
503 with Retry-After and nothing applied, decided from the db error's kind; any other
failure is a 500 whose id the server log shows next to the error. Real server, real
SQLite file, the database made busy or broken from outside."""
import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from brain_support import Brain, call, make_token


def post_chat(base, token, message):
    """-> (status, headers, body) with no client retries."""
    req = urllib.request.Request(base + "/chat", data=json.dumps({"message": message}).encode(), method="POST")
    req.add_header("Authorization", "Bearer " + token)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            return res.status, dict(res.headers), json.loads(res.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())


def wait_for_line(brain, pattern, deadline=20):
    """The server's stderr is read by a thread: wait (hang guard only) for a matching line."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        for line in list(brain.lines):
            m = re.search(pattern, line)
            if m:
                return m
        time.sleep(0.05)  # polling the collected lines; the deadline only guards a hang
    raise AssertionError(f"no log line matching {pattern!r}:\n" + "".join(brain.lines))


class BrainErrorsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hostsync-brain-errors-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "brain.sqlite")
        self.token = make_token(self.db)
        self.brain = Brain(self, self.db, threads=2)

    def messages(self):
        con = sqlite3.connect(self.db)
        try:
            return [r[0] for r in con.execute("SELECT message FROM chatroom ORDER BY seq")]
        finally:
            con.close()

    def test_busy_database_is_503_with_retry_after_and_applies_nothing(self):
        # Another connection holds SQLite's write lock past the server's 5 s busy timeout.
        holder = sqlite3.connect(self.db, isolation_level=None, timeout=1)
        holder.execute("BEGIN IMMEDIATE")
        try:
            status, headers, body = post_chat(self.brain.base, self.token, "while busy")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        self.assertEqual(status, 503, body)
        self.assertEqual(headers.get("Retry-After"), "1")
        self.assertEqual(body, {"error": "database busy, retry"})
        wait_for_line(self.brain, r"POST /chat: database busy \(SQLITE_BUSY")
        self.assertEqual(self.messages(), [])
        # Once the lock is gone the same request goes through.
        status, _, body = post_chat(self.brain.base, self.token, "after")
        self.assertEqual(status, 201, body)
        self.assertEqual(self.messages(), ["after"])

    def test_unexpected_error_is_500_with_the_id_the_log_shows(self):
        con = sqlite3.connect(self.db, isolation_level=None)
        con.execute("ALTER TABLE chatroom RENAME TO chatroom_moved")
        try:
            status, body = call(self.brain.base, "GET", "/chat", self.token)
            self.assertEqual(status, 500, body)
            self.assertEqual(set(body), {"error", "id"})
            self.assertEqual(body["error"], "internal server error")
            self.assertRegex(body["id"], r"^[0-9a-f]{16}$")
            self.assertNotIn("chatroom", json.dumps(body))   # the details stay in the log
            m = wait_for_line(self.brain, r"hostsync brain: error ([0-9a-f]{16}): GET /chat: (.*)")
            self.assertEqual(m.group(1), body["id"])
            self.assertIn("no such table: chatroom", m.group(2))
            # Two failures, two ids.
            status2, body2 = call(self.brain.base, "GET", "/chat", self.token)
            self.assertEqual(status2, 500)
            self.assertNotEqual(body2["id"], body["id"])
        finally:
            con.execute("ALTER TABLE chatroom_moved RENAME TO chatroom")
            con.close()
        # The worker dropped its handle after the 500 and serves again.
        status, body = call(self.brain.base, "GET", "/chat", self.token)
        self.assertEqual((status, body), (200, {"messages": []}))


if __name__ == "__main__":
    unittest.main()
