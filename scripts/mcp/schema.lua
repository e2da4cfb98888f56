-- mcp.schema: validates a decoded JSON value against the subset of JSON Schema that tool
-- input schemas use, so a tool's handler only ever sees arguments of the declared shape.
--
--   local errors = schema.validate(value, schema)   -- nil when valid, else a list of
--                                                   -- "at $.path: what" strings
--
-- Supported keywords: type (string or list: object, array, string, integer, number,
-- boolean, null), properties, required, additionalProperties (false or a schema), items,
-- enum, const, minimum, maximum, minLength, maxLength (in characters), minItems, maxItems,
-- pattern (a Lua pattern, not an ECMA regex: documented in docs/mcp.md). Keywords outside
-- the subset (description, title, default, examples, $comment) are annotations. A schema
-- using any other keyword is refused when the tool loads (check()), never silently ignored.
local json = require "hostsync.json"

local M = {}

local ARRAY_MT = getmetatable(json.array())

local ANNOTATIONS = { description = true, title = true, default = true, examples = true, ["$comment"] = true,
                      ["$schema"] = true }
local KEYWORDS = { type = true, properties = true, required = true, additionalProperties = true, items = true,
                   enum = true, const = true, minimum = true, maximum = true, minLength = true, maxLength = true,
                   minItems = true, maxItems = true, pattern = true }

local function is_array(v) return type(v) == "table" and getmetatable(v) == ARRAY_MT end

local function json_type(v)
  if v == json.null then return "null" end
  local t = type(v)
  if t == "table" then return is_array(v) and "array" or "object" end
  if t == "number" then return (v == math.floor(v) and v > -2^53 and v < 2^53) and "integer" or "number" end
  return t
end

local function type_matches(want, got)
  return want == got or (want == "number" and got == "integer")
end

local function equal(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  for k, v in pairs(a) do if not equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local function utf8_length(s)
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end

local function describe(v)
  local ok, text = pcall(json.encode, v)
  return ok and text or tostring(v)
end

local function check_value(v, s, path, errors)
  local function fail(msg) errors[#errors + 1] = ("at %s: %s"):format(path, msg) end
  local got = json_type(v)
  if s.type then
    local types = type(s.type) == "table" and s.type or { s.type }
    local ok = false
    for _, t in ipairs(types) do ok = ok or type_matches(t, got) end
    if not ok then return fail(("expected %s, got %s"):format(table.concat(types, " or "), got)) end
  end
  if s.const ~= nil and not equal(v, s.const) then fail("must be " .. describe(s.const)) end
  if s.enum then
    local found = false
    for _, e in ipairs(s.enum) do found = found or equal(v, e) end
    if not found then
      local names = {}
      for _, e in ipairs(s.enum) do names[#names + 1] = describe(e) end
      fail("must be one of " .. table.concat(names, ", "))
    end
  end
  if got == "string" then
    local n = utf8_length(v)
    if s.minLength and n < s.minLength then fail(("shorter than %d characters"):format(s.minLength)) end
    if s.maxLength and n > s.maxLength then fail(("longer than %d characters"):format(s.maxLength)) end
    if s.pattern and not v:find(s.pattern) then fail("does not match the pattern " .. s.pattern) end
  elseif got == "integer" or got == "number" then
    if s.minimum and v < s.minimum then fail(("must be at least %s"):format(s.minimum)) end
    if s.maximum and v > s.maximum then fail(("must be at most %s"):format(s.maximum)) end
  elseif got == "array" then
    if s.minItems and #v < s.minItems then fail(("needs at least %d items"):format(s.minItems)) end
    if s.maxItems and #v > s.maxItems then fail(("has more than %d items"):format(s.maxItems)) end
    if s.items then
      for i, item in ipairs(v) do check_value(item, s.items, ("%s[%d]"):format(path, i - 1), errors) end
    end
  elseif got == "object" then
    local props = s.properties or {}
    for _, name in ipairs(s.required or {}) do
      if v[name] == nil then fail(("missing required property '%s'"):format(name)) end
    end
    for k, item in pairs(v) do
      local sub = props[k]
      local where = ("%s.%s"):format(path, tostring(k))
      if sub then
        check_value(item, sub, where, errors)
      elseif s.additionalProperties == false then
        fail(("unknown property '%s'"):format(tostring(k)))
      elseif type(s.additionalProperties) == "table" then
        check_value(item, s.additionalProperties, where, errors)
      end
    end
  end
end

-- -> nil | { "at $.x: why", ... }
function M.validate(value, schema)
  local errors = {}
  check_value(value, schema, "$", errors)
  if #errors == 0 then return nil end
  return errors
end

-- Refuses a schema that uses keywords outside the subset: -> true | nil, why
function M.check(schema, path)
  path = path or "inputSchema"
  if type(schema) ~= "table" or is_array(schema) then return nil, path .. " must be an object" end
  for k, v in pairs(schema) do
    if not KEYWORDS[k] and not ANNOTATIONS[k] then
      return nil, ("%s: keyword '%s' is not supported (docs/mcp.md lists the subset)"):format(path, tostring(k))
    end
    if k == "properties" then
      for name, sub in pairs(v) do
        local ok, err = M.check(sub, ("%s.properties.%s"):format(path, name))
        if not ok then return nil, err end
      end
    elseif (k == "items" or (k == "additionalProperties" and type(v) == "table")) then
      local ok, err = M.check(v, path .. "." .. k)
      if not ok then return nil, err end
    elseif k == "pattern" and not pcall(string.find, "", v) then
      return nil, ("%s.pattern: not a valid Lua pattern: %s"):format(path, tostring(v))
    end
  end
  return true
end

return M
