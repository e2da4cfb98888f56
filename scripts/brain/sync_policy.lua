-- The server's conflict policy, one per worker: loaded in hostsync.sandbox, and reloaded
-- when its file changes (brain/policy_file.lua: at most once per second; a broken edit
-- leaves the old policy in force, last_error says why). GET /sync/policy shows which
-- policy is in force.
--
-- A policy must say what each level may read (section 7.3): `redacts(ctx)` answers a
-- boolean for every reader level, or the policy does not load. Redaction fails closed.
local sandbox = require "hostsync.sandbox"
local policy_file = require "brain.policy_file"

local M = {}

-- Per decision. A policy is a small function: a thousand times what truth_hierarchy
-- needs still stops a runaway loop within a few milliseconds.
M.LIMITS = { max_instructions = 1000000, max_memory = 16 * 1024 * 1024 }

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

local holder = {}

function M.new(path)
  return policy_file.new(path, M.load, "sync policy", holder)
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

return M
