-- hostsync.watch: file system change notification (Linux inotify).
--
--   local watch = require "hostsync.watch"
--   local w = assert(watch.open())
--   local dir = assert(w:add("infield/ai_save", { "create", "moved_to", "delete", "moved_from" }))
--   local file = assert(w:add("infield/ai_save/index.csv", { "modify", "delete_self", "move_self" }))
--   for _, ev in ipairs(assert(w:read(5))) do   -- waits up to 5 s; nil: without limit
--     if ev.id == file and ev.modify then ... end
--   end
--
-- Failures of the world return nil, err; wrong arguments raise "Usage: ...".
-- Reference: docs/api/watch.md.
local _, raw = ...

local M = {}

local KINDS = raw.kinds        -- name -> IN_* bit
local ADDABLE = {}             -- the kinds add() takes (the others are only reported)
for name in pairs(KINDS) do ADDABLE[name] = true end
ADDABLE.overflow, ADDABLE.ignored, ADDABLE.isdir, ADDABLE.unmount = nil, nil, nil, nil

local Watcher = {}

function Watcher:add(path, kinds)
  local usage = "Usage: w:add(path, {kind, ...})"
  if type(path) ~= "string" or path == "" then error(usage .. ": path must be a non-empty string", 2) end
  if type(kinds) ~= "table" or #kinds == 0 then error(usage .. ": kinds must be a non-empty list", 2) end
  local mask = 0
  for _, k in ipairs(kinds) do
    if not ADDABLE[k] then error(usage .. ": unknown kind '" .. tostring(k) .. "'", 2) end
    mask = bit.bor(mask, KINDS[k])
  end
  return raw.add(self, path, mask)
end

function Watcher:remove(id)
  if type(id) ~= "number" then error("Usage: w:remove(id)", 2) end
  return raw.remove(self, id)
end

-- w:read([timeout]) -> events | nil, err. Each event: { id =, name = (in a watched
-- directory), <kind> = true for each kind it carries }.
function Watcher:read(timeout)
  if timeout ~= nil and (type(timeout) ~= "number" or timeout < 0 or timeout ~= timeout) then
    error("Usage: w:read([timeout]): timeout must be a number >= 0 (seconds) or nil", 2)
  end
  local events, err = raw.read(self, timeout or -1)
  if not events then return nil, err end
  for _, ev in ipairs(events) do
    for name, b in pairs(KINDS) do
      if bit.band(ev.mask, b) ~= 0 then ev[name] = true end
    end
    ev.mask = nil
  end
  return events
end

Watcher.close = raw.close

raw.watcher_mt.__index = Watcher
raw.watcher_mt.__metatable = "hostsync.watch.watcher"

function M.open()
  return raw.open()
end

-- The kinds w:add takes, sorted (for messages and docs).
M.KINDS = {}
for name in pairs(ADDABLE) do M.KINDS[#M.KINDS + 1] = name end
table.sort(M.KINDS)

return M
