"""A bounded fuzz of every route of the brain: mutated JSON bodies (and query strings and
path parameters) derived from one valid request per route. No answer may be a 500 or
anything but a known status, the server must not crash or log an error, and it must go on
serving. About 10,000 requests, from fixed seeds printed at the start; to replay one:

    HOSTSYNC_FUZZ_SEED=N [HOSTSYNC_FUZZ_COUNT=2500] python3 tests/e2e/test_brain_fuzz.py

Every route of `brain_admin.lua routes --json` needs a valid request in VALID below, so a
new route is fuzzed too (the test fails until it has one).
"""
import collections
import http.client
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import traceback
import unittest
import urllib.parse
import uuid

from brain_support import Brain
from harness import hostsync

SEEDS = (1101, 2202, 3303, 4404)
PER_SEED = 2500
KNOWN = {200, 201, 400, 403, 404, 405, 409, 410, 413, 414, 415}

AT = "2025-11-24T16:00:00Z"


def sync_item(eid="fz"):
    return {"entity_type": "note", "entity_id": eid, "origin_source": "user:desk", "truth_level": 1,
            "origin_chain": [{"level": 1, "source": "user:desk", "timestamp": AT}], "version": 0,
            "last_modified_at": AT, "payload": {"title": "t", "n": 1}, "mutation_id": str(uuid.uuid4())}


# (method, path pattern) -> (path, query, body): one valid request; path parameters are
# filled in and fuzzed separately.
VALID = {
    ("GET", "/"): ("/", {}, None),
    ("GET", "/view/:file"): ("/view/{file}", {}, None),
    ("POST", "/locks/:name/acquire"): ("/locks/{name}/acquire", {}, {"ttl_seconds": 30, "project": "web", "reason": "fuzz"}),
    ("POST", "/locks/:name/renew"): ("/locks/{name}/renew", {}, {"fencing_token": 1, "ttl_seconds": 30}),
    ("POST", "/locks/:name/release"): ("/locks/{name}/release", {}, {"fencing_token": 1}),
    ("GET", "/locks/:name"): ("/locks/{name}", {}, None),
    ("GET", "/sync/state"): ("/sync/state", {"project": "web"}, None),
    ("POST", "/sync/state"): ("/sync/state", {}, {"project": "web", "commit": "abc123", "message": "feat: x"}),
    ("POST", "/chat"): ("/chat", {}, {"type": "chat", "message": "hi @milo", "project": "web", "metadata": {"k": [1, 2]}}),
    ("GET", "/chat"): ("/chat", {"since": "0", "limit": "10"}, None),
    ("GET", "/chat/stream"): ("/chat/stream", {"since": "0"}, None),
    ("POST", "/handoffs"): ("/handoffs", {}, {"to_agent": "milo", "artifact": "a.tsx", "context": "c",
                                              "dependencies": {"brand": "applied"}, "project": "web", "message": "m"}),
    ("GET", "/handoffs"): ("/handoffs", {"to": "milo", "status": "open"}, None),
    ("POST", "/tasks"): ("/tasks", {}, {"title": "QA", "project": "web", "assigned_to": "milo", "status": "pending"}),
    ("GET", "/tasks"): ("/tasks", {"project": "web", "assigned_to": "milo", "status": "open"}, None),
    ("GET", "/tasks/:id"): ("/tasks/{id}", {}, None),
    ("POST", "/tasks/:id"): ("/tasks/{id}", {}, {"status": "in_progress", "assigned_to": "marcus", "note": "on it"}),
    ("GET", "/handoffs/:id"): ("/handoffs/{id}", {}, None),
    ("POST", "/handoffs/:id/ack"): ("/handoffs/{id}/ack", {}, {"note": "picked up"}),
    ("POST", "/handoffs/:id/summary"): ("/handoffs/{id}/summary", {}, {"summary": "## Session Handoff\n- [x] done"}),
    ("GET", "/inbox"): ("/inbox", {"since": "0", "limit": "10", "project": "web"}, None),
    ("POST", "/conflicts"): ("/conflicts", {}, {"project": "web", "files": ["a.lua", "b.lua"], "local_commit": "abc",
                                                "upstream_commit": "def", "summary": "s", "coordinator": "marcus"}),
    ("GET", "/conflicts"): ("/conflicts", {"project": "web", "status": "open"}, None),
    ("POST", "/conflicts/:id/assign"): ("/conflicts/{id}/assign", {}, {"to": "milo"}),
    ("POST", "/conflicts/:id/resolve"): ("/conflicts/{id}/resolve", {}, {"resolution": "fixed in abc"}),
    ("POST", "/sync/push"): ("/sync/push", {}, {"items": [sync_item()]}),
    ("GET", "/sync/pull"): ("/sync/pull", {"since": "0", "limit": "100"}, None),
    ("GET", "/sync/events"): ("/sync/events", {"since": "0", "limit": "100", "entity_type": "note"}, None),
    ("GET", "/sync/stream"): ("/sync/stream", {"since": "0"}, None),
    ("POST", "/sync/conflict-resolve"): ("/sync/conflict-resolve", {}, {"entity_type": "note", "entity_id": "fz",
                                                                        "base_version": 0, "payload": {"m": 1}}),
    ("GET", "/sync/tenant"): ("/sync/tenant", {}, None),
    ("POST", "/sync/tenant"): ("/sync/tenant", {}, {"vault_mode": "local_first"}),
    ("GET", "/sync/policy"): ("/sync/policy", {}, None),
    ("GET", "/whoami"): ("/whoami", {}, None),
}

