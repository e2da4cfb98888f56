-- hostsync.check: argument checks shared by the Lua halves of the bindings (one copy of
-- each rule). Every public function that takes an options table checks it here, so a
-- misspelt key is an error instead of a silent fall back to the default.
local floor = math.floor

local M = {}

-- A whole number from 0 to 2^53 (an offset, a count, a size, a mode).
function M.is_count(v)
  return type(v) == "number" and v >= 0 and v == floor(v) and v < 2 ^ 53
end

-- An options table: nil means {}; unknown keys and wrong types are usage errors.
-- `allowed` maps each key to a Lua type name, or to "any" (the caller checks the value).
-- Errors are raised at `level` (default 3: the line of the user's call to the public
-- function that called M.opts; add one per helper in between).
function M.opts(opts, allowed, usage, level)
  level = level or 3
  if opts == nil then return {} end
  if type(opts) ~= "table" then error(usage .. ": options must be a table, got " .. type(opts), level) end
  for k, v in pairs(opts) do
    local want = allowed[k]
    if want == nil then error(usage .. ": unknown option '" .. tostring(k) .. "'", level) end
    if want ~= "any" and type(v) ~= want then
      error(usage .. ": option '" .. k .. "' must be a " .. want .. ", got " .. type(v), level)
    end
  end
  return opts
end

return M
