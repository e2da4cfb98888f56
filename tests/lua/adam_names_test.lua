-- scripts/adam/names.lua: artifact file names from untrusted input names (docs/pipeline.md,
-- "File names"). The e2e test ingests real files; this one covers the byte-level edges.
local t = require "hostsync.testing"

local SRC = assert(os.getenv("HOSTSYNC_SOURCE_DIR"), "HOSTSYNC_SOURCE_DIR is set by ctest")
package.path = SRC .. "/scripts/?.lua;" .. package.path
local names = require "adam.names"
local safe = names.safe_name

t.test("ASCII rules as before: letters, digits, . _ - kept, the rest _", function()
  t.eq(safe("notes.txt"), "notes.txt")
  t.eq(safe("my notes (v2).md"), "my_notes__v2_.md")
  t.eq(safe("a/b\\c:d"), "a_b_c_d")
  t.eq(safe("tab\there\127"), "tab_here_")
end)

t.test("valid UTF-8 letters are kept, invisible and reordering characters are not", function()
  t.eq(safe("données-été.md"), "données-été.md")
  t.eq(safe("Ελληνικά.txt"), "Ελληνικά.txt")
  t.eq(safe("😀.md"), "😀.md")
  t.eq(safe("a\u{202E}b"), "a_b")              -- RIGHT-TO-LEFT OVERRIDE
  t.eq(safe("a\u{200F}\u{061C}b"), "a__b")     -- RLM, ARABIC LETTER MARK
  t.eq(safe("a\u{00AD}b"), "a_b")              -- soft hyphen
  t.eq(safe("a\u{E0041}b"), "a_b")             -- tag character
  t.eq(safe("a\u{FFFF}b\u{1FFFE}"), "a_b_")    -- noncharacters
  t.eq(safe("a\u{FDD0}b"), "a_b")
end)

t.test("invalid UTF-8: each bad byte is one _", function()
  t.eq(safe("a\xC0\xAFb"), "a__b")             -- overlong '/'
  t.eq(safe("a\xED\xA0\x80b"), "a___b")        -- a surrogate
  t.eq(safe("a\xF4\x90\x80\x80b"), "a____b")   -- above U+10FFFF
  t.eq(safe("a\xE2\x82"), "a__")               -- truncated sequence
  t.ok(names.valid_utf8("données"))
  t.ok(not names.valid_utf8("a\xC3"))
end)

t.test("empty and dot names, trailing dots, long names", function()
  t.eq(safe(""), "artifact")
  t.eq(safe(".."), "artifact")
  t.eq(safe("x."), "x_")
  t.eq(safe(".bashrc"), ".bashrc")
  local long = safe(string.rep("é", 100) .. ".md")
  t.eq(long, string.rep("é", 38) .. ".md")
  t.ok(#long <= names.MAX_BYTES)
  t.eq(safe(string.rep("ab", 100)), string.rep("ab", 40))
  local cut = safe(string.rep("日", 40))      -- 3-byte characters, no extension
  t.eq(cut, string.rep("日", 26))
  t.ok(names.valid_utf8(cut))
end)