# The web view's routes answer files (HTML, JavaScript); their errors are JSON like the rest.
VIEW_FILES = {"/", "/view/:file"}

STRINGS = ["", " ", "web", "other", "*", "push:web", "a" * 300, "x" * 20000, "\u00e9\u4e2d\U0001F600", "\x00", "a\x00b",
           "\ud800", "@milo @@ @", "' OR 1=1 --", "%00", "../../etc/passwd", "null", "\n\r\t", "2025-11-24T16:00:00Z",
           "9999-12-31T23:59:59Z", "-1", "1e999", "NaN"]
NUMBERS = [0, -1, 1, 2, 86400, 86401, 2 ** 31, 2 ** 53, 2 ** 53 + 1, 2 ** 63, 2 ** 64, -2 ** 63, 0.5, -0.0, 1e308,
           -1e308, 1e-300, 3.0]
RAW_NUMBERS = ["1e999", "-1e999", "NaN", "Infinity", "-Infinity", "00", "01", "1.", ".5", "+1", "0x10", "1e", "-",
               "123456789012345678901234567890", "1E400"]


def deep(depth, kind):
    v = 1
    for _ in range(depth):
        v = [v] if kind == "a" else {"k": v}
    return v


def random_value(rng):
    r = rng.random()
    if r < 0.25:
        return rng.choice(STRINGS)
    if r < 0.5:
        return rng.choice(NUMBERS)
    if r < 0.6:
        return rng.choice([None, True, False])
    if r < 0.7:
        return rng.choice([{}, [], [None], {"": None}, {"a": {"b": {"c": []}}}])
    if r < 0.8:
        return deep(rng.choice([10, 100, 511, 513, 600]), rng.choice("ao"))
    if r < 0.9:
        return [rng.choice(STRINGS) for _ in range(rng.choice([1, 100, 1500]))]
    return {rng.choice(STRINGS)[:40] + str(i): rng.choice(NUMBERS) for i in range(rng.choice([1, 50, 500]))}


