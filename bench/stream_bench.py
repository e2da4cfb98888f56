"""Open chat streams next to lock traffic, one `hostsync serve` on SQLite with its
default settings (8 worker threads). Run through bench/stream_bench.sh (which builds the
lock load generator). Not a test: the figures depend on the machine and its load.

Phases:
  0. the lock clients alone for SECONDS (no stream open): the same server's lock latency
     at this moment, for comparison (the machine's load moves p99 more than streams do);
  1. open STREAMS `GET /chat/stream` connections (bench/stream_readers.cpp: one epoll
     loop in C++, so the readers cost far less CPU than the server's fan-out they time);
  2. idle for IDLE seconds: the server's CPU (utime+stime from /proc) and RSS;
  3. CLIENTS lock clients (bench/lock_loadgen.cpp) acquire and release for SECONDS while
     one poster posts POSTS messages, one every SECONDS/POSTS s: each post's delivery
     time to every stream (post sent -> event read), the lock pairs' p50/p99 and errors;
  4. every stream must have received every post exactly once, in order.

Environment: HOSTSYNC, LOADGEN, READERS (set by stream_bench.sh), STREAMS (1000), CLIENTS (32),
SECONDS_RUN (10), POSTS (20), IDLE (30), THREADS (unset: the server's default),
OPEN_TIMEOUT (60: seconds to wait for the streams' response heads; a server that cannot
open them all is measured anyway, e.g. the thread-per-stream server before issue 11).
"""
import http.client
import json
import os
import pathlib
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HOSTSYNC = os.environ["HOSTSYNC"]
LOADGEN = os.environ["LOADGEN"]
READERS = os.environ["READERS"]
STREAMS = int(os.environ.get("STREAMS", "1000"))
CLIENTS = int(os.environ.get("CLIENTS", "32"))
SECONDS = float(os.environ.get("SECONDS_RUN", "10"))
POSTS = int(os.environ.get("POSTS", "20"))
OPEN_TIMEOUT = float(os.environ.get("OPEN_TIMEOUT", "60"))
IDLE = float(os.environ.get("IDLE", "30"))
THREADS = os.environ.get("THREADS")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * (len(xs) - 1) + 0.5))] if xs else 0.0


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def memory_mb(pid):
    status = open(f"/proc/{pid}/status").read()
    rss = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024
    hwm = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024
    return rss, hwm


def call(port, method, path, token, body=None, timeout=60):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        res = conn.getresponse()
        return res.status, json.loads(res.read() or b"null")
    finally:
        conn.close()


