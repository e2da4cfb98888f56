-- POST /sync/conflict-resolve: the explicit merge of seed section 6.2, a user action.
-- The merged content is written as U1 (accepted_by_user, origin_chain grows by a
-- "resolve" link) only if the stored version is still the one the user merged against
-- (else 409 with the current item), and logged as a "resolved" event. Naming a proposal
-- closes it.
local json = require "hostsync.json"
local items = require "brain.sync_items"
local sstore = require "brain.sync_store"
local store = require "brain.store"
local validate = require "brain.validate"

local M = {}
local ARRAY_MT = getmetatable(json.array())

-- Only user-level (1) tokens reach this: the route's access rule (brain/access.lua).
function M.resolve(h, ident, body)
  local f = validate.fields(body, {
    entity_type = { "string", required = true, nonempty = true, max = items.MAX_ID },
    entity_id = { "string", required = true, nonempty = true, max = items.MAX_ID },
    base_version = { "integer", required = true, min = 0 },
    payload = { "object", required = true },
    proposal_version = { "integer", min = 1 } })
  local deleted = body.deleted
  if deleted == nil or deleted == json.null then deleted = false end
  if type(deleted) ~= "boolean" then validate.fail("field 'deleted' must be a boolean") end
  local payload_text = json.encode(f.payload)
  if payload_text:find("\\u0000", 1, true) then validate.fail("field 'payload' contains U+0000, which is not stored") end
  if #payload_text > items.MAX_PAYLOAD then validate.fail("field 'payload' is too large") end
  local tenant, now = ident.tenant, store.now()

  return assert(h:transaction(function(tx)
    local last = sstore.lock_tenant(tx, tenant)
    local row = sstore.entity(tx, tenant, f.entity_type, f.entity_id)
    local current = row and items.from_row(row, tenant)
    local stored_version = current and current.version or 0
    if stored_version ~= f.base_version then
      return 409, { error = ("base_version %d is not the stored version %d"):format(f.base_version, stored_version),
                    current = current or json.null }
    end
    if f.proposal_version and sstore.close_proposal(tx, tenant, f.proposal_version, "resolved") == 0 then
      error({ status = 404, error = ("no open proposal with version %d"):format(f.proposal_version) }, 0)
    end
    local chain = setmetatable({}, ARRAY_MT)
    for i, link in ipairs(current and current.origin_chain or {}) do chain[i] = link end
    chain[#chain + 1] = { level = 1, source = "resolve", timestamp = now, base_version = f.base_version,
                          proposal_version = f.proposal_version or json.null }
    local it = { entity_type = f.entity_type, entity_id = f.entity_id, tenant_id = tenant, truth_level = 1,
                 origin_source = "user:resolve", origin_chain = chain, version = last + 1,
                 last_modified_at = now, payload = f.payload, deleted = deleted, accepted_by_user = true,
                 last_modified_by_level = 1 }
    sstore.put_event(tx, tenant, { entity_type = it.entity_type, entity_id = it.entity_id, kind = "resolved",
      rule = "6.2", reason = "explicit merge by the user", stored = current and items.encode(current),
      stored_version = stored_version, incoming = items.encode(it), incoming_version = f.base_version,
      result_version = it.version, detail = { proposal_version = f.proposal_version } }, ident, now)
    sstore.put_entity(tx, tenant, it, payload_text, items.encode(chain), ident.token_id)
    sstore.set_last_version(tx, tenant, it.version)
    return 200, { status = "applied", version = it.version, item = it }
  end))
end

return M
