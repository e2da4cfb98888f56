"""Lock acquire + release pairs/s: hostsync serve (SQLite) over HTTP vs PostgreSQL (pgbench).

Run through bench/lock_bench.sh, which builds the load generator. Both sides are durable:
hostsync keeps SQLite's synchronous=FULL (with group commit, docs/architecture.md), the
PostgreSQL server runs with its defaults (fsync=on, synchronous_commit=on). Each of the
CLIENTS clients takes and releases its own lock, one pair after another, for SECONDS.

Environment: HOSTSYNC (binary), LOADGEN (bench/lock_loadgen.cpp built), CLIENTS (32),
SECONDS (10), THREADS (server workers, default CLIENTS), GROUP_COMMIT (1; 0 to compare
without), SHARED_LOCK (1: every client fights for one lock), SKIP_PG (1: hostsync only),
PAUSE_CLIENTS (seconds: halfway through, the load generator is stopped with SIGSTOP for
that long and resumed, as when a VM or a laptop pauses; connections idle meanwhile must
still work afterwards).
"""
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "e2e"))
from pgserver import PgServer  # noqa: E402

HOSTSYNC = os.environ["HOSTSYNC"]
LOADGEN = os.environ["LOADGEN"]
CLIENTS = int(os.environ.get("CLIENTS", "32"))
SECONDS = float(os.environ.get("SECONDS_RUN", os.environ.get("SECONDS_", "10")))
THREADS = int(os.environ.get("THREADS", str(CLIENTS)))
GROUP_COMMIT = os.environ.get("GROUP_COMMIT", "1") != "0"
SHARED_LOCK = os.environ.get("SHARED_LOCK", "0") == "1"
PAUSE_CLIENTS = float(os.environ.get("PAUSE_CLIENTS", "0"))

# One pgbench transaction = one pair: the grant as an atomic upsert that only replaces an
# expired row, then the release; each statement commits on its own, like two requests.
PGBENCH_SCRIPT = """\
INSERT INTO sync_locks(id, project_id, held_by_ai, held_by_machine, held_by_agent, acquired_at, expires_at, reason, fencing_token, holder_token_id)
  VALUES ('bench-' || :client_id, 'P', 'bench', 'm', 'a' || :client_id, now(), now() + interval '60 seconds', NULL, 1, :client_id)
  ON CONFLICT (id) DO UPDATE SET held_by_agent = excluded.held_by_agent, acquired_at = excluded.acquired_at,
    expires_at = excluded.expires_at, fencing_token = sync_locks.fencing_token + 1, holder_token_id = excluded.holder_token_id
  WHERE sync_locks.expires_at <= now() RETURNING id;
DELETE FROM sync_locks WHERE id = 'bench-' || :client_id;
"""

CREATE_TABLE = """CREATE TABLE sync_locks (
  id TEXT PRIMARY KEY, project_id TEXT, held_by_ai TEXT NOT NULL, held_by_machine TEXT, held_by_agent TEXT,
  acquired_at TIMESTAMPTZ, expires_at TIMESTAMPTZ, reason TEXT, fencing_token BIGINT NOT NULL,
  holder_token_id BIGINT NOT NULL)"""


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(p * (len(sorted_values) - 1) + 0.5))]


