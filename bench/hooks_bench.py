"""Hook overhead and the MCP round trip. Run through bench/hooks_bench.sh.

Overhead: for locks (acquire + release pairs) and chat posts, CLIENTS clients of
bench/lock_loadgen.cpp run SECONDS against a fresh `hostsync serve` (SQLite, group
commit) without hooks, then against one with bench/all_hooks.lua, which handles every
event. Prints both rates and with/without. A post with hooks also queues an event that
the background runner handles; the backlog left when the load stops, and how long it
took to drain, are printed too (the rate alone would hide a runner that falls behind).

MCP: `hostsync mcp` spawned against a local server, JSON-RPC over its stdio (one JSON
message per line, as the MCP stdio transport frames them); MCP_CALLS calls of chat_read
and of chat_post after a warm-up, each timed from writing the request to reading its
answer.
"""
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
HOSTSYNC = os.environ["HOSTSYNC"]
LOADGEN = os.environ["LOADGEN"]
CLIENTS = int(os.environ.get("CLIENTS", "16"))
SECONDS = float(os.environ.get("SECONDS_RUN", "8"))
MCP_CALLS = int(os.environ.get("MCP_CALLS", "500"))
ROUNDS = int(os.environ.get("ROUNDS", "1"))   # alternating rounds; medians are reported


def tokens(db, n):
    out = []
    for i in range(n):
        p = subprocess.run([HOSTSYNC, "run", "brain_admin.lua", "token", "create", "--ai", "bench", "--agent", f"a{i}",
                            "--machine", "m", "--project", "P", "--db", str(db)], check=True, capture_output=True, text=True)
        out.append(p.stdout.strip())
    return out


def start(db, work, hooks):
    config = work / "serve.json"
    config.write_text(json.dumps({"hooks": str(HERE / "all_hooks.lua")} if hooks else {}))
    server = subprocess.Popen([HOSTSYNC, "serve", "--port", "0", "--threads", str(CLIENTS), "--db", str(db),
                               "--no-web", "--config", str(config)], stderr=subprocess.PIPE, text=True)
    line = server.stderr.readline()
    m = re.search(r"listening on (http://\S+)", line)
    if not m:
        raise SystemExit("hostsync serve did not start: " + line + server.stderr.read())
    return server, m.group(1)


def events(db):
    p = subprocess.run([HOSTSYNC, "run", "brain_admin.lua", "hooks", "--json", "--limit", "1", "--db", str(db)],
                       check=True, capture_output=True, text=True)
    return json.loads(p.stdout)["events"]


