"""A throwaway PostgreSQL server on loopback for tests (a context manager).

    with PgServer() as pg:
        url = pg.url            # postgres://hostsync:<password>@127.0.0.1:<port>/hostsync
        ...

Runs Debian's postgresql binaries (/usr/lib/postgresql/<ver>/bin, or PG_BIN). As root,
initdb and the server run as the `postgres` user (PostgreSQL refuses to run as root), in
a temporary directory that user owns. The server listens on 127.0.0.1 on a free port
with password (scram) authentication, so URLs with passwords are exercised for real;
fsync is off because test data need not survive a crash of the machine; PgServer(durable=True)
keeps PostgreSQL's defaults (fsync, synchronous_commit) for benchmarks that compare durable commits.

Without PostgreSQL's binaries PgServer() raises: the tests that need it fail, they never
skip (.ci/install-deps installs postgresql).
"""
import glob
import os
import pathlib
import pwd
import shutil
import socket
import subprocess
import tempfile


def _bin_dir():
    if os.environ.get("PG_BIN"):
        return pathlib.Path(os.environ["PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return pathlib.Path(found[-1]).parent if found else None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    USER = "hostsync"
    PASSWORD = "s3cret-pw:@/x"   # characters that need percent-encoding in a URL
    DATABASE = "hostsync"

    def __init__(self, durable=False):
        self.durable = durable
        self.bin = _bin_dir()
        if self.bin is None:
            raise RuntimeError("PostgreSQL's binaries are not installed (/usr/lib/postgresql/*/bin/pg_ctl, "
                               "or PG_BIN): .ci/install-deps installs postgresql")
        self.dir = None
        self.port = None

    @staticmethod
    def available():
        """For benchmarks that may leave PostgreSQL out; tests never skip on it."""
        return _bin_dir() is not None

    def _as_owner(self, args, **kw):
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--"] + args
        return subprocess.run(args, check=True, capture_output=True, text=True, **kw)

    def __enter__(self):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-pg-"))
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        data, sock = self.dir / "data", self.dir / "sock"
        pwfile = self.dir / "pwfile"
        pwfile.write_text(self.PASSWORD + "\n")
        if os.geteuid() == 0:
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        self._as_owner([str(self.bin / "initdb"), "-D", str(data), "-U", self.USER, "--pwfile", str(pwfile),
                        "--auth=scram-sha-256", "-E", "UTF8", "--locale=C"])
        self._as_owner(["mkdir", str(sock)])
        try:
            self._start(data, sock)
            env = dict(os.environ, PGPASSWORD=self.PASSWORD)
            subprocess.run([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", self.USER, self.DATABASE], check=True, capture_output=True, env=env)
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self, data, sock):
        # A free port can be taken by another process (a second test suite) between
        # choosing it and PostgreSQL binding it: choose another and start again.
        for attempt in range(5):
            self.port = _free_port()
            opts = f"-p {self.port} -k {sock} -c listen_addresses=127.0.0.1"
            if not self.durable:
                opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            try:
                self._as_owner([str(self.bin / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(self.dir / "log"),
                                "-w", "-t", "300", "start"])
                return
            except subprocess.CalledProcessError:
                if attempt == 4 or "could not bind" not in self.log():
                    raise

    @property
    def url(self):
        from urllib.parse import quote
        return (f"postgres://{self.USER}:{quote(self.PASSWORD, safe='')}@127.0.0.1:{self.port}/"
                f"{self.DATABASE}?sslmode=disable")

    def create_database(self, name):
        """A new, empty database on this server (createdb) -> its URL."""
        env = dict(os.environ, PGPASSWORD=self.PASSWORD)
        subprocess.run([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.USER, name],
                       check=True, capture_output=True, env=env)
        return self.url.replace(f"/{self.DATABASE}?", f"/{name}?")

    def log(self):
        try:
            return (self.dir / "log").read_text()
        except OSError:
            return ""

    def __exit__(self, *exc):
        if self.dir is None:
            return False
        try:
            self._as_owner([str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop"])
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
        return False
