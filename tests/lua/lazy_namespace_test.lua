-- The global `hostsync` table: hostsync.<name> is require "hostsync.<name>"; a name that
-- is no module is nil, and a module that fails to load raises its own error (it used to
-- be nil too, which surfaced later as "attempt to index a nil value").
local t = require "hostsync.testing"

local fs = require "hostsync.fs"
local path = package.path

-- Modules hostsync.lazy_* on package.path, in a directory of this test.
local function modules()
  local dir = t.tmpdir()
  assert(fs.mkdir_p(dir .. "/hostsync"))
  t.write_file(dir .. "/hostsync/lazy_syntax.lua", "local x = = 1\n")
  t.write_file(dir .. "/hostsync/lazy_raises.lua", "error('lazy_raises refuses to load')\n")
  t.write_file(dir .. "/hostsync/lazy_needs.lua", "return require 'hostsync_lazy_missing_dependency'\n")
  t.write_file(dir .. "/hostsync/lazy_fine.lua", "return { ok = true }\n")
  package.path = dir .. "/?.lua;" .. path
end

t.test("an embedded module loads on first use, and is the required one", function()
  t.eq(hostsync.json, require "hostsync.json")
end)

t.test("a name that is no module is nil", function()
  modules()
  t.is_nil(hostsync.no_such_module)
  t.is_nil(hostsync[1])
  t.eq(hostsync.lazy_fine, { ok = true })
end)

t.test("a module that fails to load raises its own error at the caller's line", function()
  modules()
  t.raises(function() return hostsync.lazy_syntax end, "lazy_syntax.lua:1: unexpected symbol")
  t.raises(function() return hostsync.lazy_raises end, "lazy_raises refuses to load")
  -- a missing dependency is a load error of the module that needs it, not "no module"
  t.raises(function() return hostsync.lazy_needs end, "hostsync_lazy_missing_dependency")
  local ok, err = pcall(function() return hostsync.lazy_raises end)  -- this line
  t.eq(ok, false)
  t.match(err, "lazy_namespace_test%.lua:" .. debug.getinfo(1, "l").currentline - 2 .. ":")
  -- still raising on the next use (require's own "loop or previous error loading
  -- module"): a failed load is never cached as nil
  t.raises(function() return hostsync.lazy_raises end, "loading module 'hostsync.lazy_raises'")
end)
