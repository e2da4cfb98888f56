"""hostsync.db end to end: the Lua backend tests against a real PostgreSQL on loopback,
and several processes writing one SQLite file at once."""
import os
import sqlite3
import subprocess
import tempfile
import unittest

from harness import HERE, HOSTSYNC, SOURCE_DIR, hostsync, main
from pgserver import PgServer


def migrate_concurrently(test, url, processes=4):
    """Starts `processes` migrators at once; each version must be applied by exactly one."""
    procs = [subprocess.Popen([HOSTSYNC, "run", str(HERE / "db_migrate_race.lua"), url],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(processes)]
    applied = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        test.assertEqual(p.returncode, 0, err.decode())
        versions, _ = out.decode().split(" ")
        applied += [int(v) for v in versions.split(",") if v]
    test.assertEqual(sorted(applied), [1, 2, 3])


class PostgresBackend(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = PgServer().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.pg.__exit__(None, None, None)

    def test_lua_db_tests_pass_on_sqlite_and_postgres(self):
        proc = hostsync("test", SOURCE_DIR / "tests/lua/db_backends_test.lua",
                        env={"HOSTSYNC_TEST_PG_URL": self.pg.url}, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.out + proc.err + self.pg.log())
        self.assertRegex(proc.out, r"\b(\d+) passed, 0 failed")
        passed = int(proc.out.split(" passed")[0].split()[-1])
        # every shared test on both backends plus the PostgreSQL-only ones
        self.assertGreaterEqual(passed, 19, proc.out)
        self.assertNotIn(PgServer.PASSWORD, proc.out + proc.err)

    def test_concurrent_migrations_apply_each_version_once(self):
        migrate_concurrently(self, self.pg.url)
        proc = subprocess.run([HOSTSYNC, "run", str(HERE / "db_migrate_race.lua"), self.pg.url],
                              capture_output=True, text=True, timeout=60)
        # a later run applies nothing and sees each migration's rows once
        self.assertEqual((proc.returncode, proc.stdout), (0, " 3\n"), proc.stderr)


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

    def test_concurrent_migrations_apply_each_version_once(self):
        with tempfile.TemporaryDirectory(prefix="hostsync-db-") as tmp:
            path = os.path.join(tmp, "brain.sqlite")
            migrate_concurrently(self, path)
            con = sqlite3.connect(path)
            self.assertEqual(con.execute("SELECT x FROM items ORDER BY x").fetchall(), [(1,), (2,), (3,)])
            con.close()


if __name__ == "__main__":
    main()
