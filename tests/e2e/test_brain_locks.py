"""Locks under contention: 16 client processes racing for one lock never see two holders
(an exclusively created witness file) and see strictly increasing fencing tokens; a holder
stopped with SIGSTOP past its expiry loses the lock and its stale token is refused."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from brain_support import Brain, call, make_token, race_for_lock
from waiting import wait_until


def granted(answer):
    """The body of a 200, else None (a 409 while the lease lasts)."""
    st, body = answer
    if st not in (200, 409):
        raise AssertionError(f"unexpected answer {st} {body}")
    return body if st == 200 else None

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "brain_client.py")


class BrainLocksTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hostsync-brain-locks-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "brain.sqlite")

    def test_16_clients_race(self):
        clients, rounds = 16, 20
        tokens = [make_token(self.db, agent=f"agent{i}", machine=f"m{i}") for i in range(clients)]
        brain = Brain(self, self.db, threads=8)
        fences = race_for_lock(self, [brain.base], tokens, "github-push", rounds, self.dir)
        self.assertEqual(len(fences), clients * rounds)
        self.assertTrue(all(a < b for a, b in zip(fences, fences[1:])), "fencing tokens not strictly increasing")
        st, body = call(brain.base, "GET", "/locks/github-push", tokens[0])
        self.assertEqual((st, body["held"]), (200, False))

    def start_holder(self, brain, token, lock, ttl):
        """A client process that takes `lock` and waits for "go" before renew and release."""
        holder = subprocess.Popen([sys.executable, CLIENT, "hold", brain.base, token, lock, str(ttl)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def stop_holder():
            if holder.poll() is None:
                holder.kill()
                holder.wait()
            for f in (holder.stdin, holder.stdout, holder.stderr):
                f.close()
        self.addCleanup(stop_holder)
        return holder, json.loads(holder.stdout.readline())

    def finish_holder(self, holder):
        """Lets a held client renew and release; returns both answers."""
        holder.stdin.write(b"go\n")
        holder.stdin.flush()
        result = json.loads(holder.stdout.readline())
        holder.wait(60)
        return result

    def paused_holder(self, ttl):
        """A server, a taker's token, and a holder of "deploy" (lease `ttl`) stopped with
        SIGSTOP right after its grant -> (brain, taker token, holder process, grant)."""
        a = make_token(self.db, agent="paused")
        b = make_token(self.db, agent="taker", ai="gemini")
        brain = Brain(self, self.db, threads=4)
        holder, grant = self.start_holder(brain, a, "deploy", ttl)
        holder.send_signal(signal.SIGSTOP)
        return brain, b, holder, grant

    def test_paused_holder_is_protected_until_expiry(self):
        # A lease of 10 minutes: every attempt below happens long before it ends, on any
        # machine, so the refusal is certain.
        brain, b, holder, grant = self.paused_holder(ttl=600)
        try:
            st, body = call(brain.base, "POST", "/locks/deploy/acquire", b, {})
            self.assertEqual((st, body["holder"]["agent"], body["expires_at"]), (409, "paused", grant["expires_at"]))
        finally:
            holder.send_signal(signal.SIGCONT)
        result = self.finish_holder(holder)
        self.assertEqual((result["renew"][0], result["release"][0]), (200, 200), result)
        st, body = call(brain.base, "POST", "/locks/deploy/acquire", b, {})
        self.assertEqual(st, 200, body)
        self.assertGreater(body["fencing_token"], grant["fencing_token"])

    def test_paused_holder_loses_lock(self):
        # A lease of 1 s that the stopped holder cannot renew: the taker retries until the
        # server grants it (an observed state, however long the machine takes to get there).
        brain, b, holder, grant = self.paused_holder(ttl=1)
        try:
            body = wait_until(lambda: granted(call(brain.base, "POST", "/locks/deploy/acquire", b, {"ttl_seconds": 60})),
                              "the expired lease to be granted to the taker", interval=0.1)
            self.assertGreater(body["fencing_token"], grant["fencing_token"])
        finally:
            holder.send_signal(signal.SIGCONT)
        result = self.finish_holder(holder)
        self.assertEqual(result["renew"][0], 409, result)
        self.assertEqual(result["release"][0], 409, result)
        st, now = call(brain.base, "GET", "/locks/deploy", b)
        self.assertEqual((now["held"], now["holder"]["agent"], now["fencing_token"]), (True, "taker", body["fencing_token"]))

    def test_grant_survives_kill_9(self):
        a = make_token(self.db, agent="durable")
        b = make_token(self.db, agent="other")
        brain = Brain(self, self.db, threads=2)
        st, grant = call(brain.base, "POST", "/locks/github-push/acquire", a, {"ttl_seconds": 120})
        self.assertEqual(st, 200)
        brain.proc.kill()   # SIGKILL right after the 200
        brain.proc.wait()
        again = Brain(self, self.db, threads=2)
        st, body = call(again.base, "POST", "/locks/github-push/acquire", b, {})
        self.assertEqual((st, body["holder"]["agent"]), (409, "durable"))
        st, body = call(again.base, "GET", "/locks/github-push", b)
        self.assertEqual((body["held"], body["fencing_token"]), (True, grant["fencing_token"]))

    def test_default_database_in_working_directory(self):
        # No --db: ./brain.sqlite in the working directory, created and migrated.
        brain = Brain(self, None, threads=2, cwd=self.dir)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "brain.sqlite")))
        token = make_token(self.db, agent="first")
        st, body = call(brain.base, "POST", "/locks/x/acquire", token, {})
        self.assertEqual((st, body["fencing_token"]), (200, 1))


if __name__ == "__main__":
    unittest.main(verbosity=2)
