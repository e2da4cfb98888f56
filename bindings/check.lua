-- hostsync.check: argument checks shared by the Lua halves of the bindings. Errors are
-- raised at level 3: the line of the user's call to the public function that checks.
local M = {}

-- An options table: nil means {}; unknown keys and wrong types are usage errors. `allowed`
-- maps each key to a Lua type name, or "any".
function M.opts(opts, allowed, usage)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error(usage .. ": options must be a table", 3) end
  for k, v in pairs(opts) do
    local want = allowed[k]
    if want == nil then error(usage .. ": unknown option '" .. tostring(k) .. "'", 3) end
    if want ~= "any" and type(v) ~= want then
      error(usage .. ": option '" .. k .. "' must be a " .. want .. ", got " .. type(v), 3)
    end
  end
  return opts
end

return M
