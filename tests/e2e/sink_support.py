"""A real HTTP receiver for the delivery tests: records every request it gets, answers
each by a plan (a status, or None to hang up without answering), and checks what
arrived against the outbox's files byte for byte."""
import hashlib
import http.server
import json
import threading

from waiting import HANG_GUARD


class RecordingSink:
    def __init__(self, test, plan=None):
        """plan(n) -> status or None (hang up) for the n-th request (from 1); 200 without."""
        self.requests = []          # (headers, body) in arrival order
        self.lock = threading.Lock()
        self.plan = plan or (lambda n: 200)
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with sink.lock:
                    sink.requests.append((dict(self.headers), body, self.path))
                    n = len(sink.requests)
                status = sink.plan(n)
                if status is None:
                    self.close_connection = True
                    return
                out = json.dumps({"status": status}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        test.addCleanup(self.stop)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/inbox"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def answered(self):
        """The requests that got a 2xx, in order."""
        with self.lock:
            return [r for i, r in enumerate(self.requests, 1) if (self.plan(i) or 0) // 100 == 2]

    def received(self, only_answered=False):
        """Every packet entry of every request (or of the answered ones), in order."""
        out = []
        for _, body, _ in (self.answered() if only_answered else list(self.requests)):
            doc = json.loads(body)
            for e in doc["packets"]:
                out.append((e["file"], e["line"], e["key"], e["packet"], body))
        return out


def outbox_lines(root):
    """(file, line, bytes) of every packet the outbox delivers: the old files an adoption
    names (without BOM and CR), then each sealed sync file."""
    out = []
    for seal in root.seals():
        if seal["file"].startswith("adoption_"):
            manifest = json.loads((root.outbox / seal["file"]).read_text("utf-8"))
            names = [f["file"] for f in manifest["files"]]
        else:
            names = [seal["file"]]
        for name in names:
            data = (root.outbox / name).read_bytes()
            if data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            for n, line in enumerate(data.split(b"\n")[:-1], 1):
                out.append((name, n, line[:-1] if line.endswith(b"\r") else line))
    return out


def assert_received_unaltered(test, sink, root, expected=None):
    """Every packet of the outbox (or of `expected`) arrived at least once, and every
    packet that arrived is byte for byte a line of the outbox with its key."""
    lines = expected if expected is not None else outbox_lines(root)
    by_place = {(f, n): b for f, n, b in lines}
    seen = {}
    for f, n, key, packet, body in sink.received():
        raw = by_place.get((f, n))
        test.assertIsNotNone(raw, f"{f} line {n} is not a packet of the outbox")
        test.assertEqual(key, hashlib.sha256(raw).hexdigest(), f"{f} line {n}: the key")
        test.assertIn(b'"packet":' + raw + b"}", body, f"{f} line {n}: sent byte for byte")
        test.assertEqual(packet, json.loads(raw))
        seen[(f, n)] = seen.get((f, n), 0) + 1
    missing = [(f, n) for f, n, _ in lines if (f, n) not in seen]
    test.assertEqual(missing, [], "every packet arrived")
    return seen
