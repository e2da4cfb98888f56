-- hostsync run bench/sync_bench.lua --server URL --token-file F [--items N] [--batch N] [--page N]
-- The measuring half of bench/sync_bench.sh: pushes N new entities in batches, then
-- pulls the whole feed, and prints one JSON line with the rates. The request bodies are
-- encoded before the clock starts, and the time the driver itself spends (encoding,
-- decoding answers) is measured and reported, so a slow driver shows up as such.
local cli = require "hostsync.cli"
local http = require "hostsync.http"
local json = require "hostsync.json"
local time = require "hostsync.time"

local opts = cli.parse(arg, {
  usage = "hostsync run bench/sync_bench.lua --server URL --token-file F [--items N] [--batch N] [--page N]",
  summary = "Push N items to /sync/push in batches, pull them all from /sync/pull; print the rates as JSON.",
  options = {
    { "--server", "URL", "the sync server" },
    { "--token-file", "F", "bearer token file" },
    { "--items", "N", "items to push (default 100000)", number = true },
    { "--batch", "N", "items per push (default 1000)", number = true },
    { "--page", "N", "pull page size (default 5000)", number = true },
  },
})
local n, batch, page = opts.items or 100000, opts.batch or 1000, opts.page or 5000
local token = assert(io.open(opts.token_file)):read("*a"):match("%S+")
local headers = { Authorization = "Bearer " .. token, ["Content-Type"] = "application/json" }
local base = opts.server:gsub("/+$", "")
local run_id = tostring(math.floor(time.now() * 1000))

local filler = ("lorem ipsum dolor sit amet "):rep(6)
local t0 = time.monotonic()
local bodies = {}
for b = 0, math.ceil(n / batch) - 1 do
  local items = {}
  for i = b * batch + 1, math.min(n, (b + 1) * batch) do
    items[#items + 1] = {
      mutation_id = run_id .. "-" .. i, entity_type = "note", entity_id = "n" .. i,
      origin_source = "user:bench", origin_chain = json.array(), version = 0,
      last_modified_at = "2026-01-01T00:00:00.000Z", deleted = false,
      payload = { title = "note " .. i, body = filler, n = i },
    }
  end
  bodies[#bodies + 1] = json.encode({ items = items })
end
local encode_s = time.monotonic() - t0

-- push
local driver_s, applied = 0, 0
local p0 = time.monotonic()
for _, body in ipairs(bodies) do
  local res = assert(http.request{ method = "POST", url = base .. "/sync/push", headers = headers, body = body, timeout = 300 })
  local d0 = time.monotonic()
  local v = json.decode(res.body)
  if res.status ~= 200 then error("push: status " .. res.status .. ": " .. res.body:sub(1, 300)) end
  for _, r in ipairs(v.results) do
    if r.status == "applied" then applied = applied + 1 else error("push: " .. json.encode(r)) end
  end
  driver_s = driver_s + (time.monotonic() - d0)
end
local push_s = time.monotonic() - p0

-- pull
local pulled, pull_driver_s, since = 0, 0, 0
local q0 = time.monotonic()
while true do
  local res = assert(http.request{ method = "GET", url = ("%s/sync/pull?since=%d&limit=%d"):format(base, since, page),
                                   headers = headers, timeout = 300 })
  local d0 = time.monotonic()
  if res.status ~= 200 then error("pull: status " .. res.status .. ": " .. res.body:sub(1, 300)) end
  local v = json.decode(res.body)
  pulled = pulled + #v.changes
  since = v.next
  pull_driver_s = pull_driver_s + (time.monotonic() - d0)
  if not v.more then break end
end
local pull_s = time.monotonic() - q0
if applied ~= n or pulled < n then error(("pushed %d applied %d, pulled %d"):format(n, applied, pulled)) end

io.stdout:write(json.encode({
  items = n, batch = batch,
  push_s = push_s, push_items_per_s = n / push_s, push_driver_s = driver_s, encode_s = encode_s,
  pull_s = pull_s, pull_items_per_s = pulled / pull_s, pull_driver_s = pull_driver_s, pulled = pulled,
}), "\n")
