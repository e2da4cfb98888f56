"""phase2.lua deliver: every sealed packet reaches a real HTTP receiver at least once,
unaltered, with its key; the durable cursor resumes exactly after a kill -9 at any step;
retries, refusals and an unreachable receiver; hostsync serve's /sync/push as receiver."""
import json
import os
import signal
import unittest

from harness import Root, HEADER, tricky_records, hostsync
from ports import RefusingPort
from sink_support import RecordingSink, outbox_lines, assert_received_unaltered
from legacy_support import LegacyDeployment, single_line_records
from sync_support import SyncServer, make_sync_token, pull_all


def outbox(test, runs=(300, 200, 100)):
    root = Root(test)
    root.write(HEADER.encode())
    start = 1
    for n in runs:
        root.append(tricky_records(n, start=start))
        root.run(check=True)
        start += n
    return root


def deliver(root, url, *args, env=None):
    return root.run("deliver", "--to", url, *args, env=env)


def cursor_files(root):
    d = root.state_dir / "deliver"
    return sorted(d.glob("*.json")) if d.exists() else []


class DeliverTest(unittest.TestCase):
    def test_every_packet_once_in_order_with_its_key(self):
        root = outbox(self)
        sink = RecordingSink(self)
        p = deliver(root, sink.url, "--batch", "100")
        self.assertEqual(p.returncode, 0, p.err)
        self.assertEqual(p.out, "OK: delivered 600 packets (seq 1..600) in 6 requests to %s\n" % sink.url)
        seen = assert_received_unaltered(self, sink, root)
        self.assertEqual(set(seen.values()), {1}, "each once")
        self.assertEqual([(f, n) for f, n, *_ in sink.received()], [(f, n) for f, n, _ in outbox_lines(root)])
        headers, body, path = sink.requests[0]
        self.assertEqual(path, "/inbox")
        self.assertEqual(headers["Content-Type"], "application/json")
        import hashlib
        first = json.loads(body)["packets"][0]["key"]
        self.assertEqual(headers["Idempotency-Key"], "%s-100" % first)
        [cursor] = cursor_files(root)
        c = json.loads(cursor.read_text())
        last_file, last_line, last_raw = outbox_lines(root)[-1]
        self.assertEqual((c["file"], c["line"], c["key"], c["delivered"], c["to"], c["format"]),
                         (last_file, last_line, hashlib.sha256(last_raw).hexdigest(), 600, sink.url, "packets"))
        data = (root.outbox / last_file).read_bytes()
        self.assertEqual(data[c["offset"]:].rstrip(b"\n"), last_raw, "offset: where that packet starts")

        p = deliver(root, sink.url, "--batch", "100")
        self.assertEqual((p.returncode, p.out), (0, "OK: nothing to deliver to %s\n" % sink.url))
        self.assertIn("delivered: 600 packets to %s (packets), up to %s line %d" % (sink.url, last_file, last_line),
                      root.run("status", check=True).out)
        self.assertEqual(len(sink.requests), 6)
        root.append(tricky_records(7, start=601))
        root.run(check=True)
        p = deliver(root, sink.url, "--batch", "100")
        self.assertIn("OK: delivered 7 packets (seq 601..607) in 1 requests", p.out)
        self.assertEqual(len(sink.received()), 607)
        assert_received_unaltered(self, sink, root)

    def test_kill_at_each_step_resumes_right_after_what_was_acknowledged(self):
        """--checkpoint-every 0: the cursor is written after every answer, so a kill
        before it costs exactly the one batch the receiver had answered."""
        for point, resent in (("deliver_before_send@3", 0), ("deliver_answered@3", 1),
                              ("deliver_cursor_written@3", 0)):
            with self.subTest(failpoint=point):
                root = outbox(self)
                sink = RecordingSink(self)
                p = deliver(root, sink.url, "--batch", "50", "--checkpoint-every", "0",
                            env={"HOSTSYNC_FAILPOINT": point})
                self.assertEqual(p.returncode, -signal.SIGKILL, p.err)
                before = len(sink.requests)
                self.assertEqual(before, 2 if point.startswith("deliver_before_send") else 3)
                p = deliver(root, sink.url, "--batch", "50", "--checkpoint-every", "0")
                self.assertEqual(p.returncode, 0, p.err)
                seen = assert_received_unaltered(self, sink, root)
                twice = sorted(k for k, v in seen.items() if v > 1)
                self.assertEqual(len(twice), 50 * resent)
                if resent:
                    self.assertEqual(sink.requests[2][1], sink.requests[3][1], "the same batch, byte for byte")
                self.assertEqual(len(sink.requests), 12 + resent)

    def test_kill_with_the_default_checkpointing_loses_nothing(self):
        """With the cursor written at most once a second, a kill may send more than one
        batch again (how many depends on the machine's speed): only the invariants are
        asserted."""
        root = outbox(self)
        sink = RecordingSink(self)
        p = deliver(root, sink.url, "--batch", "40", env={"HOSTSYNC_FAILPOINT": "deliver_answered@9"})
        self.assertEqual(p.returncode, -signal.SIGKILL, p.err)
        self.assertEqual(len(sink.requests), 9)
        p = deliver(root, sink.url, "--batch", "40")
        self.assertEqual(p.returncode, 0, p.err)
        assert_received_unaltered(self, sink, root)
        places = [(f, n) for f, n, _ in outbox_lines(root)]
        after_restart = [(f, n) for _, b, _ in sink.requests[9:] for f, n in
                         ((e["file"], e["line"]) for e in json.loads(b)["packets"])]
        resumed_at = places.index(after_restart[0])
        self.assertLessEqual(resumed_at, 9 * 40, "not after what the receiver had answered")
        self.assertEqual(after_restart, places[resumed_at:], "then everything after it, once, in order")

    def test_retries_after_a_hang_up_and_a_503(self):
        answers = {1: None, 2: 503}
        sink = RecordingSink(self, plan=lambda n: answers.get(n, 200))
        root = outbox(self, runs=(120,))
        p = deliver(root, sink.url, "--batch", "100", "--backoff", "0.01")
        self.assertEqual(p.returncode, 0, p.err)
        self.assertEqual(len(sink.requests), 4, "the first batch three times, then the second")
        self.assertEqual(sink.requests[0][1], sink.requests[2][1])
        seen = assert_received_unaltered(self, sink, root)
        self.assertEqual(sum(seen.values()), 120 + 2 * 100)

    def test_a_refused_batch_stops_and_the_next_call_goes_on_from_there(self):
        refuse = {"on": True}
        sink = RecordingSink(self, plan=lambda n: 422 if n == 2 and refuse["on"] else 200)
        root = outbox(self, runs=(250,))
        p = deliver(root, sink.url, "--batch", "100")
        self.assertEqual(p.returncode, 1, p.err)
        self.assertIn("answered 422", p.err)
        self.assertIn("line 101", p.err)
        self.assertEqual(len(sink.requests), 2)
        p = deliver(root, sink.url, "--batch", "100")
        self.assertEqual(p.returncode, 0, p.err)
        self.assertEqual([json.loads(b)["packets"][0]["line"] for _, b, _ in sink.requests], [1, 101, 101, 201])
        assert_received_unaltered(self, sink, root)

    def test_an_unreachable_receiver_is_a_temporary_failure(self):
        root = outbox(self, runs=(10,))
        down = RefusingPort(self)
        p = deliver(root, down.url + "/x", "--retries", "2", "--backoff", "0.01")
        self.assertEqual(p.returncode, 75, p.err)
        self.assertIn("Connection refused", p.err)
        self.assertEqual(cursor_files(root), [])
        sink = RecordingSink(self, plan=lambda n: 503)
        p = deliver(root, sink.url, "--retries", "1", "--backoff", "0.01")
        self.assertEqual(p.returncode, 75, p.err)
        self.assertEqual(len(sink.requests), 2)

    def test_a_file_changed_since_its_seal_is_not_sent(self):
        root = outbox(self, runs=(30, 30))
        second = root.outbox / root.seals()[1]["file"]
        data = bytearray(second.read_bytes())
        data[50] ^= 0x01
        second.write_bytes(bytes(data))
        sink = RecordingSink(self)
        p = deliver(root, sink.url, "--batch", "1000")
        self.assertEqual(p.returncode, 1, p.err)
        self.assertIn(second.name + " has changed since it was sealed", p.err)
        self.assertEqual({f for f, *_ in sink.received()}, {root.seals()[0]["file"]})

    def test_each_destination_has_its_own_cursor(self):
        root = outbox(self, runs=(20,))
        a, b = RecordingSink(self), RecordingSink(self)
        self.assertEqual(deliver(root, a.url).returncode, 0)
        self.assertEqual(deliver(root, b.url).returncode, 0)
        self.assertEqual(len(a.received()), 20)
        self.assertEqual(len(b.received()), 20)
        self.assertEqual(len(cursor_files(root)), 2)

    def test_an_adopted_outbox_delivers_the_old_packets_too(self):
        root = Root(self)
        root.write(HEADER.encode())
        old = LegacyDeployment(root)
        for i in range(2):
            root.append(single_line_records(10, start=1 + i * 10))
            old.run()
        root.append(single_line_records(5, start=21))
        root.run(check=True)
        sink = RecordingSink(self)
        p = deliver(root, sink.url)
        self.assertEqual(p.returncode, 0, p.err)
        seen = assert_received_unaltered(self, sink, root)
        self.assertEqual(len(seen), 25)
        self.assertEqual([f for f, *_ in sink.received()][:20], [f.name for f in old.files() for _ in range(10)])
        other = RecordingSink(self)
        p = deliver(root, other.url, "--skip-adopted")
        self.assertEqual(p.returncode, 0, p.err)
        self.assertEqual(len(other.received()), 5)
        self.assertEqual({f for f, *_ in other.received()}, {root.seals()[1]["file"]})


