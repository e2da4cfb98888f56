"""hostsync.http client on real sockets (127.0.0.1 only): retries and backoff counted
against a Python server that fails on purpose, no retry on other 4xx, Retry-After,
connection refused, timeouts, JSON helpers, and the SSE client resuming with
Last-Event-ID against hostsync's own server.
"""
import http.server
import json
import shutil
import tempfile
import threading
import time
import unittest

from harness import main
from http_support import Server, run_lua
from ports import RefusingPort
from waiting import HANG_GUARD


class Scripted(http.server.BaseHTTPRequestHandler):
    """Answers each request with the next (status, headers, body, delay) of `plan`."""
    plan = []
    seen = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._answer()

    def do_POST(self):
        self._answer()

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        cls = type(self)
        cls.seen.append((self.command, self.path, dict(self.headers), body, time.monotonic()))
        i = min(len(cls.seen), len(cls.plan)) - 1
        status, headers, out, delay = cls.plan[i]
        if delay:
            delay.wait(HANG_GUARD)   # an Event the test sets: the answer comes when it says
        if status is None:           # hang up without an answer: a broken exchange
            self.close_connection = True
            return
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        except OSError:
            pass


def scripted_server(test, plan):
    handler = type("Handler", (Scripted,), {"plan": plan, "seen": []})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    def stop():
        srv.shutdown()
        srv.server_close()
    test.addCleanup(stop)
    return f"http://127.0.0.1:{srv.server_address[1]}", handler


REQUEST = r'''
local http = require "hostsync.http"
local json = require "hostsync.json"
local time = require "hostsync.time"
local opts = json.decode(arg[1])
local t0 = time.monotonic()
local res, err = http.request(opts)
local out = { elapsed = time.monotonic() - t0, err = err }
if res then out.status, out.body, out.attempts, out.headers = res.status, res.body, res.attempts, res.headers end
print(json.encode(out))
'''


class HttpClientTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hostsync-httpc-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def request(self, **opts):
        return run_lua(self, self.tmp, REQUEST, json.dumps(opts))

    def test_retries_with_backoff_after_503_then_success(self):
        base, h = scripted_server(self, [(503, {}, b"busy", 0), (502, {}, b"bad gw", 0),
                                         (200, {"X-Ok": "yes"}, b"finally", 0)])
        out = self.request(url=base + "/r", retries=3, backoff=0.1)
        self.assertEqual((out["status"], out["body"], out["attempts"]), (200, "finally", 3))
        self.assertEqual(out["headers"]["x-ok"], "yes")
        self.assertEqual(len(h.seen), 3)
        # Equal jitter: retry n waits at least half of backoff * 2^(n-1).
        gaps = [h.seen[i + 1][4] - h.seen[i][4] for i in range(2)]
        self.assertGreaterEqual(gaps[0], 0.05)
        self.assertGreaterEqual(gaps[1], 0.1)

    def test_exhausted_retries_return_the_last_response(self):
        base, h = scripted_server(self, [(503, {}, b"down", 0)])
        out = self.request(url=base + "/r", retries=2, backoff=0.01)
        self.assertEqual((out["status"], out["attempts"], len(h.seen)), (503, 3, 3))

    def test_no_retry_for_other_4xx_or_500(self):
        for status in (400, 404, 409, 500):
            base, h = scripted_server(self, [(status, {}, b"no", 0), (200, {}, b"yes", 0)])
            out = self.request(url=base + "/r", retries=3, backoff=0.01)
            self.assertEqual((out["status"], out["attempts"], len(h.seen)), (status, 1, 1))

    def test_post_is_not_retried_by_default_but_get_is(self):
        base, h = scripted_server(self, [(503, {}, b"", 0), (200, {}, b"ok", 0)])
        out = self.request(url=base + "/r", method="POST", body="x", backoff=0.01)
        self.assertEqual((out["status"], len(h.seen)), (503, 1))
        base, h = scripted_server(self, [(503, {}, b"", 0), (200, {}, b"ok", 0)])
        out = self.request(url=base + "/r", backoff=0.01)
        self.assertEqual((out["status"], len(h.seen)), (200, 2))

    def test_a_post_declared_idempotent_is_retried_after_a_broken_exchange(self):
        base, h = scripted_server(self, [(None, {}, b"", 0), (200, {}, b"ok", 0)])
        out = self.request(url=base + "/r", method="POST", body="x", backoff=0.01, idempotent=True)
        self.assertEqual((out["status"], out["attempts"], len(h.seen)), (200, 2, 2))
        self.assertEqual([s[3] for s in h.seen], [b"x", b"x"])
        base, h = scripted_server(self, [(None, {}, b"", 0), (200, {}, b"ok", 0)])
        out = self.request(url=base + "/r", method="POST", body="x", backoff=0.01, retries=3)
        self.assertIn("closed before a complete response", out["err"])
        self.assertEqual(len(h.seen), 1, "a plain POST is not replayed")

    def test_429_honours_retry_after(self):
        base, h = scripted_server(self, [(429, {"Retry-After": "1"}, b"slow down", 0), (200, {}, b"ok", 0)])
        out = self.request(url=base + "/r", retries=1, backoff=0.01)
        self.assertEqual((out["status"], out["attempts"]), (200, 2))
        self.assertGreaterEqual(h.seen[1][4] - h.seen[0][4], 0.95)

    def test_connection_refused_names_the_peer(self):
        down = RefusingPort(self)
        out = self.request(url=f"{down.url}/x", retries=2, backoff=0.01)
        self.assertEqual(out["err"], f"connect 127.0.0.1:{down.port}: Connection refused")

    def test_timeout(self):
        # The server holds its answer until the client has returned: only the client's
        # own timeout can have ended the request.
        answer = threading.Event()
        self.addCleanup(answer.set)
        base, h = scripted_server(self, [(200, {}, b"late", answer)])
        out = self.request(url=base + "/slow", timeout=0.3, retries=0)
        self.assertRegex(out["err"], r"^GET http://127\.0\.0\.1:\d+/slow: timed out after 0\.3 s")
        self.assertFalse(answer.is_set())
        self.assertGreaterEqual(out["elapsed"], 0.3)

    def test_usage_errors(self):
        out = run_lua(self, self.tmp, r'''
local http = require "hostsync.http"
local json = require "hostsync.json"
local msgs = {}
for _, f in ipairs {
  function() http.request("x") end,
  function() http.request{ url = "ftp://x" } end,
  function() http.request{ url = "http://x", retries = -1 } end,
  function() http.request{ url = "http://x", bogus = 1 } end,
  function() http.sse("http://x", {}) end,
  function() http.serve{ port = 1 } end,
} do
  local ok, err = pcall(f)
  msgs[#msgs + 1] = (not ok) and err:match("Usage: [^:]*") or "no error"
end
print(json.encode(msgs))
''')
        self.assertEqual(len(out), 6)
        for m in out:
            self.assertTrue(m.startswith("Usage: "), out)

    def test_json_helpers_and_sse_resume_against_hostsync_server(self):
        s = Server(self, threads=4)
        out = run_lua(self, self.tmp, r'''
local http = require "hostsync.http"
local json = require "hostsync.json"
local base = arg[1]
local out = {}
out.hello = http.get_json(base .. "/hello/ada?q=1")
local v, res = http.post_json(base .. "/json", { list = { 1, 2, 3 } })
out.posted, out.posted_status = v, res.status
local nv, err, r404 = http.get_json(base .. "/missing")
out.missing = { v = nv, err = err, status = r404.status }
-- The server sends three events after Last-Event-ID and closes; the client reconnects
-- with the last id it saw until it has seven tick events.
local events = {}
local ok, last = http.sse(base .. "/events", { last_event_id = "10", on_event = function(ev)
  events[#events + 1] = { id = ev.id, event = ev.event, data = ev.data }
  local ticks = 0
  for _, e in ipairs(events) do if e.event == "tick" then ticks = ticks + 1 end end
  return ticks < 7
end })
out.sse_ok, out.sse_last, out.events = ok, last, events
print(json.encode(out))
''', s.base)
        self.assertEqual(out["hello"], {"name": "ada", "q": "1", "method": "GET"})
        self.assertEqual((out["posted_status"], out["posted"]["got"]), (201, {"list": [1, 2, 3]}))
        self.assertNotIn("v", out["missing"])
        self.assertEqual(out["missing"]["status"], 404)
        self.assertRegex(out["missing"]["err"], r"^GET http://.*/missing: status 404: ")
        self.assertEqual((out["sse_ok"], out["sse_last"]), (True, "17"))
        hellos = [e["data"] for e in out["events"] if e["event"] == "hello"]
        self.assertEqual(hellos, ["seen last-event-id 10", "seen last-event-id 13", "seen last-event-id 16"])
        ticks = [e for e in out["events"] if e["event"] == "tick"]
        self.assertEqual([e["id"] for e in ticks], [str(i) for i in range(11, 18)])
        self.assertEqual(ticks[0]["data"], "event 11\nsecond line")
        self.assertEqual(s.terminate(), 0)

    def test_sse_callback_error_carries_its_traceback(self):
        s = Server(self, threads=4)
        out = run_lua(self, self.tmp, r'''
local http = require "hostsync.http"
local json = require "hostsync.json"
local function explode(ev) error("callback exploded on " .. ev.event) end
-- on_event's error is raised again by http.sse, with the traceback of where it happened
local ok, err = pcall(http.sse, arg[1] .. "/events", { on_event = function(ev) explode(ev) end })
print(json.encode({ ok = ok, err = err }))
''', s.base)
        self.assertIs(out["ok"], False)
        message, _, trace = out["err"].partition("stack traceback:")
        self.assertIn("callback exploded on hello", message)
        self.assertIn("explode", trace, "the traceback names the function that raised")
        self.assertEqual(s.terminate(), 0)

    def test_sse_reconnects_after_a_silent_connection(self):
        s = Server(self, threads=4)
        out = run_lua(self, self.tmp, r'''
local http = require "hostsync.http"
local json = require "hostsync.json"
local got = {}
local ok, last = http.sse(arg[1] .. "/quiet", { timeout = 0.5, reconnect_delay = 0.05,
  on_event = function(ev) got[#got + 1] = ev.id .. ":" .. ev.data; return #got < 2 end })
print(json.encode({ ok = ok, last = last, got = got }))
''', s.base)
        # /quiet stays silent until the server stops: the second event proves the client
        # gave up on the silent connection and resumed after event 1.
        self.assertEqual(out["got"], ["1:after nil", "2:after 1"])
        self.assertEqual((out["ok"], out["last"]), (True, "2"))
        self.assertEqual(s.terminate(), 0)


if __name__ == "__main__":
    main()
