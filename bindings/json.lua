-- hostsync.json: JSON text <-> Lua values, and RFC 8785 canonical JSON.
--
--   local json = require "hostsync.json"
--   local v, err = json.decode('{"a": [1, 2, null]}')   -- v.a[3] == json.null
--   json.encode(v)                       --> '{"a":[1,2,null]}'
--   json.encode(v, { pretty = true, sort_keys = true })
--   json.canonical(v)                    --> RFC 8785 text, for hashing
--   json.canonicalize('{"b":1,"a":2}')  --> '{"a":2,"b":1}'
--
-- Decoded arrays carry an array mark (a metatable), so an empty array stays an array when
-- written back; json.array(t) / json.object(t) mark tables built in Lua. docs/api/json.md
-- is the reference.
local _, raw = ...

local json = {}

local array_mt, object_mt = raw.array_mt, raw.object_mt
local raw_decode, raw_encode, raw_canonicalize = raw.decode, raw.encode, raw.canonicalize
local type, getmetatable, setmetatable, pairs, error = type, getmetatable, setmetatable, pairs, error

-- The value JSON's null decodes to and encodes from (a light userdata: `nil` cannot be
-- stored in a table).
json.null = raw.null

-- json.decode(text) -> value | nil, "line L column C: what"
function json.decode(text)
  if type(text) ~= "string" then
    error("Usage: json.decode(text): text must be a string, got " .. type(text), 2)
  end
  return raw_decode(text)
end

local check_opts = require("hostsync.check").opts
local OPTIONS = { pretty = "boolean", sort_keys = "boolean" }

-- json.encode(value [, {pretty = bool, sort_keys = bool}]) -> text
-- Values without a JSON form raise "json.encode: what at $.path" at the caller.
function json.encode(value, options)
  local pretty, sort_keys = false, false
  if options ~= nil then
    check_opts(options, OPTIONS, "Usage: json.encode(value [, {pretty=bool, sort_keys=bool}])")
    pretty, sort_keys = options.pretty == true, options.sort_keys == true
  end
  local text, err = raw_encode(value, pretty, sort_keys)
  if text == nil then error(err, 2) end
  return text
end

-- json.canonical(value) -> RFC 8785 text (sorted keys, no whitespace, ECMAScript numbers)
function json.canonical(value)
  local text, err = raw_encode(value, false, true)
  if text == nil then error((err:gsub("^json%.encode:", "json.canonical:")), 2) end
  return text
end

-- json.canonicalize(text) -> RFC 8785 text of a JSON document | nil, "line L column C: what"
function json.canonicalize(text)
  if type(text) ~= "string" then
    error("Usage: json.canonicalize(text): text must be a string, got " .. type(text), 2)
  end
  return raw_canonicalize(text)
end

local function mark(name, t, mt)
  if t == nil then return setmetatable({}, mt) end
  if type(t) ~= "table" then
    error("Usage: json." .. name .. "([t]): t must be a table, got " .. type(t), 2)
  end
  local old = getmetatable(t)
  if old ~= nil and old ~= array_mt and old ~= object_mt then
    error("Usage: json." .. name .. "(t): t already has a metatable of its own", 2)
  end
  return setmetatable(t, mt)
end

-- json.array([t]) -> t, marked to be written as a JSON array (a new table if t is nil)
function json.array(t) return mark("array", t, array_mt) end

-- json.object([t]) -> t, marked to be written as a JSON object (a new table if t is nil)
function json.object(t) return mark("object", t, object_mt) end

-- json.is_array(v) -> true if json.encode would write v as a JSON array
function json.is_array(v)
  if type(v) ~= "table" then return false end
  local mt = getmetatable(v)
  if mt == array_mt then return true end
  if mt == object_mt then return false end
  local n, max = 0, 0
  for k in pairs(v) do
    if type(k) ~= "number" or k < 1 or k % 1 ~= 0 then return false end
    n = n + 1
    if k > max then max = k end
  end
  return n > 0 and max == n
end

return json
