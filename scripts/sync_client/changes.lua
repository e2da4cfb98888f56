-- Local changes: put, delete and accept build a SyncItem with the client's truth fields
-- and provenance, update the local view and queue the change, in one vault transaction.
local json = require "hostsync.json"
local vault_mod = require "sync_client.vault"

local M = {}

function M.mutation_id()
  local f = assert(io.open("/dev/urandom", "rb"))
  local s = f:read(16)
  f:close()
  return "m-" .. (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

local function copy_chain(item)
  local chain = json.array()
  for i, link in ipairs(item and type(item.origin_chain) == "table" and item.origin_chain or {}) do chain[i] = link end
  return chain
end

-- who = {level=, source=}: the client's identity from its vault config.
local function new_item(who, etype, eid, prev, base_version, fields)
  local now = vault_mod.now()
  local chain = copy_chain(prev)
  local link = { level = who.level, source = who.source, timestamp = now, op = fields.op, base_version = base_version }
  for k, v in pairs(fields.link or {}) do link[k] = v end
  chain[#chain + 1] = link
  return {
    entity_type = etype, entity_id = eid,
    tenant_id = prev and prev.tenant_id or nil,
    truth_level = fields.truth_level or who.level,
    origin_source = who.source,
    origin_chain = chain,
    version = base_version,
    last_modified_at = now,
    payload = fields.payload,
    deleted = fields.deleted == true,
    accepted_by_user = fields.accepted_by_user == true,
    last_modified_by_level = fields.truth_level or who.level,
  }
end

-- Queues a change and shows it as the local view. `accepts_proposal` goes to the server
-- (which closes that proposal when it applies the change); it is no field of the entity.
local function queue(v, item)
  v:enqueue(item, M.mutation_id())
  local view = item
  if item.accepts_proposal then
    view = {}
    for k, x in pairs(item) do view[k] = x end
    view.accepts_proposal = nil
  end
  v:set_view(item.entity_type, item.entity_id, view)
  return view
end

-- put: new content for an entity (created if missing). payload: a decoded JSON object.
function M.put(v, who, etype, eid, payload)
  return v:tx(function()
    local e = v:entity(etype, eid)
    local op = (e and not e.item.deleted) and "edit" or "create"
    return queue(v, new_item(who, etype, eid, e and e.item, e and e.server_version or 0,
      { op = op, payload = payload }))
  end)
end

function M.delete(v, who, etype, eid)
  return v:tx(function()
    local e = v:entity(etype, eid)
    if not e or e.item.deleted then return nil, ("%s/%s: no such entity in the vault"):format(etype, eid) end
    return queue(v, new_item(who, etype, eid, e.item, e.server_version,
      { op = "delete", payload = e.item.payload or json.object({}), deleted = true }))
  end)
end

-- accept: the upgrade rule as a user action. The accepted content is an open pulled
-- proposal (`proposal_version`, or the latest open one for the entity) or else the
-- entity's own lower-level content; it becomes U1 with accepted_by_user, and the chain
-- says whence. A proposal closed on the server (resolved, or accepted by any vault) or
-- accepted here already cannot be accepted again.
function M.accept(v, who, etype, eid, proposal_version)
  if who.level ~= 1 then
    return nil, "accept is a user action: this vault's level is " .. vault_mod.LEVEL_NAMES[who.level] .. ", not user"
  end
  return v:tx(function()
    local e = v:entity(etype, eid)
    local source, from, pv
    local open = v:proposals(etype, eid)
    if proposal_version then
      for _, p in ipairs(v:proposals(etype, eid, true)) do
        if p.version == proposal_version then
          if p.status ~= "open" or p.accepted_at then
            return nil, ("%s/%s: proposal %d is %s, not open"):format(etype, eid, proposal_version,
              p.accepted_at and "accepted in this vault" or p.status)
          end
          source, pv = p.item, p.version
        end
      end
      if not source then return nil, ("%s/%s: no proposal with version %d"):format(etype, eid, proposal_version) end
      from = "proposal"
    elseif #open > 0 then
      source, pv, from = open[#open].item, open[#open].version, "proposal"
    elseif e and (tonumber(e.item.truth_level) or 1) > 1 then
      source, from = e.item, "entity"
    else
      return nil, ("%s/%s: nothing to accept (no open proposal, and the entity is missing or already user content)")
        :format(etype, eid)
    end
    local item = new_item(who, etype, eid, source, e and e.server_version or 0, {
      op = "accept", payload = source.payload or json.object({}), deleted = source.deleted == true,
      truth_level = 1, accepted_by_user = true,
      link = { from = from, from_level = source.truth_level, from_source = source.origin_source,
               from_version = pv or source.version },
    })
    if e and not item.tenant_id then item.tenant_id = e.item.tenant_id end
    if pv then
      item.accepts_proposal = pv
      v:mark_proposal_accepted(pv)
    end
    return queue(v, item)
  end)
end

return M