def cpu_seconds(pid):
    """utime + stime of a process, all threads, from /proc (clock ticks -> s)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(mode, hooks):
    work = pathlib.Path(tempfile.mkdtemp(prefix="hooks-bench-", dir=os.environ.get("BENCH_TMP")))
    try:
        db = work / "brain.sqlite"
        (work / "tokens").write_text("\n".join(tokens(db, CLIENTS)) + "\n")
        server, url = start(db, work, hooks)
        try:
            args = [LOADGEN, url, str(SECONDS), str(work / "tokens")] + (["--chat"] if mode == "chat" else [])
            cpu_before = cpu_seconds(server.pid)
            out = subprocess.run(args, capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit("load generator failed: " + out.stdout + out.stderr)
            if out.stderr.strip():
                print("  load generator:", out.stderr.strip().replace("\n", "\n  "))
            fields = dict(kv.split("=") for kv in out.stdout.split())
            note = ""
            if hooks:
                stopped = time.monotonic()
                backlog = events(db).get("pending", 0)
                while events(db).get("pending", 0) > 0:
                    time.sleep(0.2)   # polling the backlog: only its end is reported
                ev = events(db)
                note = (f"  backlog at stop {backlog}, drained in {time.monotonic() - stopped:.1f} s; "
                        f"events {ev}")
            # The server's CPU per request, the hooks runner's work included (the backlog
            # has drained): what hooks cost whatever the machine's load.
            cpu_us = 1e6 * (cpu_seconds(server.pid) - cpu_before) / int(fields["pairs"])
            return float(fields["pairs_per_s"]), float(fields["p50_ms"]), float(fields["p99_ms"]), cpu_us, note
        finally:
            server.terminate()
            server.wait(60)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def mcp():
    work = pathlib.Path(tempfile.mkdtemp(prefix="mcp-bench-", dir=os.environ.get("BENCH_TMP")))
    try:
        db = work / "brain.sqlite"
        (work / "token").write_text(tokens(db, 1)[0] + "\n")
        server, url = start(db, work, False)
        client = subprocess.Popen([HOSTSYNC, "mcp", "--server", url, "--token-file", str(work / "token")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        seq = [0]

        def rpc(method, params=None, notify=False):
            msg = {"jsonrpc": "2.0", "method": method}
            if params is not None:
                msg["params"] = params
            if not notify:
                seq[0] += 1
                msg["id"] = seq[0]
            client.stdin.write(json.dumps(msg) + "\n")
            client.stdin.flush()
            if notify:
                return None
            answer = json.loads(client.stdout.readline())
            if "error" in answer or answer.get("result", {}).get("isError"):
                raise SystemExit(f"{method}: {answer}")
            return answer

        try:
            rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                               "clientInfo": {"name": "hooks_bench", "version": "1"}})
            rpc("notifications/initialized", notify=True)
            out = {}
            for tool, args in (("chat_read", {"limit": 1}), ("chat_post", {"message": "bench", "project": "P"})):
                for _ in range(20):   # warm-up
                    rpc("tools/call", {"name": tool, "arguments": args})
                times = []
                for _ in range(MCP_CALLS):
                    t0 = time.perf_counter()
                    rpc("tools/call", {"name": tool, "arguments": args})
                    times.append((time.perf_counter() - t0) * 1000)
                times.sort()
                out[tool] = (statistics.median(times), times[min(len(times) - 1, int(0.99 * (len(times) - 1) + 0.5))])
            return out
        finally:
            client.stdin.close()
            client.wait(30)
            server.terminate()
            server.wait(60)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    print(f"clients={CLIENTS} seconds={SECONDS:g} (SQLite, group commit)")
    print("load before:", open("/proc/loadavg").read().split()[:3])
    for mode, unit in (("locks", "pairs/s"), ("chat", "posts/s")):
        runs = {False: [], True: []}
        for r in range(ROUNDS):   # alternating, so a change of load hits both sides alike
            for hooks in (False, True):
                rate, p50, p99, cpu_us, note = load(mode, hooks)
                runs[hooks].append((rate, cpu_us))
                label = "with hooks   " if hooks else "without hooks"
                print(f"{mode:5} round {r + 1} {label} {rate:9.1f} {unit}  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
                      f"server CPU {cpu_us:6.1f} us/request")
                if note:
                    print(note)
        base = statistics.median(x[0] for x in runs[False])
        with_hooks = statistics.median(x[0] for x in runs[True])
        cpu_base = statistics.median(x[1] for x in runs[False])
        cpu_hooks = statistics.median(x[1] for x in runs[True])
        print(f"{mode:5} median of {ROUNDS}: without {base:.1f}, with {with_hooks:.1f} {unit}; "
              f"ratio with/without: {with_hooks / base:.3f} (cost {100 * (1 - with_hooks / base):.1f}%)")
        print(f"{mode:5} server CPU per request, median: without {cpu_base:.1f} us, with {cpu_hooks:.1f} us "
              f"(+{100 * (cpu_hooks / cpu_base - 1):.1f}%)")
    for tool, (median, p99) in mcp().items():
        print(f"mcp {tool:10} round trip: median {median:.2f} ms  p99 {p99:.2f} ms  ({MCP_CALLS} calls)")
    print("load after:", open("/proc/loadavg").read().split()[:3])


if __name__ == "__main__":
    main()
