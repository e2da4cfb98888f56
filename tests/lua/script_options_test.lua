-- The scripts' public functions that take an options table refuse a key they do not know,
-- as the bindings do (tests/lua/options_test.lua), with the same check (hostsync.check):
-- a misspelt key is an error naming the function and the key, never a silent default.
-- Each call below is refused before the function touches its other arguments, so they
-- can be nil; the adam store is a real one, and what it stored is checked.
local t = require "hostsync.testing"
local fs = require "hostsync.fs"
local json = require "hostsync.json"

local SRC = assert(os.getenv("HOSTSYNC_SOURCE_DIR"), "HOSTSYNC_SOURCE_DIR is set by ctest")
package.path = SRC .. "/scripts/?.lua;" .. package.path

local store_mod = require "adam.store"
local function new_store()
  local s = assert(store_mod.open(t.tmpdir(), "2026-01-02T03:04:05Z"))
  s.receipt_id = "receipt-test"
  return s
end

-- name (as the error gives it) -> function(opts) calling it with `opts` as its options
local CALLS = {
  ["sync_client.transport.new"] = function(o) return require("sync_client.transport").new("http://127.0.0.1:1", "tok", o) end,
  ["sync_client.push.run"] = function(o) return require("sync_client.push").run(nil, nil, o) end,
  ["sync_client.pull.run"] = function(o) return require("sync_client.pull").run(nil, nil, nil, o) end,
  ["sync_client.follow.run"] = function(o) return require("sync_client.follow").run(nil, o) end,
  ["brain.client.connect"] = function(o) return require("brain.client").connect({}, o) end,
  ["brain.sync_push.push"] = function(o) return require("brain.sync_push").push(nil, nil, nil, nil, o) end,
  ["store:put"] = function(o) o.type = "raw"; o.data = "x"; return new_store():put(o) end,
  ["store:register"] = function(o) o.type = "raw"; o.relpath = "r"; return new_store():register(o) end,
}

-- A plausible misspelling of a real option of each function.
local TYPOS = {
  ["sync_client.transport.new"] = "retires",
  ["sync_client.push.run"] = "batch_size",
  ["sync_client.pull.run"] = "page",
  ["sync_client.follow.run"] = "counts",
  ["brain.client.connect"] = "timout",
  ["brain.sync_push.push"] = "max_clock_skew",
  ["store:put"] = "parent",
  ["store:register"] = "sha",
}

for name, call in pairs(CALLS) do
  t.test(name .. " refuses a misspelt option, naming the function and the key", function()
    local key = assert(TYPOS[name])
    local err = t.raises(function() call({ [key] = 1 }) end, "unknown option '" .. key .. "'")
    t.match(err, "Usage: " .. name:gsub("[%.:]", "%%%0"))
    -- raised at the caller's line (the `call` above), not inside the script
    t.match(err, "script_options_test%.lua:")
  end)
end

t.test("a spelt-right option of the wrong type is refused too", function()
  t.raises(function() CALLS["sync_client.transport.new"]({ retries = "4" }) end,
    "option 'retries' must be a number, got string")
  t.raises(function() CALLS["brain.client.connect"]({ fail = "exit" }) end, "option 'fail' must be a function, got string")
end)

t.test("store:put: a misspelt meta stores nothing; spelt right, the meta is recorded", function()
  local s = new_store()
  t.raises(function()
    s:put({ type = "raw", name = "a.txt", data = "hello", metadata = { source = "mail" } })
  end, "unknown option 'metadata'")
  t.eq(fs.exists(s.root), false)  -- no artifact, no registry: refused before writing
  local rec = assert(s:put({ type = "raw", name = "a.txt", data = "hello", meta = { source = "mail" } }))
  local registry = assert(fs.read_file(s.registry_path))
  t.eq(json.decode(registry).meta, { source = "mail" })
  t.eq(rec.meta.source, "mail")
end)

t.test("the options tables the callers build are accepted", function()
  local tr = require("sync_client.transport").new("http://127.0.0.1:1/", "tok",
    { retries = 0, backoff = 0.1, timeout = 5, on_retry = function() end })
  t.eq(tr.retries, 0)
  t.eq(tr.base, "http://127.0.0.1:1")
  -- brain.client.connect reads the token file named by opts, then keeps cfg's values
  local dir = t.tmpdir()
  t.write_file(dir .. "/token", " secret \n")
  local c = require("brain.client").connect({ server = "http://127.0.0.1:1/", token_file = dir .. "/token" },
    { name = "chat", usage = "usage", fail = error, retries = 1, timeout = 2 })
  t.eq({ c.name, c.token, c.retries, c.timeout }, { "chat", "secret", 1, 2 })
end)
