"""Helpers for the HTTP e2e tests: start `http.serve` in a child process and find its port."""
import json
import os
import re
import signal
import subprocess
import threading
import time

from harness import HERE, HOSTSYNC
from waiting import HANG_GUARD

APP = HERE / "http_app.lua"
SERVE = HERE / "http_serve.lua"


class Server:
    """A `hostsync run http_serve.lua` child; stderr is collected in the background."""

    def __init__(self, test, **opts):
        opts.setdefault("script", str(APP))
        opts.setdefault("port", 0)
        self.proc = subprocess.Popen([HOSTSYNC, "run", str(SERVE), json.dumps(opts)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = []
        self._port = threading.Event()
        self.port = None
        self.scheme = "https" if "tls" in opts else "http"
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        test.addCleanup(self.kill)
        if not self._port.wait(HANG_GUARD):
            self.kill()
            raise AssertionError("server did not report its port:\n" + self.stderr())
        self.base = f"{self.scheme}://127.0.0.1:{self.port}"

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace")
            self.lines.append(line)
            m = re.match(r"listening on https?://127\.0\.0\.1:(\d+)$", line.strip())
            if m:
                self.port = int(m.group(1))
                self._port.set()
        self._port.set()

    def stderr(self):
        return "".join(self.lines)

    def wait(self, timeout=HANG_GUARD):
        """The exit status, once all of stderr has been read."""
        rc = self.proc.wait(timeout)
        self._reader.join(timeout)
        return rc

    def terminate(self, timeout=HANG_GUARD):
        self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(HANG_GUARD)
        self.proc.stdout.close()
        self.proc.stderr.close()


def run_lua(test, tmp, source, *args, timeout=60):
    """Runs a Lua client script; its last stdout line is JSON, returned decoded."""
    path = os.path.join(tmp, "client_%d.lua" % time.monotonic_ns())
    with open(path, "w") as f:
        f.write(source)
    proc = subprocess.run([HOSTSYNC, "run", path, *map(str, args)], capture_output=True,
                          timeout=timeout)
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    test.assertEqual(proc.returncode, 0, f"client failed:\n{out}\n{err}")
    return json.loads(out.strip().splitlines()[-1])


class EventStream:
    """GET PATH as a server-sent event stream; the constructor returns once the response
    head (200, text/event-stream) arrived, i.e. once the server has fixed the stream's
    start point."""

    def __init__(self, port, path, headers=None, timeout=60):
        import http.client
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.conn.request("GET", path, headers=headers or {})
        self.res = self.conn.getresponse()
        assert self.res.status == 200, (self.res.status, self.res.read())
        assert self.res.getheader("Content-Type").startswith("text/event-stream")

    def next(self):
        """-> (id, event, data) of the next event (id an int, data the text), or None once
        the server ended the stream. Comments (the server's ": ping") are skipped."""
        fields = {}
        while True:
            line = self.res.readline()
            if line == b"":
                return None
            line = line.decode().rstrip("\n")
            if line == "":
                if "data" in fields:
                    return int(fields["id"]), fields.get("event"), fields["data"]
                continue
            if not line.startswith(":"):
                k, v = line.split(": ", 1)
                fields[k] = v

    def take(self, n):
        """The next n events; fails if the stream ends first."""
        out = []
        for _ in range(n):
            ev = self.next()
            if ev is None:
                raise AssertionError(f"stream ended after {out}")
            out.append(ev)
        return out

    def close(self):
        self.conn.close()
