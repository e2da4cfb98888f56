"""hostsync.http server: request bodies on real sockets. A gzip or deflate body reaches
the handler decoded, and the limit counts decoded bytes (a decompression bomb gets 413
and the connection closes); a body that does not decode is 400, an unknown coding and a
multipart form 415; a chunked body; a connection stays in step after a refused body."""
import gzip
import http.client
import json
import zlib
import unittest

from harness import main
from http_support import Server


def exchange(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    res = conn.getresponse()
    return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()


class HttpBodiesTest(unittest.TestCase):
    def setUp(self):
        self.server = Server(self, threads=1, max_body=100000)
        self.conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        self.addCleanup(self.conn.close)

    def test_encoded_bodies_are_decoded_within_the_limit(self):
        doc = {"items": ["x" * 50] * 1000}            # 54 KB of JSON, compresses to little
        raw = json.dumps(doc).encode()
        for coding, data in (("gzip", gzip.compress(raw)), ("deflate", zlib.compress(raw))):
            status, _, body = exchange(self.conn, "POST", "/json", data, {"Content-Encoding": coding})
            got = json.loads(body)
            self.assertEqual((status, got["n"], got["got"]), (201, len(raw), doc), coding)
        # A bomb: 20 MiB of zeros in under 100 KB is stopped at 100,000 decoded bytes.
        bomb = gzip.compress(b"\0" * (20 << 20))
        self.assertLess(len(bomb), 100000)
        status, headers, body = exchange(self.conn, "POST", "/json", bomb, {"Content-Encoding": "gzip"})
        self.assertEqual((status, json.loads(body)), (413, {"error": "request body larger than 100000 bytes"}))
        self.assertEqual(headers["connection"], "close")

    def test_bad_codings_and_forms_are_refused_and_the_connection_stays_in_step(self):
        status, _, body = exchange(self.conn, "POST", "/json", b"not gzip at all", {"Content-Encoding": "gzip"})
        self.assertEqual(status, 400)
        self.assertIn("Content-Encoding", json.loads(body)["error"])
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)   # that one closed
        self.addCleanup(conn.close)
        status, _, body = exchange(conn, "POST", "/json", b"abc", {"Content-Encoding": "br"})
        self.assertEqual(status, 415)
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        self.addCleanup(conn.close)
        # A form whose body holds a whole request: refused, read and dropped, never parsed.
        smuggled = b"GET /hello/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        status, _, body = exchange(conn, "POST", "/json", smuggled, {"Content-Type": "multipart/form-data; boundary=B"})
        self.assertEqual(status, 415)
        self.assertIn("multipart", json.loads(body)["error"])
        status, _, body = exchange(conn, "GET", "/hello/next")
        self.assertEqual((status, json.loads(body)["name"]), (200, "next"))

    def test_chunked_bodies(self):
        self.conn.putrequest("POST", "/json")
        self.conn.putheader("Transfer-Encoding", "chunked")
        self.conn.endheaders()
        for piece in (b'{"a": ', b"[1, 2, 3]", b"}"):
            self.conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.conn.send(b"0\r\n\r\n")
        res = self.conn.getresponse()
        self.assertEqual((res.status, json.loads(res.read())["got"]), (201, {"a": [1, 2, 3]}))
        # Over the limit in chunks: 413 once it is read, and the next request is served.
        self.conn.putrequest("POST", "/json")
        self.conn.putheader("Transfer-Encoding", "chunked")
        self.conn.endheaders()
        for _ in range(3):
            self.conn.send(b"%x\r\n%s\r\n" % (50000, b"x" * 50000))
        self.conn.send(b"0\r\n\r\n")
        res = self.conn.getresponse()
        self.assertEqual((res.status, json.loads(res.read())), (413, {"error": "request body larger than 100000 bytes"}))
        status, _, body = exchange(self.conn, "GET", "/hello/after")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    main()
