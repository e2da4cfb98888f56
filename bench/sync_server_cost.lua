-- hostsync run bench/sync_server_cost.lua [ITEMS [REPEATS]]
-- The server's own cost of /sync/push and /sync/pull, without HTTP: the brain's handlers
-- called in-process on a fresh SQLite file, as a worker runs them (JIT off, group commit), with the
-- default policy and with bench/noop_policy.lua, alternating, REPEATS times (default 5);
-- prints the median CPU time per item, and of a pull by an AI cloud reader (redacted
-- views, section 7.3). bench/sync_bench.sh measures the same through
-- HTTP; the difference is transport and the client. On a machine shared with other
-- work, CPU time is still noisy: compare medians, not single runs.
jit.off()
local json = require "hostsync.json"
local store = require "brain.store"
local sync_policy = require "brain.sync_policy"
local sync_pull = require "brain.sync_pull"
local sync_push = require "brain.sync_push"

local N, REPEATS, BATCH = tonumber(arg[1] or 20000), tonumber(arg[2] or 5), 1000
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local POLICIES = { truth_hierarchy = package.searchpath("truth_hierarchy", package.path),
                   noop = here .. "noop_policy.lua" }

-- The same items as bench/sync_bench.lua: new notes with a ~200-byte payload.
local filler = ("lorem ipsum dolor sit amet "):rep(6)
local bodies = {}
for b = 0, math.ceil(N / BATCH) - 1 do
  local items = {}
  for i = b * BATCH + 1, math.min(N, (b + 1) * BATCH) do
    items[#items + 1] = { mutation_id = "m" .. i, entity_type = "note", entity_id = "n" .. i, origin_source = "user:bench",
      origin_chain = json.array(), version = 0, last_modified_at = "2026-01-01T00:00:00.000Z", deleted = false,
      payload = { title = "note " .. i, body = filler, n = i } }
  end
  bodies[#bodies + 1] = json.encode({ items = items })
end

local dir = assert(require("hostsync.fs").mkdtemp("/tmp/hostsync-sync-cost-"))
local function run(name)
  local path = dir .. "/" .. name .. ".sqlite"
  for _, suffix in ipairs { "", "-wal", "-shm" } do os.remove(path .. suffix) end
  local h = assert(store.open(path, true))   -- grouped commits, as hostsync serve opens it
  assert(store.migrate(h))
  local policy = sync_policy.new(POLICIES[name])
  local ident = { tenant = "bench", level = 1, token_id = 1 }
  collectgarbage()
  local c0 = os.clock()
  for _, text in ipairs(bodies) do   -- decoding the request is part of a push's cost
    local status = sync_push.push(h, ident, json.decode(text), policy)
    assert(status == 200)
  end
  local push = os.clock() - c0
  local function pull_all(reader)
    local c = os.clock()
    local since, seen = 0, 0
    repeat
      local _, _, body = sync_pull.pull(h, reader, { query = { since = tostring(since), limit = "5000" } }, policy)
      local nx = tonumber(body:match('"next":(%d+),"more"'))
      seen = seen + (nx - since)
      local more = body:sub(-6) == ":true}"
      since = nx
    until not more
    assert(seen == N, "pulled " .. seen .. " of " .. N)
    return os.clock() - c
  end
  local pull = pull_all(ident)
  -- AI cloud reads the policy's redacted views (section 7.3): each entry decoded, passed
  -- through the policy's redact and encoded again.
  local redacted = name == "truth_hierarchy" and pull_all({ tenant = "bench", level = 5, token_id = 2 }) or nil
  h:close()
  return push, pull, redacted
end

local res = { truth_hierarchy = {}, noop = {}, pull = {}, redacted = {} }
for rep = 1, REPEATS do
  for _, name in ipairs(rep % 2 == 1 and { "truth_hierarchy", "noop" } or { "noop", "truth_hierarchy" }) do
    local push, pull, redacted = run(name)
    res[name][rep] = push
    res.pull[#res.pull + 1] = pull
    if redacted then res.redacted[#res.redacted + 1] = redacted end
  end
end
require("hostsync.fs").remove_tree(dir)

local function median(t) table.sort(t); return t[math.ceil(#t / 2)] end
local th, noop, pull, redacted = median(res.truth_hierarchy), median(res.noop), median(res.pull), median(res.redacted)
print(("%d items, batches of %d, SQLite, median of %d, CPU time per item:"):format(N, BATCH, REPEATS))
print(("  push, truth_hierarchy  %6.1f us  (%6.0f items/s)"):format(th / N * 1e6, N / th))
print(("  push, no-op policy     %6.1f us  (%6.0f items/s)   policy: %+.0f%%"):format(noop / N * 1e6, N / noop, (th / noop - 1) * 100))
print(("  pull                   %6.1f us  (%6.0f items/s)"):format(pull / N * 1e6, N / pull))
print(("  pull, redacted (C5)    %6.1f us  (%6.0f items/s)"):format(redacted / N * 1e6, N / redacted))
