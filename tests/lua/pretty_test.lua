-- hostsync.pretty and the REPL's pure helpers (rewriting a leading `local`, compiling
-- with incomplete-chunk detection, completion candidates).
local t = require "hostsync.testing"
local pretty = require "hostsync.pretty"
local repl = require "hostsync.repl"

t.test("scalars and strings read back as Lua", function()
  t.eq(pretty.format(42), "42")
  t.eq(pretty.format(nil), "nil")
  t.eq(pretty.format("a\"b\\c\n\t\0"), [["a\"b\\c\n\t\x00"]])
  t.eq(pretty.format("caf\195\169"), '"caf\195\169"')  -- UTF-8 text stays readable
  t.eq(pretty.format("\255\1"), [["\xff\x01"]])         -- binary is escaped
  local s = "\255\0\n\"x\195\169"
  t.eq(loadstring("return " .. pretty.format(s))(), s)
  t.match(pretty.format(string.rep("x", 3000)), '%.%.%.%(1000 more bytes%)$')
end)

t.test("tables: sorted keys, arrays, nesting, cycles, limits", function()
  t.eq(pretty.format({}), "{}")
  t.eq(pretty.format({ 3, 2, 1 }), "{ 3, 2, 1 }")
  t.eq(pretty.format({ b = 1, a = 2, [2] = "two", [true] = 0, ["not id"] = 1, ["end"] = 1 }),
    '{ [2] = "two", a = 2, b = 1, ["end"] = 1, ["not id"] = 1, [true] = 0 }')
  local c = { name = "c" }
  c.self = c
  t.match(pretty.format(c), '^{ name = "c", self = <cycle: table: 0x%x+> }$')
  local shared = { 1 }
  t.eq(pretty.format({ shared, shared }), "{ { 1 }, { 1 } }")  -- shared is not a cycle
  t.eq(pretty.format({ { { 1 } } }, { depth = 2 }), "{ { {...} } }")
  t.eq(pretty.format({ 1, 2, 3, 4 }, { items = 2 }), "{ 1, 2, ...(2 more) }")
  local wide = pretty.format({ alpha = string.rep("a", 40), beta = string.rep("b", 40) })
  t.eq(wide, '{\n  alpha = "' .. string.rep("a", 40) .. '",\n  beta = "' .. string.rep("b", 40) .. '"\n}')
  t.raises(function() pretty.format(1, { colour = true }) end, "unknown option 'colour'")
end)

t.test("__tostring summaries and functions with their source", function()
  local obj = setmetatable({}, { __tostring = function() return "thing(42)" end, __metatable = "hidden" })
  t.eq(pretty.format({ obj }), "{ thing(42) }")
  t.match(pretty.format(pretty.format), "^function: 0x%x+ %(bindings/pretty.lua:%d+%)$")
  t.match(pretty.format(print), "^function: builtin#%d+$")
end)

t.test("a leading local becomes a session variable", function()
  local body, names = repl.rewrite_local("local x = 1")
  t.eq({ body, names }, { "x = 1", { "x" } })
  t.eq({ repl.rewrite_local("  local a, b=f()") }, { "a, b=f()", { "a", "b" } })
  t.eq({ repl.rewrite_local("local y") }, { "y = nil", { "y" } })
  t.eq({ repl.rewrite_local("local function f() end") }, { "function f() end", { "f" } })
  t.eq({ repl.rewrite_local("x = 1") }, { "x = 1" })
  t.eq({ repl.rewrite_local("local x == 1") }, { "x = nil == 1", { "x" } })  -- and then a syntax error
end)

t.test("compile: expressions, statements, incomplete chunks", function()
  local env = setmetatable({}, { __index = _G })
  t.eq({ repl.compile("1 + 1", "=t", env)() }, { 2 })
  t.eq({ repl.compile("2, 'x'", "=t", env)() }, { 2, "x" })
  t.eq(select(2, repl.compile("for i = 1, 2 do", "=t")), "incomplete")
  t.eq(select(2, repl.compile("{", "=t")), "incomplete")
  t.eq(select(2, repl.compile("s = [[abc", "=t")), "incomplete")
  t.match(select(2, repl.compile("x = = 1", "=t")), "unexpected symbol")
  local ok, err = pcall(repl.compile("error('boom')", "=t", env))
  t.eq({ ok, err }, { false, "t:1: boom" })  -- the position survives (no tail call)
end)

t.test("completion candidates: globals, fields, methods, modules", function()
  local s = repl.session()
  local function names(before)
    local set, partial = repl.candidates(s, before)
    local list = {}
    for k in pairs(set) do if k:sub(1, #partial) == partial then list[#list + 1] = k end end
    table.sort(list)
    return list, partial
  end
  t.eq({ names("x = string.up") }, { { "upper" }, "up" })
  t.eq(names("pri"), { "print" })
  t.eq(names("hostsync.cs"), { "csv" })  -- a module not loaded yet
  local dir = t.tmpdir()
  t.write_file(dir .. "/a.csv", "h\n1\n")
  _G.reader_for_test = assert(require("hostsync.csv").open(dir .. "/a.csv"))
  t.eq(names("reader_for_test:ne"), { "next", "next_object" })
  _G.reader_for_test = nil
  t.eq(names("require 'hostsync.js"), { "hostsync.json" })
  t.eq({ repl.complete(s, "string.rev") }, { "erse", "" })
  local insert, listing = repl.complete(s, "hostsync.hash.sha256_")
  t.eq(insert, "")
  t.match(listing, "sha256_file +sha256_hex +sha256_new")
end)
