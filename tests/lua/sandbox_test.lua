-- hostsync.sandbox: policies cannot reach the host, cannot run or grow without end, and
-- the host goes on after every failure.
local t = require "hostsync.testing"
local sandbox = require "hostsync.sandbox"

local GOOD = "return { decide = function(a, b) return { winner = a.n > b.n and 'local' or 'remote' } end }"

local function policy_file(source)
  local dir = t.tmpdir()
  local path = dir .. "/policy.lua"
  t.write_file(path, source)
  return path
end

-- A policy with one function `probe` whose body is `body`.
local function probe(body, opts)
  local p = assert(sandbox.load(policy_file("return { probe = function(arg) " .. body .. " end }"), opts))
  return p
end

-- After any failure, a good policy (fresh) and the same state (reused) still work.
local function host_goes_on(p)
  local good = assert(sandbox.load(policy_file(GOOD)))
  t.eq(good:call("decide", { n = 2 }, { n = 1 }), { winner = "local" })
  if p then
    local r, err = p:call("ping")
    t.is_nil(r)
    t.match(err, "no function 'ping'")
  end
end

t.test("a good policy decides on deep copies", function()
  local p = assert(sandbox.load(policy_file([[
    return { decide = function(a, b, ctx) a.changed = true; return { winner = "remote", seen = ctx.list[2], nested = { a = { 1, 2 } } } end }
  ]])))
  local a = { n = 1 }
  local r = assert(p:call("decide", a, { n = 2 }, { list = { "x", "y" } }))
  t.eq(r, { winner = "remote", seen = "y", nested = { a = { 1, 2 } } })
  t.is_nil(a.changed, "the caller's table is not shared")
  t.match(tostring(p), "hostsync.sandbox.policy")
  t.ok(p:memory() > 0)
end)

local refused = {
  { "io", "return io.open('/etc/passwd')" },
  { "os.execute", "return os.execute('true')" },
  { "os.getenv", "return os.getenv('HOME')" },
  { "require", "return require('hostsync.fs')" },
  { "ffi", "return require('ffi')" },
  { "debug", "return debug.getregistry()" },
  { "package", "return package.loaded" },
  { "jit", "return jit.off()" },
  { "load", "return load('return 1')" },
  { "loadstring", "return loadstring('return 1')" },
  { "dofile", "return dofile('/etc/passwd')" },
  { "loadfile", "return loadfile('/etc/passwd')" },
  { "string.dump", "return string.dump(function() end)" },
  { "getfenv", "return getfenv(0)" },
  { "newproxy", "return newproxy(true)" },
  { "collectgarbage", "return collectgarbage('stop')" },
  { "print", "print('hi') return 1" },
  { "the string metatable of the host", "return getmetatable('').__index.dump('x')" },
  { "string.dump through a string value", "return ('').dump(function() end)" },
  { "setfenv", "return setfenv(1, {})" },
  { "gcinfo", "return gcinfo()" },
  { "module", "return module('x')" },
  { "coroutine", "return coroutine.wrap(function() end)" },
  { "os.exit", "return os.exit(1)" },
  { "os.remove", "return os.remove('/tmp/x')" },
  { "os.date", "return os.date()" },
  { "io.write", "return io.write('x')" },
  { "debug.sethook", "return debug.sethook()" },
  { "jit.version", "return jit.version .. ''" },
  { "table.foreach (not on the list)", "return table.foreach({}, print)" },
}

for _, case in ipairs(refused) do
  t.test("refused: " .. case[1], function()
    local p = probe(case[2])
    local r, err = p:call("probe")
    t.is_nil(r)
    t.match(err, "^probe: ")
    host_goes_on(p)
  end)
end

-- The allow-list (host/lua_sandbox.cpp, docs/policies.md): exactly these names, so a
-- function a newer LuaJIT adds is absent until someone puts it on the list.
local ALLOWED = {
  _G = { "_G", "_VERSION", "assert", "bit", "error", "getmetatable", "ipairs", "math", "next", "os", "pairs",
         "pcall", "rawequal", "rawget", "rawset", "select", "setmetatable", "string", "table", "tonumber",
         "tostring", "type", "unpack", "xpcall" },
  string = { "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "rep", "reverse", "sub",
             "upper" },
  table = { "concat", "insert", "maxn", "remove", "sort" },
  math = { "abs", "acos", "asin", "atan", "atan2", "ceil", "cos", "cosh", "deg", "exp", "floor", "fmod", "frexp",
           "huge", "ldexp", "log", "log10", "max", "min", "modf", "pi", "pow", "rad", "random", "randomseed", "sin",
           "sinh", "sqrt", "tan", "tanh" },
  bit = { "arshift", "band", "bnot", "bor", "bswap", "bxor", "lshift", "rol", "ror", "rshift", "tobit", "tohex" },
  os = { "clock", "difftime", "time" },
}

