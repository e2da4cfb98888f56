"""Drive hostsync on a real pseudo-terminal, expect-style, for the REPL tests.

The child gets the pty as its controlling terminal (setsid + TIOCSCTTY), so Ctrl-C
typed into it raises SIGINT the way it does for a user at a terminal."""
import fcntl
import os
import pty
import re
import select
import subprocess
import termios
import time

from harness import HOSTSYNC
from waiting import HANG_GUARD

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\x07")


def _make_controlling_tty():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtySession:
    def __init__(self, test, *args, cwd=None, env=None):
        master, slave = pty.openpty()
        # A sane size: libedit wraps lines at the terminal width.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, b"\x18\x00\x78\x00\x00\x00\x00\x00")  # 24x120
        full_env = dict(os.environ, TERM="xterm")
        full_env.update(env or {})
        self.proc = subprocess.Popen([HOSTSYNC, *map(str, args)], stdin=slave, stdout=slave, stderr=slave,
                                     cwd=cwd, env=full_env, preexec_fn=_make_controlling_tty)
        os.close(slave)
        self.master = master
        self.raw = b""
        self.pos = 0  # expect() searches from here
        test.addCleanup(self.close)

    @property
    def text(self):
        """Everything shown so far, escape sequences removed."""
        return ANSI.sub(b"", self.raw).decode("utf-8", "replace")

    def _read(self, timeout):
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:
            return None
        if not chunk:
            return None
        self.raw += chunk
        return True

    def expect(self, pattern, timeout=HANG_GUARD):
        """Waits until `pattern` (a regex) appears after the last match; returns the match.
        The timeout only guards against a hang."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.text, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0 or self._read(min(left, 0.2)) is None and not rx.search(self.text, self.pos):
                raise AssertionError(f"timed out waiting for {pattern!r}; screen so far:\n{self.text}")

    def send(self, keys):
        os.write(self.master, keys.encode() if isinstance(keys, str) else keys)

    def wait(self, timeout=HANG_GUARD):
        """Reads until the child exits; returns its exit status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(0.1) is not None:
            if self.proc.poll() is not None:
                break
        return self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        try:
            os.close(self.master)
        except OSError:
            pass
