"""brain_admin.lua against a running brain (docs/brain.md, "Administration"): token expiry,
revocation and rotation take effect at the next request; lock list and lock break (the
alert to the holder, its lease gone, the next fencing token larger)."""
import json
import os
import shutil
import sqlite3
import tempfile
import time
import unittest

from brain_support import Brain, call
from harness import hostsync
from waiting import wait_until


def admin(db, *args, check=True):
    return hostsync("run", "brain_admin.lua", *args, "--db", db, check=check, timeout=60)


def create(db, agent, *extra, project="web"):
    return admin(db, "token", "create", "--ai", "claude", "--agent", agent, "--machine", "m1",
                 "--project", project, *extra).out.strip()


def token_id(db, agent):
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT MAX(id) FROM tokens WHERE agent = ?", (agent,)).fetchone()[0]
    finally:
        con.close()


class BrainAdminTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hostsync-admin-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "brain.sqlite")
        create(self.db, "first")   # migrates the database before the server opens it
        self.brain = Brain(self, self.db, threads=3)

    def whoami(self, token):
        return call(self.brain.base, "GET", "/whoami", token)

    def listing(self):
        return {line.split("\t")[0]: line for line in admin(self.db, "token", "list").out.splitlines()}

    def test_expiry(self):
        later = create(self.db, "later", "--expires-at", "2099-01-01T00:00:00Z")
        st, me = self.whoami(later)
        self.assertEqual((st, me["expires_at"]), (200, "2099-01-01T00:00:00.000Z"))
        before = int(time.time())   # whole seconds: the expiry is at least an hour past this
        hour = create(self.db, "hour", "--expires-in", "1h")
        st, me = self.whoami(hour)
        self.assertEqual(st, 200)
        self.assertGreaterEqual(me["expires_at"], time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(before + 3600)))
        short = create(self.db, "short", "--expires-in", "1s")

        def refused():
            st, body = self.whoami(short)
            return body if st == 401 else None
        body = wait_until(refused, "the 1 s token to expire", interval=0.1)
        self.assertTrue(body["error"].startswith("this token expired at "), body)
        self.assertIn("\texpired ", self.listing()[str(token_id(self.db, "short"))])
        self.assertIn("\texpires 2099-01-01T00:00:00.000Z", self.listing()[str(token_id(self.db, "later"))])
        # Bad expiries are usage errors, and create nothing.
        before = len(self.listing())
        for extra in (("--expires-in", "0"), ("--expires-in", "5x"), ("--expires-in", "-3h"),
                      ("--expires-at", "2001-01-01T00:00:00Z"), ("--expires-at", "tomorrow"),
                      ("--expires-at", "2099-01-01T00:00:00"),
                      ("--expires-in", "1h", "--expires-at", "2099-01-01T00:00:00Z")):
            p = admin(self.db, "token", "create", "--ai", "a", "--agent", "b", "--machine", "c", "--project", "p",
                      *extra, check=False)
            self.assertEqual(p.returncode, 2, (extra, p.err))
        self.assertEqual(len(self.listing()), before)

    def test_revoke_and_rotate(self):
        tok = create(self.db, "rotor", "--tenant", "t1", "--level", "ai-lan", "--expires-in", "10d")
        tid = token_id(self.db, "rotor")
        st, before = self.whoami(tok)
        self.assertEqual(st, 200)
        p = admin(self.db, "token", "rotate", str(tid))
        new = p.out.strip()
        self.assertNotEqual(new, tok)
        self.assertIn(f"replaces token {tid}, which no longer works", p.err)
        st, body = self.whoami(tok)
        self.assertEqual((st, body["error"]), (401, "this token was revoked"))
        st, after = self.whoami(new)
        self.assertEqual(st, 200)
        self.assertEqual(after, before)   # same identity, projects, tenant, level and expiry
        new_id = token_id(self.db, "rotor")
        self.assertIn(f"\trotated from {tid}", self.listing()[str(new_id)])
        self.assertTrue(self.listing()[str(tid)].endswith("\trevoked"))
        # A revoked token cannot be rotated or revoked again.
        self.assertEqual(admin(self.db, "token", "rotate", str(tid), check=False).returncode, 1)
        self.assertEqual(admin(self.db, "token", "revoke", str(tid), check=False).returncode, 1)
        # With a grace period both work until it ends; the old expiry is never extended.
        p = admin(self.db, "token", "rotate", str(new_id), "--grace", "3600")
        newer = p.out.strip()
        self.assertIn("stops working in 3600 s", p.err)
        self.assertEqual(self.whoami(new)[0], 200)
        self.assertEqual(self.whoami(newer)[0], 200)
        st, old = self.whoami(new)
        self.assertLess(old["expires_at"], before["expires_at"])
        keep = create(self.db, "keeper", "--expires-in", "60s")
        _, kept = self.whoami(keep)
        admin(self.db, "token", "rotate", str(token_id(self.db, "keeper")), "--grace", "86400")
        self.assertEqual(self.whoami(keep)[1]["expires_at"], kept["expires_at"])
        # Revoke: refused at the next request.
        admin(self.db, "token", "revoke", str(token_id(self.db, "rotor")))
        self.assertEqual(self.whoami(newer), (401, {"error": "this token was revoked"}))
        self.assertEqual(admin(self.db, "token", "rotate", "x", check=False).returncode, 2)

    def test_lock_list_and_break(self):
        milo = create(self.db, "milo")
        other = create(self.db, "rowan")
        base = self.brain.base
        st, grant = call(base, "POST", "/locks/push:web/acquire", milo, {"ttl_seconds": 600, "reason": "pushing"})
        self.assertEqual(st, 200, grant)
        self.assertEqual(call(base, "POST", "/locks/deploy/acquire", other, {})[0], 200)
        lines = admin(self.db, "lock", "list").out.splitlines()
        self.assertEqual([line.split("\t")[:4] for line in lines],
                         [["push:web", "web", "claude/@milo", "m1"], ["deploy", "-", "claude/@rowan", "m1"]])
        self.assertIn(f"\ttoken {grant['fencing_token']}\texpires ", lines[0])
        listed = [json.loads(x) for x in admin(self.db, "lock", "list", "--project", "web", "--json").out.splitlines()]
        self.assertEqual([(v["lock"], v["held"], v["fencing_token"]) for v in listed],
                         [("push:web", True, grant["fencing_token"])])
        self.assertEqual([line.split("\t")[0] for line in admin(self.db, "lock", "list", "--lobby").out.splitlines()],
                         ["deploy"])
        p = admin(self.db, "lock", "break", "push:web", "--reason", "holder crashed")
        self.assertRegex(p.out, r"^broke lock push:web \(held by claude/@milo, fencing token \d+; alert #\d+\)\n$")
        alert_id = int(p.out.rsplit("#", 1)[1].rstrip(")\n"))
        # The lease is gone: the holder's renew is refused, another agent takes the lock
        # with a larger fencing token.
        st, body = call(base, "POST", "/locks/push:web/renew", milo, {"fencing_token": grant["fencing_token"]})
        self.assertEqual(st, 409, body)
        st, g2 = call(base, "POST", "/locks/push:web/acquire", other, {})
        self.assertEqual(st, 200, g2)
        self.assertGreater(g2["fencing_token"], grant["fencing_token"])
        # The holder was told, in the lock's project.
        st, chat = call(base, "GET", f"/chat?since={alert_id - 1}&limit=1", milo)
        alert = chat["messages"][0]
        self.assertEqual((alert["id"], alert["type"], alert["project"], alert["agent"], alert["mentions"]),
                         (alert_id, "alert", "web", "brain_admin", ["milo"]))
        self.assertIn("holder crashed", alert["message"])
        self.assertEqual(alert["metadata"], {"lock": "push:web", "fencing_token": grant["fencing_token"], "broken": True})
        p = admin(self.db, "lock", "break", "no-such-lock", check=False)
        self.assertEqual((p.returncode, p.err.strip()), (1, "brain_admin: no lock named 'no-such-lock'"))

    def test_routes(self):
        out = admin(self.db, "routes").out
        self.assertRegex(out, r"(?m)^GET\s+/whoami\s+identity$")
        self.assertRegex(out, r"(?m)^POST\s+/sync/conflict-resolve\s+tenant \(level 1\)$")


if __name__ == "__main__":
    unittest.main(verbosity=2)
