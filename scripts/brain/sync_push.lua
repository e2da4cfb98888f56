-- POST /sync/push: a batch of SyncItems, one transaction, one result per item in request
-- order (docs/sync-contract.md). Per item: replay if its mutation_id was seen, else the
-- identity checks (sync_items.normalise), the policy's check_write, then either a
-- fast-forward (the client built on the stored version) or the policy's decide between
-- the stored item ("local") and the incoming one ("remote"). Decisions go to sync_events.
-- The tenant row is locked first and its counter written back once at the end, so
-- versions are reserved per batch and handed out in commit order.
local json = require "hostsync.json"
local items = require "brain.sync_items"
local sstore = require "brain.sync_store"
local store = require "brain.store"
local validate = require "brain.validate"

local M = {}
M.MAX_ITEMS = 1000
local null = json.null
local ARRAY_MT = getmetatable(json.array())

-- The upgrade rule at sync time (6.3.4): accepted content is U1, with a link in its
-- origin_chain saying what it was.
local function upgrade(it, now)
  local chain = setmetatable({}, ARRAY_MT)
  for i, link in ipairs(it.origin_chain) do chain[i] = link end
  chain[#chain + 1] = { level = 1, source = "upgrade:accepted_by_user", from_level = it.truth_level,
                        from_source = it.origin_source or null, timestamp = now }
  it.origin_chain, it.truth_level, it.last_modified_by_level = chain, 1, 1
end

