"""Waiting for an observed state, the one way the end-to-end tests wait.

A test never sleeps and then checks: on a slow or loaded machine the state may not be
there yet, on a fast one the moment may have passed. It waits until a condition holds;
the timeout only guards against a hang and fails the test, it never passes one."""
import time

HANG_GUARD = 120   # seconds; far beyond any healthy wait, even on a loaded 2-core machine


def wait_until(predicate, what, timeout=HANG_GUARD, interval=0.01):
    """Returns predicate()'s first truthy value; raises AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout} s waiting for {what}")
        time.sleep(interval)   # the polling interval of an observed state: cannot change an outcome


def process_state(pid):
    """The state letter of /proc/<pid>/stat (R, S, D, T, Z, ...), or None once reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def wait_for_stop(pid, timeout=HANG_GUARD):
    """Waits until the process has stopped itself (a `name:stop` failpoint)."""
    def stopped():
        state = process_state(pid)
        if state in (None, "Z", "X"):
            raise AssertionError(f"pid {pid} exited instead of stopping at its failpoint")
        return state == "T"
    wait_until(stopped, f"pid {pid} to stop at its failpoint", timeout)
