-- The server's conflict policy, one per worker: loaded in hostsync.sandbox, and reloaded
-- when its file changes. At most once per second a worker stats the file (mtime, size,
-- inode); on a change it calls p:reload(), which swaps in the new state only if it
-- loaded, so a broken edit leaves the old policy in force (last_error says why, and the
-- file and error go to stderr). GET /sync/policy shows which policy is in force.
local fs = require "hostsync.fs"
local hash = require "hostsync.hash"
local sandbox = require "hostsync.sandbox"
local store = require "brain.store"
local time = require "hostsync.time"

local M = {}

-- Per decision. A policy is a small function: a thousand times what truth_hierarchy
-- needs still stops a runaway loop within a few milliseconds.
M.LIMITS = { max_instructions = 1000000, max_memory = 16 * 1024 * 1024 }
M.CHECK_EVERY = 1   -- seconds between stats of the file

local function signature(path)
  local st = fs.stat(path, { follow = true })
  if not st then return "missing" end
  return ("%.9f/%d/%d/%d"):format(st.mtime, st.size, st.ino, st.dev)
end

local holder = {}
holder.__index = holder

function M.new(path)
  local self = setmetatable({ path = path, last_check = time.monotonic(), sig = signature(path) }, holder)
  local p, err = sandbox.load(path, M.LIMITS)
  if p then
    self.p, self.loaded_at, self.sha256 = p, store.now(), hash.sha256_file(path)
  else
    self.last_error = err
    io.stderr:write("hostsync brain: sync policy ", path, ": ", tostring(err), "\n")
  end
  return self
end

-- Reloads if the file changed since the last look (at most once per CHECK_EVERY).
function holder:refresh()
  local now = time.monotonic()
  if now - self.last_check < M.CHECK_EVERY then return end
  self.last_check = now
  local sig = signature(self.path)
  if sig == self.sig then return end
  self.sig = sig
  local ok, err
  if self.p then
    ok, err = self.p:reload()
  else
    local p
    p, err = sandbox.load(self.path, M.LIMITS)
    self.p, ok = p, p ~= nil
  end
  if ok then
    self.loaded_at, self.sha256, self.last_error = store.now(), hash.sha256_file(self.path), nil
  else
    self.last_error = tostring(err)
    io.stderr:write("hostsync brain: sync policy ", self.path, " not reloaded, the old one stays in force: ",
                    self.last_error, "\n")
  end
end

-- -> decision | nil, "policy error: ..."
function holder:call(name, ...)
  if not self.p then return nil, "policy error: no policy loaded: " .. tostring(self.last_error) end
  local res, err = self.p:call(name, ...)
  if res == nil then return nil, "policy error: " .. tostring(err) end
  if type(res) ~= "table" then return nil, "policy error: " .. name .. " returned a " .. type(res) .. ", not a table" end
  return res
end

function holder:status()
  local json = require "hostsync.json"
  return { path = self.path, loaded_at = self.loaded_at or json.null, sha256 = self.sha256 or json.null,
           last_error = self.last_error or json.null }
end

return M
