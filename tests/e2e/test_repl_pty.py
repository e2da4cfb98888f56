"""`hostsync repl`, breakpoints and post-mortem sessions on a real pseudo-terminal: the
prompt, line editing, history across sessions, Tab completion, Ctrl-C and Ctrl-D."""
import pathlib
import shutil
import tempfile
import unittest

from ptysession import PtySession

UP = "\x1b[A"
CTRL_C, CTRL_D = "\x03", "\x04"


class PtyTest(unittest.TestCase):
    def setUp(self):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-repl-pty-"))
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.history = self.dir / "history"

    def session(self, *args):
        return PtySession(self, *args, cwd=self.dir,
                          env={"HOSTSYNC_HISTORY": str(self.history), "HOME": str(self.dir)})


# A prompt at the end of the screen: the session waits for input. Keys typed before
# that would be echoed by the terminal driver instead of the line editor.
PROMPT = r"(?<!>)> $"
MORE = r"(?:debug)?>> $"


class ReplTerminalTest(PtyTest):
    def test_prompt_result_and_ctrl_d(self):
        s = self.session("repl")
        s.expect(r"REPL \(LuaJIT")
        s.expect(PROMPT)
        s.send("6 * 7\r")
        s.expect(r"\n42\r\n")
        s.expect(PROMPT)
        s.send("for i = 1, 2 do\r")
        s.expect(MORE)  # the continuation prompt
        s.send("print('i=' .. i) end\r")
        s.expect(r"i=1\r\ni=2\r\n")
        s.expect(PROMPT)
        s.send(CTRL_D)
        self.assertEqual(s.wait(), 0)

    def test_history_persists_across_sessions(self):
        s = self.session("repl")
        s.expect(PROMPT)
        s.send("marker = 'from session one'\r")
        s.expect(PROMPT)
        s.send("local function f()\r  return 1\rend\r")
        s.expect(PROMPT)
        s.send(CTRL_D)
        self.assertEqual(s.wait(), 0)
        self.assertIn("from", self.history.read_text())
        s = self.session("repl")
        s.expect(PROMPT)
        s.send(UP + UP + "\r")  # the assignment, recalled from the first session
        s.expect(PROMPT)
        s.send("marker\r")
        s.expect(r'"from session one"')
        s.expect(PROMPT)
        s.send(CTRL_D)
        self.assertEqual(s.wait(), 0)

    def test_tab_completion(self):
        (self.dir / "rows.csv").write_text("id,name\n1,a\n")
        s = self.session("repl")
        s.expect(PROMPT)
        s.send("hash = hostsync.hash\r")
        s.expect(PROMPT)
        s.send("hash.sha256_h\t('abc')\r")  # a table field
        s.expect(r'"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"')
        s.expect(PROMPT)
        s.send("string.up\t('q')\r")  # a global table
        s.expect(r'"Q"\r\n')
        s.expect(PROMPT)
        s.send("reader = hostsync.csv.open('rows.csv')\r")
        s.expect(PROMPT)
        s.send("reader:ne\t_object()\r")  # a method, through the userdata's metatable
        s.expect(r'"\{\\"id\\":\\"1\\",\\"name\\":\\"a\\"\}"\t2\t12')
        s.expect(PROMPT)
        s.send("local my_long_local = 5\r")
        s.expect(PROMPT)
        s.send("my_lo\t + 1\r")  # a session local
        s.expect(r"\n6\r\n")
        s.expect(PROMPT)
        s.send("hash.sh\t\t")  # several candidates: the common prefix, then a listing
        s.expect(r"sha256_file +sha256_hex +sha256_new")
        s.send("_hex('')\r")  # only works if the first Tab inserted "a256"
        s.expect(r'"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"')
        s.expect(PROMPT)
        s.send("require 'hostsync.cs\t'\r")  # module names
        s.expect(r"DEFAULT_MAX_RECORD_BYTES = ")
        s.expect(PROMPT)
        s.send(CTRL_D)
        self.assertEqual(s.wait(), 0)

    def test_tab_completes_lazy_modules_and_their_fields(self):
        s = self.session("repl")
        s.expect(PROMPT)
        # hostsync.json is not loaded yet: the name comes from the lazy namespace's
        # preloaded modules; then its fields, once the completer has loaded it. The line
        # runs only if the Tabs inserted "on" and "ode" (hostsync.js is nil).
        s.send("hostsync.js\t.enc\t({ k = 1 })\r")
        s.expect(r'"\{\\"k\\":1\}"\r\n')
        s.expect(PROMPT)
        s.send(CTRL_D)
        self.assertEqual(s.wait(), 0)

    def test_completion_errors_are_shown_and_the_session_goes_on(self):
        s = self.session("repl")
        s.expect(PROMPT)
        # An object whose __index raises: its own fields still complete, and looking
        # through it (bad.missing.<Tab>) completes nothing instead of failing.
        s.send("bad = setmetatable({ field_one = 1 }, { __index = function(_, k) error('no field ' .. k) end })\r")
        s.expect(PROMPT)
        s.send("bad.field_o\t + 1\r")
        s.expect(r"\n2\r\n")
        s.expect(PROMPT)
        s.send("bad.missing.de\t" + CTRL_C)
        s.expect(r"\^C\r?\n> ")
        # A strict _G (reading an unknown global raises): the completer itself fails
        # when it looks the name up. The error shows with its traceback, the line stays.
        s.send("do setmetatable(_G, { __index = function(_, k) error('strict: undefined global ' .. k, 2) end }) end\r")
        s.expect(PROMPT)
        s.send("nosuch.fi\t")
        s.expect(r"completion failed: .*strict: undefined global nosuch\r\nstack traceback:\r\n")
        s.expect(r"in function 'candidates'")
        s.expect(r"> nosuch\.fi")  # the prompt and the line are redrawn, as typed
        s.send(CTRL_C)
        s.expect(r"\^C\r?\n> ")
        s.send("print('still ' .. 'here')\r")
        s.expect(r"still here\r\n")
        s.expect(PROMPT)
        s.send(CTRL_D)
        self.assertEqual(s.wait(), 0)
        self.assertEqual(s.text.count("completion failed"), 1)  # not for the __index object

    def test_ctrl_c_cancels_the_line_and_interrupts_a_statement(self):
        s = self.session("repl")
        s.expect(PROMPT)
        s.send("print('can' .. 'celled')" + CTRL_C)
        s.expect(r"\^C\r?\n> ")
        s.send("io.write('spin', 'ning\\n') io.flush() while true do os.clock() end\r")
        s.expect(r"spinning\r\n")   # the statement runs: Ctrl-C now must interrupt it
        s.send(CTRL_C)
        s.expect(r"interrupted \(Ctrl-C\)\r\nstack traceback:")
        s.expect(PROMPT)
        s.send("print('after')\r")
        s.expect(r"after\r\n")
        s.expect(PROMPT)
        s.send(CTRL_D)
        self.assertEqual(s.wait(), 0)
        self.assertNotIn("cancelled", s.text)


