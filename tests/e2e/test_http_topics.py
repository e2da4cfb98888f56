"""hostsync.http event topics on real sockets: subscriber streams are held by the
server's event loop, not by workers; publish fans out in order with no repeats; replay,
resume points, filters, labels; a resume point the buffer cannot serve ends the stream;
the app's background task runs on its own thread and stops with the server."""
import http.client
import json
import os
import shutil
import tempfile
import threading
import time
import unittest

from harness import main
from http_support import EventStream, Server


def request(server, method, path, body=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None)
        res = conn.getresponse()
        raw = res.read()
        if res.getheader("Content-Type", "").startswith("application/json"):
            return res.status, json.loads(raw)
        return res.status, raw
    finally:
        conn.close()


def open_stream(server, path):
    return EventStream(server.port, path)


class HttpTopicsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hostsync-topics-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def publish(self, s, topic, start, events):
        status, body = request(s, "POST", "/topic/" + topic, {"from": start, "events": events})
        self.assertEqual(status, 200, body)
        return body["new"]

    def test_twenty_streams_on_two_workers_leave_the_workers_free(self):
        s = Server(self, threads=2)
        streams = [open_stream(s, "/topic/news?after=0") for _ in range(20)]
        # With every stream open, both workers still answer requests.
        for i in range(10):
            status, body = request(s, "GET", f"/hello/n{i}")
            self.assertEqual((status, body["name"]), (200, f"n{i}"))
        self.assertEqual(request(s, "GET", "/topic/news/info")[1]["subscribers"], 20)
        self.assertEqual(self.publish(s, "news", 0, [{"id": 1, "data": "first"}]), 1)
        self.assertEqual(self.publish(s, "news", 1, [{"id": 2, "data": "second"}, {"id": 3, "data": "third"}]), 2)
        # A publisher that read before the previous one published sends overlapping events.
        self.assertEqual(self.publish(s, "news", 1, [{"id": 2, "data": "second"}, {"id": 3, "data": "third"}]), 0)
        self.assertEqual(self.publish(s, "news", 2, [{"id": 3, "data": "third"}, {"id": 4, "data": "fourth"}]), 1)
        want = [(1, "news", "first"), (2, "news", "second"), (3, "news", "third"), (4, "news", "fourth")]
        for st in streams:
            self.assertEqual(st.take(4), want)
        for st in streams:
            st.close()
        self.assertEqual(s.terminate(), 0, s.stderr())

    def test_replay_then_buffer_then_live_each_through_the_filter(self):
        s = Server(self, threads=2)
        web = open_stream(s, "/topic/t?after=5&replay=6,7&project=web")
        self.assertEqual(web.take(2), [(6, "news", "replayed 6"), (7, "news", "replayed 7")])
        self.publish(s, "t", 7, [{"id": 8, "data": "w", "project": "web"}, {"id": 9, "data": "o", "project": "other"},
                                 {"id": 10, "data": "none"}])
        self.assertEqual(web.take(2), [(8, "news", "w"), (10, "news", "none")])
        # A second subscriber that has 8 gets 9 and 10 from the topic's buffer, then live.
        late = open_stream(s, "/topic/t?after=8")
        self.assertEqual([e[0] for e in late.take(2)], [9, 10])
        self.publish(s, "t", 10, [{"id": 11, "data": "x", "project": "other"}, {"id": 12, "data": "y", "project": "web"}])
        self.assertEqual([e[0] for e in late.take(2)], [11, 12])
        self.assertEqual(web.take(1), [(12, "news", "y")])
        info = request(s, "GET", "/topic/t/info")[1]
        self.assertEqual((info["last"], info["subscribers"]), (12, 2))
        web.close()
        late.close()

    def test_a_resume_point_the_buffer_cannot_serve_gets_its_replay_and_an_end(self):
        s = Server(self, threads=2)
        first = open_stream(s, "/topic/big?after=0")
        events = [{"id": i, "data": f"e{i}"} for i in range(1, 4101)]
        self.assertEqual(self.publish(s, "big", 0, events), 4100)
        info = request(s, "GET", "/topic/big/info")[1]
        self.assertEqual((info["floor"], info["last"], info["buffered"]), (4, 4100, 4096))
        # The store replays 1..2; 3 and 4 are neither replayed nor buffered: the stream
        # ends after the replay, and the client would resume from 2.
        late = open_stream(s, "/topic/big?after=0&replay=1,2")
        self.assertEqual([e[0] for e in late.take(2)], [1, 2])
        self.assertIsNone(late.next())
        # Within the buffer: served from it.
        near = open_stream(s, "/topic/big?after=4095")
        self.assertEqual([e[0] for e in near.take(5)], [4096, 4097, 4098, 4099, 4100])
        # A publish that starts beyond what the topic has ends whoever would miss events.
        self.assertEqual(self.publish(s, "big", 5000, [{"id": 5001, "data": "after a gap"}]), 1)
        self.assertEqual([e[0] for e in first.take(4100)][-1], 4100)
        self.assertIsNone(first.next())
        self.assertIsNone(near.next())
        for st in (first, late, near):
            st.close()

    def test_end_streams_by_label(self):
        s = Server(self, threads=2)
        a = open_stream(s, "/topic/l?who=a")
        b = open_stream(s, "/topic/l?who=b")
        status, body = request(s, "POST", "/end-streams?label=who&value=a")
        self.assertEqual((status, body), (200, {"ended": 1}))
        self.assertIsNone(a.next())
        self.publish(s, "l", 0, [{"id": 1, "data": "still here"}])
        self.assertEqual(b.take(1), [(1, "news", "still here")])
        a.close()
        b.close()

    def test_background_task_runs_beside_the_workers_and_stops_with_the_server(self):
        s = Server(self, threads=1)
        beats = open_stream(s, "/topic/beat")
        mark, release = os.path.join(self.tmp, "blocked"), os.path.join(self.tmp, "release")
        result = {}
        blocker = threading.Thread(target=lambda: result.update(r=request(s, "GET", f"/block?mark={mark}&until={release}")))
        blocker.start()
        deadline = time.monotonic() + 20
        while not os.path.exists(mark):
            self.assertLess(time.monotonic(), deadline, "the blocking request never started")
            time.sleep(0.01)  # waiting for the request to occupy the only worker; deadline is a hang guard
        # The only worker is busy, and the heartbeat still comes: two beats, in order.
        got = beats.take(2)
        self.assertEqual([e[1] for e in got], ["beat", "beat"])
        self.assertEqual(got[1][0], got[0][0] + 1)
        open(release, "w").close()
        blocker.join(30)
        self.assertEqual(result["r"][0], 200)
        self.assertEqual(s.terminate(), 0, s.stderr())
        # The server ended the stream properly (a complete chunked body) and the task stopped.
        while beats.next() is not None:
            pass
        beats.close()
        self.assertIn("background stopped", s.stderr())
        self.assertIn("serve returned", s.stderr())


if __name__ == "__main__":
    main()
