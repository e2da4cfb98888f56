-- Request bodies: JSON objects with typed fields. Every refusal names the field, so a
-- client (or an agent reading the error) knows what to fix. Raises {status=, error=},
-- which app.lua turns into the response.
local json = require "hostsync.json"

local M = {}
local ARRAY_MT = getmetatable(json.array())

local function fail(msg) error({ status = 400, error = msg }, 0) end
M.fail = fail

function M.body(req, allow_empty)
  if req.body == "" and allow_empty then return {} end
  local v, err = json.decode(req.body)
  if v == nil then fail("body is not valid JSON: " .. tostring(err)) end
  if type(v) ~= "table" or getmetatable(v) == ARRAY_MT then fail("body must be a JSON object") end
  return v
end

-- spec: { name = {"string"|"integer"|"array"|"object", required=bool, max=N, one_of={...}} }
function M.fields(body, spec)
  local out = {}
  for name, s in pairs(spec) do
    local v = body[name]
    if v == nil or v == json.null then
      if s.required then fail(("field '%s' is required (%s)"):format(name, s[1])) end
    else
      local kind = s[1]
      local ok
      if kind == "string" then ok = type(v) == "string"
      elseif kind == "integer" then ok = type(v) == "number" and v == math.floor(v) and v > -2^53 and v < 2^53
      elseif kind == "array" then ok = type(v) == "table" and (getmetatable(v) == ARRAY_MT or next(v) == nil)
      elseif kind == "object" then ok = type(v) == "table" and getmetatable(v) ~= ARRAY_MT end
      if not ok then fail(("field '%s' must be %s %s"):format(name, kind == "integer" and "an" or "a", kind)) end
      if kind == "string" and s.max and #v > s.max then fail(("field '%s' is longer than %d bytes"):format(name, s.max)) end
      if kind == "string" and s.nonempty and v == "" then fail(("field '%s' must not be empty"):format(name)) end
      if s.min and v < s.min then fail(("field '%s' must be at least %d"):format(name, s.min)) end
      if s.maxv and v > s.maxv then fail(("field '%s' must be at most %d"):format(name, s.maxv)) end
      if s.one_of then
        local found = false
        for _, o in ipairs(s.one_of) do found = found or o == v end
        if not found then fail(("field '%s' must be one of %s"):format(name, table.concat(s.one_of, ", "))) end
      end
      out[name] = v
    end
  end
  return out
end

return M
