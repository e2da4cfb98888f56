"""hostsync.crypto against Debian's `age` binary, both directions.

hostsync encrypts -> `age -d` decrypts, and `age` encrypts -> hostsync decrypts, for
X25519 keys (made by either side) and for passphrases, at the sizes around the 64 KiB
chunk boundary (0, 1, 64 KiB, 64 KiB + 1, a few MB). age reads passphrases only from
the terminal, so the passphrase cases drive it through a pseudo-terminal.
"""
import hashlib
import os
import pathlib
import pty
import select
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import hostsync

AGE = shutil.which("age") or "age"   # missing: the tests fail naming it (.ci/install-deps installs it)
AGE_KEYGEN = shutil.which("age-keygen")
SIZES = [0, 1, 65536, 65537, 3 * 1024 * 1024 + 12345]
PASSPHRASE = "correct horse battery staple"

# A small CLI over hostsync.crypto for these tests.
LUA = r'''
local crypto = require "hostsync.crypto"
local op = arg[1]
local function ids(path) return assert(crypto.age_parse_identities(assert(io.open(path)):read("*a"))) end
if op == "recipient" then
  io.write(assert(crypto.age_recipient(ids(arg[2])[1])), "\n")
elseif op == "keygen" then
  local id, rc = crypto.age_keygen()
  local f = assert(io.open(arg[2], "wb")); f:write("# hostsync key\n", id, "\n"); f:close()
  io.write(rc, "\n")
elseif op == "encrypt" or op == "encrypt-pass" then
  -- Streams the input through the writer in uneven pieces.
  local opts = op == "encrypt" and { recipients = { arg[4] } } or { passphrase = arg[4], work_factor = 12 }
  local w = assert(crypto.age_writer(arg[3], opts))
  local f = assert(io.open(arg[2], "rb"))
  local sizes, i = { 1, 7, 65536, 100000, 3 }, 0
  while true do
    i = i + 1
    local piece = f:read(sizes[(i - 1) % #sizes + 1])
    if not piece then break end
    assert(w:write(piece))
  end
  assert(w:close())
elseif op == "decrypt" or op == "decrypt-pass" then
  local opts = op == "decrypt" and { identities = ids(arg[4]) } or { passphrase = arg[4] }
  local r = assert(crypto.age_reader(arg[2], opts))
  local out = assert(io.open(arg[3], "wb"))
  while true do
    local piece, err = r:read()
    if not piece then assert(not err, err); break end
    out:write(piece)
  end
  out:close()
elseif op == "decrypt-file" then
  assert(crypto.age_decrypt_file(arg[2], arg[3], { identities = ids(arg[4]) }))
end
'''


