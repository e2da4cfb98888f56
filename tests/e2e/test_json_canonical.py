"""json.canonical against the Python recipe printed in docs/api/json.md.

The recipe is read from the page itself, so the documentation cannot drift from what
hostsync writes: random objects of strings (keys mixing ASCII, escapes, controls and
the UTF-16-vs-code-point trap of supplementary characters against U+E000..U+FFFF) are
canonicalized by hostsync and by the recipe, and the bytes must match.
"""
import json
import pathlib
import random
import re
import shutil
import tempfile
import unittest

from harness import hostsync, SOURCE_DIR

DOC = SOURCE_DIR / "docs" / "api" / "json.md"

LUA = r'''
local json = require "hostsync.json"
local out = assert(io.open(arg[2], "wb"))
for line in io.lines(arg[1]) do
  local v = assert(json.decode(line))
  local c = json.canonical(v)
  assert(json.canonicalize(line) == c, "canonicalize disagrees with canonical")
  out:write(c, "\n")
end
out:close()
'''

CHARS = ["a", "b", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\x00", "\x1f", "\x7f",
         "\u0080", "\u00e9", "\u20ac", "\u2028", "\ud7ff", "\ue000", "\ufb33", "\uffff",
         "\U00010000", "\U0001F600", "\U0010FFFF"]


def recipe():
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    code = next(b for b in blocks if "def canonical(" in b)
    scope = {}
    exec(code, scope)
    return scope["canonical"], scope["canonical_sha256"]


class JsonCanonicalTest(unittest.TestCase):
    def test_python_recipe_matches_hostsync(self):
        canonical, canonical_sha256 = recipe()
        rng = random.Random(8785)

        def s(lo, hi):
            return "".join(rng.choice(CHARS) for _ in range(rng.randint(lo, hi)))

        objs = [{s(0, 4): s(0, 8) for _ in range(rng.randint(0, 8))} for _ in range(500)]
        objs.append({"\u20ac": "Euro Sign", "\r": "Carriage Return",
                     "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One",
                     "\U0001F600": "Emoji: Grinning Face", "\u0080": "Control",
                     "\u00f6": "Latin Small Letter O With Diaeresis"})
        d = pathlib.Path(tempfile.mkdtemp(prefix="hostsync-json-"))
        self.addCleanup(lambda: shutil.rmtree(d, True))
        (d / "in.jsonl").write_text("".join(json.dumps(o) + "\n" for o in objs), encoding="ascii")
        (d / "canon.lua").write_text(LUA)
        p = hostsync("run", d / "canon.lua", d / "in.jsonl", d / "out.txt")
        self.assertEqual(p.returncode, 0, p.err)
        got = (d / "out.txt").read_bytes().split(b"\n")[:-1]
        self.assertEqual(len(got), len(objs))
        for o, line in zip(objs, got):
            self.assertEqual(line, canonical(o).encode("utf-8"), repr(o))
        import hashlib
        self.assertEqual(canonical_sha256(objs[-1]), hashlib.sha256(got[-1]).hexdigest())

        # The page's warning holds: sort_keys=True (code point order) gets the RFC's
        # example wrong, and the recipe gets it right.
        naive = json.dumps(objs[-1], ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        self.assertNotEqual(naive.encode("utf-8"), got[-1])
        self.assertLess(got[-1].index("\U0001F600".encode()), got[-1].index("\ufb33".encode()))


if __name__ == "__main__":
    unittest.main(verbosity=2)
