-- A sandboxed file the server keeps in force and reloads when it changes: the sync
-- policy (brain/sync_policy.lua) and the hooks file (brain/hooks.lua). At most once per
-- CHECK_EVERY seconds the holder stats the file (mtime, size, inode); on a change it
-- loads it with the caller's `load` (a new sandbox state, plus the caller's checks) and
-- swaps it in only if that succeeded, so a broken edit leaves the old one in force:
-- last_error says why, and the file and error go to stderr.
--
--   local f = policy_file.new(path, load, "sync policy" [, methods])
--   f:refresh()  -> true when it looked at a changed file (loaded or refused)
--   f.p          the loaded value (nil if the first load failed), f.last_error, f:status()
local fs = require "hostsync.fs"
local hash = require "hostsync.hash"
local json = require "hostsync.json"
local store = require "brain.store"
local time = require "hostsync.time"

local M = {}
M.CHECK_EVERY = 1   -- seconds between stats of the file

local function signature(path)
  local st = fs.stat(path, { follow = true })
  if not st then return "missing" end
  return ("%.9f/%d/%d/%d"):format(st.mtime, st.size, st.ino, st.dev)
end

local holder = {}
holder.__index = holder

-- load(path) -> value | nil, err. methods: extra methods of the holder (its class).
function M.new(path, load, label, methods)
  local mt = holder
  if methods then
    methods.__index = methods
    mt = setmetatable(methods, { __index = holder })
  end
  local self = setmetatable({ path = path, load = load, label = label, last_check = time.monotonic(),
                              sig = signature(path) }, mt)
  local p, err = load(path)
  if p then
    self.p, self.loaded_at, self.sha256 = p, store.now(), hash.sha256_file(path)
  else
    self.last_error = tostring(err)
    io.stderr:write("hostsync brain: ", label, " ", path, ": ", self.last_error, "\n")
  end
  return self
end

function holder:refresh()
  local now = time.monotonic()
  if now - self.last_check < M.CHECK_EVERY then return false end
  self.last_check = now
  local sig = signature(self.path)
  if sig == self.sig then return false end
  self.sig = sig
  local p, err = self.load(self.path)
  if p then
    self.p = p
    self.loaded_at, self.sha256, self.last_error = store.now(), hash.sha256_file(self.path), nil
  else
    self.last_error = tostring(err)
    io.stderr:write("hostsync brain: ", self.label, " ", self.path, " not reloaded, the old one stays in force: ",
                    self.last_error, "\n")
  end
  return true
end

function holder:status()
  return { path = self.path, loaded_at = self.loaded_at or json.null, sha256 = self.sha256 or json.null,
           last_error = self.last_error or json.null }
end

return M
