-- Rough timings of hostsync.json on typical small documents, run by hand:
--   build/hostsync run bench/json_bench.lua [iterations]
-- Prints microseconds per call. Not part of CI: numbers depend on the machine.
local json = require "hostsync.json"

local n = tonumber(arg and arg[1]) or 200000

-- A ~500-byte JSON line: an object with 13 short string fields and one nested object.
local line = json.encode({
  id = "pkt-000123", project = "hostsync", kind = "sync", author = "alice@example.org",
  branch = "main", path = "docs/api/json.md", sha = "3fee4305ad879009839245638b5a587bda0570df",
  created = "2026-11-23T16:31:19Z", status = "sealed", title = "Canonical JSON reference",
  machine = "build-host-07.ci.example.org", note = "replayed after a crash",
  summary = "Adds the canonical JSON section and the Python reproduction snippet",
  meta = { size = 5123, lines = 142, mode = "0644", tags = json.array({ "doc", "api" }) },
}, { sort_keys = true })

local ten = {}
for i = 1, 10 do ten["field_" .. i] = "value number " .. i end

-- Best of five rounds: the machine may be busy, and the best round is the closest to
-- what the code costs.
local function bench(name, f)
  for _ = 1, math.floor(n / 10) do f() end  -- warm up
  local best = math.huge
  for _ = 1, 5 do
    local t0 = os.clock()
    for _ = 1, n do f() end
    best = math.min(best, (os.clock() - t0) * 1e6 / n)
  end
  print(string.format("%-44s %7.2f us", name, best))
end

print(string.format("line: %d bytes, %d iterations", #line, n))
local decoded = json.decode(line)
bench("decode(500-byte line)", function() return json.decode(line) end)
bench("encode(decoded line)", function() return json.encode(decoded) end)
bench("canonical(decoded line)", function() return json.canonical(decoded) end)
bench("canonicalize(500-byte line)", function() return json.canonicalize(line) end)
bench("canonical(10 string fields)", function() return json.canonical(ten) end)
bench("encode(10 string fields)", function() return json.encode(ten) end)
