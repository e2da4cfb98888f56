-- The deciding half of POST /sync/push: one pushed item -> an outcome (what to answer,
-- what to store, what to log). It reads through the batch (brain/sync_batch.lua) and
-- asks the policy; it writes nothing. The steps (docs/sync-contract.md):
--
--   1. the identity checks (sync_items.normalise): tenant, level, acceptance, source;
--   2. the server's provenance: the stored chain plus this write's hop;
--   3. an accepted proposal (accepts_proposal) must be open and of this entity;
--   4. the policy's check_write: reject, proposal, or apply (with the item to store);
--   5. a write based on exactly the stored version is current and applies; any other
--      base meets the stored item in the policy's decide.
--
-- What the policy returns as the item to store is checked by sync_policy_output; the
-- server stores that, never its own idea of the rules.
--
-- An outcome: { status = "applied"|"proposal"|"conflict"|"unchanged"|"rejected",
--   reason, key = {entity_type, entity_id}, incoming (the normalised item) or
--   incoming_text (what was sent, for an identity rejection), incoming_version,
--   existing ({item, ptext, ctext} | nil), store ({item, ptext, ctext}: the entity or
--   proposal to write), current (conflict, unchanged: the stored item stood),
--   closes (a proposal version to close when applied), events = { {kind, rule, reason, detail} } }
local json = require "hostsync.json"
local items = require "brain.sync_items"
local output = require "brain.sync_policy_output"
local provenance = require "brain.sync_provenance"

local M = {}

local function log(o, kind, d, reason)
  o.events[#o.events + 1] = { kind = kind, rule = d and d.rule, reason = reason or (d and d.reason),
                              detail = d and d.event }
end

local function rejected(o, reason)
  o.status, o.reason = "rejected", reason
  return o
end

local function policy_error(o, err)
  log(o, "policy_error", nil, err)
  return rejected(o, err)
end

local function applied(o, store)
  o.status, o.store = "applied", store
  return o
end

local function proposed(o, store, d)
  log(o, "proposal", d)
  o.status, o.store, o.reason = "proposal", store, d.reason
  return o
end

-- Step 1 failed. A malformed item is only answered; an identity violation is a security
-- event, logged with what was sent.
local function identity_rejection(batch, raw, reason, rule)
  local o = { events = {} }
  if not rule then return rejected(o, reason) end
  local etype = type(raw.entity_type) == "string" and raw.entity_type or nil
  local eid = type(raw.entity_id) == "string" and raw.entity_id or nil
  o.key, o.incoming_text = { etype, eid }, json.encode(raw)
  o.incoming_version = type(raw.version) == "number" and raw.version or nil
  o.existing = rule ~= "cross_tenant" and etype and eid and batch:stored(etype, eid) or nil
  log(o, "write_rejected", { rule = rule, event = { kind = "write_rejected", rule = rule } }, reason)
  return rejected(o, reason)
end

-- Step 3: -> nil | why the proposal cannot be accepted
local function refusal_of_acceptance(batch, it, version)
  local p = batch:proposal(version)
  if not p then return ("accepts_proposal: there is no proposal %d"):format(version) end
  if p.entity_type ~= it.entity_type or p.entity_id ~= it.entity_id then
    return ("accepts_proposal: proposal %d is for %s/%s, not %s/%s"):format(version, p.entity_type, p.entity_id,
      it.entity_type, it.entity_id)
  end
  if p.status ~= "open" then return ("accepts_proposal: proposal %d is %s, not open"):format(version, p.status) end
  return nil
end

-- Step 5, a write not based on the stored version: decide(stored as "local", written as
-- "remote").
local function decided(env, o, written, pex)
  local rin = items.for_policy(written.item, written.ptext, written.ctext)
  local d, err = env.policy:call("decide", pex, rin, env.ctx)
  if not d then return policy_error(o, err) end
  local kind = d.event and d.event.kind
  if d.winner == "remote" then
    local store = written
    if d.item ~= nil then
      store, err = output.item(d.item, rin, written, o.existing, env.ident)
      if not store then return policy_error(o, "policy error: decide returned an item the server does not store: " .. err) end
    end
    log(o, kind or "conflict", d)
    return applied(o, store)
  elseif d.winner == "local" then
    if d.proposal == "remote" then return proposed(o, written, d) end
    log(o, kind or "discarded", d)
    o.status, o.reason, o.current = "conflict", d.reason, true
    return o
  elseif d.winner == "same" then
    if kind then log(o, kind, d) end
    o.status, o.reason, o.current = "unchanged", d.reason, true
    return o
  end
  return policy_error(o, "policy error: decide returned winner " .. tostring(d.winner))
end

-- Step 4 and the choice of step 5.
local function checked(env, o, incoming)
  local ex = o.existing
  local pin = items.for_policy(incoming.item, incoming.ptext, incoming.ctext)
  local pex = ex and items.for_policy(ex.item, ex.ptext, ex.ctext)
  local d, err = env.policy:call("check_write", pin, pex, env.ctx)
  if not d then return policy_error(o, err) end
  if d.action == "reject" then
    log(o, (d.event and d.event.kind) or "write_rejected", d)
    return rejected(o, d.reason or "rejected by the policy")
  elseif d.action ~= "apply" and d.action ~= "proposal" then
    return policy_error(o, "policy error: check_write returned action " .. tostring(d.action))
  end
  local written = incoming
  if d.item ~= nil then
    written, err = output.item(d.item, pin, incoming, ex, env.ident)
    if not written then return policy_error(o, "policy error: check_write returned an item the server does not store: " .. err) end
  end
  if d.action == "proposal" then return proposed(o, written, d) end
  if ex and incoming.item.version ~= ex.item.version then return decided(env, o, written, pex) end
  if d.event then log(o, d.event.kind or "applied", d) end   -- e.g. upgrade, system_update
  return applied(o, written)
end

-- env = { batch, policy, ident, writer (sync_provenance.writer), clock (sync_items.clock),
--         ctx = {writer_level, vault_mode} }
function M.item(env, raw, mutation_id)
  local it, ptext, notes = items.normalise(raw, env.ident, env.clock)
  if not it then return identity_rejection(env.batch, raw, ptext, notes) end
  local ex = env.batch:stored(it.entity_type, it.entity_id)
  local o = { key = { it.entity_type, it.entity_id }, incoming = it, incoming_version = it.version, existing = ex,
              closes = notes.accepts, events = {} }
  if notes.claimed_at then
    log(o, "clock_skew", { rule = "skew", event = { claimed = notes.claimed_at, stored = it.last_modified_at,
                                                    max_skew = env.clock.max_skew } },
      ("last_modified_at %s is more than %d s ahead of the server's clock: stored as the server's time")
        :format(notes.claimed_at, env.clock.max_skew))
  end
  local ctext
  it.origin_chain, ctext = provenance.extend(ex, provenance.hop(it, env.writer, env.clock.now, mutation_id, notes.claim,
                                                                notes.claim_text))
  if notes.accepts then
    local why = refusal_of_acceptance(env.batch, it, notes.accepts)
    if why then
      log(o, "write_rejected", { rule = "accepts_proposal" }, why)
      return rejected(o, why)
    end
  end
  return checked(env, o, { item = it, ptext = ptext, ctext = ctext })
end

return M
