"""`hostsync repl` and `run --debug` driven through a pipe, as programs drive them: no
prompt, no escape codes, statements from stdin, results on stdout, errors on stderr."""
import os
import pathlib
import shutil
import subprocess
import tempfile
import unittest

from harness import HOSTSYNC


def hostsync(*args, cwd=None, input=b""):
    """Runs the binary with `input` on stdin (a pipe); stdout and stderr as text."""
    env = dict(os.environ, HOSTSYNC_HISTORY="")
    p = subprocess.run([HOSTSYNC, *map(str, args)], cwd=cwd, input=input, capture_output=True,
                       timeout=30, env=env)
    p.out = p.stdout.decode("utf-8", "replace")
    p.err = p.stderr.decode("utf-8", "replace")
    return p


def repl(test, stdin, *args, cwd=None):
    p = hostsync("repl", *args, cwd=cwd, input=stdin.encode())
    test.assertNotIn("\x1b", p.out + p.err, "escape codes on a pipe")
    test.assertFalse(any(line.startswith(("> ", ">> ")) for line in p.out.splitlines()), "a prompt on a pipe")
    return p


class Tmp:
    def __init__(self, test):
        self.path = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-repl-"))
        test.addCleanup(shutil.rmtree, self.path, True)

    def write(self, name, text):
        p = self.path / name
        p.write_text(text)
        return p


