"""Loopback ports for tests that need a peer that is not there."""
import socket


class RefusingPort:
    """A loopback port that refuses connections: bound but never listening, so nothing
    else on the machine (a second test suite running at the same time) can take it until
    release(), and a connection attempt gets ECONNREFUSED at once."""

    def __init__(self, test):
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        test.addCleanup(self.release)

    def release(self):
        """Frees the port, e.g. right before a server of the test's own binds it."""
        self._sock.close()
