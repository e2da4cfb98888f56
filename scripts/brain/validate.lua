-- Request bodies: JSON objects with typed fields. Every refusal names the field, so a
-- client (or an agent reading the error) knows what to fix. Raises {status=, error=},
-- which app.lua turns into the response.
local json = require "hostsync.json"
local names = require "brain.names"

local M = {}
local ARRAY_MT = getmetatable(json.array())

local function fail(msg) error({ status = 400, error = msg }, 0) end
M.fail = fail

-- A count or cursor in text (a query parameter, Last-Event-ID): "" or nil -> nil; else a
-- whole number 0 .. 2^53 - 1 ("1e999", "-1", "1.5" and "0x10" are refused, naming `what`).
function M.whole_number(s, what)
  if s == nil or s == "" then return nil end
  local n = s:match("^%d+$") and tonumber(s)
  if not n or n >= 2^53 then fail(what .. " must be a non-negative integer") end
  return n
end

-- Text the server may store and echo back: valid UTF-8 (json.encode is the judge) and no
-- U+0000 (PostgreSQL's text cannot hold it).
function M.is_text(s)
  if not s:find("[%z\128-\255]") then return true end   -- plain ASCII: the common case
  return not s:find("\0", 1, true) and (pcall(json.encode, s))
end

-- The path parameters and query values of a request, before anything uses them.
function M.request_text(req)
  for where, t in pairs { ["path parameter"] = req.params, ["query parameter"] = req.query } do
    for k, v in pairs(t) do
      if not M.is_text(v) then fail(("%s '%s' must be UTF-8 text without U+0000"):format(where, M.is_text(k) and k or "?")) end
    end
  end
end

function M.body(req, allow_empty)
  if req.body == "" and allow_empty then return {} end
  local v, err = json.decode(req.body)
  if v == nil then fail("body is not valid JSON: " .. tostring(err)) end
  if type(v) ~= "table" or getmetatable(v) == ARRAY_MT then fail("body must be a JSON object") end
  return v
end

-- A path parameter :id -> a positive integer, or 400 naming `what` ("task id").
function M.id(s, what)
  local n = s and s:match("^%d+$") and tonumber(s)
  if not n or n < 1 or n >= 2^53 then fail(what .. " must be a positive integer") end
  return n
end

-- An agent name in a field or query parameter (`what` names it), normalized
-- (brain/names.lua), or 400 saying the rule. nil stays nil.
function M.agent(v, what)
  if v == nil then return nil end
  local n, why = names.agent(v)
  if not n then fail(what .. ": " .. why) end
  return n
end

-- An agent name in query parameter `key` (normalized), or nil when absent or empty.
function M.query_agent(query, key)
  local v = query[key]
  if v == nil or v == "" then return nil end
  return M.agent(v, ("query parameter '%s'"):format(key))
end

-- How deep a free-form object or array field may nest. Stored values are sent back inside
-- answers (a handoff's dependencies inside {handoffs: [...]}), and JSON nesting is bounded
-- (512 levels, docs/api/json.md): a value that only just decodes could never be answered
-- again. 32 levels are plenty for metadata.
M.MAX_FIELD_DEPTH = 32

-- How deep a decoded value nests (a scalar 0, {} 1), looking no deeper than `limit` + 1.
function M.depth(v, limit)
  if type(v) ~= "table" then return 0 end
  if limit <= 0 then return 1 end
  local deepest = 0
  for _, x in pairs(v) do
    local d = M.depth(x, limit - 1)
    if d > deepest then deepest = d end
  end
  return deepest + 1
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
      if (kind == "object" or kind == "array") and M.depth(v, M.MAX_FIELD_DEPTH) > M.MAX_FIELD_DEPTH then
        fail(("field '%s' nests deeper than %d levels"):format(name, M.MAX_FIELD_DEPTH))
      end
      if kind == "string" and s.max and #v > s.max then fail(("field '%s' is longer than %d bytes"):format(name, s.max)) end
      if kind == "string" and v:find("\0", 1, true) then fail(("field '%s' contains U+0000, which is not stored"):format(name)) end
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
