-- hostsync.pretty: values rendered for people (the REPL prints results with it).
--
--   local pretty = require "hostsync.pretty"
--   print(pretty.format({ b = 1, a = { 1, 2, "x\n" } }))
--   --> { a = { 1, 2, "x\n" }, b = 1 }
--
-- Tables: sorted keys (numbers, then strings, then the rest), array items without
-- keys, one line when it fits in `width`, else one entry per line; at most `depth`
-- levels and `items` entries per table; a table met again inside itself is shown as
-- <cycle: table: 0x...>. Strings are quoted and escaped so the output reads back as
-- Lua. Anything with a __tostring metamethod (host userdata such as a CSV reader)
-- shows that summary.
local check_opts = require("hostsync.check").opts

local M = {}

local type, tostring, pairs, rawget, pcall = type, tostring, pairs, rawget, pcall
local format, concat, sort = string.format, table.concat, table.sort
local getmetatable = debug.getmetatable  -- host objects hide theirs behind __metatable

M.defaults = { depth = 4, items = 50, width = 80, string_limit = 2000, indent = "  " }
local FORMAT_KEYS = {}   -- format's options: the defaults' keys (built once: format runs per value)
for k in pairs(M.defaults) do FORMAT_KEYS[k] = "any" end

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do keywords[w] = true end

local function is_identifier(s)
  return type(s) == "string" and s:match("^[%a_][%w_]*$") ~= nil and not keywords[s]
end
M.is_identifier = is_identifier

local function valid_utf8(s)
  local i, n = 1, #s
  while i <= n do
    local c = s:byte(i)
    local extra = c < 0x80 and 0 or c >= 0xC2 and c <= 0xDF and 1 or c >= 0xE0 and c <= 0xEF and 2
      or c >= 0xF0 and c <= 0xF4 and 3 or nil
    if extra == nil then return false end
    for j = i + 1, i + extra do
      local d = s:byte(j)
      if d == nil or d < 0x80 or d > 0xBF then return false end
    end
    i = i + extra + 1
  end
  return true
end

local escapes = { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

-- A Lua string literal: control bytes escaped; bytes >= 0x80 kept when the string is
-- UTF-8 text (readable names), escaped as \xNN when it is binary (a digest).
function M.quote(s, limit)
  local tail = ""
  if limit and #s > limit then
    tail = format("...(%d more bytes)", #s - limit)
    s = s:sub(1, limit)
  end
  local high = valid_utf8(s) and "" or "\128-\255"
  local body = s:gsub("[%c\\\"" .. high .. "]", function(c)
    return escapes[c] or format("\\x%02x", c:byte())
  end)
  return '"' .. body .. '"' .. tail
end

local kind_order = { number = 1, string = 2, boolean = 3 }
local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return (kind_order[ta] or 4) < (kind_order[tb] or 4) end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

local function has_tostring(v)
  local mt = getmetatable(v)
  return mt ~= nil and type(mt) == "table" and rawget(mt, "__tostring") ~= nil
end

local function scalar(v, o)
  local t = type(v)
  if t == "string" then return M.quote(v, o.string_limit) end
  if t == "function" then
    local info = debug.getinfo(v, "S")
    if info and info.what ~= "C" then
      return format("%s (%s:%d)", tostring(v), info.short_src, info.linedefined)
    end
    return tostring(v)
  end
  if (t == "userdata" or t == "table" or t == "cdata") and has_tostring(v) then
    local ok, s = pcall(tostring, v)
    if ok and type(s) == "string" then return s end
    return format("<%s: __tostring failed: %s>", t, tostring(s))
  end
  return tostring(v)
end

local render

local function render_table(t, o, level, on_path)
  if on_path[t] then return "<cycle: " .. tostring(t) .. ">" end
  if level >= o.depth then return next(t) == nil and "{}" or "{...}" end
  on_path[t] = true
  local entries, shown = {}, 0
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  local keys = {}
  for k in pairs(t) do
    if not (type(k) == "number" and k >= 1 and k <= n and k % 1 == 0) then keys[#keys + 1] = k end
  end
  sort(keys, key_less)
  local total = n + #keys
  local pad = o.indent:rep(level + 1)
  for i = 1, n do
    if shown >= o.items then break end
    entries[#entries + 1] = render(rawget(t, i), o, level + 1, on_path, #pad)
    shown = shown + 1
  end
  for _, k in ipairs(keys) do
    if shown >= o.items then break end
    local kt = is_identifier(k) and k or ("[" .. render(k, o, level + 1, on_path, #pad) .. "]")
    entries[#entries + 1] = kt .. " = " .. render(rawget(t, k), o, level + 1, on_path, #pad + #kt + 3)
    shown = shown + 1
  end
  if total > shown then entries[#entries + 1] = format("...(%d more)", total - shown) end
  on_path[t] = nil
  if #entries == 0 then return "{}" end
  local one = "{ " .. concat(entries, ", ") .. " }"
  if not one:find("\n", 1, true) and #one + level * #o.indent <= o.width then return one end
  -- One entry per line, except runs of short array items, which fill lines to `width`
  -- (a list of 60 numbers should not take 60 lines).
  local lines, run = {}, nil
  local array_count = math.min(n, o.items)
  for i, e in ipairs(entries) do
    local packable = i <= array_count and not e:find("\n", 1, true)
    if packable and run and #run + 2 + #e + #pad <= o.width then
      run = run .. ", " .. e
    else
      if run then lines[#lines + 1] = run end
      run = packable and e or nil
      if not packable then lines[#lines + 1] = e end
    end
  end
  if run then lines[#lines + 1] = run end
  return "{\n" .. pad .. concat(lines, ",\n" .. pad) .. "\n" .. o.indent:rep(level) .. "}"
end

function render(v, o, level, on_path)
  if type(v) == "table" and not has_tostring(v) then return render_table(v, o, level, on_path) end
  return scalar(v, o)
end

-- pretty.format(v [, {depth=, items=, width=, string_limit=}]) -> string
function M.format(v, opts)
  local o = {}
  for k, d in pairs(M.defaults) do o[k] = d end
  for k, x in pairs(check_opts(opts, FORMAT_KEYS, "Usage: pretty.format(value [, {depth=, items=, width=, string_limit=}])")) do
    o[k] = x
  end
  return render(v, o, 0, {})
end

return M
