-- hostsync.csv: an incremental RFC 4180 reader for append-only CSV files.
--
--   local csv = require "hostsync.csv"
--   local r = assert(csv.open("index.csv", { offset = off, line_no = line }))
--   local header = r:header()              -- nil, "empty" | nil, "incomplete" | nil, err
--   while true do
--     local json, line_or_err = r:next_object()
--     if json then
--       emit(json, line_or_err)                    -- json, line_no, end_offset
--     elseif line_or_err == nil then
--       break                                      -- nil: nothing complete is left
--     else                                         -- nil, err: a bad record
--       local bad = r:last_error()
--       if bad.fatal then error(line_or_err) end   -- bad header, read error
--       quarantine(bad)                            -- reading continues after it
--     end
--   end
--   save_cursor(r:cursor())                        -- offset, line_no for the next run
--
-- All byte work is C++ (bindings/csv.cpp over host/csv_reader.cpp); the rules are in
-- docs/api/csv.md.
local modname, raw = ...

local M = {}

local mt = raw.reader_mt
raw.reader_mt = nil

local DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024
local OPEN_USAGE = "Usage: csv.open(path [, {offset=, line_no=, max_record_bytes=}])"
local check = require "hostsync.check"
local check_opts, is_count = check.opts, check.is_count

local function check_count(opts, name, min)
  local v = opts[name]
  if v == nil then return nil end
  if type(v) ~= "number" or v ~= math.floor(v) or v < min or v >= 2 ^ 53 then
    error(OPEN_USAGE .. ": " .. name .. " must be an integer >= " .. min .. ", got " .. tostring(v), 3)
  end
  return v
end

-- csv.open(path [, opts]) -> reader | nil, err. Only I/O failures (and a cursor that
-- cannot belong to the file) are errors here; header problems show in r:header().
function M.open(path, opts)
  if type(path) ~= "string" then error(OPEN_USAGE .. ": path must be a string", 2) end
  opts = check_opts(opts, { offset = "any", line_no = "any", max_record_bytes = "any" }, OPEN_USAGE)
  local offset = check_count(opts, "offset", 0) or 0
  local line_no = check_count(opts, "line_no", 0)
  local max = check_count(opts, "max_record_bytes", 1) or DEFAULT_MAX_RECORD_BYTES
  if offset > 0 and line_no == nil then
    error(OPEN_USAGE .. ": offset needs the line_no that came with it (r:cursor() returns both)", 2)
  end
  return raw.open(path, offset, line_no or 0, max)
end

-- Reader methods take no arguments; the C functions check that `self` is a reader and
-- still open (a caller's mistake: "Usage: ..."), so the hot ones are used directly.
local methods = {
  header = raw.header,            -- names | nil, "empty" | nil, "incomplete" | nil, err
  header_end = raw.header_end,    -- byte offset after the header line, or nil
  next = raw.next,                -- rec | nil | nil, err
  next_object = raw.next_object,  -- json, line_no, end_offset | nil | nil, err
  last_error = raw.last_error,    -- the bad record of the last next*() call, or nil
  pending = raw.pending,          -- {offset=, line_no=, bytes=} of a torn tail, or nil
  cursor = raw.cursor,            -- offset, line_no: where a later reader starts
  bytes_read = raw.bytes_read,    -- how far into the file reading has got
  path = raw.path,
  close = raw.close,
}

-- Rendering records straight to a file ------------------------------------------
--
--   local tpl = csv.template{ '{"n":', csv.slot.seq, ',"row":', csv.slot.row, '}\n' }
--   local count, status = r:write_lines(w, tpl, { seq = 1, limit = 10000 })
--
-- Strings in the template are literal text; csv.slot.* are per-record values: seq (a
-- counter starting at opts.seq), line_no, offset, row (canonical JSON of header->value),
-- row_sha256 (hex SHA-256 of row), local_time and utc_time (now, ISO 8601). Lines go to
-- any byte sink (an fs.appender, tar.hash_sink(), crypto.age_writer...) with no Lua per
-- record. Returns count, status: "end" (no complete
-- record left), "limit" (opts.limit lines written) or "bad" (a bad record: see
-- r:last_error(); calling again continues after it); nil, err if writing failed.
M.slot = {}
for _, name in ipairs({ "seq", "line_no", "offset", "row", "row_sha256", "local_time", "utc_time" }) do
  M.slot[name] = setmetatable({ slot = name }, { __newindex = function() error("csv.slot is read-only", 2) end,
                                                 __tostring = function() return "csv.slot." .. name end })
end
local is_slot = {}
for _, v in pairs(M.slot) do is_slot[v] = true end

function M.template(parts)
  local usage = "Usage: csv.template{ 'text', csv.slot.name, ... }"
  if type(parts) ~= "table" or #parts == 0 then error(usage, 2) end
  for i, p in ipairs(parts) do
    if type(p) ~= "string" and not is_slot[p] then
      error(usage .. ": part " .. i .. " is a " .. type(p) .. ", not text or a csv.slot value", 2)
    end
  end
  return raw.template(parts)
end

local raw_write_lines = raw.write_lines
function methods.write_lines(r, w, tpl, opts)
  local usage = "Usage: r:write_lines(sink, template [, {seq=n, limit=n}])"
  if getmetatable(tpl) ~= "csv.template" then error(usage .. ": template must come from csv.template", 2) end
  opts = check_opts(opts, { seq = "any", limit = "any" }, usage)
  if opts.seq ~= nil and not is_count(opts.seq) then error(usage .. ": seq must be a whole number", 2) end
  if opts.limit ~= nil and not is_count(opts.limit) then error(usage .. ": limit must be a whole number", 2) end
  return raw_write_lines(r, w, tpl, opts.seq or 1, opts.limit or 2 ^ 53)
end

mt.__index = methods
mt.__metatable = "csv.reader"
mt.__tostring = function(r)
  if raw.closed(r) then return string.format("csv.reader(%s, closed)", raw.path(r)) end
  local offset, line = raw.cursor(r)
  return string.format("csv.reader(%s @ %d, line %d)", raw.path(r), offset, line)
end

M.DEFAULT_MAX_RECORD_BYTES = DEFAULT_MAX_RECORD_BYTES

return M
