"""hostsync.http server: app.authorize runs on the request head, before the body is read,
and http.serve's config reaches every worker (real sockets, 127.0.0.1 only).

A refused request's body is never kept (a body over max_body gets the refusal, not 413)
and is discarded so the connection stays in step: bytes in a refused body are never
parsed as a request. Bodies are limited after Content-Encoding is undone (a gzip bomb
gets 413). Multipart bodies get 415.
"""
import gzip
import http.client
import json
import socket
import subprocess
import unittest

from harness import HERE, main
from http_support import HOSTSYNC, SERVE, Server

GATE = str(HERE / "http_gate_app.lua")
KEY = {"X-Key": "k"}


def exchange(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    res = conn.getresponse()
    return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()


class HttpAdmitTest(unittest.TestCase):
    def gate(self, **opts):
        opts.setdefault("threads", 1)
        opts.setdefault("max_body", 1000)
        opts.setdefault("config", {"key": "k", "label": "from-config"})
        server = Server(self, script=GATE, **opts)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        self.addCleanup(conn.close)
        return server, conn

    def test_refused_before_the_body_is_read(self):
        _, conn = self.gate()
        big = b"x" * (9 * 1024 * 1024)
        # Without the key: the refusal, not 413, although the body is far over max_body.
        status, headers, body = exchange(conn, "POST", "/echo", big)
        self.assertEqual((status, json.loads(body)), (401, {"error": "no key"}))
        self.assertEqual(headers["www-authenticate"], "Key")
        # With it: the body limit applies.
        status, _, body = exchange(conn, "POST", "/echo", big, KEY)
        self.assertEqual((status, json.loads(body)), (413, {"error": "request body larger than 1000 bytes"}))
        # A body within the limit reaches the handler, with what authorize set on req.
        status, _, body = exchange(conn, "POST", "/echo", b"hello", {**KEY, "X-Who": "ada"})
        got = json.loads(body)
        self.assertEqual((status, got["who"], got["n"], got["head"]), (200, "ada", 5, "hello"))
        self.assertEqual(got["body_at_authorize"], "nil")
        # Unknown paths are refused before routing: no route list for strangers.
        self.assertEqual(exchange(conn, "GET", "/nowhere")[0], 401)
        self.assertEqual(exchange(conn, "GET", "/nowhere", headers=KEY)[0], 404)

    def test_a_refused_body_is_discarded_not_parsed(self):
        # One worker, one keep-alive connection: the refused request's body holds a whole
        # request. Had it been parsed as one, authorize would have counted it and the
        # next answer on the connection would be its answer.
        _, conn = self.gate()
        smuggled = b"GET /who HTTP/1.1\r\nHost: x\r\nX-Key: k\r\nX-Who: smuggled\r\n\r\n"
        status, _, _ = exchange(conn, "POST", "/echo", smuggled)
        self.assertEqual(status, 401)
        status, _, body = exchange(conn, "GET", "/who", headers={**KEY, "X-Who": "me"})
        got = json.loads(body)
        self.assertEqual((status, got["who"], got["seen"]), (200, "me", 2))
        self.assertEqual(got["label"], "from-config")

    def test_body_limit_counts_decoded_bytes(self):
        _, conn = self.gate(max_body=100000)
        bomb = gzip.compress(b"\0" * (20 * 1024 * 1024))
        self.assertLess(len(bomb), 100000)
        # A stranger's encoded body is not even decoded: refused, and the connection closed.
        status, headers, body = exchange(conn, "POST", "/echo", bomb, {"Content-Encoding": "gzip"})
        self.assertEqual((status, headers["connection"]), (401, "close"))
        # Admitted: decoding stops at the limit (413), and the rest is not read either.
        status, headers, body = exchange(conn, "POST", "/echo", bomb, {**KEY, "Content-Encoding": "gzip"})
        self.assertEqual((status, json.loads(body)), (413, {"error": "request body larger than 100000 bytes"}))
        self.assertEqual(headers["connection"], "close")
        small = b"abc" * 1000
        status, _, body = exchange(conn, "POST", "/echo", gzip.compress(small), {**KEY, "Content-Encoding": "gzip"})
        self.assertEqual((status, json.loads(body)["n"]), (200, len(small)))

    def test_multipart_is_refused_with_415(self):
        _, conn = self.gate()
        form = (b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n--B--\r\n")
        status, _, body = exchange(conn, "POST", "/echo", form,
                                   {**KEY, "Content-Type": "multipart/form-data; boundary=B"})
        self.assertEqual(status, 415)
        self.assertIn("multipart", json.loads(body)["error"])
        # The connection is still in step.
        self.assertEqual(exchange(conn, "GET", "/who", headers=KEY)[0], 200)

    def test_authorize_error_is_a_500_without_details(self):
        server, conn = self.gate()
        status, _, body = exchange(conn, "POST", "/echo", b"{}", {**KEY, "X-Boom": "1"})
        self.assertEqual((status, json.loads(body)), (500, {"error": "internal server error"}))
        self.assertNotIn(b"SECRET", body)
        self.assertEqual(exchange(conn, "GET", "/who", headers=KEY)[0], 200)
        self.assertEqual(server.terminate(), 0)
        self.assertRegex(server.stderr(), r"POST /echo: .*http_gate_app\.lua:\d+: authorize failed with SECRET-DETAIL")

    def test_config_needs_an_app_function(self):
        app = str(HERE / "http_app.lua")
        proc = subprocess.run([HOSTSYNC, "run", str(SERVE), json.dumps({"script": app, "config": {"a": 1}})],
                              capture_output=True, timeout=20)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(b"with config, must return a function(config) -> app", proc.stderr)
        self.assertNotIn(b"listening on", proc.stderr)

    def test_a_client_that_stops_mid_body_does_not_disturb_the_next(self):
        server, conn = self.gate()
        # Admitted, then the client leaves after 100 of its 500 bytes: no handler runs
        # for it, and the one worker serves the next request with that request's table.
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nX-Key: k\r\nContent-Length: 500\r\n\r\n" + b"y" * 100)
        status, _, body = exchange(conn, "POST", "/echo", b"ok", {**KEY, "X-Who": "next"})
        self.assertEqual((status, json.loads(body)["who"]), (200, "next"))


if __name__ == "__main__":
    main()
