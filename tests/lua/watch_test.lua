-- hostsync.watch on real files: each change is made before the read that reports it,
-- so the events are already queued and no outcome depends on timing (the timeouts of
-- the reads are hang guards).
local t = require "hostsync.testing"
local watch = require "hostsync.watch"
local fs = require "hostsync.fs"

local GUARD = 120

-- Reads until `pred(events so far)` holds; the events that came, in order.
local function read_until(w, pred)
  local all = {}
  while not pred(all) do
    local got = assert(w:read(GUARD))
    t.ok(#got > 0, "an event came within the hang guard")
    for _, ev in ipairs(got) do all[#all + 1] = ev end
  end
  return all
end

local function has(events, id, kind, name)
  for _, ev in ipairs(events) do
    if ev.id == id and ev[kind] and (name == nil or ev.name == name) then return true end
  end
  return false
end

t.test("appends, a rotation and a deletion are reported", function()
  local d = t.tmpdir()
  local path = d .. "/index.csv"
  t.write_file(path, "a,b\n")
  local w = assert(watch.open())
  local dir = assert(w:add(d, { "create", "moved_to", "moved_from", "delete" }))
  local file = assert(w:add(path, { "modify", "close_write", "move_self", "delete_self" }))
  t.ok(dir ~= file)
  t.eq(w:read(0), {}, "nothing happened yet: a zero timeout returns at once")

  assert(fs.append(path, "1,2\n"))
  local evs = read_until(w, function(e) return has(e, file, "modify") end)
  t.ok(has(evs, file, "modify"))

  os.rename(path, path .. ".1")   -- rotation: the file moves away, its watch follows it
  evs = read_until(w, function(e) return has(e, file, "move_self") and has(e, dir, "moved_from", "index.csv") end)
  t.ok(has(evs, dir, "moved_from", "index.csv"))

  t.write_file(path, "a,b\n")     -- a new file under the old name
  evs = read_until(w, function(e) return has(e, dir, "create", "index.csv") end)
  t.ok(has(evs, dir, "create", "index.csv"))

  os.remove(path .. ".1")         -- deleting the moved file ends its watch
  evs = read_until(w, function(e) return has(e, file, "ignored") end)
  t.ok(has(evs, file, "delete_self"))
  t.ok(has(evs, file, "ignored"), "the kernel dropped the watch")
  t.eq(w:remove(file), false, "already gone")

  os.remove(path)
  evs = read_until(w, function(e) return has(e, dir, "delete", "index.csv") end)
  t.ok(has(evs, dir, "delete", "index.csv"))
  w:close()
  t.raises(function() w:read(0) end, "Usage: a closed watcher")
end)

t.test("a read without a timeout blocks until an event, then returns all that are pending", function()
  local d = t.tmpdir()
  local w = assert(watch.open())
  local dir = assert(w:add(d, { "create" }))
  t.write_file(d .. "/x", "")
  t.write_file(d .. "/y", "")
  local evs = read_until(w, function(e) return #e >= 2 end)
  t.eq({ evs[1].id, evs[1].name, evs[2].name }, { dir, "x", "y" })
  t.ok(evs[1].create and not evs[1].delete)
end)

t.test("errors and misuse", function()
  local w = assert(watch.open())
  t.fails("watch /nonexistent/x: No such file or directory", w:add("/nonexistent/x", { "modify" }))
  t.raises(function() w:add("/tmp", { "modfiy" }) end, "unknown kind 'modfiy'")
  t.raises(function() w:add("/tmp", { "overflow" }) end, "unknown kind 'overflow'")
  t.raises(function() w:add("/tmp", {}) end, "kinds must be a non-empty list")
  t.raises(function() w:read(-1) end, "timeout must be a number >= 0")
  t.eq(watch.KINDS[1], "access")
end)
