"""`sync_client.lua sync --follow` (seed section 7.1: mirrors stay up to date): a second
replica follows GET /sync/stream and pulls each change another replica pushes, with no
polling (the server's safety re-read is set an hour apart), across a server restart,
until --count rounds brought changes. Real server, real vaults, real processes."""
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import unittest

from harness import HOSTSYNC
from sync_support import SyncClient, SyncServer, make_sync_token


def lines_of(stream, q):
    for line in stream:
        q.put(line)
    q.put(None)


class SyncFollowTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hostsync-sync-follow-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "brain.sqlite")
        self.config = os.path.join(self.dir, "serve.json")
        with open(self.config, "w") as f:
            json.dump({"stream_sweep": 3600}, f)

    def start(self, port=0):
        return SyncServer(self, self.db, port=port, extra=["--config", self.config], threads=2)

    def next_pull(self, out):
        """The follower's next 'pull: N changes' line (other lines skipped) -> N."""
        while True:
            line = out.get(timeout=90)
            self.assertIsNotNone(line, "the follower's output ended")
            m = re.match(r"^pull: (\d+) changes", line)
            if m:
                return int(m.group(1))

    def test_follow_pulls_each_pushed_change_across_a_restart(self):
        server = self.start()
        writer = SyncClient(self.dir, "laptop", server.base, make_sync_token(self.db, "home", 1, agent="a"), 1)
        mirror = SyncClient(self.dir, "phone", server.base, make_sync_token(self.db, "home", 1, agent="b"), 1)
        follower = subprocess.Popen([HOSTSYNC, "run", "sync_client.lua", "--vault", mirror.vault, "sync", "--follow",
                                     "--count", "3", "--retries", "0"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: follower.poll() is None and (follower.kill(), follower.wait()))
        self.addCleanup(follower.stdout.close)
        self.addCleanup(follower.stderr.close)
        out, err = queue.Queue(), queue.Queue()
        threading.Thread(target=lines_of, args=(follower.stdout, out), daemon=True).start()
        threading.Thread(target=lines_of, args=(follower.stderr, err), daemon=True).start()
        self.assertEqual(self.next_pull(out), 0)          # the first sync: nothing yet

        writer.run("put", "note", "n1", "--payload", '{"title": "one"}', check=True)
        writer.run("sync", check=True)
        self.assertEqual(self.next_pull(out), 1)
        self.assertEqual(mirror.get("note", "n1")["payload"], {"title": "one"})

        writer.run("put", "note", "n2", "--payload", '{"title": "two"}', check=True)
        writer.run("sync", check=True)
        self.assertEqual(self.next_pull(out), 1)

        # The server restarts: the follower notes the broken stream and comes back.
        port = server.port
        server.kill()
        note = err.get(timeout=90)
        self.assertRegex(note, r"^sync_client: follow: disconnected \(")
        server = self.start(port=port)
        writer.run("put", "note", "n3", "--payload", '{"title": "three"}', check=True)
        writer.run("sync", check=True)
        while self.next_pull(out) == 0:
            pass                                           # reconnect catch-ups before the push
        self.assertEqual(follower.wait(90), 0)             # --count 3 rounds brought changes
        for eid, title in (("n1", "one"), ("n2", "two"), ("n3", "three")):
            self.assertEqual(mirror.get("note", eid)["payload"], {"title": title})

    def test_count_goes_with_follow(self):
        server = self.start()
        mirror = SyncClient(self.dir, "phone", server.base, make_sync_token(self.db, "home", 1, agent="b"), 1)
        p = mirror.run("sync", "--count", "1")
        self.assertEqual(p.returncode, 2, p.err)
        self.assertIn("--count N (N >= 1) goes with sync --follow", p.err)

    def test_a_refused_token_ends_the_follow(self):
        server = self.start()
        mirror = SyncClient(self.dir, "phone", server.base, make_sync_token(self.db, "home", 1, agent="b"), 1)
        with open(mirror.token_file, "w") as f:
            f.write("hsb_not_a_token\n")
        p = mirror.run("sync", "--follow")
        self.assertEqual(p.returncode, 1, p.err)
        self.assertIn("401", p.err)


if __name__ == "__main__":
    unittest.main()
