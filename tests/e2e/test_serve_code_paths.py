"""Where `hostsync serve` and its worker threads load code from (docs/cli.md, `hostsync
serve`): never from a temporary or world-writable directory, never from the working
directory; `HOSTSYNC_PATH` works as for `hostsync run`; a killed server leaves no files.

The attack: a local user plants `brain/locks.lua` in /tmp. The server used to write its
worker wrapper to /tmp and put /tmp first on the workers' package.path, so the planted
module answered the lock routes. Reproduced here in a private mount namespace whose /tmp
is a test directory (so nothing is planted in the machine's real /tmp).
"""
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import tempfile
import unittest

from brain_support import Brain, call, make_token
from harness import HOSTSYNC, SOURCE_DIR

# A module that must never be loaded: it leaves a mark and answers every lock route 418.
PLANTED = """local f = io.open(os.getenv("PLANT_MARK") or "/tmp/PLANTED", "w")
if f then f:write("loaded\\n") f:close() end
local function planted() return 418, { error = "planted module" } end
return { acquire = planted, renew = planted, release = planted, get = planted, list = planted, break_lock = planted }
"""


def plant(root):
    os.makedirs(os.path.join(root, "brain"), exist_ok=True)
    for name in ("locks.lua", "access.lua", "auth.lua"):
        with open(os.path.join(root, "brain", name), "w") as f:
            f.write(PLANTED)


def checkout_dirs_under_tmp():
    """The names right under /tmp of the directories holding the binary or the sources."""
    tops = set()
    for path in (HOSTSYNC, SOURCE_DIR):
        parts = os.path.realpath(path).split("/")
        if len(parts) > 2 and parts[1] == "tmp":
            tops.add(parts[2])
    return sorted(tops)


def files_under(root):
    out = set()
    for d, _, names in os.walk(root):
        for n in names:
            out.add(os.path.relpath(os.path.join(d, n), root))
    return out


class ServeCodePathsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hostsync-codepaths-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def acquire_works(self, brain, token):
        st, body = call(brain.base, "POST", "/locks/push:web/acquire", token, {"project": "web"})
        self.assertEqual(st, 200, body)
        self.assertEqual(body["holder"]["agent"], "marcus")

    def kill9(self, brain):
        brain.proc.send_signal(signal.SIGKILL)
        brain.proc.wait(30)

    def test_planted_tmp_module_is_not_loaded_and_kill_leaves_nothing(self):
        # The README's commands run as root; a private mount namespace needs it.
        self.assertEqual(os.geteuid(), 0, "run the suite as root (unshare -m needs it)")
        self.assertEqual(subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode, 0,
                         "unshare -m does not work here")
        fake_tmp = os.path.join(self.dir, "tmp")
        os.mkdir(fake_tmp)
        os.chmod(fake_tmp, 0o1777)   # like /tmp: anyone may create files there
        plant(fake_tmp)
        # A checkout or build under /tmp would vanish behind the fake /tmp: bind its top
        # directory back in (the empty mount points are there before the snapshot).
        binds = checkout_dirs_under_tmp()
        for top in binds:
            os.mkdir(os.path.join(fake_tmp, top))
        db = os.path.join(fake_tmp, "brain.sqlite")   # /tmp/brain.sqlite inside the namespace
        token = make_token(db, project="web")
        before = files_under(fake_tmp)
        rebind = "".join(f'mount --bind /tmp/{top} "$0"/{top} && ' for top in binds)
        wrapper = ["unshare", "-m", "sh", "-c", rebind + 'mount --rbind "$0" /tmp && exec "$@"', fake_tmp]
        brain = Brain(self, "/tmp/brain.sqlite", threads=2, wrapper=wrapper, cwd=fake_tmp,
                      env={**os.environ, "TMPDIR": "/tmp"})
        self.acquire_works(brain, token)
        self.assertEqual(call(brain.base, "GET", "/locks/push:web", token)[0], 200)
        self.assertNotIn("PLANTED", files_under(fake_tmp))
        self.kill9(brain)
        # Only the database's own files are new: no wrapper, no temporary file.
        new = files_under(fake_tmp) - before
        self.assertEqual({n for n in new if not n.startswith("brain.sqlite")}, set(), new)

    def test_tmpdir_and_working_directory_are_not_searched(self):
        planted = os.path.join(self.dir, "planted")
        os.makedirs(planted)
        plant(planted)
        mark = os.path.join(self.dir, "PLANTED")
        db = os.path.join(self.dir, "brain.sqlite")
        token = make_token(db, project="web")
        before = files_under(planted)
        brain = Brain(self, db, threads=2, cwd=planted,
                      env={**os.environ, "TMPDIR": planted, "PLANT_MARK": mark})
        self.acquire_works(brain, token)
        self.assertFalse(os.path.exists(mark))
        self.kill9(brain)
        self.assertEqual(files_under(planted), before)

    def test_world_writable_search_directories_are_refused(self):
        open_dir = os.path.join(self.dir, "open")
        os.mkdir(open_dir)
        os.chmod(open_dir, 0o777)
        under_open = os.path.join(open_dir, "mine")
        os.mkdir(under_open, 0o755)
        sticky = os.path.join(self.dir, "sticky")
        os.mkdir(sticky)
        os.chmod(sticky, 0o1777)
        under_sticky = os.path.join(sticky, "mine")
        os.mkdir(under_sticky, 0o755)
        db = os.path.join(self.dir, "brain.sqlite")
        for bad, why in ((open_dir, f"{open_dir} is writable by every user"),
                         (under_open, f"{open_dir} is writable by every user"),
                         (sticky, f"{sticky} is writable by every user")):
            p = subprocess.run([HOSTSYNC, "serve", "--port", "0", "--db", db], capture_output=True, text=True,
                               env={**os.environ, "HOSTSYNC_PATH": bad}, timeout=60)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(f"hostsync serve: refusing to load code from {bad}/?.lua: {why}", p.stderr)
            self.assertNotIn("listening on", p.stderr)
        # A directory of one's own inside a sticky one (a mkdtemp under /tmp) is fine.
        self.assertEqual(stat.S_IMODE(os.stat(under_sticky).st_mode), 0o755)
        token = make_token(db, project="web")
        brain = Brain(self, db, threads=2, env={**os.environ, "HOSTSYNC_PATH": under_sticky})
        self.acquire_works(brain, token)

    def test_hostsync_path_reaches_the_workers(self):
        # HOSTSYNC_PATH means what it means for `run`: a brain/ there is the server that
        # runs (its workers included), and a truth_hierarchy.lua there is the sync policy.
        over = os.path.join(self.dir, "over")
        shutil.copytree(os.path.join(SOURCE_DIR, "scripts", "brain"), os.path.join(over, "brain"))
        app = os.path.join(over, "brain", "app.lua")
        with open(app) as f:
            text = f.read()
        marker = '    { "GET",  "/whoami",              IDENTITY, false,'
        self.assertIn(marker, text)
        text = text.replace(marker, '    { "GET",  "/override", IDENTITY, false, function() return 200, { from = "HOSTSYNC_PATH" } end },\n'
                            + marker, 1)
        with open(app, "w") as f:
            f.write(text)
        shutil.copy(os.path.join(SOURCE_DIR, "policies", "truth_hierarchy.lua"), over)
        db = os.path.join(self.dir, "brain.sqlite")
        token = make_token(db, project="web")
        env = {**os.environ, "HOSTSYNC_PATH": over}
        brain = Brain(self, db, threads=2, env=env)
        for _ in range(4):   # several requests, on whichever workers take them: all share one path
            self.assertEqual(call(brain.base, "GET", "/override", token), (200, {"from": "HOSTSYNC_PATH"}))
        con = sqlite3.connect(db)
        con.execute("UPDATE tokens SET tenant = 't', level = 1")
        con.commit()
        con.close()
        st, body = call(brain.base, "GET", "/sync/policy", token)
        self.assertEqual((st, body["path"]), (200, os.path.join(over, "truth_hierarchy.lua")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
