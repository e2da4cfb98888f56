-- Benchmark of the Phase 2 hot loop: r:next_object() over a large CSV.
--
--   hostsync run bench/csv_next_object.lua [MB] [DIR]
--
-- Generates MB megabytes (default 100) of realistic CSV in DIR (default: a fresh temp
-- dir, removed afterwards): 10 columns, CRLF, some fields quoted with commas, doubled
-- quotes, newlines and UTF-8. Then times the loop and prints MB/s and records/s. The
-- data is never committed; run by hand, not in CI.
local csv = require "hostsync.csv"

local mb = tonumber(arg[1]) or 100
local dir = arg[2]
local own_dir = false
if not dir then
  local p = io.popen("mktemp -d /tmp/hostsync-csv-bench.XXXXXX")
  dir = p:read("*l")
  p:close()
  own_dir = true
end
local path = dir .. "/index.csv"

math.randomseed(42)
local hex = {}
for i = 0, 255 do hex[i] = string.format("%02x", i) end
local function sha()
  local t = {}
  for i = 1, 32 do t[i] = hex[math.random(0, 255)] end
  return table.concat(t)
end
local words = { "alpha", "beta", "gamma", "delta", "field", "survey", "sample", "north", "river", "stone" }
local notes = {
  "ok", "checked twice", '"quoted, with comma"', '"line one\r\nline two"', '"東京の観測点, 晴れ"',
  '"she said ""fine"""', "plain note without specials", '"café, naïve — ünïcode"', "", "retry later",
}
local kinds = { "photo", "audio", "text", "gps", "video" }

local function row(i)
  local title = words[math.random(#words)] .. " " .. words[math.random(#words)] .. " " .. i
  if math.random(4) == 1 then title = '"' .. title .. ", " .. words[math.random(#words)] .. '"' end
  return table.concat({
    tostring(i),
    string.format("2025-%02d-%02dT%02d:%02d:%02d+09:00", math.random(12), math.random(28),
      math.random(0, 23), math.random(0, 59), math.random(0, 59)),
    "infield/ai_save/" .. kinds[math.random(#kinds)] .. "/" .. string.format("%08d", i) .. ".bin",
    kinds[math.random(#kinds)],
    title,
    notes[math.random(#notes)],
    "sha256:" .. sha(),
    tostring(math.random(100, 9999999)),
    words[math.random(#words)] .. ";" .. words[math.random(#words)],
    math.random(10) == 1 and "pending" or "done",
  }, ",") .. "\r\n"
end

local t0 = os.clock()
local f = assert(io.open(path, "wb"))
f:write("id,observed_at,path,kind,title,note,hash,size,tags,status\r\n")
local target, written, n = mb * 1e6, 0, 0
local chunk = {}
while written < target do
  n = n + 1
  local line = row(n)
  chunk[#chunk + 1] = line
  written = written + #line
  if #chunk == 10000 then f:write(table.concat(chunk)); chunk = {} end
end
f:write(table.concat(chunk))
f:close()
io.stderr:write(string.format("generated %d records, %.1f MB in %.1fs (%s)\n", n, written / 1e6, os.clock() - t0, path))

-- Wall time from hostsync.time when it is there; CPU time (os.clock) as well, because
-- on a busy machine the wall time says more about the neighbours than about the loop.
local ok, time = pcall(require, "hostsync.time")
local function wall()
  if ok then return time.monotonic() end
  local p = io.popen("date +%s.%N")
  local s = tonumber(p:read("*l"))
  p:close()
  return s
end

local function run(label, step)
  local r = assert(csv.open(path))
  collectgarbage()
  local w0, c0 = wall(), os.clock()
  local count, bytes = step(r)
  local secs, cpu = wall() - w0, os.clock() - c0
  print(string.format("%-20s %7d records %6.1f MB | wall %5.3f s %5.0f MB/s %8.0f rec/s | cpu %5.3f s %5.0f MB/s %8.0f rec/s",
    label, count, bytes / 1e6, secs, bytes / 1e6 / secs, count / secs, cpu, bytes / 1e6 / cpu, count / cpu))
  r:close()
end

for _ = 1, 3 do
  run("next_object()", function(r)
    local count, last = 0, 0
    while true do
      local json, line_no, end_offset = r:next_object()
      if not json then
        if line_no then error(line_no) end
        break
      end
      count = count + 1
      last = end_offset
    end
    return count, last
  end)
end
run("next() (Lua tables)", function(r)
  local count, last = 0, 0
  while true do
    local rec, err = r:next()
    if not rec then
      if err then error(err) end
      break
    end
    count = count + 1
    last = rec.end_offset
  end
  return count, last
end)

if own_dir then os.execute("rm -rf '" .. dir .. "'") end
