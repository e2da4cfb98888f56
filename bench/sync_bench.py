#!/usr/bin/env python3
"""Sync throughput (issue 6): `hostsync serve` on a fresh database, a user token, then
this driver pushes N items in batches and pulls them all (one keep-alive connection). Runs the server with
the default policy (policies/truth_hierarchy.lua) and with bench/noop_policy.lua on
SQLite (alternating, --repeat times), and with the default policy on PostgreSQL
(tests/e2e/pgserver.py). Prints items/s, the policy overhead and SQLite/PostgreSQL.

For each timed phase the driver reports its own CPU time (os.clock) and the server's
(from /proc/PID/stat), so it shows who the bottleneck is: the side whose CPU time comes
close to the wall time."""
import argparse
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import http.client

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from pgserver import PgServer  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(self, hostsync, db, policy, threads):
        args = [hostsync, "serve", "--port", "0", "--threads", str(threads), "--db", db]
        if policy:
            args += ["--sync-policy", policy]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.port, ready = None, threading.Event()

        def read():
            for line in self.proc.stderr:
                m = re.match(r"listening on http://127\.0\.0\.1:(\d+)$", line.strip())
                if m:
                    self.port = int(m.group(1))
                    ready.set()
                elif line.strip() and "shutting down" not in line:
                    sys.stderr.write("server: " + line)
            ready.set()
        threading.Thread(target=read, daemon=True).start()
        ready.wait(60)
        if self.port is None:
            self.stop()
            raise SystemExit("server did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def server_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


FILLER = "lorem ipsum dolor sit amet " * 6


def drive(port, token, pid, items, batch, page):
    """Pushes `items` new notes in batches, then pulls the whole feed; one keep-alive
    connection. Bodies are encoded before the clock starts. Returns the rates and, per
    phase, the CPU seconds of the driver (this process) and of the server."""
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    run_id = str(time.time_ns())
    bodies = []
    for b in range(0, items, batch):
        bodies.append(json.dumps({"items": [{
            "mutation_id": f"{run_id}-{i}", "entity_type": "note", "entity_id": f"n{i}", "origin_source": "user:bench",
            "origin_chain": [], "version": 0, "last_modified_at": "2026-01-01T00:00:00.000Z", "deleted": False,
            "payload": {"title": f"note {i}", "body": FILLER, "n": i}} for i in range(b, min(items, b + batch))]}).encode())
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def request(method, path, body=None):
        conn.request(method, path, body=body, headers=headers)
        res = conn.getresponse()
        data = res.read()
        if res.status != 200:
            raise SystemExit(f"{method} {path}: status {res.status}: {data[:300]!r}")
        return data

    r = {"items": items, "batch": batch}
    t0, c0, s0 = time.monotonic(), time.process_time(), server_cpu(pid)
    applied = 0
    for body in bodies:
        results = json.loads(request("POST", "/sync/push", body))["results"]
        applied += sum(1 for x in results if x["status"] == "applied")
    r["push_s"], r["push_driver_cpu_s"], r["push_server_cpu_s"] = \
        time.monotonic() - t0, time.process_time() - c0, server_cpu(pid) - s0
    t0, c0, s0 = time.monotonic(), time.process_time(), server_cpu(pid)
    pulled, since = 0, 0
    # Only the envelope's tail is parsed (the server writes "next" and "more" last) and
    # the changes are counted, not decoded: decoding them cost the driver as much CPU as
    # the server spent producing them. The first page is decoded in full as a check.
    first = True
    while True:
        data = request("GET", f"/sync/pull?since={since}&limit={page}")
        tail = json.loads(b"{" + data[data.rindex(b'"next":'):])
        n = data.count(b'{"kind":')
        if first:
            assert len(json.loads(data)["changes"]) == n, "the feed's format changed: count by decoding"
            first = False
        pulled += n
        since = tail["next"]
        if not tail["more"]:
            break
    r["pull_s"], r["pull_driver_cpu_s"], r["pull_server_cpu_s"] = \
        time.monotonic() - t0, time.process_time() - c0, server_cpu(pid) - s0
    conn.close()
    if applied != items or pulled != items:
        raise SystemExit(f"pushed {items}: {applied} applied; pulled {pulled}")
    r["push_items_per_s"], r["pull_items_per_s"] = items / r["push_s"], pulled / r["pull_s"]
    return r


def run_one(hostsync, db, policy, items, batch, threads):
    token = subprocess.run([hostsync, "run", "brain_admin.lua", "token", "create", "--ai", "bench", "--agent", "bench",
                            "--machine", "m", "--project", "*", "--tenant", "bench", "--level", "user", "--db", db],
                           capture_output=True, text=True, check=True).stdout.strip()
    srv = Server(hostsync, db, policy, threads)
    try:
        return drive(srv.port, token, srv.proc.pid, items, batch, 5000)
    finally:
        srv.stop()


def fresh_sqlite(workdir, name):
    path = os.path.join(workdir, name + ".sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return path


def line(label, r):
    return (f"{label:<28} push {r['push_items_per_s']:>9,.0f} items/s ({r['push_s']:.2f} s)   "
            f"pull {r['pull_items_per_s']:>9,.0f} items/s ({r['pull_s']:.2f} s)   "
            f"cpu push: server {r['push_server_cpu_s']:.2f} s, driver {r['push_driver_cpu_s']:.2f} s; "
            f"pull: server {r['pull_server_cpu_s']:.2f} s, driver {r['pull_driver_cpu_s']:.2f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hostsync", default=os.environ.get("HOSTSYNC", str(ROOT / "build" / "hostsync")))
    ap.add_argument("--items", type=int, default=100000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3, help="SQLite runs per policy (median and best are reported)")
    ap.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    a = ap.parse_args()
    noop = str(HERE / "noop_policy.lua")
    print(f"sync bench: {a.items} items, batches of {a.batch}, {a.threads} server threads; "
          f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min)")
    workdir = tempfile.mkdtemp(prefix="hostsync-syncbench-")
    try:
        best = {}
        for i in range(a.repeat):
            for label, policy in (("sqlite truth_hierarchy", None), ("sqlite noop policy", noop)):
                r = run_one(a.hostsync, fresh_sqlite(workdir, "bench"), policy, a.items, a.batch, a.threads)
                print(line(f"{label} #{i + 1}", r), flush=True)
                best.setdefault(label, []).append(r)
        pg = None
        if not a.no_pg and PgServer.available():
            with PgServer() as server:
                pg = run_one(a.hostsync, server.url, None, a.items, a.batch, a.threads)
                print(line("postgres truth_hierarchy", pg), flush=True)
        # Median and best of the repeats: the machine is shared, and noise only slows.
        def summary(runs):
            push = sorted(r["push_items_per_s"] for r in runs)
            pull = sorted(r["pull_items_per_s"] for r in runs)
            return {"push_med": statistics.median(push), "push_best": push[-1],
                    "pull_med": statistics.median(pull), "pull_best": pull[-1],
                    "push_s_med": statistics.median(r["push_s"] for r in runs)}
        t, n = summary(best["sqlite truth_hierarchy"]), summary(best["sqlite noop policy"])
        print()
        for label, x in (("sqlite truth_hierarchy", t), ("sqlite noop policy", n)):
            print(f"{label:<24} push median {x['push_med']:>9,.0f}/s (best {x['push_best']:,.0f})   "
                  f"pull median {x['pull_med']:>9,.0f}/s (best {x['pull_best']:,.0f})")
        overhead = (t["push_s_med"] - n["push_s_med"]) / n["push_s_med"] * 100
        print(f"policy overhead on push (medians): {overhead:+.1f}% (target <= 25%)")
        print(f"targets (medians): push >= 20,000/s: {'met' if t['push_med'] >= 20000 else 'NOT met'}; "
              f"pull >= 50,000/s: {'met' if t['pull_med'] >= 50000 else 'NOT met'}")
        if pg:
            print(f"SQLite/PostgreSQL (medians vs the one PostgreSQL run): "
                  f"push {t['push_med'] / pg['push_items_per_s']:.2f}x, pull {t['pull_med'] / pg['pull_items_per_s']:.2f}x")
        print(f"load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    finally:
        shutil.rmtree(workdir, True)


if __name__ == "__main__":
    main()
