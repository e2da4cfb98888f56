-- Throughput of hostsync.crypto's streaming age writer and reader (run by hand):
--   hostsync run bench/crypto_bench.lua [MB] [dir]
-- Feeds MB mebibytes (default 500) in 1 MiB pieces to crypto.age_writer (X25519, with
-- and without the ciphertext SHA-256), then reads the file back with crypto.age_reader.
-- For comparison: `time age -r <recipient> -o /dev/null FILE` on the same data.
local crypto = require "hostsync.crypto"
local time = require "hostsync.time"

local mb = tonumber(arg[1]) or 500
local dir = arg[2] or "/tmp"
local id, rcpt = crypto.age_keygen()
local runs = 0

local piece = {}
local x = 7
for i = 1, 4096 do x = (x * 1103515245 + 12345) % 2147483648; piece[i] = string.char(x % 256) end
local block = string.rep(table.concat(piece), 256)  -- 1 MiB

local function run(label, opts)
  runs = runs + 1
  local path = string.format("%s/crypto_bench_%d_%d.age", dir, os.time(), runs)
  os.remove(path)
  opts.recipient = rcpt
  local t0 = time.monotonic()
  local w = assert(crypto.age_writer(path, opts))
  for _ = 1, mb do assert(w:write(block)) end
  assert(w:close())
  local dt = time.monotonic() - t0
  print(string.format("%-34s %6d MiB in %6.2f s = %7.1f MiB/s", label, mb, dt, mb / dt))
  return path
end

os.remove(run("writer (encrypt + durable write)", {}))
local path = run("writer + sha256 of ciphertext", { sha256 = true })

local t0 = time.monotonic()
local r = assert(crypto.age_reader(path, { identity = id }))
local n = 0
while true do
  local p, err = r:read()
  if not p then assert(not err, err); break end
  n = n + #p
end
local dt = time.monotonic() - t0
print(string.format("%-34s %6d MiB in %6.2f s = %7.1f MiB/s", "reader (decrypt + verify)", n / 1048576, dt, n / 1048576 / dt))
os.remove(path)