t.test("a policy sees exactly the allow-list: globals and each library", function()
  local p = probe([[
    local function names(t) local n = {} for k in pairs(t) do n[#n + 1] = tostring(k) end table.sort(n) return n end
    return { _G = names(_G), string = names(string), table = names(table), math = names(math), bit = names(bit),
             os = names(os), string_mt = getmetatable('').__index == string }
  ]])
  local got = assert(p:call("probe"))
  t.eq(got.string_mt, true, "a string value's methods are the filtered string table")
  got.string_mt = nil
  t.eq(got, ALLOWED)
end)

t.test("a policy can use every allowed function", function()
  local p = probe([[
    local out = {}
    out[#out + 1] = select("#", 1, 2) == 2 and type(tostring(1)) == "string" and tonumber("7") == 7
    out[#out + 1] = rawequal(rawget({ a = 1 }, "a"), 1) and rawset({}, "k", 1).k == 1 and next({}) == nil
    out[#out + 1] = pcall(error, "x") == false and select(2, xpcall(function() error({ 1 }) end, function(e) return e[1] end)) == 1
    out[#out + 1] = getmetatable(setmetatable({}, { __index = { z = 3 } })).__index.z == 3 and unpack({ 4 }) == 4
    local s = "Hello, policy"
    out[#out + 1] = s:lower():upper():sub(1, 5) == "HELLO" and s:find("pol") == 8 and s:match("(%a+)$") == "policy"
      and s:gsub("l", "L") == "HeLLo, poLicy" and s:rep(2, "|"):len() == 27 and s:reverse():byte(1) == 121
      and string.char(65) == "A" and string.format("%05.1f", 3.14159) == "003.1"
    local words = {} for w in s:gmatch("%a+") do words[#words + 1] = w end
    table.insert(words, 1, "0") table.remove(words, 1) table.sort(words)
    out[#out + 1] = table.concat(words, ",") == "Hello,policy" and table.maxn(words) == 2
    out[#out + 1] = math.floor(math.max(1.5, math.min(9, math.sqrt(16)))) == 4 and math.huge > 1e308
      and math.abs(math.fmod(7, 3) - 1) < 1e-12 and math.random(1, 1) == 1
    out[#out + 1] = bit.band(bit.bor(1, 6), bit.bnot(0)) == 7 and bit.tohex(bit.lshift(1, 4), 2) == "10"
    out[#out + 1] = type(os.time()) == "number" and os.difftime(2, 1) == 1 and type(os.clock()) == "number"
    assert(#out == 9)
    for i = 1, #out do if out[i] ~= true then return "check " .. i .. " failed" end end
    return "all"
  ]])
  t.eq(p:call("probe"), "all")
end)

t.test("only os.time, os.clock and os.difftime are left in os", function()
  local p = probe("local n = {} for k in pairs(os) do n[#n + 1] = k end table.sort(n) return n")
  t.eq(p:call("probe"), { "clock", "difftime", "time" })
end)

t.test("functions and userdata do not cross, in either direction", function()
  local p = probe("return { f = function() end }")
  t.fails("cannot pass a function", p:call("probe"))
  t.fails("argument 1: cannot pass a function", p:call("probe", print))
  t.fails("cannot pass a userdata", p:call("probe", io.stdout))
  local cyc = {}
  cyc.self = cyc
  t.fails("nested too deeply (or cyclic)", p:call("probe", cyc))
  host_goes_on(p)
end)

t.test("metatables are dropped: a returned __index cannot call back", function()
  local p = probe("return setmetatable({}, { __index = function(t, k) return 'from policy ' .. k end })")
  local r = assert(p:call("probe"))
  t.is_nil(getmetatable(r))
  t.is_nil(r.anything)
  -- and an argument's metatable never reaches the policy
  local q = probe("return getmetatable(arg) == nil and rawget(arg, 'x') == nil")
  t.eq(q:call("probe", setmetatable({}, { __index = function() return "host" end })), true)
end)

t.test("bytecode is refused", function()
  local bc = string.dump(function() return { probe = function() return 1 end } end)
  local path = policy_file(bc)
  local p, err = sandbox.load(path)
  t.is_nil(p)
  t.match(err, "bytecode is refused")
  -- the same bytecode after a text prefix is no longer a bytecode chunk: a syntax error
  t.is_nil((sandbox.load(policy_file("\n" .. bc))))
  host_goes_on()
end)

t.test("an endless loop is stopped by the instruction budget", function()
  local p = probe("while true do end", { max_instructions = 100000 })
  t.fails("instruction budget exceeded (100000 instructions)", p:call("probe"))
  host_goes_on(p)
  -- the budget is per call: the same state runs again, and stops again
  t.fails("instruction budget exceeded", p:call("probe"))
end)

t.test("a hot numeric loop (what the JIT would compile) is stopped too", function()
  -- A compiled trace does not run the count hook; the sandbox keeps the JIT off.
  local p = probe("local x = 0 for i = 1, 1e15 do x = x + i end return x", { max_instructions = 1000000 })
  t.fails("instruction budget exceeded", p:call("probe"))
  host_goes_on(p)
end)

t.test("a policy changing its string metatable does not touch the host's", function()
  local p = probe([[
    local mt = getmetatable("")
    mt.__index = function() return function() return "pwned" end end
    mt.__metatable = "locked"
    return ("x"):upper()
  ]])
  t.eq(p:call("probe"), "pwned", "inside the policy's own state it works")
  t.eq(("abc"):upper(), "ABC")
  t.eq(getmetatable("").__index, string)
  host_goes_on(p)
end)

t.test("a loop that catches the budget error with pcall is still stopped", function()
  local p = probe("while true do pcall(function() while true do end end) end", { max_instructions = 100000 })
  t.fails("instruction budget exceeded", p:call("probe"))
  host_goes_on(p)
end)

t.test("endless recursion is an error, not a crash", function()
  local p = probe("local function f(n) return 1 + f(n + 1) end return f(1)")
  local r, err = p:call("probe")
  t.is_nil(r)
  t.ok(err:find("stack overflow", 1, true) or err:find("budget", 1, true), err)
  host_goes_on(p)
end)

t.test("endless allocation is stopped by the memory bound", function()
  local p = probe("local t = {} local i = 0 while true do i = i + 1 t[i] = ('x'):rep(1000) .. i end",
    { max_memory = 4 * 1024 * 1024, max_instructions = 1e9 })
  t.fails("memory budget exceeded (4194304 bytes)", p:call("probe"))
  host_goes_on(p)
  t.ok(p:memory() < 4 * 1024 * 1024)
end)

t.test("one huge string in C (string.rep) is stopped by the memory bound", function()
  local p = probe("return ('x'):rep(1e9)", { max_memory = 4 * 1024 * 1024 })
  t.fails("memory budget exceeded", p:call("probe"))
  host_goes_on(p)
end)

t.test("a huge argument is refused by the memory bound, not copied", function()
  local p = probe("return 1", { max_memory = 1024 * 1024 })
  t.fails("memory budget exceeded", p:call("probe", ("y"):rep(4 * 1024 * 1024)))
  t.eq(p:call("probe"), 1)
end)

t.test("errors of the policy come back with file and line", function()
  local p = probe("error('bad item')")
  t.fails("policy.lua:1: bad item", p:call("probe"))
  local q = probe("error({ message = 'structured' })")
  t.fails("structured", q:call("probe"))
  local r = probe("return nil")
  t.fails("returned nil", r:call("probe"))
end)

t.test("load failures: missing file, syntax error, loops at load time, not a table", function()
  t.fails("cannot read", sandbox.load("/nonexistent/policy.lua"))
  t.fails("policy.lua:1:", sandbox.load(policy_file("return {")))
  t.fails("instruction budget exceeded", sandbox.load(policy_file("while true do end"), { max_instructions = 1000 }))
  t.fails("must return a table", sandbox.load(policy_file("return 42")))
  t.raises(function() sandbox.load(42) end, "Usage: sandbox.load")
  t.raises(function() sandbox.load("x", { max_memory = -1 }) end, "max_memory")
end)

t.test("reload: a good file replaces the policy, a broken one keeps the old in force", function()
  local path = policy_file("return { v = function() return 1 end }")
  local p = assert(sandbox.load(path))
  t.eq(p:call("v"), 1)
  t.write_file(path, "return { v = function() return 2 end }")
  t.eq(p:reload(), true)
  t.eq(p:call("v"), 2)
  t.write_file(path, "return { v = function() return 3 end")   -- syntax error
  local ok, err = p:reload()
  t.is_nil(ok)
  t.match(err, "policy.lua")
  t.eq(p:call("v"), 2, "the old policy stays in force")
  t.write_file(path, "while true do end")
  t.is_nil((p:reload()))
  t.eq(p:call("v"), 2)
  os.remove(path)
  t.fails("cannot read", p:reload())
  t.eq(p:call("v"), 2)
end)

t.test("policy state persists between calls of one loaded policy (and only there)", function()
  local path = policy_file("local n = 0 return { bump = function() n = n + 1 return n end }")
  local p = assert(sandbox.load(path))
  t.eq(p:call("bump"), 1)
  t.eq(p:call("bump"), 2)
  local q = assert(sandbox.load(path))
  t.eq(q:call("bump"), 1)
end)

t.test("get: plain fields are copied out, raw; functions and absent names are told apart", function()
  local p = assert(sandbox.load(policy_file([[
    local M = setmetatable({ coordinator = "marcus", owners = { { "^design/", "priya" } } },
      { __index = function(_, k) return "from __index " .. k end })
    M.decide = function() return 1 end
    return M
  ]])))
  t.eq(p:get("coordinator"), "marcus")
  local owners = p:get("owners")
  t.eq(owners, { { "^design/", "priya" } })
  owners[1][2] = "changed here"                      -- a copy: the policy's map is untouched
  t.eq(p:get("owners"), { { "^design/", "priya" } })
  t.is_nil(p:get("missing"))                          -- raw: the policy's __index never runs
  t.fails("decide: 'decide' is a function: call it", p:get("decide"))
  t.raises(function() p:get(1) end, "Usage: policy:get(name: string)")
  host_goes_on(p)
end)
