-- luacheck configuration for hostsync's Lua (Debian package lua-check). The test suite
-- runs `luacheck scripts policies examples` (tests/CMakeLists.txt, test lua_luacheck) and
-- wants zero warnings.

-- Scripts run in hostsync's LuaJIT, which adds one global: the lazy module table
-- (`hostsync.fs` == require "hostsync.fs") with `hostsync.version`.
std = "luajit"
read_globals = { "hostsync" }

-- Lines are wrapped by judgement (long tables of test cases and messages read better
-- whole); the checks that find bugs (unused values, shadowing, globals) stay on.
max_line_length = false

-- Policies run in hostsync.sandbox (docs/policies.md, "What a policy can use"): no io,
-- no require, no print, os reduced to time/clock/difftime, string without dump. Checking
-- them against that set catches a policy that would fail only when the host loads it.
stds.hostsync_sandbox = {
  read_globals = {
    "pairs", "ipairs", "type", "tostring", "tonumber", "select", "error", "assert", "pcall",
    "xpcall", "setmetatable", "getmetatable", "rawget", "rawset", "rawequal", "next",
    "unpack", "_G", "_VERSION", "table", "math", "bit",
    string = { fields = { "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower",
                          "match", "rep", "reverse", "sub", "upper" } },
    os = { fields = { "time", "clock", "difftime" } },
  },
}
files["policies/"] = { std = "hostsync_sandbox" }
files["examples/policies/*.lua"] = { std = "hostsync_sandbox" }
-- The policies' own tests are ordinary scripts run by `hostsync test`.
files["examples/policies/*_test.lua"] = { std = "luajit", read_globals = { "hostsync" } }