def age_with_passphrase(args, passphrase, prompts, timeout=120):
    """Runs age on a pseudo-terminal, answering each passphrase prompt."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(AGE, [AGE, *map(str, args)])
        finally:
            os._exit(127)
    out = b""
    answered = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.5)
            if fd in r:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    break  # EIO: the child closed the terminal
                if not data:
                    break
                out += data
                while answered < prompts and out.lower().count(b"passphrase") > answered:
                    os.write(fd, passphrase.encode() + b"\r")
                    answered += 1
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


class AgeInteropTest(unittest.TestCase):
    def setUp(self):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-age-"))
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.script = self.dir / "cli.lua"
        self.script.write_text(LUA)
        self.inputs = {}
        for n in SIZES:
            p = self.dir / f"plain-{n}"
            p.write_bytes(os.urandom(n))
            self.inputs[n] = p

    def lua(self, *args):
        return hostsync("run", self.script, *args, check=True).out.strip()

    def assertSameFile(self, out, plain, msg=None):
        # `age -o FILE` creates FILE at its first write, so an empty plaintext leaves none.
        got = out.read_bytes() if out.exists() or plain.stat().st_size else b""
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(plain.read_bytes()).hexdigest(), msg)

    def test_x25519_both_directions(self):
        key = self.dir / "age-key.txt"
        subprocess.run([AGE_KEYGEN, "-o", key], check=True, capture_output=True)
        recipient = subprocess.run([AGE_KEYGEN, "-y", key], check=True, capture_output=True, text=True).stdout.strip()
        self.assertEqual(self.lua("recipient", key), recipient, "same recipient from the same identity")
        for n, plain in self.inputs.items():
            with self.subTest(direction="hostsync->age", size=n):
                enc = self.dir / f"h-{n}.age"
                self.lua("encrypt", plain, enc, recipient)
                out = self.dir / f"h-{n}.out"
                subprocess.run([AGE, "-d", "-i", key, "-o", out, enc], check=True, capture_output=True)
                self.assertSameFile(out, plain)
            with self.subTest(direction="age->hostsync", size=n):
                enc = self.dir / f"a-{n}.age"
                subprocess.run([AGE, "-r", recipient, "-o", enc, plain], check=True, capture_output=True)
                out = self.dir / f"a-{n}.out"
                self.lua("decrypt", enc, out, key)
                self.assertSameFile(out, plain)
                out2 = self.dir / f"a-{n}.out2"
                self.lua("decrypt-file", enc, out2, key)
                self.assertSameFile(out2, plain)

    def test_hostsync_keys_work_with_age(self):
        key = self.dir / "hs-key.txt"
        recipient = self.lua("keygen", key)
        self.assertEqual(subprocess.run([AGE_KEYGEN, "-y", key], check=True, capture_output=True,
                                        text=True).stdout.strip(), recipient)
        plain = self.inputs[65537]
        enc = self.dir / "k.age"
        subprocess.run([AGE, "-r", recipient, "-o", enc, plain], check=True, capture_output=True)
        out = self.dir / "k.out"
        self.lua("decrypt", enc, out, key)
        self.assertSameFile(out, plain)
        enc2 = self.dir / "k2.age"
        self.lua("encrypt", plain, enc2, recipient)
        out2 = self.dir / "k2.out"
        subprocess.run([AGE, "-d", "-i", key, "-o", out2, enc2], check=True, capture_output=True)
        self.assertSameFile(out2, plain)

    def test_age_refuses_tampered_hostsync_file(self):
        key = self.dir / "age-key.txt"
        subprocess.run([AGE_KEYGEN, "-o", key], check=True, capture_output=True)
        recipient = subprocess.run([AGE_KEYGEN, "-y", key], check=True, capture_output=True, text=True).stdout.strip()
        enc = self.dir / "t.age"
        self.lua("encrypt", self.inputs[65537], enc, recipient)
        data = bytearray(enc.read_bytes())
        data[-20] ^= 1
        bad = self.dir / "bad.age"
        bad.write_bytes(bytes(data))
        proc = subprocess.run([AGE, "-d", "-i", key, "-o", self.dir / "bad.out", bad], capture_output=True)
        self.assertNotEqual(proc.returncode, 0)

    def test_passphrase_both_directions(self):
        for n in (0, 1, 65536, 65537, SIZES[-1]):
            plain = self.inputs[n]
            with self.subTest(direction="hostsync->age", size=n):
                enc = self.dir / f"hp-{n}.age"
                self.lua("encrypt-pass", plain, enc, PASSPHRASE)
                out = self.dir / f"hp-{n}.out"
                code, text = age_with_passphrase(["-d", "-o", out, enc], PASSPHRASE, prompts=1)
                self.assertEqual(code, 0, text)
                self.assertSameFile(out, plain)
        # age -p uses work factor 18 (~1 s of scrypt each): two sizes are enough.
        for n in (65536, SIZES[-1]):
            plain = self.inputs[n]
            with self.subTest(direction="age->hostsync", size=n):
                enc = self.dir / f"ap-{n}.age"
                code, text = age_with_passphrase(["-p", "-o", enc, plain], PASSPHRASE, prompts=2)
                self.assertEqual(code, 0, text)
                self.assertIn(b"-> scrypt ", enc.read_bytes()[:200])
                out = self.dir / f"ap-{n}.out"
                self.lua("decrypt-pass", enc, out, PASSPHRASE)
                self.assertSameFile(out, plain)
        # and a wrong passphrase is refused by hostsync with an authentication error
        proc = hostsync("run", self.script, "decrypt-pass", self.dir / "ap-65536.age", self.dir / "x.out", "wrong")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("authentication failed", proc.err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
