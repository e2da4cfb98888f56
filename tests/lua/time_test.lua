local t = require "hostsync.testing"
local time = require "hostsync.time"

local T = 1795451152 -- 2026-11-23T16:25:52Z

t.test("now and monotonic", function()
  -- Bracketed by the C library's clock: holds however long each call takes.
  local before = os.time()
  local now = time.now()
  local after = os.time()
  t.ok(before <= math.floor(now) and math.floor(now) <= after, "now() between two os.time() calls")
  t.ok(now ~= math.floor(now) or time.now() ~= now, "now() has sub-second resolution")
  local a = time.monotonic()
  time.sleep(0.02)   -- the assertion is a lower bound: a slow machine only sleeps longer
  local b = time.monotonic()
  t.ok(b - a >= 0.02, "slept at least 20 ms, got " .. (b - a))
  time.sleep(0)   -- zero is a valid duration: returns at once, nothing measured
end)

t.test("sleep rejects bad durations", function()
  t.raises(function() time.sleep(-1) end, "Usage: time.sleep(seconds: number >= 0)")
  t.raises(function() time.sleep("1") end, "Usage: time.sleep")
  t.raises(function() time.sleep(0 / 0) end, "Usage: time.sleep")
end)

t.test("utc_iso with and without ms", function()
  t.eq(time.utc_iso(0), "1970-01-01T00:00:00Z")
  t.eq(time.utc_iso(T), "2026-11-23T16:25:52Z")
  t.eq(time.utc_iso(T + 0.25, { ms = true }), "2026-11-23T16:25:52.250Z")
  t.eq(time.utc_iso(T + 0.999), "2026-11-23T16:25:52Z")
  t.match(time.utc_iso(), "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$")
  t.match(time.utc_iso({ ms = true }), "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$")
end)

t.test("utc_iso / local_iso reject bad arguments", function()
  t.raises(function() time.utc_iso("now") end, "Usage: time.utc_iso([t: number] [, {ms=bool}])")
  t.raises(function() time.utc_iso(1e300) end, "t must be epoch seconds within years 0000..9999")
  t.raises(function() time.local_iso(0 / 0) end, "Usage: time.local_iso")
  t.raises(function() time.local_iso(0, "ms") end, "Usage: time.local_iso")
end)

-- os.date("%z") is "+0100"; local_iso writes "+01:00".
local function os_offset(at)
  local z = os.date("%z", at)
  return z:sub(1, 3) .. ":" .. z:sub(4, 5)
end

t.test("local_iso matches os.date in the process's zone, offset never Z", function()
  for _, at in ipairs({ 0, T, 1790000000, 1000000000 }) do
    local s = time.local_iso(at)
    t.eq(s, os.date("%Y-%m-%dT%H:%M:%S", at) .. os_offset(at))
    t.match(s, "[+-]%d%d:%d%d$")
    t.eq(time.parse_iso(s), at, "round trip of " .. s)
  end
  t.eq(time.local_iso(T + 0.5, { ms = true }), os.date("%Y-%m-%dT%H:%M:%S", T) .. ".500" .. os_offset(T))
end)

t.test("local_iso's per-second cache never returns another second's text", function()
  -- The cache keeps the last second's formatted text (its speed is bench/'s business);
  -- here: hits within a second, and moves across seconds, zone offsets and back.
  local seq = { T + 0.5, T + 0.999, T, T + 1, T + 0.25, 0, T + 1.5, 1000000000, T }
  for _, at in ipairs(seq) do
    local whole = math.floor(at)
    t.eq(time.local_iso(at), os.date("%Y-%m-%dT%H:%M:%S", whole) .. os_offset(whole), "at " .. at)
  end
end)

t.test("format_utc and format_local wrap strftime", function()
  t.eq(time.format_utc("%Y%m%d_%H%M%S", T), "20261123_162552")
  t.eq(time.format_utc("", T), "")
  t.eq(time.format_local("%Y%m%d_%H%M%S", T), os.date("%Y%m%d_%H%M%S", T))
  t.eq(time.format_local("%z", T), os.date("%z", T))
  t.match(time.format_utc("%Y"), "^%d%d%d%d$")
  t.raises(function() time.format_utc(nil, T) end, "Usage: time.format_utc(fmt: string [, t: number])")
  t.raises(function() time.format_local("%Y", "x") end, "Usage: time.format_local")
  t.raises(function() time.format_utc("a\0b") end, "fmt contains a NUL byte")
end)

t.test("parse_iso accepts Z, offsets, fractions; returns nil, err otherwise", function()
  t.eq(time.parse_iso("2026-11-23T16:25:52Z"), T)
  t.eq(time.parse_iso("2026-11-23T17:25:52+01:00"), T)
  t.eq(time.parse_iso("2026-11-23T11:25:52-05:00"), T)
  t.eq(time.parse_iso("2026-11-23T16:25:52.125Z"), T + 0.125)
  t.eq(time.parse_iso(time.utc_iso(T)), T)
  t.fails('parse_iso: "2026-11-23T16:25:52": expected a time zone (Z or +HH:MM) at offset 19',
    time.parse_iso("2026-11-23T16:25:52"))
  t.fails("month 13 out of range at offset 5", time.parse_iso("2026-13-23T16:25:52Z"))
  t.fails("day 31 out of range at offset 8", time.parse_iso("2026-11-31T16:25:52Z"))
  t.fails("unexpected text after the time zone", time.parse_iso("2026-11-23T16:25:52Zjunk"))
  t.raises(function() time.parse_iso(5) end, "Usage: time.parse_iso(s: string)")
end)

local host_binary = t.hostsync_binary

t.test("local_iso follows TZ (child processes in fixed zones)", function()
  local dir = t.tmpdir()
  local script = dir .. "/tz.lua"
  t.write_file(script, [[
local time = require "hostsync.time"
io.write(time.local_iso(1795451152), " ", time.local_iso(1790000000.25, { ms = true }))
]])
  local function run(tz)
    local p = io.popen("TZ=" .. tz .. " '" .. host_binary() .. "' run " .. script)
    local out = p:read("*a")
    p:close()
    return out
  end
  t.eq(run("Europe/Paris"), "2026-11-23T17:25:52+01:00 2026-09-21T16:13:20.250+02:00")
  t.eq(run("Asia/Kolkata"), "2026-11-23T21:55:52+05:30 2026-09-21T19:43:20.250+05:30")
  t.eq(run("UTC"), "2026-11-23T16:25:52+00:00 2026-09-21T14:13:20.250+00:00")
end)