def token(db, agent, project="*"):
    return subprocess.run([HOSTSYNC, "run", "brain_admin.lua", "token", "create", "--ai", "bench", "--agent", agent,
                           "--machine", "m", "--project", project, "--db", str(db)],
                          check=True, capture_output=True, text=True).stdout.strip()


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = pathlib.Path(tempfile.mkdtemp(prefix="stream-bench-", dir=os.environ.get("BENCH_TMP")))
    server = None
    try:
        db = work / "brain.sqlite"
        reader_token, poster = token(db, "reader"), token(db, "poster")
        (work / "tokens").write_text("\n".join(token(db, f"a{i}", "P") for i in range(CLIENTS)) + "\n")
        args = [HOSTSYNC, "serve", "--port", "0", "--db", str(db)] + (["--threads", THREADS] if THREADS else [])
        server = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        line = server.stderr.readline()
        port = int(re.search(r"listening on http://127\.0\.0\.1:(\d+)", line).group(1))
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
        print(f"streams={STREAMS} clients={CLIENTS} seconds={SECONDS:g} posts={POSTS} "
              f"server_threads={THREADS or 'default (8)'}")
        print("load before:", open("/proc/loadavg").read().split()[:3])
        rss0, _ = memory_mb(server.pid)

        def lock_run():
            out = subprocess.run([LOADGEN, f"http://127.0.0.1:{port}", str(SECONDS), str(work / "tokens")],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit("load generator failed: " + out.stdout + out.stderr)
            return dict(kv.split("=") for kv in out.stdout.split()), out.stderr.strip()

        alone, _ = lock_run()
        print(f"locks alone: {alone['pairs_per_s']} pairs/s, p50 {alone['p50_ms']} ms, p99 {alone['p99_ms']} ms, "
              f"errors {alone['errors']}")

        t0 = time.monotonic()
        events_file = work / "events"
        readers = subprocess.Popen([READERS, str(port), reader_token, str(STREAMS), "/chat/stream", str(events_file)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        heads = int(readers.stdout.readline().split()[1])
        opened = time.monotonic() - t0
        print(f"opened {heads} of {STREAMS} streams in {opened:.2f} s; server RSS {rss0:.1f} MB before, "
              f"{memory_mb(server.pid)[0]:.1f} MB after")

        c0, w0 = cpu_seconds(server.pid), time.monotonic()
        time.sleep(IDLE)
        idle_cpu = (cpu_seconds(server.pid) - c0) / (time.monotonic() - w0) * 100
        rss_idle, _ = memory_mb(server.pid)
        print(f"idle {IDLE:g} s with {STREAMS} open streams: server CPU {idle_cpu:.2f}% of one core, RSS {rss_idle:.1f} MB")

        posts, post_status = [], []

        def post_loop():
            for i in range(POSTS):
                time.sleep(SECONDS / POSTS)
                sent = time.monotonic()
                try:
                    st, body = call(port, "POST", "/chat", poster, {"message": f"bench post {i}"}, timeout=10)
                except OSError as e:
                    st, body = f"no answer in 10 s ({e.__class__.__name__})", None
                post_status.append(st)
                if st == 201:
                    posts.append((body["id"], sent, time.monotonic()))

        poster_thread = threading.Thread(target=post_loop)
        c1, w1 = cpu_seconds(server.pid), time.monotonic()
        poster_thread.start()
        lock, lock_err = lock_run()
        poster_thread.join()
        busy_cpu = (cpu_seconds(server.pid) - c1) / (time.monotonic() - w1) * 100
        # Give the last post time to reach every stream (delivery is timed from the
        # readers' own timestamps, not from this wait).
        time.sleep(2)
        readers.stdin.close()
        ended = int(readers.stdout.readline().split()[1])
        readers.wait(60)
        received = [[] for _ in range(STREAMS)]
        for line in events_file.read_text().splitlines():
            i, eid, ns = line.split()
            received[int(i)].append((int(ns) / 1e9, int(eid)))
        want = [p[0] for p in posts]
        rss_end, hwm = memory_mb(server.pid)

        delays, per_post_all = [], []
        complete = 0
        sent_at = {p[0]: p[1] for p in posts}
        for r in received:
            if [i for _, i in r] == want:
                complete += 1
            delays += [(t - sent_at[i]) * 1000 for t, i in r if i in sent_at]
        for pid_, sent, _ in posts:
            arrivals = [t for r in received for t, i in r if i == pid_]
            if len(arrivals) == STREAMS:
                per_post_all.append((max(arrivals) - sent) * 1000)
        post_rtt = [(done - sent) * 1000 for _, sent, done in posts]

        print(f"locks with the streams and posts: {lock['pairs_per_s']} pairs/s, p50 {lock['p50_ms']} ms, "
              f"p99 {lock['p99_ms']} ms, errors {lock['errors']} ({lock['pairs']} pairs); "
              f"p99 ratio with/alone {float(lock['p99_ms']) / max(float(alone['p99_ms']), 0.001):.2f}")
        if lock_err:
            print("  load generator:", lock_err.replace("\n", "\n  "))
        print(f"posts: {post_status.count(201)}/{POSTS} answered 201; POST round trip p50 {percentile(post_rtt, .5):.1f} ms, "
              f"max {max(post_rtt, default=0):.1f} ms")
        if post_status.count(201) < POSTS:
            print("  failed posts:", sorted(set(map(str, post_status)) - {"201"}))
        print(f"delivery (post sent -> event read, {len(delays)} events): p50 {percentile(delays, .5):.1f} ms, "
              f"p99 {percentile(delays, .99):.1f} ms, max {max(delays, default=0):.1f} ms")
        print(f"a post reaching all {STREAMS} streams: p50 {percentile(per_post_all, .5):.1f} ms, "
              f"p99 {percentile(per_post_all, .99):.1f} ms ({len(per_post_all)}/{len(posts)} posts reached all)")
        print(f"streams with every post exactly once, in order: {complete}/{STREAMS}; streams ended early: {ended}")
        print(f"server CPU under load: {busy_cpu:.0f}% of one core; RSS {rss_end:.1f} MB, peak {hwm:.1f} MB")
        print("load after:", open("/proc/loadavg").read().split()[:3])
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