def bench_hostsync(work):
    db = work / "brain.sqlite"
    tokens = []
    for i in range(CLIENTS):
        out = subprocess.run([HOSTSYNC, "run", "brain_admin.lua", "token", "create", "--ai", "bench",
                              "--agent", f"a{i}", "--machine", "m", "--project", "P", "--db", str(db)],
                             check=True, capture_output=True, text=True)
        tokens.append(out.stdout.strip())
    (work / "tokens").write_text("\n".join(tokens) + "\n")
    config = work / "serve.json"
    config.write_text('{"group_commit": %s}' % ("true" if GROUP_COMMIT else "false"))
    server = subprocess.Popen([HOSTSYNC, "serve", "--port", "0", "--threads", str(THREADS), "--db", str(db),
                               "--config", str(config)], stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()
        m = re.search(r"listening on (http://\S+)", line)
        if not m:
            raise SystemExit("hostsync serve did not start: " + line + server.stderr.read())
        args = [LOADGEN, m.group(1), str(SECONDS), str(work / "tokens")] + (["--shared-lock"] if SHARED_LOCK else [])
        gen = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if PAUSE_CLIENTS > 0:
            time.sleep(SECONDS / 2)
            gen.send_signal(signal.SIGSTOP)
            time.sleep(PAUSE_CLIENTS)
            gen.send_signal(signal.SIGCONT)
        stdout, stderr = gen.communicate()
        out = subprocess.CompletedProcess(args, gen.returncode, stdout, stderr)
        if out.returncode != 0:
            raise SystemExit("load generator failed: " + out.stdout + out.stderr)
        if out.stderr.strip():
            print("load generator:", out.stderr.strip().replace("\n", "\n  "))
        fields = dict(kv.split("=") for kv in out.stdout.split())
        return float(fields["pairs_per_s"]), float(fields["p50_ms"]), float(fields["p99_ms"]), out.stdout.strip()
    finally:
        server.terminate()
        server.wait(30)


def bench_postgres(work):
    with PgServer(durable=True) as pg:
        env = dict(os.environ, PGPASSWORD=pg.PASSWORD)
        conn = ["-h", "127.0.0.1", "-p", str(pg.port), "-U", pg.USER]
        subprocess.run([str(pg.bin / "psql"), *conn, "-d", pg.DATABASE, "-q", "-c", CREATE_TABLE],
                       check=True, capture_output=True, env=env)
        script = work / "pair.sql"
        script.write_text(PGBENCH_SCRIPT)
        logdir = work / "pglog"
        logdir.mkdir()
        out = subprocess.run([str(pg.bin / "pgbench"), *conn, "-n", "-M", "prepared", "-c", str(CLIENTS),
                              "-j", "2", "-T", str(int(SECONDS)), "-f", str(script), "-l",
                              "--log-prefix", str(logdir / "pgbench"), pg.DATABASE],
                             capture_output=True, text=True, env=env)
        if out.returncode != 0:
            raise SystemExit("pgbench failed: " + out.stdout + out.stderr)
        tps = float(re.search(r"tps = ([\d.]+)", out.stdout).group(1))
        latencies = []
        for f in logdir.iterdir():
            for row in f.read_text().splitlines():
                latencies.append(int(row.split()[2]) / 1000.0)
        latencies.sort()
        return tps, percentile(latencies, 0.5), percentile(latencies, 0.99)


def main():
    work = pathlib.Path(tempfile.mkdtemp(prefix="lock-bench-", dir=os.environ.get("BENCH_TMP")))
    try:
        mode = "group commit" if GROUP_COMMIT else "no group commit"
        target = "one shared lock" if SHARED_LOCK else "own lock per client"
        print(f"clients={CLIENTS} seconds={SECONDS:g} server_threads={THREADS} ({mode}, {target})")
        print("load before:", open("/proc/loadavg").read().split()[:3])
        hs, hs50, hs99, raw = bench_hostsync(work)
        print(f"hostsync   {hs:9.1f} pairs/s  p50 {hs50:6.2f} ms  p99 {hs99:6.2f} ms   ({raw})")
        if os.environ.get("SKIP_PG") == "1":
            return
        pg, pg50, pg99 = bench_postgres(work)
        print(f"postgres   {pg:9.1f} pairs/s  p50 {pg50:6.2f} ms  p99 {pg99:6.2f} ms   (pgbench, durable)")
        print(f"ratio hostsync/postgres: {hs / pg:.2f}")
        print("load after:", open("/proc/loadavg").read().split()[:3])
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
