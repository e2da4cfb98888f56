-- Streams a generated tree (~2,000 files, ~900 MB) as a deterministic tar into a SHA-256
-- sink and reports MB/s and peak memory. Run by hand, never in CI:
--   hostsync run bench/tar_bench.lua [dir] [total_mb] [files]
-- The tree is generated once (random sizes, seeded) and reused; the first pass reads from
-- disk or page cache as the OS has it, the next passes usually from the page cache.
local tar = require "hostsync.tar"
local fs = require "hostsync.fs"
local clock = require "hostsync.time"

local dir = arg[1] or "/tmp/hostsync-tar-bench"
local total_mb = tonumber(arg[2] or "900")
local nfiles = tonumber(arg[3] or "2000")

local function vm_hwm()
  local f = io.open("/proc/self/status")
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmHWM:%s+(%d+)")) / 1024
end

if not fs.exists(dir .. "/.complete") then
  assert(fs.mkdir_p(dir))
  math.randomseed(42)
  local weights, sum = {}, 0
  for i = 1, nfiles do weights[i] = math.random() ^ 3; sum = sum + weights[i] end
  local block = string.rep("hostsync tar bench 0123456789abcdef\n", 29127) -- ~1 MiB
  for i = 1, nfiles do
    local size = math.floor(weights[i] / sum * total_mb * 1048576)
    local sub = string.format("%s/d%02d", dir, i % 37)
    fs.mkdir_p(sub)
    local w = assert(fs.appender(string.format("%s/f%05d.bin", sub, i)))
    local left = size
    while left > 0 do
      local n = math.min(left, #block)
      w:write(n == #block and block or block:sub(1, n))
      left = left - n
    end
    assert(w:close())
  end
  fs.write_atomic(dir .. "/.complete", "")
end

local paths = assert(tar.collect(dir))
for pass = 1, 3 do
  local h = tar.hash_sink()
  local t0 = clock.monotonic()
  local r = assert(tar.write(h, dir, paths))
  local dt = clock.monotonic() - t0
  print(string.format("pass %d: %d entries, %.1f MB data, %.1f MB archive in %.2f s = %.0f MB/s; sha256 %s; peak RSS %.1f MB",
    pass, r.entries, r.data_bytes / 1e6, r.bytes / 1e6, dt, r.bytes / 1e6 / dt, h:hex():sub(1, 16), vm_hwm()))
end
