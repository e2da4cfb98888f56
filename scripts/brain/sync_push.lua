-- POST /sync/push: a batch of SyncItems, one transaction, one result per item in request
-- order (docs/sync-contract.md). A mutation id seen before is answered with its first
-- result; any other item is decided (brain/sync_decide.lua) and its outcome stored
-- (brain/sync_batch.lua). The answer is redacted for the reader (brain/sync_redact.lua),
-- replayed results included.
local check = require "hostsync.check"
local json = require "hostsync.json"
local items = require "brain.sync_items"
local batches = require "brain.sync_batch"
local decide = require "brain.sync_decide"
local provenance = require "brain.sync_provenance"
local redact = require "brain.sync_redact"
local store = require "brain.store"
local validate = require "brain.validate"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}
M.MAX_ITEMS = 1000
local null = json.null
local ARRAY_MT = getmetatable(json.array())

local function item_list(body)
  local list = body.items
  if list == nil or list == null then validate.fail("field 'items' is required (array)") end
  if type(list) ~= "table" or (getmetatable(list) ~= ARRAY_MT and next(list) ~= nil) then
    validate.fail("field 'items' must be an array")
  end
  if #list > M.MAX_ITEMS then
    validate.fail(("field 'items' has %d items; at most %d per request"):format(#list, M.MAX_ITEMS))
  end
  return list
end

-- What the batch needs from the database, asked once: its entity keys and mutation ids.
local function batch_keys(list)
  local keys, ids = {}, {}
  for _, raw in ipairs(list) do
    if type(raw) == "table" then
      if type(raw.entity_type) == "string" and type(raw.entity_id) == "string" then
        keys[#keys + 1] = { raw.entity_type, raw.entity_id }
      end
      if type(raw.mutation_id) == "string" then ids[#ids + 1] = raw.mutation_id end
    end
  end
  return keys, ids
end

-- One item -> its result as JSON text (stored for replays, and what the answer is made of).
local function result_of(env, i, raw)
  local mid, merr = items.mutation_id(raw)
  if not mid then
    return json.encode({ mutation_id = null, status = "rejected", reason = ("items[%d]: %s"):format(i, merr) })
  end
  local prior = env.batch:replayed(mid)
  if prior then return '{"replayed":true,' .. prior:sub(2) end
  return env.batch:record(decide.item(env, raw, mid), mid, raw)
end

-- opts: { max_skew = seconds a last_modified_at may be ahead of the server's clock }
function M.push(h, ident, body, policy, opts)
  opts = check.opts(opts, { max_skew = "number" }, "Usage: brain.sync_push.push(h, ident, body, policy [, {max_skew=}])")
  local list = item_list(body)
  policy:refresh()
  local clock = items.clock(store.now(), opts.max_skew)
  local keys, ids = batch_keys(list)
  local results = db_check(h:transaction(function(tx)
    local batch = batches.open(tx, ident, clock.now, keys, ids)
    local env = { batch = batch, policy = policy, ident = ident, writer = provenance.writer(ident), clock = clock,
                  ctx = { writer_level = ident.level, vault_mode = batch.vault_mode } }
    local out = {}
    for i, raw in ipairs(list) do out[i] = result_of(env, i, raw) end
    batch:finish()
    return out
  end))
  local view = redact.for_reader(policy, ident)
  if view then
    for i, text in ipairs(results) do results[i] = view:result_text(text) end
  end
  return 200, { ["Content-Type"] = "application/json" }, '{"results":[' .. table.concat(results, ",") .. "]}"
end

return M