class DeliverToSyncPushTest(unittest.TestCase):
    def serve(self, root):
        db = root.path / "brain.sqlite"
        server = SyncServer(self, db)
        token = make_sync_token(db, "home", 2, agent="phase2")
        token_file = root.path / "token"
        token_file.write_text(token + "\n")
        return server, token, token_file

    def test_each_packet_becomes_one_sync_item_and_repeats_change_nothing(self):
        root = outbox(self, runs=(150, 60))
        server, token, token_file = self.serve(root)
        url = server.base + "/sync/push"
        p = deliver(root, url, "--token-file", token_file, "--batch", "100", "--checkpoint-every", "0",
                    env={"HOSTSYNC_FAILPOINT": "deliver_answered@2"})
        self.assertEqual(p.returncode, -signal.SIGKILL, p.err)
        p = deliver(root, url, "--token-file", token_file, "--batch", "100")
        self.assertEqual(p.returncode, 0, p.err)
        self.assertIn("OK: delivered 110 packets (seq 101..210)", p.out)

        import hashlib
        lines = outbox_lines(root)
        feed = pull_all(server.base, token)
        self.assertEqual(len(feed), 210, "one entity per packet: the repeated batch was replayed, not stored twice")
        by_id = {c["item"]["entity_id"]: c["item"] for c in feed}
        for f, n, raw in lines:
            item = by_id[hashlib.sha256(raw).hexdigest()]
            self.assertEqual(item["entity_type"], "phase2_packet")
            self.assertEqual(item["payload"], json.loads(raw))
            self.assertEqual(item["truth_level"], 2, "the token's level")
            self.assertEqual(item["origin_source"], "automation:phase2", "the server's, from the token")
            self.assertEqual(item["tenant_id"], "home")
        # Everything again from scratch: every item is a replay, the feed does not move.
        for c in cursor_files(root):
            c.unlink()
        p = deliver(root, url, "--token-file", token_file, "--batch", "1000")
        self.assertEqual(p.returncode, 0, p.err)
        self.assertEqual(len(pull_all(server.base, token)), 210)
        self.assertEqual(max(c["version"] for c in pull_all(server.base, token)),
                         max(c["version"] for c in feed))

    def test_a_packet_the_server_rejects_stops_there_and_keeps_what_came_before(self):
        """A packet over the server's 256 KiB payload limit: the delivery stops at it with
        the server's reason, every time, and the cursor stays just before it. The server
        takes the items of a request one by one, so the packets after it in the same batch
        are stored already; they are sent again (as replays) once the problem is solved."""
        root = Root(self)
        big = "x" * (300 * 1024)
        root.write(HEADER.encode() + tricky_records(5) + f'6,big,"{big}",1\r\n'.encode()
                   + tricky_records(3, start=7))
        root.run(check=True)
        server, token, token_file = self.serve(root)
        for _ in range(2):
            p = deliver(root, server.base + "/sync/push", "--token-file", token_file)
            self.assertEqual(p.returncode, 1, p.err)
            self.assertIn("line 6 (key ", p.err)
            self.assertIn("was not taken: the server rejected it: field 'payload' is larger than", p.err)
        feed = pull_all(server.base, token)
        self.assertEqual(sorted(c["item"]["payload"]["seq"] for c in feed), [1, 2, 3, 4, 5, 7, 8, 9])
        [cursor] = cursor_files(root)
        self.assertEqual(json.loads(cursor.read_text())["line"], 5)

    def test_a_token_without_sync_rights_is_refused(self):
        root = outbox(self, runs=(5,))
        server, _, _ = self.serve(root)
        from brain_support import make_token
        plain = root.path / "plain.token"
        plain.write_text(make_token(root.path / "brain.sqlite") + "\n")
        p = deliver(root, server.base + "/sync/push", "--token-file", plain)
        self.assertEqual(p.returncode, 1, p.err)
        self.assertIn("answered 403", p.err)
        self.assertEqual(cursor_files(root), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
