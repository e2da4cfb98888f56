"""The hostsync binary as users meet it: help, version, errors, script lookup, arg."""
import pathlib
import tempfile
import unittest

from harness import hostsync


class CliTest(unittest.TestCase):
    def script(self, text):
        d = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-cli-"))
        self.addCleanup(lambda: __import__("shutil").rmtree(d, True))
        p = d / "s.lua"
        p.write_text(text)
        return p

    def test_help_and_version(self):
        p = hostsync("--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("run SCRIPT", p.out)
        p = hostsync("run", "--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("Usage: hostsync run", p.out)
        p = hostsync("version")
        self.assertEqual(p.returncode, 0)
        for name in ("hostsync", "LuaJIT", "OpenSSL", "libarchive"):
            self.assertIn(name, p.out)

    def test_usage_errors_exit_2(self):
        self.assertEqual(hostsync().returncode, 2)
        p = hostsync("frobnicate")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown command 'frobnicate'", p.err)
        p = hostsync("run", "no_such_script.lua")
        self.assertEqual(p.returncode, 2)
        self.assertIn("script 'no_such_script.lua' not found", p.err)
        p = hostsync("run", "phase2.lua", "--bogus")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown option '--bogus'", p.err)

    def test_args_arrive_in_arg(self):
        s = self.script('print(#arg, arg[0] ~= nil, arg[1], arg[2], ...)\n')
        p = hostsync("run", s, "a b", "--flag")
        self.assertEqual(p.returncode, 0, p.err)
        self.assertEqual(p.out, "2\ttrue\ta b\t--flag\ta b\t--flag\n")

    def test_uncaught_error_prints_traceback_with_file_line(self):
        s = self.script('local function inner()\n  error("boom")\nend\ninner()\n')
        p = hostsync("run", s)
        self.assertEqual(p.returncode, 1)
        self.assertIn("s.lua:2: boom", p.err)
        self.assertIn("stack traceback", p.err)
        self.assertIn("s.lua:4", p.err)

    def test_uncaught_db_error_prints_its_traceback(self):
        # A db error value (db.check, a raising handle) carries the traceback of where it
        # was raised; uncaught, it is printed like any unexpected error, not as a bare message.
        s = self.script('local db = require "hostsync.db"\n'
                        'local h = assert(db.open(arg[1]))\n'
                        'local function insert() local n = db.check(h:exec("INSERT INTO nowhere VALUES (1)")) return n end\n'
                        'insert()\n')
        p = hostsync("run", s, str(s.parent / "x.db"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("no such table: nowhere", p.err)
        self.assertIn("stack traceback", p.err)
        self.assertIn("s.lua:3", p.err)
        # an expected failure ({message=, exit_code=}) still prints only its message
        s = self.script('error({ message = "refused: bad row", exit_code = 3 })\n')
        p = hostsync("run", s)
        self.assertEqual((p.returncode, p.err), (3, "refused: bad row\n"))

    def test_os_exit_status_passes_through(self):
        s = self.script('os.exit(7)\n')
        self.assertEqual(hostsync("run", s).returncode, 7)

    def test_bare_name_found_from_anywhere(self):
        # phase2.lua is found in the project's scripts/ whatever the current directory.
        p = hostsync("run", "phase2.lua", "--help", cwd="/")
        self.assertEqual(p.returncode, 0, p.err)
        self.assertIn("Usage: hostsync run phase2.lua", p.out)

    def test_modules_are_available(self):
        s = self.script(
            'local hash = require "hostsync.hash"\n'
            'print(hash.sha256_hex("abc"))\n'
            'print(hostsync.json.canonical({b = "1", a = "2"}))\n')
        p = hostsync("run", s)
        self.assertEqual(p.returncode, 0, p.err)
        self.assertEqual(p.out.splitlines(), [
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            '{"a":"2","b":"1"}'])

    def test_test_runner_counts(self):
        s = self.script(
            'local t = require "hostsync.testing"\n'
            't.test("passes", function() t.eq(1 + 1, 2) end)\n'
            't.test("fails", function() t.eq({a = 1}, {a = 2}) end)\n')
        p = hostsync("test", s)
        self.assertEqual(p.returncode, 1)
        self.assertIn("FAIL", p.out)
        self.assertTrue(p.out.rstrip().endswith("1 passed, 1 failed"), p.out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
