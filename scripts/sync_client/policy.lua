-- The conflict policy the client applies on pull, the same file the server uses
-- (policies/truth_hierarchy.lua by default), run in hostsync.sandbox.
local sandbox = require "hostsync.sandbox"

local M = {}

function M.default_path()
  return package.searchpath("truth_hierarchy", package.path)
end

-- -> policy object with :decide(local_item, remote_item, ctx) -> decision | nil, err
function M.load(path)
  path = path or M.default_path()
  if not path then return nil, "no policy file: truth_hierarchy.lua is not on the script path (use --policy FILE)" end
  local p, err = sandbox.load(path)
  if not p then return nil, "policy " .. path .. ": " .. tostring(err) end
  return {
    path = path,
    decide = function(_, l, r, ctx) return p:call("decide", l, r, ctx or {}) end,
  }
end

return M