class ReplPipeTest(unittest.TestCase):
    def test_expressions_print_values(self):
        p = repl(self, '1 + 1\n"a", 2, nil\nmath.max(3, 9)\nprint("side effect")\n')
        self.assertEqual(p.returncode, 0, p.err)
        self.assertEqual(p.out, '2\n"a"\t2\tnil\n9\nside effect\n')

    def test_local_persists_across_lines_without_leaking_to_globals(self):
        p = repl(self, "local x = 41\nx + 1\nlocal a, b = 1, 2\na + b\n"
                       "local function twice(v) return v * 2 end\ntwice(x)\n"
                       "local y\ny == nil\nrawget(_G, 'x'), rawget(_G, 'twice')\n"
                       "g = 5\nrawget(_G, 'g')\n")
        self.assertEqual(p.returncode, 0, p.err)
        self.assertEqual(p.out.splitlines(), ["42", "3", "82", "true", "nil\tnil", "5"])

    def test_multi_line_chunks_continue_until_complete(self):
        p = repl(self, "function f(n)\n  local t = {}\n  for i = 1, n do\n    t[i] = i * i\n  end\n"
                       "  return t\nend\nf(3)\nlocal s = [[one\ntwo]]\ns\n{\n  k = 1,\n}\n1 +\n2\n")
        self.assertEqual(p.returncode, 0, p.err)
        self.assertEqual(p.out, '{ 1, 4, 9 }\n"one\\ntwo"\n{ k = 1 }\n3\n')

    def test_errors_show_message_and_traceback_and_the_session_goes_on(self):
        p = repl(self, "local function inner() error('boom') end\ninner()\nprint('still here')\n"
                       "x = = 1\nnil + 1\n")
        self.assertEqual(p.returncode, 1, "a pipe session with a failed statement exits 1")
        self.assertIn("still here", p.out)
        self.assertIn("repl:1: boom\nstack traceback:", p.err)
        self.assertIn("in function 'inner'", p.err)
        self.assertIn("repl:1: unexpected symbol near '='", p.err)
        self.assertIn("attempt to perform arithmetic on a nil value", p.err)
        self.assertNotIn("bindings/repl.lua", p.err, "the REPL's own frames are trimmed")
        p = repl(self, "x = \n")
        self.assertEqual(p.returncode, 1)
        self.assertIn("incomplete chunk at end of input", p.err)

    def test_pretty_printing(self):
        t = Tmp(self)
        t.write("data.csv", "id,name\n1,a\n2,b\n")
        p = repl(self, 't = { b = 2, a = { 1, 2 }, [10] = "x", ["two words"] = true }\nt\n'
                       'c = {}; c.me = c\nc\n"tab\\tquote\\"nl\\n\\0"\n"\\xff\\xfe"\n"café"\n'
                       '{ { { { { "deep" } } } } }\n'
                       'local r = hostsync.csv.open("data.csv")\nr:next_object()\nr\n'
                       'local big = {} for i = 1, 60 do big[i] = i end\nbig\n', cwd=t.path)
        self.assertEqual(p.returncode, 0, p.err)
        lines = p.out.splitlines()
        self.assertEqual(lines[0], '{ [10] = "x", a = { 1, 2 }, b = 2, ["two words"] = true }')
        self.assertRegex(lines[1], r'^\{ me = <cycle: table: 0x[0-9a-f]+> \}$')
        self.assertEqual(lines[2], r'"tab\tquote\"nl\n\x00"')
        self.assertEqual(lines[3], r'"\xff\xfe"')
        self.assertEqual(lines[4], '"café"')
        self.assertEqual(lines[5], "{ { { { {...} } } } }")
        self.assertEqual(lines[7], "csv.reader(data.csv @ 12, line 2)")
        self.assertEqual(lines[8], "{")
        self.assertEqual(lines[9], "  " + ", ".join(map(str, range(1, 23))) + ",")  # filled to 80 columns
        self.assertEqual(lines[12:14], ["  ...(10 more)", "}"])

    def test_reload_picks_up_an_edited_module(self):
        t = Tmp(self)
        (t.path / "policies").mkdir()
        t.write("policies/pol.lua", "return { limit = function() return 1 end }\n")
        script = "local p = require 'pol'\np.limit()\n"
        p = hostsync("repl", "--root", t.path, input=(script + ".reload pol\np.limit()\n").encode())
        self.assertEqual(p.returncode, 0, p.err)
        self.assertEqual(p.out.splitlines(), ["1", "reloaded pol (rebound: p)", "1"])
        # Edit the policy between two statements of one session.
        edit = (f"local f = io.open('{t.path}/policies/pol.lua', 'w') "
                "f:write('return { limit = function() return 2 end }') f:close()\n")
        p = hostsync("repl", "--root", t.path,
                     input=(script + edit + ".reload pol\np.limit()\n.reload no_such_mod\n").encode())
        self.assertEqual(p.out.splitlines(), ["1", "reloaded pol (rebound: p)", "2"])
        self.assertIn("module 'no_such_mod' not found", p.err)

    def test_e_l_and_script_run_first(self):
        t = Tmp(self)
        s = t.write("setup.lua", "greeting = 'hello ' .. (arg[1] or '?')\nreturn 1\n")
        p = repl(self, "csv ~= nil, x, greeting\n", "-l", "hostsync.csv", "-e", "x = 5", "-e", "x = x * 2", s, "you")
        self.assertEqual(p.returncode, 0, p.err)
        self.assertEqual(p.out, 'true\t10\t"hello you"\n')
        p = repl(self, "j.encode({1})\n", "-l", "j=hostsync.json")
        self.assertEqual(p.out, '"[1]"\n')
        p = repl(self, "print('never')\n", "-e", "error('setup failed')")
        self.assertEqual(p.returncode, 1)
        self.assertIn("setup failed", p.err)
        self.assertNotIn("never", p.out)
        p = hostsync("repl", "--bogus")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown option '--bogus'", p.err)

    def test_dot_commands(self):
        t = Tmp(self)
        f = t.write("lib.lua", "loaded_value = 7\nreturn 'done'\n")
        p = repl(self, f".help\n.load {f}\nloaded_value\n.frobnicate\n.quit\nprint('after quit')\n")
        self.assertIn(".reload MODULE", p.out)
        self.assertIn(".load FILE", p.out)
        self.assertIn('"done"\n7\n', p.out)
        self.assertIn("unknown command .frobnicate", p.err)
        self.assertNotIn("after quit", p.out)

    def test_help_texts(self):
        p = hostsync("repl", "--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("Usage: hostsync repl", p.out)
        self.assertIn("-l MODULE", p.out)
        self.assertIn("repl", hostsync("--help").out)
        self.assertIn("--debug", hostsync("run", "--help").out)


FAILING = """\
local rate = 0.2
local function price(row)
  local base = row.amount * 2
  local total = base + row.fee * rate
  return total
end
local rows = { { amount = 10, fee = 1 }, { amount = 5 } }
for i, row in ipairs(rows) do
  print(i, price(row))
end
"""


class DebugPipeTest(unittest.TestCase):
    def test_post_mortem_in_the_failing_frame(self):
        t = Tmp(self)
        t.write("fail.lua", FAILING)
        stdin = "base\nrow\nrate\n.where\n.up\ni\n.down\nrate = 1\nrate\n.locals\n.quit\nprint('not reached')\n"
        p = hostsync("run", "--debug", "fail.lua", cwd=t.path, input=stdin.encode())
        self.assertEqual(p.returncode, 1)
        self.assertIn("fail.lua:4: attempt to perform arithmetic on field 'fee'", p.err)
        out = p.out.splitlines()
        self.assertEqual(out[0], "1\t20.2")
        self.assertIn("stopped at fail.lua:4: in function 'price'", p.out)
        i = out.index("10")  # base, then row, then the upvalue rate
        self.assertEqual(out[i:i + 3], ["10", "{ amount = 5 }", "0.2"])
        self.assertIn("> #0 fail.lua:4: in function 'price'\n  #1 fail.lua:9: in main chunk", p.out)
        self.assertIn("#1 fail.lua:9: in main chunk\n    9  print(i, price(row))\n2\n", p.out)
        self.assertIn("\n1\n  row = { amount = 5 }\n  base = 10\n", p.out, "rate = 1 set the upvalue")
        self.assertIn("rate = 1  (upvalue)", p.out)
        self.assertNotIn("not reached", p.out)

    def test_post_mortem_end_of_input_exits_1_and_clean_runs_are_untouched(self):
        t = Tmp(self)
        p = hostsync("run", "--debug", t.write("fail.lua", FAILING), input=b"")
        self.assertEqual(p.returncode, 1)
        self.assertIn("hostsync: ", p.err)
        ok = t.write("ok.lua", "print('fine', ...)\n")
        p = hostsync("run", "--debug", ok, "a", input=b"")
        self.assertEqual((p.returncode, p.out), (0, "fine\ta\n"))
        # Expected failures (cli.fail) are not bugs: message and status, no session.
        f = t.write("refuse.lua", "require('hostsync.cli').fail('refused: bad row', 3)\n")
        p = hostsync("run", "--debug", f, input=b"1+1\n")
        self.assertEqual((p.returncode, p.err.strip(), p.out), (3, "refused: bad row", ""))

    def test_breakpoint_without_a_terminal_is_a_one_line_no_op(self):
        t = Tmp(self)
        t.write("bp.lua", "local n = 3\nhostsync.debug.breakpoint('check n')\nprint('after', n)\n")
        p = hostsync("run", "bp.lua", cwd=t.path, input=b"n = 100\n")
        self.assertEqual(p.returncode, 0, p.err)
        self.assertEqual(p.out, "after\t3\n")
        self.assertEqual(p.err, "hostsync: breakpoint at bp.lua:2 (check n) skipped: no terminal\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
