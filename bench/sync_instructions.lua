-- hostsync run bench/sync_instructions.lua N STAGE: the workload bench/sync_instructions.sh
-- counts instructions of (under valgrind's callgrind). Pushes N new notes (~200-byte
-- payload, batches of 1000) as a user with policies/truth_hierarchy.lua, in-process on a
-- fresh SQLite file; STAGE "pull1" then pulls them all as a user, "pull5" as AI cloud
-- (redacted views, section 7.3), "push" stops after the pushes.
jit.off()
local json = require "hostsync.json"
local store = require "brain.store"
local sync_policy = require "brain.sync_policy"
local sync_pull = require "brain.sync_pull"
local sync_push = require "brain.sync_push"

local N, stage = assert(tonumber(arg[1]), "N"), arg[2] or "push"
local filler = ("lorem ipsum dolor sit amet "):rep(6)
local dir = assert(require("hostsync.fs").mkdtemp("/tmp/hostsync-sync-instr-"))
local h = assert(store.open(dir .. "/brain.sqlite", true))
assert(store.migrate(h))
local policy = sync_policy.new(package.searchpath("truth_hierarchy", package.path))
local user = { tenant = "bench", level = 1, token_id = 1 }
for b = 0, math.ceil(N / 1000) - 1 do
  local list = json.array()
  for i = b * 1000 + 1, math.min(N, (b + 1) * 1000) do
    list[#list + 1] = { mutation_id = "m" .. i, entity_type = "note", entity_id = "n" .. i, origin_source = "user:bench",
      origin_chain = json.array(), version = 0, last_modified_at = "2026-01-01T00:00:00.000Z", deleted = false,
      payload = { title = "note " .. i, body = filler, n = i } }
  end
  assert(sync_push.push(h, user, { items = list }, policy) == 200)
end
if stage ~= "push" then
  local reader = { tenant = "bench", level = stage == "pull5" and 5 or 1, token_id = 2 }
  local since = 0
  repeat
    local _, _, body = sync_pull.pull(h, reader, { query = { since = tostring(since), limit = "5000" } }, policy)
    since = tonumber(body:match('"next":(%d+),"more"'))
  until body:sub(-6) ~= ":true}"
end
h:close()
require("hostsync.fs").remove_tree(dir)
