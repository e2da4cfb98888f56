-- The writing half of POST /sync/push: one transaction per request. It reads what the
-- batch needs once (its entities and mutation ids, after locking the tenant's row) and
-- stores the outcomes brain/sync_decide.lua hands it: entity versions, proposals,
-- proposal closures, sync_events and each item's result (kept for replays).
--
-- Versions come from the tenant's counter, locked first and written back once at the
-- end, so they are handed out in commit order. Entity rows and mutation results are
-- written at the end, many rows per statement; proposals, closures and events as they
-- come (a later item of the batch may read a proposal this one closed).
local json = require "hostsync.json"
local hook_events = require "brain.hook_events"
local items = require "brain.sync_items"
local sstore = require "brain.sync_store"

local M = {}
local B = {}
B.__index = B
local enc = json.encode

-- keys: { {entity_type, entity_id}, ... }, ids: { mutation_id, ... } of the batch.
function M.open(tx, ident, now, keys, ids)
  local tenant = ident.tenant
  local first, mode = sstore.lock_tenant(tx, tenant)
  return setmetatable({
    tx = tx, ident = ident, tenant = tenant, now = now, first = first, last = first, vault_mode = mode,
    rows = sstore.entities(tx, tenant, keys),      -- read after the lock: current
    seen = sstore.mutations(tx, tenant, ids),      -- mutation_id -> first result (JSON text)
    written = {},            -- "type\0id" -> { item, ptext, ctext, feed } written by this batch
    entity_writes = {},      -- the same records, in order, written at the end
    mutation_writes = {},
  }, B)
end

-- The stored entity, or what this batch wrote to it -> { item, ptext, ctext } | nil
function B:stored(etype, eid)
  local key = etype .. "\0" .. eid
  local w = self.written[key]
  if w then return w end
  local row = self.rows[key]
  if not row then return nil end
  local it, ptext, ctext = items.from_row(row, self.tenant)
  return { item = it, ptext = ptext, ctext = ctext }
end

function B:proposal(version)
  return sstore.proposal(self.tx, self.tenant, version)
end

-- The first result of a mutation id (this batch's too), as JSON text, or nil.
function B:replayed(mutation_id)
  return self.seen[mutation_id]
end

function B:next_version()
  self.last = self.last + 1
  return self.last
end

function B:write_entity(s)
  local it = s.item
  local item_json = items.item_json(it, s.ptext, s.ctext)
  local key = it.entity_type .. "\0" .. it.entity_id
  local w = self.written[key]
  if not w then
    w = {}
    self.written[key] = w
    self.entity_writes[#self.entity_writes + 1] = w
  end
  w.item, w.ptext, w.ctext, w.feed = it, s.ptext, s.ctext, items.feed_json("entity", it.version, item_json)
  return item_json
end

function B:write_proposal(s, base_version)
  local it = s.item
  sstore.put_proposal(self.tx, self.tenant, it, s.ptext, s.ctext, self.ident.token_id, base_version,
    items.feed_json("proposal", it.version, items.item_json(it, s.ptext, s.ctext, items.proposal_extra(base_version, "open"))))
end

function B:log(o, e, mutation_id, version)
  local ex = o.existing
  sstore.put_event(self.tx, self.tenant, {
    entity_type = o.key[1], entity_id = o.key[2],
    kind = e.kind, rule = e.rule, reason = e.reason, mutation_id = mutation_id, detail = e.detail,
    incoming = o.incoming_text, incoming_version = o.incoming_version,
    stored = ex and items.item_json(ex.item, ex.ptext, ex.ctext), stored_version = ex and ex.item.version,
    result_version = version }, self.ident, self.now)
end

-- Writes what an outcome stores. -> the version written (or nil), the stored entity as
-- JSON text (for "applied")
function B:store(o)
  if o.status == "applied" then
    local version = self:next_version()
    o.store.item.version = version
    local item_json = self:write_entity(o.store)
    if o.closes then assert(sstore.close_proposal(self.tx, self.tenant, o.closes, "accepted", self:next_version())) end
    return version, item_json
  elseif o.status == "proposal" then
    local version = self:next_version()
    o.store.item.version = version
    self:write_proposal(o.store, o.existing and o.existing.item.version or 0)
    return version
  end
  return nil
end

-- An item's result as JSON text: the one kept for replays, and the answer (which adds
-- the stored item of an "applied" result). `current` is the stored item that stood.
-- The mutation id comes last (see sync_items.item_json on string hashes).
local function result_texts(o, mutation_id, raw, version, item_json)
  local status, unchanged = o.status, o.status == "unchanged"
  if unchanged then status, version = "applied", o.existing.item.version end
  local head = table.concat {
    '{"status":"', status, '","entity_type":', type(raw.entity_type) == "string" and enc(raw.entity_type) or "null",
    ',"entity_id":', type(raw.entity_id) == "string" and enc(raw.entity_id) or "null",
    o.reason and (',"reason":' .. enc(o.reason)) or "", unchanged and ',"unchanged":true' or "",
    version and (',"version":' .. version) or "" }
  local tail = ',"mutation_id":' .. enc(mutation_id) .. "}"
  local ex = o.existing
  local kept = head .. (o.current and (',"current":' .. items.item_json(ex.item, ex.ptext, ex.ctext)) or "") .. tail
  return kept, item_json and (head .. ',"item":' .. item_json .. tail) or kept
end

-- Stores an outcome of sync_decide.item, logs its events, keeps its result for replays
-- and returns the answer for it (JSON text). A replay answers without the stored item
-- (the client reads the entity on its next pull).
function B:record(o, mutation_id, raw)
  if #o.events > 0 and not o.incoming_text then
    o.incoming_text = items.encode(o.incoming)   -- as it came, before it takes a version
  end
  local version, item_json = self:store(o)
  for _, e in ipairs(o.events) do self:log(o, e, mutation_id, version) end
  if version and hook_events.enabled() then
    local it, kinds = o.store.item, json.array()
    for i, e in ipairs(o.events) do kinds[i] = e.kind end
    hook_events.raise(self.tx, "sync_event", { status = o.status, tenant = self.tenant, entity_type = it.entity_type,
      entity_id = it.entity_id, version = version, deleted = it.deleted == true, truth_level = it.truth_level,
      mutation_id = mutation_id, events = kinds, by = hook_events.by(self.ident) })
  end
  local kept, answer = result_texts(o, mutation_id, raw, version, item_json)
  self.mutation_writes[#self.mutation_writes + 1] = { mutation_id, kept }
  self.seen[mutation_id] = kept
  return answer
end

function B:finish()
  local rows = {}
  for i, w in ipairs(self.entity_writes) do rows[i] = { w.item, w.ptext, w.ctext, w.feed } end
  sstore.put_entities(self.tx, self.tenant, rows, self.ident.token_id)
  sstore.put_mutations(self.tx, self.tenant, self.mutation_writes, self.now)
  if self.last ~= self.first then sstore.set_last_version(self.tx, self.tenant, self.last) end
end

return M
