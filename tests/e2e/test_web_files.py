"""How `hostsync serve` serves the web view's files (docs/web.md, scripts/brain/view.lua):
exactly the files of web/, with their types and the security headers, revalidated by
ETag; nothing else under any spelling of a path (no traversal, no listing, no hidden or
unknown file); a directory that is not safe to serve stops the server before it listens;
and an installed tree serves its own copy."""
import http.client
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import unittest

from brain_support import Brain, make_token
from harness import HOSTSYNC, SOURCE_DIR
from waiting import HANG_GUARD

WEB = SOURCE_DIR / "web"
BUILD_DIR = os.environ.get("HOSTSYNC_BUILD_DIR") or str(pathlib.Path(HOSTSYNC).parent)
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
SECURITY = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                               "img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-cache",
}


def raw(port, method, path, headers=None):
    """One request with the path sent exactly as given -> (status, lower-cased headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HANG_GUARD)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        res = conn.getresponse()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
    finally:
        conn.close()


def serve(*args, db):
    """Starts hostsync serve expecting it to refuse -> (exit status, stderr)."""
    p = subprocess.run([HOSTSYNC, "serve", "--port", "0", "--db", str(db), *args],
                       capture_output=True, text=True, timeout=HANG_GUARD)
    return p.returncode, p.stderr


class WebFilesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-webfiles-"))
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.db = cls.tmp / "brain.sqlite"
        cls.token = make_token(cls.db, project="web")
        holder = unittest.TestCase()
        cls.brain = Brain(holder, cls.db)
        cls.addClassCleanup(holder.doCleanups)

    def auth(self):
        return {"Authorization": "Bearer " + self.token}

    def test_every_file_with_its_type_headers_and_etag(self):
        names = sorted(os.listdir(WEB))
        self.assertIn("index.html", names)
        for name in names:
            body = (WEB / name).read_bytes()
            for path in (["/"] if name == "index.html" else []) + [f"/view/{name}"]:
                with self.subTest(path=path):
                    st, h, got = raw(self.brain.port, "GET", path)
                    self.assertEqual((st, got), (200, body))
                    self.assertEqual(h["content-type"], TYPES[pathlib.Path(name).suffix])
                    for k, v in SECURITY.items():
                        self.assertEqual(h.get(k), v, k)
                    self.assertNotIn("set-cookie", h)
                    etag = h["etag"]
                    self.assertRegex(etag, r'^"[0-9a-f]{32}"$')
                    # The client's copy is current: 304, no body, the same headers.
                    for inm in (etag, f'"other", {etag}', "W/" + etag, "*"):
                        st, h304, got = raw(self.brain.port, "GET", path, {"If-None-Match": inm})
                        self.assertEqual((st, got, h304["etag"]), (304, b"", etag), inm)
                        self.assertEqual(h304["content-security-policy"], SECURITY["content-security-policy"])
                    st, _, got = raw(self.brain.port, "GET", path, {"If-None-Match": '"0123"'})
                    self.assertEqual((st, got), (200, body))
                    st, hh, got = raw(self.brain.port, "HEAD", path)
                    self.assertEqual((st, got, hh["etag"]), (200, b"", etag))
        # Distinct files, distinct tags.
        tags = {raw(self.brain.port, "GET", f"/view/{n}")[1]["etag"] for n in names}
        self.assertEqual(len(tags), len(names))

    def test_nothing_but_the_files_under_any_path(self):
        files = {p.read_bytes() for p in WEB.iterdir()}
        secret = (SOURCE_DIR / "scripts/brain/app.lua").read_bytes()
        paths = ["/view/../scripts/brain/app.lua", "/view/..%2Fscripts%2Fbrain%2Fapp.lua", "/view/%2e%2e/%2e%2e/etc/passwd",
                 "/view/..%2f..%2f..%2fetc%2fpasswd", "/view/%2E%2E", "/view/..", "/view/.", "/view//main.js",
                 "/view/main.js/", "/view/main.js%00", "/view/main.js%2500", "/view/main.js%2F", "/view/./main.js",
                 "/view/", "/view", "/view/.hidden", "/web/main.js", "/index.html", "/view/index.html%3F",
                 "/view/MAIN.JS", "/view/main.js.bak", "//", "/view/%5c..%5capp.lua", "/view/..\\app.lua",
                 "/scripts/brain/app.lua", "/view/app.lua"]
        for path in paths:
            with self.subTest(path=path):
                st, h, body = raw(self.brain.port, "GET", path)
                self.assertIn(st, (400, 401), body)        # a stranger: refused, not told what exists
                st, h, body = raw(self.brain.port, "GET", path, self.auth())
                self.assertIn(st, (400, 404), body)
                self.assertNotIn(body, files)
                self.assertNotIn(b"local access = require", body)
                self.assertNotEqual(body, secret)
        # Only GET and HEAD: anything else is the API's business (a token, then 405).
        for method in ("POST", "PUT", "DELETE"):
            empty = {"Content-Length": "0"}
            self.assertEqual(raw(self.brain.port, method, "/view/main.js", empty)[0], 401)
            st, h, _ = raw(self.brain.port, method, "/view/main.js", dict(self.auth(), **empty))
            self.assertEqual((st, h.get("allow")), (405, "GET"))
        # A query does not change what is served.
        self.assertEqual(raw(self.brain.port, "GET", "/view/main.js?../../x=1")[2], (WEB / "main.js").read_bytes())

    def copy_web(self, name):
        d = self.tmp / name
        shutil.copytree(WEB, d)
        return d

    def test_a_directory_unsafe_to_serve_stops_the_server(self):
        cases = {}
        d = self.copy_web("subdir")
        (d / "private").mkdir()
        cases["subdir"] = (d, r"private is not a plain file \(dir\)")
        d = self.copy_web("unknown-type")
        (d / "notes.md").write_text("# notes\n")
        cases["unknown-type"] = (d, r"notes\.md: not a servable name")
        d = self.copy_web("hidden")
        (d / ".env.js").write_text("secret\n")
        cases["hidden"] = (d, r"\.env\.js: not a servable name")
        d = self.copy_web("symlink")
        (d / "passwd.js").symlink_to("/etc/passwd")
        cases["symlink"] = (d, r"passwd\.js is not a plain file \(link\)")
        d = self.copy_web("world-file")
        (d / "main.js").chmod(0o666)
        cases["world-file"] = (d, r"main\.js is writable by every user")
        d = self.copy_web("world-dir")
        d.chmod(0o777)
        cases["world-dir"] = (d, r"world-dir is writable by every user")
        d = self.copy_web("no-index")
        (d / "index.html").unlink()
        cases["no-index"] = (d, r"has no index\.html")
        cases["missing"] = (self.tmp / "nowhere", r"nowhere: No such file or directory")
        for name, (d, why) in cases.items():
            with self.subTest(name):
                status, err = serve("--web", str(d), db=self.tmp / f"{name}.sqlite")
                self.assertEqual(status, 1, err)
                self.assertRegex(err, r"^hostsync serve: web view: .*" + why)
                self.assertNotIn("listening on", err)
        status, err = serve("--web", str(WEB), "--no-web", db=self.tmp / "both.sqlite")
        self.assertEqual(status, 2, err)
        self.assertIn("give --web or --no-web, not both", err)

    def test_another_directory_or_none(self):
        d = self.copy_web("custom")
        (d / "index.html").write_text("<!doctype html><title>ours</title>\n")
        other = Brain(self, self.db, extra=("--web", str(d)))
        st, h, body = raw(other.port, "GET", "/")
        self.assertEqual((st, body, h["content-type"]), (200, b"<!doctype html><title>ours</title>\n", TYPES[".html"]))
        # Read when the server starts: a later change is not served (nor a file added later).
        (d / "index.html").write_text("changed\n")
        (d / "late.js").write_text("late\n")
        self.assertEqual(raw(other.port, "GET", "/")[2], b"<!doctype html><title>ours</title>\n")
        self.assertEqual(raw(other.port, "GET", "/view/late.js")[0], 401)
        none = Brain(self, self.db, extra=("--no-web",))
        self.assertEqual(raw(none.port, "GET", "/")[0], 401)
        st, h, body = raw(none.port, "GET", "/", self.auth())
        self.assertEqual((st, h.get("content-security-policy")), (404, SECURITY["content-security-policy"]))

    def test_hostsync_path_does_not_choose_the_view(self):
        # A brain/ on HOSTSYNC_PATH is the server that runs (docs/architecture.md), but the
        # page stays the binary's own: a web/ in or beside that directory (which another
        # user could have made beside a directory in /tmp) is never served.
        over = self.tmp / "path" / "scripts"
        shutil.copytree(SOURCE_DIR / "scripts" / "brain", over / "brain")
        for planted in (over / "web", over.parent / "web"):
            planted.mkdir()
            (planted / "index.html").write_text("<script>steal()</script>\n")
        brain = Brain(self, self.db, env={**os.environ, "HOSTSYNC_PATH": str(over)})
        self.assertEqual(raw(brain.port, "GET", "/")[2], (WEB / "index.html").read_bytes())

    def test_an_installed_tree_serves_its_own_copy(self):
        prefix = self.tmp / "prefix"
        subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", str(prefix)], check=True, capture_output=True,
                       timeout=HANG_GUARD)
        moved = self.tmp / "moved"
        prefix.rename(moved)
        self.assertEqual(sorted(os.listdir(moved / "share/hostsync/web")), sorted(os.listdir(WEB)))
        p = subprocess.Popen([str(moved / "bin/hostsync"), "serve", "--port", "0", "--db", str(self.db)], cwd="/",
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            line = p.stderr.readline()
            m = re.match(r"listening on http://127\.0\.0\.1:(\d+)$", line.strip())
            self.assertIsNotNone(m, line + p.stderr.read() if p.poll() is not None else line)
            st, _, body = raw(int(m.group(1)), "GET", "/")
            self.assertEqual((st, body), (200, (WEB / "index.html").read_bytes()))
        finally:
            p.terminate()
            p.wait(HANG_GUARD)
            p.stderr.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
