"""scripts/sync_client.lua against a real `hostsync serve` on a real SQLite file: the
commands, truth fields and provenance, the offline queue (server down, then up, with
the client retrying), pull through the policy, accept (the upgrade rule), and a kill -9
between the server's answer and the vault's record, rerun without duplicating a change."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import HOSTSYNC
from brain_support import call
from ports import RefusingPort
from sync_support import SyncClient, SyncServer, make_sync_token, pull_all


class SyncClientTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hostsync-syncclient-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.db = os.path.join(self.tmp, "server.sqlite")
        self.user_token = make_sync_token(self.db, "t1", 1, "alice")
        self.ai_token = make_sync_token(self.db, "t1", 3, "llama")

    def client(self, name, token, level, base):
        return SyncClient(self.tmp, name, base, token, level)

    def test_commands_truth_fields_and_accept(self):
        srv = SyncServer(self, self.db)
        user = self.client("user", self.user_token, 1, srv.base)
        ai = self.client("ai", self.ai_token, 3, srv.base)

        user.put("note", "n1", {"title": "draft"})
        user.put("note", "n1", {"title": "mine"})
        item = user.get("note", "n1")
        self.assertEqual((item["truth_level"], item["last_modified_by_level"], item["accepted_by_user"]), (1, 1, False))
        self.assertEqual(item["origin_source"], "user:user")
        self.assertEqual([l["op"] for l in item["origin_chain"]], ["create", "edit"])
        pending = user.lines("pending")
        self.assertEqual(len(pending), 1, "an unsent change is coalesced with the next one")
        self.assertEqual(pending[0]["item"]["payload"], {"title": "mine"})

        out = user.run("push", check=True).out
        self.assertIn("push: 1 sent: 1 applied, 0 conflict, 0 rejected, 0 proposal, 0 replayed; 0 pending", out)
        self.assertEqual(user.lines("pending"), [])
        v1 = user.get("note", "n1")["version"]
        self.assertGreater(v1, 0)
        self.assertEqual([o["status"] for o in user.lines("outcomes")], ["applied"])

        # The AI replica pulls the user's note; its edit of U1 content becomes a proposal.
        self.assertIn("pull: 1 changes (1 entity, 0 proposal)", ai.run("pull", check=True).out)
        self.assertEqual(ai.get("note", "n1")["payload"], {"title": "mine"})
        ai.put("note", "n1", {"title": "better, says the AI"})
        self.assertEqual(ai.get("note", "n1")["truth_level"], 3)
        out = ai.run("push", check=True).out
        self.assertIn("1 proposal", out)
        self.assertEqual(ai.get("note", "n1")["payload"], {"title": "mine"}, "the AI's view goes back to the server's")
        # accept is a user action.
        proc = ai.run("accept", "note", "n1")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("accept is a user action", proc.err)

        user.run("pull", check=True)
        props = user.lines("proposals", "note", "n1")
        self.assertEqual(len(props), 1, props)
        self.assertEqual((props[0]["payload"], props[0]["truth_level"]), ({"title": "better, says the AI"}, 3))
        self.assertEqual(user.get("note", "n1")["payload"], {"title": "mine"})
        user.run("accept", "note", "n1", check=True)
        accepted = user.get("note", "n1")
        self.assertEqual((accepted["payload"], accepted["truth_level"], accepted["accepted_by_user"]),
                         ({"title": "better, says the AI"}, 1, True))
        link = accepted["origin_chain"][-1]
        self.assertEqual((link["op"], link["from"], link["from_level"], link["level"]), ("accept", "proposal", 3, 1))
        self.assertEqual(link["from_version"], props[0]["version"])
        self.assertIn("1 applied", user.run("sync", check=True).out)
        self.assertEqual(user.lines("proposals"), [], "an accepted proposal is no longer open")

        # The server holds the accepted content as U1, and the AI replica gets it.
        ai.run("pull", check=True)
        got = ai.get("note", "n1")
        self.assertEqual((got["payload"], got["truth_level"], got["accepted_by_user"]),
                         ({"title": "better, says the AI"}, 1, True))
        self.assertEqual(got["version"], user.get("note", "n1")["version"])

        # delete, and list.
        user.put("task", "t1", {"todo": "x"})
        user.run("delete", "note", "n1", check=True)
        self.assertTrue(user.get("note", "n1")["deleted"])
        user.run("sync", check=True)
        ai.run("pull", check=True)
        self.assertTrue(ai.get("note", "n1")["deleted"])
        listed = {(i["entity_type"], i["entity_id"]): i for i in ai.lines("list")}
        self.assertEqual(set(listed), {("note", "n1"), ("task", "t1")})
        self.assertEqual([i["entity_id"] for i in ai.lines("list", "task")], ["t1"])

        proc = user.run("delete", "note", "nope")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("no such entity", proc.err)
        proc = user.run("put", "note", "n2", "--payload", "[1]")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("JSON object", proc.err)

    def test_pull_runs_pending_changes_through_the_policy(self):
        srv = SyncServer(self, self.db)
        a = self.client("a", self.user_token, 1, srv.base)
        b = self.client("b", make_sync_token(self.db, "t1", 1, "bob"), 1, srv.base)
        ai = self.client("ai", self.ai_token, 3, srv.base)
        a.put("note", "n1", {"v": 0})
        a.run("push", check=True)
        for c in (b, ai):
            c.run("pull", check=True)
        # All three edit n1 offline; a pushes first.
        ai.put("note", "n1", {"v": "ai"})
        a.put("note", "n1", {"v": "a"})
        b.put("note", "n1", {"v": "b"})     # the last write
        a.run("push", check=True)
        # b's pending U1 change is later: the policy keeps it (and the server agrees).
        self.assertIn("1 decided by policy, 0 local views overridden", b.run("pull", check=True).out)
        self.assertEqual(b.get("note", "n1")["payload"], {"v": "b"})
        self.assertEqual(len(b.lines("pending")), 1)
        self.assertIn("1 applied", b.run("push", check=True).out)
        # The AI's pending change loses to U1 on pull; pushed, the server keeps it as a proposal.
        self.assertIn("1 decided by policy, 1 local views overridden", ai.run("pull", check=True).out)
        self.assertEqual(ai.get("note", "n1")["payload"], {"v": "b"})
        out = ai.run("sync", check=True).out
        self.assertIn("1 proposal", out)
        a.run("pull", check=True)
        for c in (a, b, ai):
            self.assertEqual(c.get("note", "n1")["payload"], {"v": "b"}, c.name)
        self.assertEqual(len({c.get("note", "n1")["version"] for c in (a, b, ai)}), 1)

    def test_unchanged_answer_and_refused_token(self):
        srv = SyncServer(self, self.db)
        a = self.client("a", self.user_token, 1, srv.base)
        b = self.client("b", make_sync_token(self.db, "t1", 1, "bob"), 1, srv.base)
        a.put("note", "n1", {"v": 0})
        a.run("push", check=True)
        b.run("pull", check=True)
        # Both delete n1 offline: b's delete finds it deleted already; the server keeps
        # its own item ("applied", unchanged) and b takes that, not its own.
        a.run("delete", "note", "n1", check=True)
        b.run("delete", "note", "n1", check=True)
        a.run("push", check=True)
        self.assertIn("1 applied", b.run("push", check=True).out)
        [outcome] = b.lines("outcomes")[-1:]
        self.assertEqual((outcome["status"], outcome["unchanged"]), ("applied", 1))
        fields = ("version", "deleted", "payload", "origin_source", "last_modified_at", "origin_chain")
        self.assertEqual({k: b.get("note", "n1")[k] for k in fields}, {k: a.get("note", "n1")[k] for k in fields})
        self.assertEqual(b.get("note", "n1")["origin_source"], "user:a")
        # A token the server refuses: exit 1, the change stays queued.
        with open(b.token_file, "w") as f:
            f.write("not-a-token\n")
        b.put("note", "n2", {"v": 1})
        proc = b.run("push")
        self.assertEqual(proc.returncode, 1, proc.err)
        self.assertIn("status 401", proc.err)
        self.assertEqual(len(b.lines("pending")), 1)

    def test_resolve_a_reported_conflict_then_a_stale_base(self):
        srv = SyncServer(self, self.db)
        a = self.client("a", self.user_token, 1, srv.base)
        b = self.client("b", make_sync_token(self.db, "t1", 1, "bob"), 1, srv.base)
        a.put("note", "n1", {"v": 0})
        a.run("push", check=True)
        b.run("pull", check=True)
        # b edits first, a later; a pushes first: b's older change loses (a conflict).
        b.put("note", "n1", {"v": "b"})
        a.put("note", "n1", {"v": "a"})
        a.run("push", check=True)
        out = b.run("push", check=True).out
        self.assertIn("1 conflict", out)
        self.assertIn("to merge by hand: hostsync run sync_client.lua resolve note n1 --payload JSON", out)
        [conflict] = b.lines("outcomes")
        self.assertEqual((conflict["status"], conflict["resolve"]),
                         ("conflict", "hostsync run sync_client.lua resolve note n1 --payload JSON"))
        v_a = a.get("note", "n1")["version"]
        self.assertEqual((b.get("note", "n1")["version"], b.get("note", "n1")["payload"]), (v_a, {"v": "a"}))

        # A further local edit is queued; the merge supersedes it.
        b.put("note", "n1", {"v": "b again"})
        proc = b.run("resolve", "note", "n1", "--payload", json.dumps({"v": "a+b"}), check=True)
        self.assertIn(f"(based on v{v_a})", proc.out)
        self.assertIn("dropped queued change", proc.out)
        self.assertIn("superseded by the resolution", proc.out)
        self.assertEqual(b.lines("pending"), [])
        # The server holds the merge as U1 ...
        last = [ch for ch in pull_all(srv.base, self.user_token) if ch["item"]["entity_id"] == "n1"][-1]
        merged = last["item"]
        self.assertGreater(last["version"], v_a)
        self.assertEqual((merged["payload"], merged["truth_level"], merged["accepted_by_user"], merged["origin_source"]),
                         ({"v": "a+b"}, 1, True, "user:resolve"))
        self.assertEqual((merged["origin_chain"][-1]["source"], merged["origin_chain"][-1]["base_version"]),
                         ("resolve", v_a))
        # ... logged as a 'resolved' event against the version b merged ...
        st, body = call(srv.base, "GET", "/sync/events?entity_type=note&entity_id=n1", self.user_token)
        self.assertEqual(st, 200, body)
        resolved = [e for e in body["events"] if e["kind"] == "resolved"]
        self.assertEqual(len(resolved), 1, body["events"])
        self.assertEqual((resolved[0]["stored_version"], resolved[0]["result_version"]), (v_a, last["version"]))
        # ... and the vault has it as the server state and the local view.
        got = b.get("note", "n1")
        self.assertEqual((got["version"], got["payload"], got["truth_level"], got["accepted_by_user"]),
                         (last["version"], {"v": "a+b"}, 1, True))
        self.assertIn("0 sent", b.run("push", check=True).out)
        a.run("pull", check=True)
        self.assertEqual(a.get("note", "n1")["payload"], {"v": "a+b"})

        # a edits again; b, not having pulled, merges against the old version: 409.
        a.put("note", "n1", {"v": "a3"})
        a.run("push", check=True)
        v_a3 = a.get("note", "n1")["version"]
        proc = b.run("resolve", "note", "n1", "--payload", json.dumps({"v": "late"}))
        self.assertEqual(proc.returncode, 1, proc.err)
        self.assertIn("status 409", proc.err)
        self.assertIn(f'current: v{v_a3}, truth_level 1, origin user:a', proc.err)
        self.assertIn('{"v":"a3"}', proc.err)
        self.assertIn("run pull, look at the current content, and retry the resolve", proc.err)
        self.assertEqual((b.get("note", "n1")["version"], b.get("note", "n1")["payload"]), (last["version"], {"v": "a+b"}))
        feed = [ch for ch in pull_all(srv.base, self.user_token) if ch["item"]["entity_id"] == "n1"]
        self.assertEqual(feed[-1]["item"]["payload"], {"v": "a3"}, "nothing written by the stale merge")
        # Pull, retry: it goes through.
        b.run("pull", check=True)
        proc = b.run("resolve", "note", "n1", "--payload", json.dumps({"v": "a3+late"}), check=True)
        self.assertIn(f"(based on v{v_a3})", proc.out)
        self.assertNotIn("dropped", proc.out)
        self.assertEqual(b.get("note", "n1")["payload"], {"v": "a3+late"})

    def user_sees_an_ai_proposal(self):
        """A user's note n1, an AI's edit of it kept as a proposal, pulled by the user.
        -> server, user vault, AI vault, the proposal as the user lists it"""
        srv = SyncServer(self, self.db)
        user = self.client("user", self.user_token, 1, srv.base)
        ai = self.client("ai", self.ai_token, 3, srv.base)
        user.put("note", "n1", {"title": "mine"})
        user.run("push", check=True)
        ai.run("pull", check=True)
        ai.put("note", "n1", {"title": "the AI's"})
        self.assertIn("1 proposal", ai.run("push", check=True).out)
        user.run("pull", check=True)
        [prop] = user.lines("proposals", "note", "n1")
        return srv, user, ai, prop

    def test_resolve_from_a_proposal_and_to_a_tombstone(self):
        _, user, ai, prop = self.user_sees_an_ai_proposal()
        # No --payload: the merge is the proposal's content, and it closes the proposal.
        user.run("resolve", "note", "n1", "--from-proposal", str(prop["version"]), check=True)
        got = user.get("note", "n1")
        self.assertEqual((got["payload"], got["truth_level"], got["accepted_by_user"]), ({"title": "the AI's"}, 1, True))
        self.assertEqual(got["origin_chain"][-1]["proposal_version"], prop["version"])
        self.assertEqual(user.lines("proposals"), [])
        proc = user.run("resolve", "note", "n1", "--payload", "{}", "--from-proposal", str(prop["version"]))
        self.assertEqual(proc.returncode, 1, proc.err)
        self.assertIn("status 404", proc.err)
        # --deleted: a tombstone, which the other replica pulls.
        user.run("resolve", "note", "n1", "--deleted", check=True)
        self.assertTrue(user.get("note", "n1")["deleted"])
        ai.run("pull", check=True)
        gone = ai.get("note", "n1")
        self.assertEqual((gone["deleted"], gone["version"]), (True, user.get("note", "n1")["version"]))

    def test_an_edit_after_accept_keeps_the_acceptance(self):
        srv, user, _, prop = self.user_sees_an_ai_proposal()
        user.run("accept", "note", "n1", check=True)
        user.put("note", "n1", {"title": "the AI's, edited"})   # coalesced with the unsent accept
        [pending] = user.lines("pending")
        self.assertEqual((pending["item"]["accepts_proposal"], pending["item"]["accepted_by_user"]),
                         (prop["version"], True))
        self.assertNotIn("accepts_proposal", user.get("note", "n1"), "not a field of the entity")
        self.assertIn("1 applied", user.run("push", check=True).out)
        # The server closed the proposal: a fresh vault of the user does not offer it.
        fresh = self.client("fresh", self.user_token, 1, srv.base)
        fresh.run("pull", check=True)
        self.assertEqual(fresh.lines("proposals"), [])
        got = fresh.get("note", "n1")
        self.assertEqual((got["payload"], got["truth_level"]), ({"title": "the AI's, edited"}, 1))

    def test_resolve_is_refused_to_a_non_user_vault_before_any_request(self):
        # No server at this port: a request would end in "unreachable" (exit 3).
        ai = self.client("ai", self.ai_token, 3, RefusingPort(self).url)
        proc = ai.run("resolve", "note", "n1", "--payload", "{}", "--retries", "0")
        self.assertEqual(proc.returncode, 1, proc.err)
        self.assertIn("resolve is a user action: this vault's level is ai-local, not user", proc.err)
        self.assertIn("nothing was sent", proc.err)
        self.assertNotIn("unreachable", proc.err)
        self.assertEqual((ai.lines("list"), ai.lines("pending")), ([], []))

    def test_offline_queue_server_down_then_up(self):
        down = RefusingPort(self)
        user = self.client("user", self.user_token, 1, down.url)
        user.put("note", "n1", {"title": "written offline"})
        user.put("note", "n2", {"title": "also offline"})
        proc = user.run("push", "--retries", "1", "--backoff", "0.05")
        self.assertEqual(proc.returncode, 3, proc.err)
        self.assertIn("server unreachable after 2 attempt(s)", proc.err)
        self.assertIn("2 change(s) stay queued", proc.err)
        # The queue survives the process: a new one sees it.
        self.assertEqual(sorted(p["entity_id"] for p in user.lines("pending")), ["n1", "n2"])
        user.run("delete", "note", "n2", check=True)   # queued behind the frozen n2 change
        self.assertEqual(len(user.lines("pending")), 3)

        # A push that keeps retrying while the server is down, and succeeds once it is up.
        pusher = subprocess.Popen([HOSTSYNC, "run", "sync_client.lua", "--vault", user.vault, "push",
                                   "--retries", "30", "--backoff", "0.2"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: pusher.poll() is None and pusher.kill())
        first = pusher.stderr.readline()
        self.assertIn("Connection refused", first)
        self.assertIn("retrying in", first)
        down.release()
        srv = SyncServer(self, self.db, port=down.port)
        out, err = pusher.communicate(timeout=120)
        self.assertEqual(pusher.returncode, 0, err)
        self.assertIn("push: 3 sent: 3 applied", out)
        feed = pull_all(srv.base, self.user_token)
        by_id = {}
        for ch in feed:
            by_id.setdefault(ch["item"]["entity_id"], []).append(ch)
        self.assertEqual(len(by_id["n1"]), 1)
        self.assertTrue(by_id["n2"][-1]["item"]["deleted"])
        self.assertEqual(user.lines("pending"), [])

    def test_kill_9_mid_push_then_rerun(self):
        srv = SyncServer(self, self.db)
        user = self.client("user", self.user_token, 1, srv.base)
        for i in range(5):
            user.put("note", f"n{i}", {"i": i})
        proc = user.run("push", env={"HOSTSYNC_FAILPOINT": "sync-push-answered"})
        self.assertEqual(proc.returncode, -9, proc.err)
        # The server applied the batch; the vault did not record it: all 5 still queued.
        self.assertEqual(len(user.lines("pending")), 5)
        self.assertEqual(len(pull_all(srv.base, self.user_token)), 5)
        out = user.run("push", check=True).out
        self.assertIn("push: 5 sent: 5 applied, 0 conflict, 0 rejected, 0 proposal, 5 replayed; 0 pending", out)
        feed = pull_all(srv.base, self.user_token)
        self.assertEqual(sorted(ch["item"]["entity_id"] for ch in feed), [f"n{i}" for i in range(5)],
                         "no change applied twice")
        versions = {ch["item"]["entity_id"]: ch["version"] for ch in feed}
        for i in range(5):
            self.assertEqual(user.get("note", f"n{i}")["version"], versions[f"n{i}"])
        self.assertIn("pull: 5 changes", user.run("pull", check=True).out)
        self.assertEqual(user.lines("pending"), [])
        self.assertEqual(len(user.lines("outcomes")), 5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