function M.push(h, ident, body, policy)
  local list = body.items
  if list == nil or list == null then validate.fail("field 'items' is required (array)") end
  if type(list) ~= "table" or (getmetatable(list) ~= ARRAY_MT and next(list) ~= nil) then
    validate.fail("field 'items' must be an array")
  end
  if #list > M.MAX_ITEMS then
    validate.fail(("field 'items' has %d items; at most %d per request"):format(#list, M.MAX_ITEMS))
  end
  policy:refresh()
  local tenant, now = ident.tenant, store.now()

  -- What the batch needs from the database, asked once: its entity keys and mutation ids.
  local keys, ids = {}, {}
  for _, raw in ipairs(list) do
    if type(raw) == "table" then
      if type(raw.entity_type) == "string" and type(raw.entity_id) == "string" then
        keys[#keys + 1] = { raw.entity_type, raw.entity_id }
      end
      if type(raw.mutation_id) == "string" then ids[#ids + 1] = raw.mutation_id end
    end
  end

  local results = assert(h:transaction(function(tx)
    local first, mode = sstore.lock_tenant(tx, tenant)
    local last = first
    local ctx = { writer_level = ident.level, vault_mode = mode }
    local rows = sstore.entities(tx, tenant, keys)      -- read after the lock: current
    local seen = sstore.mutations(tx, tenant, ids)      -- mutation_id -> first result (JSON text)
    local written = {}  -- "type\0id" -> { item, payload_text, chain_text } written by this batch
    local entity_writes, mutation_writes = {}, {}       -- written at the end, many rows per statement

    local function event(e, it, incoming_text, ex)
      e.entity_type, e.entity_id = it and it.entity_type, it and it.entity_id
      e.incoming, e.incoming_version = incoming_text, it and it.version
      if ex then e.stored, e.stored_version = items.encode(ex.item), ex.item.version end
      sstore.put_event(tx, tenant, e, ident, now)
    end

    -- The stored entity (or what this batch wrote to it) -> { item, ptext, ctext } | nil
    local function stored(etype, eid)
      local ex = written[etype .. "\0" .. eid]
      if ex then return ex end
      local row = rows[etype .. "\0" .. eid]
      if not row then return nil end
      local e, pt, ct = items.from_row(row, tenant)
      return { item = e, ptext = pt, ctext = ct }
    end

    local function process(raw, mid)
      local it, ptext, ctext = items.normalise(raw, ident, now)
      if not it then
        local reason, code = ptext, ctext
        if code then   -- an identity violation is a security event, logged with what was sent
          local et = type(raw.entity_type) == "string" and raw.entity_type or nil
          local eid = type(raw.entity_id) == "string" and raw.entity_id or nil
          event({ kind = "write_rejected", rule = code, reason = reason, mutation_id = mid,
                  detail = { kind = "write_rejected", rule = code } },
                { entity_type = et, entity_id = eid, version = type(raw.version) == "number" and raw.version or nil },
                json.encode(raw), code ~= "cross_tenant" and et and eid and stored(et, eid) or nil)
        end
        return { status = "rejected", reason = reason }
      end
      local key = it.entity_type .. "\0" .. it.entity_id
      local ex = stored(it.entity_type, it.entity_id)
      local existing = ex and ex.item
      local pin = items.for_policy(it, ptext, ctext)
      local pex = ex and items.for_policy(existing, ex.ptext, ex.ctext)
      local base = existing and existing.version or 0
      local incoming_text   -- the item as it came, encoded once for the events
      local function log(kind, d, result_version, reason)
        incoming_text = incoming_text or items.encode(it)
        event({ kind = kind, rule = d and d.rule, reason = reason or (d and d.reason), mutation_id = mid,
                result_version = result_version, detail = d and d.event }, it, incoming_text, ex)
      end

      local function propose(d)
        last = last + 1
        log("proposal", d, last)
        it.version = last
        sstore.put_proposal(tx, tenant, it, ptext, items.encode(it.origin_chain), ident.token_id, base)
        return { status = "proposal", version = last, reason = d.reason }
      end
      local function apply(d, kind)
        if it.accepted_by_user and it.truth_level ~= 1 then
          incoming_text = incoming_text or items.encode(it)   -- as sent, before the upgrade
          upgrade(it, now)
          kind = kind or "upgrade"
        end
        last = last + 1
        if kind then log(kind, d, last) end
        it.version = last
        if kind then ctext = items.encode(it.origin_chain) end   -- an upgrade grew the chain
        local w = written[key]
        if w then
          w.item, w.ptext, w.ctext = it, ptext, ctext
        else
          w = { item = it, ptext = ptext, ctext = ctext }
          written[key] = w
          entity_writes[#entity_writes + 1] = w
        end
        return { status = "applied", version = last }
      end

      local d, perr = policy:call("check_write", pin, pex, ctx)
      if not d then
        log("policy_error", nil, nil, perr)
        return { status = "rejected", reason = perr }
      end
      if d.action == "reject" then
        log((d.event and d.event.kind) or "write_rejected", d)
        return { status = "rejected", reason = d.reason or "rejected by the policy" }
      elseif d.action == "proposal" then
        return propose(d)
      elseif d.action ~= "apply" then
        local msg = "policy error: check_write returned action " .. tostring(d.action)
        log("policy_error", nil, nil, msg)
        return { status = "rejected", reason = msg }
      end
      if not existing or it.version >= existing.version then
        return apply(nil, nil)   -- fast-forward: the client built on the stored version
      end
      -- The client did not see the latest version: the policy decides between them.
      local dd, derr = policy:call("decide", pex, pin, ctx)
      if not dd then
        log("policy_error", nil, nil, derr)
        return { status = "rejected", reason = derr }
      end
      local kind = dd.event and dd.event.kind
      if dd.winner == "remote" then
        return apply(dd, kind or "conflict")
      elseif dd.winner == "local" then
        if dd.proposal == "remote" then return propose(dd) end
        log(kind or "discarded", dd)
        return { status = "conflict", reason = dd.reason, current = existing }
      elseif dd.winner == "same" then
        if kind then log(kind, dd) end
        return { status = "applied", version = existing.version, unchanged = true, reason = dd.reason, current = existing }
      end
      local msg = "policy error: decide returned winner " .. tostring(dd.winner)
      log("policy_error", nil, nil, msg)
      return { status = "rejected", reason = msg }
    end

    -- Each result is encoded once: that text is stored for replays and is also what
    -- the response is made of.
    local out = {}
    for i, raw in ipairs(list) do
      local mid, merr = items.mutation_id(raw)
      local text
      if not mid then
        text = json.encode({ mutation_id = null, status = "rejected", reason = ("items[%d]: %s"):format(i, merr) })
      else
        local prior = seen[mid]
        if prior then
          text = '{"replayed":true,' .. prior:sub(2)
        else
          local res = process(raw, mid)
          res.mutation_id = mid
          res.entity_type = type(raw.entity_type) == "string" and raw.entity_type or null
          res.entity_id = type(raw.entity_id) == "string" and raw.entity_id or null
          text = json.encode(res)
          mutation_writes[#mutation_writes + 1] = { mid, text }
          seen[mid] = text
        end
      end
      out[i] = text
    end
    local ew = {}
    for i, w in ipairs(entity_writes) do ew[i] = { w.item, w.ptext, w.ctext } end
    sstore.put_entities(tx, tenant, ew, ident.token_id)
    sstore.put_mutations(tx, tenant, mutation_writes, now)
    if last ~= first then sstore.set_last_version(tx, tenant, last) end
    return out
  end))
  return 200, { ["Content-Type"] = "application/json" }, '{"results":[' .. table.concat(results, ",") .. "]}"
end

return M
