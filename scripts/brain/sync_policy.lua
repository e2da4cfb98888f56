-- The server's conflict policy, one per worker: loaded in hostsync.sandbox, and reloaded
-- when its file changes. At most once per second a worker stats the file (mtime, size,
-- inode); on a change it loads the file into a new state and swaps it in only if it
-- loaded and passed the checks below, so a broken edit leaves the old policy in force
-- (last_error says why, and the file and error go to stderr). GET /sync/policy shows
-- which policy is in force.
--
-- A policy must say what each level may read (section 7.3): `redacts(ctx)` answers a
-- boolean for every reader level, or the policy does not load. Redaction fails closed.
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

-- A loaded policy must answer redacts({reader_level = L}) with a boolean for L = 1..5.
local function probe(p)
  for level = 1, 5 do
    local v, err = p:call("redacts", { reader_level = level })
    if type(v) ~= "boolean" then
      return nil, ("redacts({reader_level = %d}) must return a boolean (section 7.3: what each level may read), got %s")
        :format(level, err and tostring(err) or type(v))
    end
  end
  return true
end

-- path -> a sandboxed policy that passed the checks | nil, err. `hostsync serve` calls
-- this before it listens, so a policy that would not load stops it there.
function M.load(path)
  local p, err = sandbox.load(path, M.LIMITS)
  if not p then return nil, err end
  local ok, perr = probe(p)
  if not ok then return nil, path .. ": " .. perr end
  return p
end

local function signature(path)
  local st = fs.stat(path, { follow = true })
  if not st then return "missing" end
  return ("%.9f/%d/%d/%d"):format(st.mtime, st.size, st.ino, st.dev)
end

local holder = {}
holder.__index = holder

function M.new(path)
  local self = setmetatable({ path = path, last_check = time.monotonic(), sig = signature(path) }, holder)
  local p, err = M.load(path)
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
  local p, err = M.load(self.path)
  if p then
    self.p = p
    self.loaded_at, self.sha256, self.last_error = store.now(), hash.sha256_file(self.path), nil
  else
    self.last_error = tostring(err)
    io.stderr:write("hostsync brain: sync policy ", self.path, " not reloaded, the old one stays in force: ",
                    self.last_error, "\n")
  end
end

-- -> the policy's answer, of type `want` ("table" unless given) | nil, "policy error: ..."
function holder:call(name, arg1, arg2, arg3, want)
  if not self.p then return nil, "policy error: no policy loaded: " .. tostring(self.last_error) end
  local res, err = self.p:call(name, arg1, arg2, arg3)
  want = want or "table"
  if res == nil then return nil, "policy error: " .. tostring(err) end
  if type(res) ~= want then return nil, "policy error: " .. name .. " returned a " .. type(res) .. ", not a " .. want end
  return res
end

function holder:status()
  local json = require "hostsync.json"
  return { path = self.path, loaded_at = self.loaded_at or json.null, sha256 = self.sha256 or json.null,
           last_error = self.last_error or json.null }
end

return M
