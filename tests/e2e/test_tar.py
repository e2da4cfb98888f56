"""hostsync.tar end to end: determinism across processes and environments, interop with
GNU tar both ways, and hostile archives (built here with Python's tarfile) against the
safe extractor."""
import hashlib
import io
import os
import pathlib
import shutil
import stat
import subprocess
import tarfile
import tempfile
import unittest

from harness import HOSTSYNC

WRITE = r'''
local tar, fs = require "hostsync.tar", require "hostsync.fs"
local root, out = arg[1], arg[2]
local h = tar.hash_sink()
local w = assert(fs.appender(out, { exclusive = true }))
local r = assert(tar.write(tar.tee(h, w), root, assert(tar.collect(root)), { mtime = tonumber(arg[3] or "0") }))
assert(w:close())
io.write(h:hex(), " ", r.entries, "\n")
'''

EXTRACT = r'''
local tar = require "hostsync.tar"
local opts = { fsync = false }
if arg[3] and arg[3] ~= "-" then opts.max_bytes = tonumber(arg[3]) end
if arg[4] then opts.max_entries = tonumber(arg[4]) end
local r, err = tar.extract(arg[1], arg[2], opts)
if r then io.write("OK ", r.entries, "\n") else io.write("ERR ", err, "\n") end
'''

LIST = r'''
local tar = require "hostsync.tar"
for _, e in ipairs(assert(tar.list(arg[1]))) do
  io.write(e.type, " ", string.format("%o", e.mode), " ", e.size, " ", e.mtime, " ", e.path, "\n")
end
'''

NAMES = ["README", "src/main.lua", "src/lib/util.lua", "d\u00e9j\u00e0/caf\u00e9.txt", "run.sh",
         "x" * 60 + "/" + "y" * 70, "c" * 100 + "/" + "d" * 100 + "/" + "e" * 90 + ".txt",
         "docs/empty.txt", "z/big.bin"]


def make_tree(root: pathlib.Path, order, umask):
    old = os.umask(umask)
    try:
        for name in order:
            p = root / name
            p.parent.mkdir(parents=True, exist_ok=True)
            data = b"" if name.endswith("empty.txt") else (name.encode() * 7 if "big" not in name else os.urandom(0) + b"\x00\x01" * 400000)
            p.write_bytes(data)
            if name == "run.sh":
                p.chmod(0o700 if umask else 0o755)
        (root / "emptydir").mkdir()
    finally:
        os.umask(old)


def tree_state(root: pathlib.Path):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = pathlib.Path(dirpath) / n
            rel = str(p.relative_to(root))
            st = p.lstat()
            kind = "dir" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"
            out[rel] = (kind, p.read_bytes() if kind == "file" else None)
    return out


