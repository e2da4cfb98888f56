"""hostsync.db end to end: the Lua backend tests against a real PostgreSQL on loopback,
and several processes writing one SQLite file at once."""
import os
import sqlite3
import subprocess
import tempfile
import unittest

from harness import HERE, HOSTSYNC, SOURCE_DIR, hostsync, main
from pgserver import PgServer


class PostgresBackend(unittest.TestCase):
    @unittest.skipUnless(PgServer.available(), "PostgreSQL binaries not installed")
    def test_lua_db_tests_pass_on_sqlite_and_postgres(self):
        with PgServer() as pg:
            proc = hostsync("test", SOURCE_DIR / "tests/lua/db_backends_test.lua",
                            env={"HOSTSYNC_TEST_PG_URL": pg.url}, timeout=120)
            self.assertEqual(proc.returncode, 0, proc.out + proc.err + pg.log())
            self.assertRegex(proc.out, r"\b(\d+) passed, 0 failed")
            passed = int(proc.out.split(" passed")[0].split()[-1])
            # every shared test on both backends plus the PostgreSQL-only ones
            self.assertGreaterEqual(passed, 19, proc.out)
            self.assertNotIn(PgServer.PASSWORD, proc.out + proc.err)


class SqliteContention(unittest.TestCase):
    def test_concurrent_processes_lose_no_writes(self):
        workers, rounds = 4, 150
        with tempfile.TemporaryDirectory(prefix="hostsync-db-") as tmp:
            path = os.path.join(tmp, "brain.sqlite")
            con = sqlite3.connect(path)
            con.executescript("""
                PRAGMA journal_mode=WAL;
                CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
                INSERT INTO counter VALUES (1, 0);
                CREATE TABLE rounds (worker TEXT, round INTEGER, seen INTEGER UNIQUE);
            """)
            con.close()
            procs = [subprocess.Popen([HOSTSYNC, "run", str(HERE / "db_contend.lua"), path, f"w{i}", str(rounds)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                     for i in range(workers)]
            for p in procs:
                out, err = p.communicate(timeout=120)
                self.assertEqual(p.returncode, 0, err.decode())
            con = sqlite3.connect(path)
            self.assertEqual(con.execute("SELECT n FROM counter").fetchone()[0], workers * rounds)
            # every round of every worker saw a distinct counter value: no two
            # read-modify-writes interleaved
            self.assertEqual(con.execute("SELECT count(*), count(DISTINCT seen), min(seen), max(seen) FROM rounds")
                             .fetchone(), (workers * rounds, workers * rounds, 0, workers * rounds - 1))
            con.close()


if __name__ == "__main__":
    main()
