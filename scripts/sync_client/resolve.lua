-- resolve: the explicit merge (contract section 6.2) through POST /sync/conflict-resolve.
-- The merge is based on the server version this vault last saw for the entity; the
-- server writes it as U1 only if that is still the stored version (else 409 with the
-- current item: the user pulls, looks again, and retries). On success the returned
-- item becomes both the server state and the local view, and every queued change of
-- the entity is dropped: all of them were built on that same base or an older one, so
-- the resolution supersedes them (one already sent and applied by the server would
-- have moved the stored version, and the server would have answered 409).
local json = require "hostsync.json"

local M = {}

local function canonical(v) return json.encode(v, { sort_keys = true }) end

-- A 409 whose current item is this very merge: a retried request whose first answer
-- was lost (the server wrote it, then the connection broke).
local function is_our_merge(current, req)
  if type(current) ~= "table" or type(current.origin_chain) ~= "table" then return false end
  local link = current.origin_chain[#current.origin_chain]
  return type(link) == "table" and link.source == "resolve" and tonumber(link.base_version) == req.base_version
    and (tonumber(link.proposal_version) or false) == (req.proposal_version or false)
    and (current.deleted == true) == req.deleted and canonical(current.payload) == canonical(req.payload)
end

-- who: {level=}; req: {entity_type, entity_id, payload, deleted, proposal_version}.
-- -> {item=, dropped=} | nil, err, kind ("stale": current is in the 4th value; "unreachable"; ...), current
function M.run(v, transport, req)
  local e = v:entity(req.entity_type, req.entity_id)
  req.base_version = e and e.server_version or 0
  local body, err, kind, status, answer = transport:request("POST", "/sync/conflict-resolve", {
    entity_type = req.entity_type, entity_id = req.entity_id, base_version = req.base_version,
    payload = req.payload, deleted = req.deleted, proposal_version = req.proposal_version })
  if not body then
    local current = type(answer) == "table" and answer.current or nil
    if status ~= 409 then return nil, err, kind end
    if not is_our_merge(current, req) then return nil, err, "stale", current end
    body = { item = current, version = current.version }
  end
  local item = body.item
  if type(item) ~= "table" then return nil, "POST /sync/conflict-resolve: response has no item", "bad_response" end
  item.version = tonumber(body.version) or tonumber(item.version)
  local dropped = v:tx(function()
    local queued = v:pending_for(req.entity_type, req.entity_id)
    for _, p in ipairs(queued) do v:drop_pending(p.mutation_id) end
    v:set_server(req.entity_type, req.entity_id, item, item)
    if req.proposal_version then v:mark_proposal_accepted(req.proposal_version) end
    return queued
  end)
  return { item = item, base_version = req.base_version, dropped = dropped }
end

return M
