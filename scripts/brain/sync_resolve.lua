-- POST /sync/conflict-resolve: the explicit merge of contract section 6.2, a user action.
-- The merged content is written as U1 (accepted_by_user, origin_chain grows by a
-- "resolve" hop naming the writer) only if the stored version is still the one the user
-- merged against (else 409 with the current item), and logged as a "resolved" event.
-- Naming a proposal closes it (it moves in the feed with its new status). Items in the
-- answer are the reader's view (brain/sync_redact.lua).
local json = require "hostsync.json"
local hook_events = require "brain.hook_events"
local items = require "brain.sync_items"
local provenance = require "brain.sync_provenance"
local redact = require "brain.sync_redact"
local sstore = require "brain.sync_store"
local store = require "brain.store"
local validate = require "brain.validate"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}

-- Only user-level (1) tokens reach this: the route's access rule (brain/access.lua).
function M.resolve(h, ident, body, policy)
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

  policy:refresh()
  local view = redact.for_reader(policy, ident)
  local function shown(it) return view and view:item(it) or it end

  return db_check(h:transaction(function(tx)
    local last = sstore.lock_tenant(tx, tenant)
    local row = sstore.entity(tx, tenant, f.entity_type, f.entity_id)
    local current, cptext, cctext
    if row then current, cptext, cctext = items.from_row(row, tenant) end
    local stored_version = current and current.version or 0
    if stored_version ~= f.base_version then
      return 409, { error = ("base_version %d is not the stored version %d"):format(f.base_version, stored_version),
                    current = current and shown(current) or json.null }
    end
    local it = { entity_type = f.entity_type, entity_id = f.entity_id, tenant_id = tenant, truth_level = 1,
                 origin_source = "user:resolve", version = last + 1,
                 last_modified_at = now, payload = f.payload, deleted = deleted, accepted_by_user = true,
                 last_modified_by_level = 1 }
    local hop = provenance.hop(it, provenance.writer(ident), now)
    hop.source, hop.base_version, hop.proposal_version = "resolve", f.base_version, f.proposal_version or json.null
    local ctext
    it.origin_chain, ctext = provenance.extend(current and { item = current, ctext = cctext }, hop)
    if f.proposal_version then
      local p = sstore.proposal(tx, tenant, f.proposal_version)
      if not (p and p.status == "open" and p.entity_type == f.entity_type and p.entity_id == f.entity_id) then
        error({ status = 404, error = ("no open proposal with version %d for %s/%s"):format(f.proposal_version,
          f.entity_type, f.entity_id) }, 0)
      end
      assert(sstore.close_proposal(tx, tenant, f.proposal_version, "resolved", last + 2))
    end
    sstore.put_event(tx, tenant, { entity_type = it.entity_type, entity_id = it.entity_id, kind = "resolved",
      rule = "6.2", reason = "explicit merge by the user",
      stored = current and items.item_json(current, cptext, cctext), stored_version = stored_version,
      incoming = items.encode(it), incoming_version = f.base_version,
      result_version = it.version, detail = { proposal_version = f.proposal_version } }, ident, now)
    sstore.put_entity(tx, tenant, it, payload_text, ctext, ident.token_id)
    sstore.set_last_version(tx, tenant, f.proposal_version and last + 2 or last + 1)
    hook_events.raise(tx, "sync_event", { status = "resolved", tenant = tenant, entity_type = it.entity_type,
      entity_id = it.entity_id, version = it.version, deleted = deleted, truth_level = 1, mutation_id = json.null,
      events = json.array { "resolved" }, proposal_version = f.proposal_version or json.null,
      by = hook_events.by(ident) })
    return 200, { status = "applied", version = it.version, item = shown(it) }
  end))
end

return M
