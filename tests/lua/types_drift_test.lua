-- types/generate.lua --check fails when the annotations, the docs and the modules drift
-- apart (each way), on a copy of the source tree's docs/ and types/.
local t = require "hostsync.testing"
local proc = require "hostsync.proc"
local fs = require "hostsync.fs"

local SRC = assert(os.getenv("HOSTSYNC_SOURCE_DIR"), "HOSTSYNC_SOURCE_DIR is set by CTest")

local function tree_copy()
  local dir = t.tmpdir()
  local r = assert(proc.run({ "cp", "-R", SRC .. "/docs", SRC .. "/types", dir }))
  t.eq(r.status, 0, r.stderr)
  return dir
end

local function check(root)
  return assert(proc.run({ t.hostsync_binary(), "run", SRC .. "/types/generate.lua", "--check", "--root", root }))
end

local function edit(path, from, to, count)
  local text = t.read_file(path)
  local changed, n = text:gsub(from, to, count or 1)
  t.eq(n, count or 1, "the edit applies to " .. path)
  t.write_file(path, changed)
end

t.test("the committed annotations pass", function()
  local r = check(tree_copy())
  t.eq(r.status, 0, r.stderr)
  t.match(r.stdout, "annotations match the docs")
end)

t.test("a changed signature in the docs fails until the annotations are regenerated", function()
  local root = tree_copy()
  edit(root .. "/docs/api/codec.md", "### codec%.hex_encode%(s%)", "### codec.hex_encode(s, upper)")
  local r = check(root)
  t.eq(r.status, 1)
  t.match(r.stderr, "types/hostsync/codec%.lua differs from what the docs give")
  local g = assert(proc.run({ t.hostsync_binary(), "run", SRC .. "/types/generate.lua", "--root", root }))
  t.eq(g.status, 0, g.stderr)
  t.match(assert(fs.read_file(root .. "/types/hostsync/codec.lua")), "function M%.hex_encode%(s, upper%)")
  t.eq(check(root).status, 0)
end)

t.test("a hand edit of an annotation file fails", function()
  local root = tree_copy()
  edit(root .. "/types/hostsync/fs.lua", "function M%.append%(path, data%)", "function M.append(path)")
  t.match(check(root).stderr, "types/hostsync/fs%.lua differs")
end)

t.test("a documented function the module does not export fails", function()
  local root = tree_copy()
  edit(root .. "/docs/api/hash.md", "## Functions\n", "## Functions\n\n### hash.md5(data) -> digest\n")
  local r = check(root)
  t.eq(r.status, 1)
  t.match(r.stderr, "docs/api/hash%.md documents hash%.md5%(%), which hostsync%.hash does not export")
end)

t.test("an exported function the docs leave out fails", function()
  local root = tree_copy()
  edit(root .. "/docs/api/proc.md", "proc%.which%(", "which(", 2)   -- the example and the heading
  local r = check(root)
  t.eq(r.status, 1)
  t.match(r.stderr, "hostsync%.proc%.which is exported but not documented in docs/api/proc%.md")
end)