class TarTest(unittest.TestCase):
    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-tar-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        for name, code in (("write.lua", WRITE), ("extract.lua", EXTRACT), ("list.lua", LIST)):
            (self.tmp / name).write_text(code)

    def run_lua(self, script, *args, env=None, umask=None, check=True):
        full = dict(os.environ)
        full.update(env or {})
        pre = (lambda: os.umask(umask)) if umask is not None else None
        p = subprocess.run([HOSTSYNC, "run", str(self.tmp / script), *map(str, args)], capture_output=True,
                           env=full, preexec_fn=pre, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError(f"{script} {args}: {p.returncode}\n{p.stdout.decode()}\n{p.stderr.decode()}")
        return p.stdout.decode("utf-8", "replace")

    def write(self, root, out, env=None, umask=None, mtime=0):
        return self.run_lua("write.lua", root, out, mtime, env=env, umask=umask).split()

    # --- determinism --------------------------------------------------------------

    def test_same_bytes_across_env_umask_and_creation_order(self):
        a, b = self.tmp / "a", self.tmp / "b"
        a.mkdir()
        b.mkdir()
        make_tree(a, NAMES, 0o022)
        make_tree(b, list(reversed(NAMES)), 0o077)  # other order, other modes on disk
        runs = [
            (a, {"TZ": "UTC", "LANG": "C", "LC_ALL": "C"}, 0o022),
            (a, {"TZ": "Asia/Kolkata", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}, 0o077),
            (b, {"TZ": "America/St_Johns", "LANG": "C.UTF-8", "LC_ALL": ""}, 0o000),
            (b, {"TZ": "UTC", "LC_ALL": "POSIX"}, 0o027),
        ]
        digests = set()
        for i, (root, env, umask) in enumerate(runs):
            out = self.tmp / f"out{i}.tar"
            hexd, entries = self.write(root, out, env=env, umask=umask)
            self.assertEqual(hashlib.sha256(out.read_bytes()).hexdigest(), hexd)
            self.assertEqual(int(entries), len(tree_state(a)))
            digests.add(out.read_bytes())
        self.assertEqual(len(digests), 1, "archives differ between runs")

    # --- interop with GNU tar ------------------------------------------------------

    def test_gnu_tar_reads_hostsync_archives_identically(self):
        src = self.tmp / "src"
        src.mkdir()
        make_tree(src, NAMES, 0o022)
        out = self.tmp / "h.tar"
        self.write(src, out, mtime=1700000000)
        p = subprocess.run(["tar", "-tvf", out, "--numeric-owner"], capture_output=True,
                           env={**os.environ, "LC_ALL": "C.UTF-8", "TZ": "UTC"})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, b"")
        gnu = []
        for line in p.stdout.decode().splitlines():
            perm, owner, size, date, time_, name = line.split(None, 5)
            gnu.append((perm, owner, int(size), date + " " + time_, name))
        ours = []
        for line in self.run_lua("list.lua", out).splitlines():
            kind, mode, size, mtime, name = line.split(" ", 4)
            perm = ("d" if kind == "dir" else "-") + "".join(
                c if int(mode, 8) & (1 << (8 - i)) else "-" for i, c in enumerate("rwxrwxrwx"))
            ours.append((perm, "0/0", int(size), "2023-11-14 22:13", name))
        self.assertEqual(gnu, ours)
        dest = self.tmp / "gnu-x"
        dest.mkdir()
        p = subprocess.run(["tar", "-xf", out, "-C", dest], capture_output=True)
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        self.assertEqual(tree_state(dest), tree_state(src))
        self.assertEqual(stat.S_IMODE((dest / "run.sh").stat().st_mode) & 0o111 != 0, True)

    def test_hostsync_extracts_gnu_tar_archives(self):
        src = self.tmp / "src"
        src.mkdir()
        make_tree(src, NAMES, 0o022)
        for fmt in ("posix", "gnu", "ustar"):
            with self.subTest(fmt=fmt):
                out = self.tmp / f"gnu-{fmt}.tar"
                p = subprocess.run(["tar", "-cf", out, f"--format={fmt}", "-C", src, "."], capture_output=True)
                if fmt == "ustar" and p.returncode != 0:
                    continue  # names too long for ustar: GNU tar refuses, fine
                self.assertEqual(p.returncode, 0, p.stderr)
                dest = self.tmp / f"x-{fmt}"
                dest.mkdir()
                self.assertTrue(self.run_lua("extract.lua", out, dest).startswith("OK"), fmt)
                self.assertEqual(tree_state(dest), tree_state(src))

    def gnu_tar(self, src, out):
        """GNU tar with the flags docs/api/tar.md names, over the whole tree."""
        subprocess.run(["tar", "-cf", out, "--sort=name", "--owner=0", "--group=0", "--numeric-owner",
                        "--mtime=@0", "--mode=go-w,u+rw,a+rX", "--format=posix",
                        "--pax-option=delete=atime,delete=ctime", "."], cwd=src, check=True)

    @staticmethod
    def members(path):
        """(name, type, mode, size, mtime, uid, gid, data) of every entry, in archive order."""
        with tarfile.open(path) as tf:
            return [(m.name.removeprefix("./").rstrip("/"), m.type, m.mode, m.size, m.mtime, m.uid, m.gid,
                     tf.extractfile(m).read() if m.isfile() else None)
                    for m in tf.getmembers() if m.name not in (".", "./")]

    def test_gnu_tar_with_documented_flags_gives_the_same_entries(self):
        # What docs/api/tar.md promises: the same entries in the same order with the same
        # metadata and contents, when no directory's name is a prefix of a sibling's.
        src = self.tmp / "src"
        src.mkdir()
        make_tree(src, NAMES, 0o022)
        ours, gnu = self.tmp / "h.tar", self.tmp / "g.tar"
        self.write(src, ours)
        self.gnu_tar(src, gnu)
        self.assertEqual(self.members(ours), self.members(gnu))

    def test_gnu_tar_orders_differently_where_a_directory_prefixes_a_sibling(self):
        # hostsync sorts whole paths bytewise ("a-b" < "a.txt" < "a/f": '-' and '.' sort
        # before '/'); GNU --sort=name sorts each directory and descends into "a" first.
        src = self.tmp / "src"
        for name in ("a/f", "a-b", "a.txt", "b/g"):
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes(name.encode())
        ours, gnu = self.tmp / "h.tar", self.tmp / "g.tar"
        self.write(src, ours)
        self.gnu_tar(src, gnu)
        self.assertEqual([m[0] for m in self.members(ours)], ["a", "a-b", "a.txt", "a/f", "b", "b/g"])
        self.assertEqual([m[0] for m in self.members(gnu)], ["a", "a/f", "a-b", "a.txt", "b", "b/g"])
        self.assertEqual(sorted(self.members(ours)), sorted(self.members(gnu)))   # same entries otherwise

    # --- hostile archives ----------------------------------------------------------

    def hostile(self, build, expect, max_bytes="-", max_entries=None, prepare=None):
        arch = self.tmp / "hostile.tar"
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
            build(tf)
        arch.write_bytes(buf.getvalue())
        dest = self.tmp / "dest"
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir()
        outside = self.tmp / "outside"
        outside.mkdir(exist_ok=True)
        args = [arch, dest, max_bytes] + ([max_entries] if max_entries is not None else [])
        res = self.run_lua("extract.lua", *args)
        self.assertTrue(res.startswith("ERR "), res)
        self.assertIn(expect, res)
        self.assertEqual(list(outside.iterdir()), [])
        self.assertFalse((self.tmp / "evil").exists())
        # nothing but directories and complete, earlier files
        for p in dest.rglob("*"):
            self.assertFalse(p.is_symlink(), p)
            self.assertFalse(p.name.startswith("."), f"temp file left: {p}")
        return dest

    @staticmethod
    def add(tf, name, data=b"x", **kw):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        for k, v in kw.items():
            setattr(ti, k, v)
        tf.addfile(ti, io.BytesIO(data) if ti.type in (tarfile.REGTYPE, tarfile.AREGTYPE) else None)

    def test_hostile_paths(self):
        cases = [
            ("/tmp/evil-abs", "absolute path refused"),
            ("../evil", '".." component refused'),
            ("a/../../evil", '".." component refused'),
            ("./../evil", '".." component refused'),
            ("a" * 120 + "/../../evil", '".." component refused'),  # via a pax path record
        ]
        for name, expect in cases:
            with self.subTest(name=name):
                self.hostile(lambda tf: (self.add(tf, "ok.txt"), self.add(tf, name)), expect)

    def test_hostile_links_and_devices(self):
        out = str(self.tmp / "outside")
        cases = [
            ("symlink", lambda tf: self.add(tf, "link", b"", type=tarfile.SYMTYPE, linkname=out), "symlink refused"),
            ("symlink then file through it", lambda tf: (
                self.add(tf, "link", b"", type=tarfile.SYMTYPE, linkname=out),
                self.add(tf, "link/evil")), "symlink refused"),
            ("hardlink", lambda tf: (self.add(tf, "a"), self.add(tf, "b", b"", type=tarfile.LNKTYPE, linkname="a")),
             "hardlink refused"),
            ("hardlink outside", lambda tf: self.add(tf, "b", b"", type=tarfile.LNKTYPE, linkname="/etc/passwd"),
             "hardlink refused"),
            ("char device", lambda tf: self.add(tf, "null", b"", type=tarfile.CHRTYPE, devmajor=1, devminor=3),
             "not a regular file or directory"),
            ("fifo", lambda tf: self.add(tf, "fifo", b"", type=tarfile.FIFOTYPE), "not a regular file or directory"),
        ]
        for label, build, expect in cases:
            with self.subTest(label):
                self.hostile(build, expect)

    def test_hostile_duplicates_limits_and_names(self):
        dest = self.hostile(lambda tf: (self.add(tf, "a", b"first"), self.add(tf, "a", b"second")), "duplicate entry")
        self.assertEqual((dest / "a").read_bytes(), b"first")
        self.hostile(lambda tf: (self.add(tf, "d", b"", type=tarfile.DIRTYPE), self.add(tf, "d", b"file")),
                     "duplicate entry")
        self.hostile(lambda tf: (self.add(tf, "f", b"file"), self.add(tf, "f/g", b"x")), "Not a directory")
        self.hostile(lambda tf: (self.add(tf, "a", b"x" * 600), self.add(tf, "b", b"y" * 600)), "max_bytes",
                     max_bytes=1000)
        self.hostile(lambda tf: [self.add(tf, f"f{i}") for i in range(5)], "max_entries", max_entries=4)
        self.hostile(lambda tf: self.add(tf, "bad\udcff.txt"), "not valid UTF-8")

    def test_truncated_and_garbage(self):
        src = self.tmp / "src"
        src.mkdir()
        (src / "big").write_bytes(b"\x01" * 3_000_000)
        out = self.tmp / "h.tar"
        self.write(src, out)
        data = out.read_bytes()
        for label, blob in (("cut in data", data[:1_500_000]), ("cut in header", data[:300]),
                            ("garbage", os.urandom(4096)), ("gzip", b"\x1f\x8b\x08" + os.urandom(2000))):
            with self.subTest(label):
                arch = self.tmp / "t.tar"
                arch.write_bytes(blob)
                dest = self.tmp / ("d-" + label.replace(" ", "-"))
                dest.mkdir()
                res = self.run_lua("extract.lua", arch, dest)
                self.assertTrue(res.startswith("ERR "), res)
                self.assertEqual(list(dest.iterdir()), [])

    def test_gnu_sparse_file_refused(self):
        src = self.tmp / "sp"
        src.mkdir()
        with open(src / "hole", "wb") as f:
            f.truncate(20 << 20)
            f.seek(0, 2)
            f.write(b"x")
        arch = self.tmp / "sp.tar"
        subprocess.run(["tar", "-S", "-cf", arch, "-C", src, "hole"], check=True)
        dest = self.tmp / "spx"
        dest.mkdir()
        res = self.run_lua("extract.lua", arch, dest)
        self.assertIn("sparse file refused", res)
        self.assertEqual(list(dest.iterdir()), [])


if __name__ == "__main__":
    unittest.main()
