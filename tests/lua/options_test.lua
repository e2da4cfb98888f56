-- Every public function that takes an options table refuses a key it does not know: a
-- typo (max_memroy, sha265) must be an error, never a silent fall back to the default.
-- One shared check (hostsync.check) does it; this test calls each function with a
-- misspelt key and checks the refusal (raised before the function touches any file).
local t = require "hostsync.testing"
local check = require "hostsync.check"

local dir = t.tmpdir()
local file = dir .. "/f"
t.write_file(file, "a\n1\n")
t.write_file(dir .. "/policy.lua", "return { f = function() return 1 end }")

local fs = require "hostsync.fs"
local csv = require "hostsync.csv"
local r = assert(csv.open(file))
assert(r:header())
local tpl = csv.template{ csv.slot.row, "\n" }
local reader = assert(fs.line_reader(file))

-- name -> function(opts) calling the public function with `opts` as its options table
local CALLS = {
  ["sandbox.load"] = function(o) return require("hostsync.sandbox").load(dir .. "/policy.lua", o) end,
  ["json.encode"] = function(o) return require("hostsync.json").encode({}, o) end,
  ["pretty.format"] = function(o) return require("hostsync.pretty").format({}, o) end,
  ["time.utc_iso"] = function(o) return require("hostsync.time").utc_iso(0, o) end,
  ["time.local_iso"] = function(o) return require("hostsync.time").local_iso(o) end,
  ["hash.sha256_file"] = function(o) return require("hostsync.hash").sha256_file(file, o) end,
  ["csv.open"] = function(o) return csv.open(file, o) end,
  ["r:write_lines"] = function(o) return r:write_lines(require("hostsync.tar").hash_sink(), tpl, o) end,
  ["db.open"] = function(o) return require("hostsync.db").open("sqlite:" .. dir .. "/db.sqlite", o) end,
  ["proc.run"] = function(o) return require("hostsync.proc").run({ "true" }, o) end,
  ["progress.new"] = function(o) return require("hostsync.progress").new("x", o) end,
  ["repl.session"] = function(o) return require("hostsync.repl").session(o) end,
  ["fs.appender"] = function(o) return fs.appender(dir .. "/out", o) end,
  ["fs.lock"] = function(o) return fs.lock(dir .. "/lock", o) end,
  ["fs.line_reader"] = function(o) return fs.line_reader(file, o) end,
  ["fs.stat"] = function(o) return fs.stat(file, o) end,
  ["reader:match"] = function(o) return reader:match(fs.line_pattern{ "a" }, o) end,
  ["tar.list"] = function(o) return require("hostsync.tar").list(file, o) end,
  ["crypto.age_encrypt"] = function(o)
    local c = require "hostsync.crypto"
    o.recipient = c.age_recipient(c.age_keygen())
    return c.age_encrypt("x", o)
  end,
  ["crypto.age_decrypt"] = function(o) o.passphrase = "p"; return require("hostsync.crypto").age_decrypt("x", o) end,
  ["http.request"] = function(o) o.url = "http://127.0.0.1:1/"; return require("hostsync.http").request(o) end,
  ["http.get"] = function(o) return require("hostsync.http").get("http://127.0.0.1:1/", o) end,
  ["http.subscribe"] = function(o) o.topic = "t"; return require("hostsync.http").subscribe(o) end,
}

for name, call in pairs(CALLS) do
  t.test(name .. " refuses an unknown option", function()
    t.raises(function() call({ no_such_option = 1 }) end, "unknown option 'no_such_option'")
  end)
end

t.test("sandbox.load: a misspelt budget is refused, not replaced by the default", function()
  local sandbox = require "hostsync.sandbox"
  t.raises(function() sandbox.load(dir .. "/policy.lua", { max_memroy = 1024 }) end, "unknown option 'max_memroy'")
  t.raises(function() sandbox.load(dir .. "/policy.lua", { max_instruction = 10 }) end, "unknown option 'max_instruction'")
  t.raises(function() sandbox.load(dir .. "/policy.lua", { max_memory = "1M" }) end, "option 'max_memory' must be a number")
  t.raises(function() sandbox.load(dir .. "/policy.lua", 5) end, "options must be a table")
  -- the spelt-right budget is applied: a policy cannot allocate past it
  local d = t.tmpdir()
  t.write_file(d .. "/big.lua", "return { f = function() return string.rep('x', 8 * 1024 * 1024) end }")
  local p = assert(sandbox.load(d .. "/big.lua", { max_memory = 4 * 1024 * 1024 }))
  local res, err = p:call("f")
  t.is_nil(res)
  t.match(err, "memory")
end)

t.test("the error points at the caller's line", function()
  local json = require "hostsync.json"
  local ok, err = pcall(function() json.encode({}, { prety = true }) end)  -- this line
  t.eq(ok, false)
  t.match(err, "options_test%.lua:" .. debug.getinfo(1, "l").currentline - 2 .. ":")
end)

t.test("check.is_count: whole numbers from 0 below 2^53", function()
  for _, v in ipairs({ 0, 1, 4095, 2 ^ 53 - 1 }) do t.eq(check.is_count(v), true, tostring(v)) end
  for _, v in ipairs({ -1, 1.5, 2 ^ 53, 0 / 0, math.huge, "1", true }) do t.eq(check.is_count(v), false, tostring(v)) end
end)

t.test("check.opts: nil is {}, types are checked, 'any' leaves the value to the caller", function()
  t.eq(check.opts(nil, {}, "U"), {})
  t.eq(check.opts({ a = 1, b = "x" }, { a = "number", b = "any" }, "U"), { a = 1, b = "x" })
  t.raises(function() check.opts({ a = "1" }, { a = "number" }, "U") end, "U: option 'a' must be a number, got string")
  t.raises(function() check.opts({ [1] = true }, { a = "number" }, "U") end, "U: unknown option '1'")
end)
