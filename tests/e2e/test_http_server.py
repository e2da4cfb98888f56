"""hostsync.http server: Lua route handlers on real sockets (127.0.0.1 only).

Routes and params, JSON in and out, 404/405, 413 for an oversize body, 500 without the
traceback, one Lua state per worker thread, responsiveness while event streams are open,
graceful SIGTERM with a request and a stream in flight.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from harness import main
from http_support import HOSTSYNC, SERVE, Server
from waiting import wait_until


def request(server, method, path, body=None, headers=None, timeout=20):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        res = conn.getresponse()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
    finally:
        conn.close()


class HttpServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hostsync-http-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)

    def test_routes_json_and_errors(self):
        s = Server(self, threads=2, max_body=1000)
        status, headers, body = request(s, "GET", "/hello/ada?q=x%20y")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(json.loads(body), {"name": "ada", "q": "x y", "method": "GET"})
        # %00 is never decoded: a NUL byte would cut the C strings the path and values travel in.
        status, _, body = request(s, "GET", "/hello/ab%00c%41?q=x%00y%2F")
        self.assertEqual((status, json.loads(body)), (200, {"name": "ab%00cA", "q": "x%00y/", "method": "GET"}))

        status, _, body = request(s, "GET", "/files/a/b/c.txt")
        self.assertEqual((status, json.loads(body)), (200, {"rest": "a/b/c.txt"}))

        status, headers, body = request(s, "GET", "/text")
        self.assertEqual((status, headers["content-type"], body), (200, "text/csv", b"a,b\n"))

        doc = {"a": [1, 2, {"b": None}], "s": "caf\u00e9"}
        status, _, body = request(s, "POST", "/json", json.dumps(doc).encode(),
                                  {"Content-Type": "application/json"})
        self.assertEqual(status, 201)
        self.assertEqual(json.loads(body)["got"], doc)

        status, _, body = request(s, "POST", "/json", b"{not json")
        self.assertEqual(status, 400)
        self.assertIn("bad JSON", json.loads(body)["error"])

        status, headers, body = request(s, "GET", "/nowhere")
        self.assertEqual(status, 404)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(json.loads(body), {"error": "no route for GET /nowhere"})

        status, headers, body = request(s, "DELETE", "/json")
        self.assertEqual(status, 405)
        self.assertEqual(headers["allow"], "POST")

        status, headers, body = request(s, "POST", "/json", b"[" + b"1," * 600 + b"1]")
        self.assertEqual(status, 413)
        self.assertEqual(json.loads(body), {"error": "request body larger than 1000 bytes"})

        status, headers, body = request(s, "GET", "/boom")
        self.assertEqual(status, 500)
        self.assertEqual(json.loads(body), {"error": "internal server error"})
        self.assertNotIn(b"SECRET", body)
        self.assertNotIn(b"traceback", body)
        # The server still answers after a failed handler, and logged it with file:line.
        self.assertEqual(request(s, "GET", "/hello/x")[0], 200)
        self.assertEqual(s.terminate(), 0)
        self.assertRegex(s.stderr(), r"GET /boom: .*http_app\.lua:\d+: handler failed with SECRET-DETAIL")
        self.assertIn("stack traceback", s.stderr())

    def test_each_worker_has_its_own_lua_state(self):
        # Each /state request increments a Lua global and then waits at a file barrier
        # until all 4 of its round are in flight, so a round occupies all 4 workers at once.
        s = Server(self, threads=4)
        rounds = []
        for r in range(3):
            barrier = os.path.join(self.tmp, f"barrier-{r}")
            os.mkdir(barrier)
            results = [None] * 4

            def hit(i):
                status, _, body = request(s, "GET", f"/state?dir={barrier}&n=4&id=r{i}")
                results[i] = (status, json.loads(body))

            threads = [threading.Thread(target=hit, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            rounds.append(results)
            self.assertTrue(all(st == 200 for st, _ in results), results)
            self.assertEqual(sorted(b["worker"] for _, b in results), [1, 2, 3, 4])
            # Shared globals would count 4 per round; separate states count one each.
            self.assertEqual([b["hits"] for _, b in results], [r + 1] * 4, results)
        self.assertEqual(s.terminate(), 0)

    def test_open_streams_do_not_block_other_requests(self):
        # 2 endless streams on a 4-thread server leave 2 workers for everything else.
        s = Server(self, threads=4)
        streams = []
        for _ in range(2):
            conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=20)
            conn.request("GET", "/ticker")
            res = conn.getresponse()
            self.assertEqual(res.status, 200)
            self.assertTrue(res.getheader("Content-Type").startswith("text/event-stream"))
            first = res.readline() + res.readline()
            self.assertEqual(first, b"id: 1\ndata: {\"n\":1}\n")
            streams.append((conn, res))
        for i in range(20):
            status, _, body = request(s, "GET", f"/hello/n{i}")
            self.assertEqual((status, json.loads(body)["name"]), (200, f"n{i}"))
        for conn, _ in streams:
            conn.close()
        self.assertEqual(s.terminate(), 0)

    def test_keep_alive_connections_are_not_cut_short(self):
        # No limit on requests per connection, and silence between requests is bounded by
        # idle_timeout, not read_timeout: a close there would race the client's next request.
        s = Server(self, threads=1, read_timeout=1, idle_timeout=30)
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=20)
        conn.connect()
        local = conn.sock.getsockname()
        for i in range(150):
            conn.request("GET", f"/hello/k{i}")
            res = conn.getresponse()
            self.assertEqual((res.status, json.loads(res.read())["name"]), (200, f"k{i}"))
        time.sleep(2.5)   # idle longer than read_timeout (1 s): the condition under test, not a wait
        conn.request("GET", "/hello/after-idle")
        res = conn.getresponse()
        self.assertEqual(res.status, 200)
        res.read()
        self.assertEqual(conn.sock.getsockname(), local)   # the same connection all along
        conn.close()

        # With a short idle_timeout the server does close an idle connection.
        s2 = Server(self, threads=1, idle_timeout=1)
        sock = socket.create_connection(("127.0.0.1", s2.port), timeout=30)
        sock.sendall(b"GET /hello/x HTTP/1.1\r\nHost: h\r\n\r\n")
        data = b""
        while True:   # the response, then EOF once the server closed the idle connection
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        sock.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data)

    def test_sigterm_lets_the_slow_request_finish_and_closes_streams(self):
        s = Server(self, threads=4, grace=10)
        mark = os.path.join(self.tmp, "slow-started")
        release = os.path.join(self.tmp, "slow-may-end")
        result = {}

        def slow():
            result["slow"] = request(s, "GET", f"/slow?mark={mark}&until={release}", timeout=180)

        t = threading.Thread(target=slow)
        t.start()
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=20)
        conn.request("GET", "/ticker")
        stream = conn.getresponse()
        self.assertEqual(stream.readline(), b"id: 1\n")
        wait_until(lambda: os.path.exists(mark), "the slow request to start")

        # SIGTERM while the request is in flight; it may end only once shutdown has begun.
        s.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: "SIGTERM, shutting down" in s.stderr(), "the server to begin shutting down")
        open(release, "w").close()
        self.assertEqual(s.wait(), 0, s.stderr())
        t.join(180)
        self.assertEqual(result["slow"][0], 200)
        self.assertEqual(result["slow"][2], b"slow done")
        # The stream was ended by the server (a complete chunked body), not cut off.
        rest = stream.read()
        self.assertTrue(rest == b"" or rest.endswith(b"\n\n"), rest)
        conn.close()
        self.assertIn("SIGTERM, shutting down", s.stderr())
        self.assertIn("serve returned", s.stderr())
        with self.assertRaises(OSError):
            request(s, "GET", "/hello/late", timeout=2)

    def test_shutdown_is_bounded_by_grace(self):
        # A request that outlives the grace period: the process says so and exits 1
        # rather than hang (worker threads cannot be cancelled safely).
        s = Server(self, threads=2, grace=0.5)
        mark = os.path.join(self.tmp, "stuck-started")
        never = os.path.join(self.tmp, "never-created")   # the request holds until the server exits
        t = threading.Thread(target=lambda: self._ignore_errors(s, f"/slow?mark={mark}&until={never}"), daemon=True)
        t.start()
        wait_until(lambda: os.path.exists(mark), "the stuck request to start")
        s.proc.send_signal(signal.SIGINT)
        self.assertEqual(s.wait(), 1)
        s.kill()
        self.assertIn("SIGINT, shutting down (1 in flight, grace 0.5 s)", s.stderr())
        self.assertIn("1 requests still running after 0.5 s; exiting", s.stderr())

    @staticmethod
    def _ignore_errors(s, path):
        try:
            request(s, "GET", path, timeout=180)
        except (OSError, http.client.HTTPException):
            pass

    def test_bad_app_fails_before_listening(self):
        bad = os.path.join(self.tmp, "bad_app.lua")
        with open(bad, "w") as f:
            f.write('return { routes = { {"GET", "/x", "missing"} } }\n')
        proc = subprocess.run([HOSTSYNC, "run", str(SERVE), json.dumps({"script": bad})],
                              capture_output=True, timeout=20)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(b"route 1 (GET /x): handler missing is not a function", proc.stderr)
        self.assertNotIn(b"listening on", proc.stderr)


if __name__ == "__main__":
    main()