def nodes(v, path=()):
    """Every (path, value) inside a JSON value, the root included."""
    yield path, v
    if isinstance(v, dict):
        for k, x in v.items():
            yield from nodes(x, path + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from nodes(x, path + (i,))


def replace(v, path, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(v, dict):
        out = dict(v)
    else:
        out = list(v)
    out[head] = replace(v[head], rest, new)
    return out


def mutate_value(rng, body):
    """A structural mutation of a decoded body -> a new value."""
    all_nodes = list(nodes(body))
    path, node = rng.choice(all_nodes)
    op = rng.random()
    if op < 0.45:
        return replace(body, path, random_value(rng))
    if op < 0.6 and isinstance(node, dict) and node:
        k = rng.choice(list(node))
        return replace(body, path, {x: y for x, y in node.items() if x != k})
    if op < 0.75 and isinstance(node, dict):
        return replace(body, path, {**node, rng.choice(STRINGS)[:50]: random_value(rng)})
    if op < 0.85 and isinstance(node, (dict, list)):
        return replace(body, path, list(node.values()) if isinstance(node, dict) else {str(i): x for i, x in enumerate(node)})
    if op < 0.95 and isinstance(node, list):
        return replace(body, path, node * rng.choice([2, 50]))
    return replace(body, path, random_value(rng))


def mutate_text(rng, text):
    """A byte-level mutation of JSON text -> bytes."""
    b = bytearray(text)
    op = rng.random()
    if op < 0.2 and b:
        return bytes(b[:rng.randrange(len(b))])                                 # truncated
    if op < 0.35 and b:
        i = rng.randrange(len(b))
        b[i] = rng.randrange(256)                                               # one byte changed
        return bytes(b)
    if op < 0.5:
        i = rng.randrange(len(b) + 1)
        return bytes(b[:i]) + bytes(rng.randrange(256) for _ in range(rng.randint(1, 8))) + bytes(b[i:])
    if op < 0.6:
        return text.replace(b"1", rng.choice(RAW_NUMBERS).encode(), 1)          # numbers JSON does not have
    if op < 0.65:
        return b"\xef\xbb\xbf" + text                                           # a BOM
    if op < 0.7:
        n = rng.choice([513, 5000, 100000])                                     # nesting past any limit
        return b"[" * n + text + b"]" * n
    if op < 0.8:
        return text + rng.choice([b"x", b" {}", b"\x00", b",", b"\n\n"])        # trailing bytes
    if op < 0.9 and text.startswith(b"{") and len(text) > 2:
        k = rng.choice([b'"project"', b'"message"', b'"items"', b'"ttl_seconds"'])
        return b"{" + k + b': 1, ' + k + b': "x", ' + text[1:]                   # duplicate keys
    return rng.choice([b"", b"null", b"[]", b"1", b'"s"', b"{", b"}", b"\xff\xfe", b"{\"a\":\"\xc3\x28\"}"])


def mutate_query(rng, query):
    q = dict(query)
    keys = list(q) + ["since", "limit", "project", "status", "to", "entity_id", "x"]
    k = rng.choice(keys)
    q[k] = rng.choice(STRINGS + [str(n) for n in NUMBERS] + RAW_NUMBERS)
    return q


def mutate_param(rng, value):
    return rng.choice([value, "", "a" * 250, "%00", "%2F", "x:y", "push:", ":web", "push:other", "deploy", "0",
                       "-1", "1e999", "99999999999999999999", "%E2%82", "\u00e9", "..", "%25"])


class BrainFuzzTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hostsync-fuzz-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "brain.sqlite")
        self.token = hostsync("run", "brain_admin.lua", "token", "create", "--ai", "claude", "--agent", "marcus",
                              "--machine", "m1", "--project", "web,other", "--tenant", "t1", "--level", "user",
                              "--db", self.db, check=True).out.strip()
        self.brain = Brain(self, self.db, threads=4)

    def request(self, conn, method, path, body):
        headers = {"Authorization": "Bearer " + self.token}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        res = conn.getresponse()
        if res.getheader("Content-Type", "").startswith("text/event-stream"):
            res.close()   # a stream: its head is the answer; the server notices the close
            conn.close()
            return res.status, None
        data = res.read()
        if res.will_close:
            conn.close()
        return res.status, data

    def run_seed(self, seed, count, failures, tally):
        try:
            self.requests(seed, count, failures, tally)
        except Exception:  # a bug in this test must fail it, not end a thread quietly
            failures.append(f"seed {seed}: the fuzzer failed:\n{traceback.format_exc()}")

    def requests(self, seed, count, failures, tally):
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", self.brain.port, timeout=60)
        routes = sorted(VALID)
        try:
            for i in range(count):
                method, pattern = routes[rng.randrange(len(routes))]
                path, query, body = VALID[(method, pattern)]
                name = mutate_param(rng, "fz:web") if rng.random() < 0.2 else "fz:web"
                cid = mutate_param(rng, "1") if rng.random() < 0.2 else "1"
                file = mutate_param(rng, "main.js") if rng.random() < 0.2 else "main.js"
                path = path.replace("{name}", urllib.parse.quote(name, safe="%:")).replace("{id}", urllib.parse.quote(cid, safe="%"))
                path = path.replace("{file}", urllib.parse.quote(file, safe="%"))
                if rng.random() < 0.3:
                    query = mutate_query(rng, query)
                if query:
                    path += "?" + urllib.parse.urlencode(query, errors="surrogatepass")
                raw = None
                if body is not None:
                    if "items" in body:
                        body = {"items": [sync_item(f"fz{rng.randrange(20)}")]}
                    r = rng.random()
                    if r < 0.5:
                        raw = json.dumps(mutate_value(rng, body), ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
                    elif r < 0.85:
                        raw = mutate_text(rng, json.dumps(body).encode())
                    else:
                        raw = json.dumps(body).encode()
                try:
                    status, data = self.request(conn, method, path, raw)
                except (OSError, http.client.HTTPException) as e:
                    failures.append(f"seed {seed} request {i}: {method} {path[:200]}: transport error {e!r} "
                                    f"(body {raw[:200] if raw else None!r})")
                    conn.close()
                    if self.brain.proc.poll() is not None:
                        return
                    continue
                tally[(method, pattern, status)] += 1
                if status not in KNOWN:
                    failures.append(f"seed {seed} request {i}: {method} {path[:200]} -> {status} {data[:300] if data else b''!r} "
                                    f"(body {raw[:300] if raw else None!r})")
                elif data is not None and data and not (pattern in VIEW_FILES and status == 200):
                    try:
                        json.loads(data)
                    except ValueError:
                        failures.append(f"seed {seed} request {i}: {method} {path[:200]} -> {status}: not JSON: {data[:200]!r}")
        finally:
            conn.close()

    def test_fuzz_every_route(self):
        sys.setrecursionlimit(20000)   # the mutator walks values 600 levels deep
        routes = {(r["method"], r["path"]) for r in
                  map(json.loads, hostsync("run", "brain_admin.lua", "routes", "--json", check=True).out.splitlines())}
        self.assertEqual(sorted(routes - set(VALID)), [], "routes without a valid request to fuzz from (add to VALID)")
        seeds = SEEDS
        count = PER_SEED
        if os.environ.get("HOSTSYNC_FUZZ_SEED"):
            seeds = (int(os.environ["HOSTSYNC_FUZZ_SEED"]),)
            count = int(os.environ.get("HOSTSYNC_FUZZ_COUNT", PER_SEED))
        print(f"fuzz: seeds {', '.join(map(str, seeds))}, {count} requests each "
              f"(replay one: HOSTSYNC_FUZZ_SEED=N python3 {os.path.basename(__file__)})", file=sys.stderr)
        # A conflict, a task and a handoff (to and from this token's agent) with id 1 for
        # the :id routes to reach, and valid data for the reads.
        conn = http.client.HTTPConnection("127.0.0.1", self.brain.port, timeout=60)
        for path, body in (("/conflicts", VALID[("POST", "/conflicts")][2]), ("/tasks", {"title": "t", "project": "web"}),
                           ("/handoffs", {"to_agent": "marcus", "project": "web"})):
            self.assertEqual(self.request(conn, "POST", path, json.dumps(body).encode())[0], 201, path)
        conn.close()
        failures, tally = [], collections.Counter()
        threads = [threading.Thread(target=self.run_seed, args=(s, count, failures, tally)) for s in seeds]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        by_route = collections.defaultdict(dict)
        for (method, pattern, status), n in sorted(tally.items()):
            by_route[f"{method} {pattern}"][status] = n
        print("fuzz: answers per route: " + "; ".join(f"{r} {d}" for r, d in by_route.items()), file=sys.stderr)
        self.assertEqual(failures[:10], [], f"{len(failures)} bad answers")
        # Still serving, nothing logged as an error, and every valid request still works.
        self.assertIsNone(self.brain.proc.poll(), "the server died")
        conn = http.client.HTTPConnection("127.0.0.1", self.brain.port, timeout=60)
        self.assertEqual(self.request(conn, "GET", "/whoami", None)[0], 200)
        for (method, _), (path, query, body) in sorted(VALID.items()):
            if "{" in path or path in ("/chat/stream", "/sync/stream"):
                continue
            url = path + ("?" + urllib.parse.urlencode(query) if query else "")
            if "items" in (body or {}):
                body = {"items": [sync_item("after-fuzz")]}
            st, _ = self.request(conn, method, url, json.dumps(body).encode() if body is not None else None)
            self.assertIn(st, (200, 201, 409), (method, url))
        conn.close()
        log = "".join(self.brain.lines)
        self.assertNotIn("stack traceback", log)
        self.assertNotIn("internal server error", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