BREAKPOINT = """\
local n = 3
local function step(k)
  local doubled = k * 2
  hostsync.debug.breakpoint()
  return doubled
end
print("result", step(n))
"""

FAILING = """\
local rate = 0.2
local function price(row)
  local total = row.amount + row.fee * rate
  return total
end
print(price({ amount = 1, fee = 1 }))
print(price({ amount = 5 }))
"""


class DebugTerminalTest(PtyTest):
    def test_breakpoint_reads_and_writes_locals_then_continues(self):
        (self.dir / "bp.lua").write_text(BREAKPOINT)
        s = self.session("run", "bp.lua")
        s.expect(r"breakpoint at bp.lua:4: in function 'step'")
        s.expect(PROMPT)
        s.send("doubled, k\r")
        s.expect(r"6\t3\r\n")  # a local and a parameter
        s.expect(PROMPT)
        s.send(".up\r")
        s.expect(r"#1 bp.lua:7: in main chunk")
        s.expect(PROMPT)
        s.send("n\r")  # the caller's local
        s.expect(r"\n3\r\n")
        s.expect(PROMPT)
        s.send(".down\r")
        s.expect(PROMPT)
        s.send("doubled = 100\r")
        s.expect(PROMPT)
        s.send(CTRL_D)  # leaving continues the script, with the changed local
        s.expect(r"result\t100")
        self.assertEqual(s.wait(), 0)

    def test_breakpoint_quit_stops_the_script(self):
        (self.dir / "bp.lua").write_text(BREAKPOINT)
        s = self.session("run", "bp.lua")
        s.expect(PROMPT)
        s.send(".quit\r")
        self.assertEqual(s.wait(), 1)
        self.assertNotIn("result", s.text)

    def test_post_mortem_on_a_terminal(self):
        (self.dir / "fail.lua").write_text(FAILING)
        s = self.session("run", "--debug", "fail.lua")
        s.expect(r"fail.lua:3: attempt to perform arithmetic on field 'fee'")
        s.expect(r"stopped at fail.lua:3: in function 'price'")
        s.expect(PROMPT)
        s.send("row.amount, rate\r")
        s.expect(r"5\t0.2\r\n")
        s.expect(PROMPT)
        s.send(".where\r")
        s.expect(r"> #0 fail.lua:3: in function 'price'\r\n  #1 fail.lua:7: in main chunk")
        s.expect(PROMPT)
        s.send(".up\r")
        s.expect(r"#1 fail.lua:7: in main chunk")
        s.expect(PROMPT)
        s.send("price({ amount = 1, fee = 10 })\r")  # the script's functions are callable
        s.expect(r"\n3\r\n")
        s.expect(PROMPT)
        s.send(".quit\r")
        self.assertEqual(s.wait(), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
