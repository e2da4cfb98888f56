"""brain_admin.lua backup and restore (docs/brain.md, "Backups") with a real `hostsync
serve` writing meanwhile: a backup taken while writers post through the HTTP API holds
every write acknowledged before it started, is one consistent snapshot (the chat's
sequence without a gap) and passes PRAGMA integrity_check; restore makes a new database
a server runs on; a crash in the middle leaves no destination file; what would overwrite
or read a broken file is refused; PostgreSQL's documented pg_dump/pg_restore round trip."""
import hashlib
import os
import pathlib
import sqlite3
import subprocess
import shutil
import tempfile
import threading
import time
import unittest
import uuid

from brain_support import Brain, call, make_token
from harness import hostsync
from pgserver import PgServer
from waiting import wait_until


def admin(*args, env=None):
    return hostsync("run", "brain_admin.lua", *args, env=env, timeout=300)


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def first_column(path, sql):
    """The first column of a query's rows on a SQLite file, opened read-only."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [r[0] for r in con.execute(sql)]
    finally:
        con.close()


def integrity(path):
    return first_column(path, "PRAGMA integrity_check")


def chat_seqs(path):
    return first_column(path, "SELECT seq FROM chatroom ORDER BY seq")


class BrainBackupTest(unittest.TestCase):
    def setUp(self):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-backup-"))
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = self.dir / "brain.sqlite"
        self.token = make_token(self.db, "claude", "marcus", "m1", "*")

    def fill(self, n, size=4000):
        """n old chat messages written straight into the file (before the server starts),
        so that the copy has megabytes to move while the writers go on."""
        con = sqlite3.connect(self.db)
        with con:
            con.executemany("INSERT INTO chatroom(id, seq, ai_source, agent_id, message, mentions, message_type, created_at) "
                            "VALUES (?, ?, 'claude', 'marcus', ?, '[]', 'chat', '2026-01-01T00:00:00.000Z')",
                            [(str(uuid.uuid4()), i + 1, f"filler {i} " + "x" * size) for i in range(n)])
        con.close()

    def test_a_backup_under_write_load_holds_every_acknowledged_write(self):
        self.fill(5000)
        brain = Brain(self, self.db, threads=6)
        acked, lock, stop, errors = [], threading.Lock(), threading.Event(), []

        def writer(w):
            i = 0
            while not stop.is_set():
                st, res = call(brain.base, "POST", "/chat", self.token, {"message": f"w{w} #{i}", "project": "web"})
                if st != 201:
                    errors.append((st, res))
                    return
                with lock:
                    acked.append((res["id"], time.monotonic()))
                i += 1
        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: len(acked) >= 100 or errors, "100 acknowledged writes")
            started = time.monotonic()
            p = admin("backup", "--to", self.dir / "copy.sqlite", "--db", self.db)
            finished = time.monotonic()
            n_at_end = len(acked)
            # The writers go on after the backup, so it ran under load from start to end.
            wait_until(lambda: len(acked) >= n_at_end + 50 or errors, "50 writes after the backup")
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(errors, [])
        self.assertEqual(p.returncode, 0, p.err)
        self.assertRegex(p.out, r"^backup: .*brain\.sqlite -> .*copy\.sqlite \(\d+ bytes, schema version \d+, integrity ok\)\n$")
        copy = self.dir / "copy.sqlite"
        self.assertEqual(integrity(copy), ["ok"])
        seqs = chat_seqs(copy)
        before = [i for i, at in acked if at < started]
        during = [i for i, at in acked if started <= at <= finished]
        print(f"backup: {len(before)} writes acknowledged before it, {len(during)} during it "
              f"({finished - started:.2f} s), copy holds #1..#{seqs[-1]}")
        # Every write acknowledged before the backup started is in the copy...
        self.assertEqual(set(before) - set(seqs), set())
        # ...and the copy is one commit's state: the sequence from 1 without a gap.
        self.assertEqual(seqs, list(range(1, seqs[-1] + 1)))
        # What was acknowledged after it finished is not (the copy did not change later).
        self.assertFalse({i for i, at in acked if at > finished} & set(seqs))
        self.assertEqual(sorted(x.name for x in self.dir.iterdir() if x.name.startswith(".")), [],
                         "no temporary file left beside the copy")

        # restore into a new database, and serve from it.
        p = admin("restore", "--from", copy, "--db", self.dir / "restored.sqlite")
        self.assertEqual(p.returncode, 0, p.err)
        self.assertRegex(p.out, r"^restore: .*copy\.sqlite -> .*restored\.sqlite \(schema version \d+, integrity ok\)\n$")
        restored = Brain(self, self.dir / "restored.sqlite", threads=2)
        st, body = call(restored.base, "GET", f"/chat?since={seqs[-1] - 3}", self.token)
        self.assertEqual((st, [m["id"] for m in body["messages"]]), (200, seqs[-3:]))
        self.assertEqual(integrity(self.dir / "restored.sqlite"), ["ok"])

    def test_nothing_is_overwritten_or_half_written(self):
        self.fill(50)
        copy = self.dir / "copy.sqlite"
        self.assertEqual(admin("backup", "--to", copy, "--db", self.db).returncode, 0)
        digest = sha256(copy)
        # backup never replaces a file; restore never writes over a database.
        p = admin("backup", "--to", copy, "--db", self.db)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"brain_admin: backup: backup to {copy}: File exists", p.err)
        p = admin("restore", "--from", copy, "--db", self.db)
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"brain_admin: restore: {self.db} exists: restore writes a new database and never replaces one", p.err)
        self.assertEqual(sha256(copy), digest)
        self.assertEqual(integrity(self.db), ["ok"])
        # A crash between the copy and its rename: no destination, and the next run works.
        half = self.dir / "half.sqlite"
        p = admin("backup", "--to", half, "--db", self.db, env={"HOSTSYNC_FAILPOINT": "db_backup"})
        self.assertEqual(p.returncode, -9, p.err)
        self.assertFalse(half.exists())
        self.assertTrue(any(x.name.startswith(".half.sqlite.backup-") for x in self.dir.iterdir()))
        self.assertEqual(admin("backup", "--to", half, "--db", self.db).returncode, 0)
        self.assertEqual(chat_seqs(half), list(range(1, 51)))
        # Broken backups are refused before anything is written.
        garbage = self.dir / "garbage.sqlite"
        garbage.write_bytes(b"this is not a database" * 100)
        corrupt = self.dir / "corrupt.sqlite"
        data = bytearray(copy.read_bytes())
        for off in range(len(data) // 2, len(data) // 2 + 8192):
            data[off] ^= 0x5A
        corrupt.write_bytes(bytes(data))
        for src, why in ((garbage, "file is not a database"), (corrupt, ""), (self.dir / "absent.sqlite", "no backup at")):
            with self.subTest(src=src.name):
                target = self.dir / f"from-{src.name}"
                p = admin("restore", "--from", src, "--db", target)
                self.assertEqual(p.returncode, 1, p.err)
                self.assertIn("brain_admin: restore: ", p.err)
                self.assertIn(why, p.err)
                self.assertFalse(target.exists())
        # Missing arguments are usage errors.
        self.assertEqual(admin("backup", "--db", self.db).returncode, 2)
        self.assertEqual(admin("restore", "--from", copy).returncode, 2)

    def test_postgresql_is_pointed_at_pg_dump_and_the_documented_round_trip_works(self):
        with PgServer() as pg:
            p = admin("backup", "--to", self.dir / "pg.sqlite", "--db", pg.url)
            self.assertEqual(p.returncode, 1)
            self.assertIn("backup copies SQLite databases; for PostgreSQL use its own tool", p.err)
            self.assertIn("pg_dump --format=custom", p.err)
            self.assertFalse((self.dir / "pg.sqlite").exists())
            p = admin("restore", "--from", self.dir / "x", "--db", pg.url)
            self.assertEqual(p.returncode, 1)
            self.assertIn("pg_restore", p.err)
            # docs/brain.md's commands: pg_dump, createdb, pg_restore; the restored brain serves.
            token = make_token(pg.url, "claude", "marcus", "m1", "*")
            brain = Brain(self, pg.url, threads=2)
            st, posted = call(brain.base, "POST", "/chat", token, {"message": "kept by pg_dump"})
            self.assertEqual(st, 201, posted)
            brain.kill()
            env = dict(os.environ, PGPASSWORD=pg.PASSWORD)
            dump = self.dir / "brain.dump"
            base = ["-h", "127.0.0.1", "-p", str(pg.port), "-U", pg.USER]
            subprocess.run([str(pg.bin / "pg_dump"), *base, "--format=custom", "--file", str(dump), pg.DATABASE],
                           check=True, capture_output=True, env=env, timeout=120)
            restored_url = pg.create_database("brain_restored")
            subprocess.run([str(pg.bin / "pg_restore"), *base, "--dbname", "brain_restored", str(dump)],
                           check=True, capture_output=True, env=env, timeout=120)
            restored = Brain(self, restored_url, threads=2)
            st, body = call(restored.base, "GET", "/chat?since=0", token)
            self.assertEqual((st, [m["message"] for m in body["messages"]]), (200, ["kept by pg_dump"]))
            restored.kill()


if __name__ == "__main__":
    unittest.main(verbosity=2)
