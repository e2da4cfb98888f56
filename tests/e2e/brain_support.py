"""Helpers for the brain e2e tests: a `hostsync serve` child, tokens, JSON requests."""
import json
import re
import signal
import subprocess
import threading
import urllib.error
import urllib.request

from harness import HOSTSYNC
from waiting import HANG_GUARD


def make_token(db, ai="claude", agent="marcus", machine="m1", project="P"):
    proc = subprocess.run([HOSTSYNC, "run", "brain_admin.lua", "token", "create", "--ai", ai, "--agent", agent,
                           "--machine", machine, "--project", project, "--db", str(db)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


class Brain:
    """`hostsync serve --port PORT --db DB [extra flags]` (port 0: the kernel picks); stderr
    collected in the background."""

    def __init__(self, test, db, threads=8, cwd=None, port=0, extra=(), env=None, wrapper=()):
        """extra: more flags for hostsync serve; env: the server's environment (default:
        the test's); wrapper: a command that runs hostsync serve (e.g. unshare ... --)."""
        args = [*wrapper, HOSTSYNC, "serve", "--port", str(port), "--threads", str(threads)] + (["--db", str(db)] if db else [])
        args += list(extra)
        self.proc = subprocess.Popen(args,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd, env=env)
        self.lines = []
        self._ready = threading.Event()
        self.port = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        test.addCleanup(self.kill)
        if not self._ready.wait(HANG_GUARD) or self.port is None:
            self.kill()
            raise AssertionError("brain did not start:\n" + "".join(self.lines))
        self.base = f"http://127.0.0.1:{self.port}"

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace")
            self.lines.append(line)
            m = re.match(r"listening on http://127\.0\.0\.1:(\d+)$", line.strip())
            if m:
                self.port = int(m.group(1))
                self._ready.set()
        self._ready.set()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        self.proc.stderr.close()


def call(base, method, path, token=None, body=None, raw=None, headers=None, timeout=HANG_GUARD):
    """-> (status, decoded JSON body or None)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            status, text = res.status, res.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text.decode("utf-8", "replace")


def read_sse(port, token, last_id, count, timeout=HANG_GUARD, on_open=None):
    """Reads `count` chat events from /chat/stream after last_id -> [(id, message)].
    on_open() runs once the response head arrived (the stream's start point is fixed)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Authorization": "Bearer " + token}
    if last_id is not None:
        headers["Last-Event-ID"] = str(last_id)
    conn.request("GET", "/chat/stream", headers=headers)
    res = conn.getresponse()
    assert res.status == 200, res.status
    if on_open:
        on_open()
    events, cur = [], {}
    while len(events) < count:
        line = res.fp.readline().decode()
        if line == "":
            raise AssertionError("stream ended early")
        line = line.rstrip("\r\n")
        if line == "":
            if cur.get("event") == "chat":
                events.append((int(cur["id"]), json.loads(cur["data"])))
            cur = {}
        elif ":" in line and not line.startswith(":"):
            k, v = line.split(":", 1)
            cur[k] = v[1:] if v.startswith(" ") else v
    conn.close()
    return events


def race_for_lock(test, bases, tokens, lock, rounds, workdir):
    """Starts one brain_client.py "race" process per token (spread over `bases`, the
    servers' URLs), each taking `lock` `rounds` times and proving exclusivity with a
    witness file it creates exclusively; returns the fencing tokens in grant order."""
    import os
    import sys
    client = os.path.join(os.path.dirname(os.path.abspath(__file__)), "brain_client.py")
    witness, log = os.path.join(workdir, "witness"), os.path.join(workdir, "fences.log")
    os.mkdir(witness)
    procs = [subprocess.Popen([sys.executable, client, "race", bases[i % len(bases)], t, lock, str(rounds),
                               witness, log], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i, t in enumerate(tokens)]

    def reap():
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.communicate()
    test.addCleanup(reap)
    for p in procs:
        _, err = p.communicate(timeout=300)
        test.assertEqual(p.returncode, 0, err.decode())
    with open(log) as f:
        return [int(x) for x in f.read().split()]

