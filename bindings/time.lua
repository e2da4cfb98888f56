-- hostsync.time: clocks, sleeping, ISO 8601 and strftime.
--
--   local time = require "hostsync.time"
--   time.now()                              --> 1795451152.123 (epoch seconds, float)
--   time.utc_iso()                          --> "2026-11-23T16:25:52Z"
--   time.local_iso(t, { ms = true })        --> "2026-11-23T17:25:52.123+01:00"
--   time.format_utc("%Y%m%d_%H%M%S")        --> "20261123_162552"
--   time.parse_iso("2026-11-23T17:25:52+01:00") --> 1795451152
--
-- Reference: docs/api/time.md.
local _, raw = ...

local type, error, tostring = type, error, tostring
local raw_now, raw_utc_iso, raw_local_iso = raw.now, raw.utc_iso, raw.local_iso
local MIN, MAX = raw.min_time, raw.max_time + 1

local check_opts = require("hostsync.check").opts

local M = {}

M.now = raw_now
M.monotonic = raw.monotonic

function M.sleep(seconds)
  if type(seconds) ~= "number" or seconds ~= seconds or seconds < 0 or seconds == math.huge then
    error("Usage: time.sleep(seconds: number >= 0)", 2)
  end
  raw.sleep(seconds)
end

-- Shared checks of ([t] [, opts]): t defaults to now, opts may come alone.
local function check_t(t, usage, level)
  if t == nil then return raw_now() end
  if type(t) ~= "number" or not (t >= MIN and t < MAX) then
    error(usage .. ": t must be epoch seconds within years 0000..9999, got " .. tostring(t), level + 1)
  end
  return t
end

local function iso(fn, name)
  local usage = "Usage: time." .. name .. "([t: number] [, {ms=bool}])"
  return function(t, opts)
    if opts == nil and type(t) == "table" then t, opts = nil, t end
    t = check_t(t, usage, 2)
    return fn(t, check_opts(opts, { ms = "boolean" }, usage).ms == true)
  end
end

M.utc_iso = iso(raw_utc_iso, "utc_iso")
M.local_iso = iso(raw_local_iso, "local_iso")

local function format(fn, name)
  local usage = "Usage: time." .. name .. "(fmt: string [, t: number])"
  return function(fmt, t)
    if type(fmt) ~= "string" then error(usage, 2) end
    if fmt:find("\0", 1, true) then error(usage .. ": fmt contains a NUL byte", 2) end
    return fn(fmt, check_t(t, usage, 2))
  end
end

M.format_utc = format(raw.format_utc, "format_utc")
M.format_local = format(raw.format_local, "format_local")

function M.parse_iso(s)
  if type(s) ~= "string" then error("Usage: time.parse_iso(s: string)", 2) end
  return raw.parse_iso(s)
end

return M
