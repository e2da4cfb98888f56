"""Driving Debian's headless Chromium from the e2e tests, through tests/web/driver.mjs
(playwright-core from npm, installed by .ci/install-deps into tests/web/node_modules).

    browser = WebBrowser(test_case_class_holder)
    browser.open("a", url, width=360, height=800)
    browser.until("a", "() => document.querySelector('#conn').dataset.state === 'online'")

Every wait is the page's own (Playwright's waitFor / waitForFunction on animation frames)
with the hang guard as its timeout: it fails a test, it never passes one."""
import json
import os
import pathlib
import queue
import shutil
import subprocess
import threading

from harness import SOURCE_DIR
from waiting import HANG_GUARD

WEB_TESTS = SOURCE_DIR / "tests" / "web"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
BUILD_DIR = pathlib.Path(os.environ.get("HOSTSYNC_BUILD_DIR") or SOURCE_DIR / "build")
SCREENSHOTS = BUILD_DIR / "web-screenshots"


def missing_tools():
    """Why the browser tests cannot run here, or None. The tests fail with this (no skip)."""
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing: run .ci/install-deps (Debian package chromium)"
    if not shutil.which("node"):
        return "node is missing: run .ci/install-deps"
    if not (WEB_TESTS / "node_modules" / "playwright-core" / "package.json").exists():
        return "tests/web/node_modules is missing: run .ci/install-deps (npm ci in tests/web)"
    return None


class WebBrowser:
    """One headless Chromium (one driver process); pages are named, each in its own
    browser context (its own sessionStorage), so two pages are two people."""

    def __init__(self):
        why = missing_tools()
        if why:
            raise AssertionError(why)
        env = dict(os.environ, HANG_GUARD_MS=str(HANG_GUARD * 1000), CHROMIUM=CHROMIUM)
        self.proc = subprocess.Popen(["node", str(WEB_TESTS / "driver.mjs")], cwd=WEB_TESTS, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.answers = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
        self.next_id = 0
        self.version = self._answer(0, "start the browser")

    def _read(self):
        for line in self.proc.stdout:
            self.answers.put(line)
        self.answers.put(None)

    def _read_err(self):
        for line in self.proc.stderr:
            self.stderr.append(line)

    def _answer(self, want_id, what):
        # The driver's own waits time out at HANG_GUARD; this one only catches a driver
        # that hangs or dies outright.
        try:
            line = self.answers.get(timeout=HANG_GUARD + 60)
        except queue.Empty:
            raise AssertionError(f"the browser driver did not answer {what}") from None
        if line is None:
            raise AssertionError(f"the browser driver exited during {what}:\n{''.join(self.stderr)}")
        msg = json.loads(line)
        if msg.get("id") != want_id:
            raise AssertionError(f"the browser driver answered {msg} to {what}")
        if not msg["ok"]:
            raise AssertionError(f"browser: {what}: {msg['error']}")
        return msg["value"]

    def call(self, cmd, **args):
        self.next_id += 1
        self.proc.stdin.write(json.dumps({"id": self.next_id, "cmd": cmd, "args": args}) + "\n")
        self.proc.stdin.flush()
        return self._answer(self.next_id, f"{cmd} {json.dumps(args)[:300]}")

    # The commands, named as in driver.mjs.
    def open(self, page, url, width=1440, height=900, bypass_csp=False):
        return self.call("open", page=page, url=url, width=width, height=height, bypassCSP=bypass_csp)

    def close_page(self, page):
        return self.call("close", page=page)

    def until(self, page, js, arg=None):
        return self.call("until", page=page, js=js, arg=arg)

    def eval(self, page, js, arg=None):
        return self.call("eval", page=page, js=js, arg=arg)

    def wait(self, page, selector, state="visible"):
        return self.call("wait", page=page, selector=selector, state=state)

    def screenshot(self, page, name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return self.call("screenshot", page=page, path=str(SCREENSHOTS / f"{name}.png"))

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
