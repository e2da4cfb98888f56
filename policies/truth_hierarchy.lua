-- The truth-hierarchy conflict policy: section 6.3 (conflict resolution), section 7
-- (write rules per level) and section 7.3's redacted views of the hybrid sync contract
-- (docs/policies.md).
--
-- Runs in hostsync.sandbox: no require, no io; everything it needs is in this file.
-- Levels: 1 User (U1), 2 Automation (A2), 3 AI local (L3), 4 AI LAN (LN4), 5 AI cloud (C5).
-- Lower number = higher authority.
--
-- decide(local_item, remote_item, context) -> {
--   winner = "local" | "remote" | "same" (nothing to resolve) | "none" (never compared),
--   item   = the winning item as it must be stored (upgrade rule applied), or nil,
--   proposal = "local" | "remote" | nil  -- the losing AI side, kept as a proposal,
--   event  = { kind = ..., ... } | nil   -- the sync_events record,
--   reason = "...", rule = "6.3.x" }
-- check_write(item, existing, context) -> {
--   action = "apply" | "proposal" | "reject", reason = "...", rule = "7.x",
--   item = the item as it must be stored, when that is not `item` itself (upgrade rule,
--          content authority kept by a system-field update, fields the writer cannot see),
--   event = { kind = ..., ... } | nil }
-- redacts(context) -> boolean: whether context.reader_level sees redacted views only
-- redact(item, context) -> the view of `item` that context.reader_level may see
-- context.writer_level is the writer's level bound to its identity (token); it defaults
-- to item.truth_level. context.vault_mode is the tenant's mode (section 8): in
-- "local_first", AI cloud writes become proposals. context.field_classes ({field = "security"|"billing"|"ownership"})
-- and context.system_fields ({field = true}) override the defaults below.
local M = {}

M.LEVEL_NAMES = { "U1", "A2", "L3", "LN4", "C5" }

-- Fields not writable below level 1 (section 7: ownership for A2, security and billing
-- for AI; the contract generalises to all three for every level above 1).
M.field_classes = {
  owner_id = "ownership", owner = "ownership", members = "ownership",
  membership = "ownership", tenant_id = "ownership",
  permissions = "security", roles = "security", acl = "security",
  password_hash = "security", api_key = "security", sharing = "security",
  plan = "billing", billing = "billing", price = "billing", subscription = "billing",
  payment_method = "billing",
}

-- System-owned fields that automation and AI may update even on U1 content (5.2, 7.2).
-- Such an update keeps the content's authority: its level, origin and clock stay.
M.system_fields = { status = true, scheduled_run_at = true, metrics = true }

-- Section 7.3: what each reader level sees. AI cloud (C5) gets "redacted views only":
-- no payload field of these classes, none of `hidden_fields`, and no writer identities
-- (tokens, agents, machines) or client claims in origin_chain. Other levels see all.
M.hidden_classes = { [5] = { security = true, billing = true, ownership = true } }
M.hidden_fields = { [5] = {} }     -- per level: { field = true }, the tenant's own additions

---------------------------------------------------------------------------------------
-- helpers

local function shallow(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

local function deep_eq(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do if not deep_eq(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

-- A canonical text of a value (sorted keys), for a tie-break that does not depend on
-- which side is local: decide(a, b) and decide(b, a) must pick the same content.
local function canon(v)
  local t = type(v)
  if t == "table" then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(x, y) return tostring(x) < tostring(y) end)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = canon(k) .. ":" .. canon(v[k]) end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif t == "string" then
    return string.format("%q", v)
  end
  return tostring(v)
end

local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * (m + (m > 2 and -3 or 9)) + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

-- last_modified_at: RFC 3339 text ("2025-11-24T16:00:00Z", fractions, offsets) or epoch
-- seconds. Returns seconds since the epoch, or raises for anything else.
function M.timestamp(v)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then error("last_modified_at missing or not a time: " .. tostring(v), 0) end
  local y, mo, d, h, mi, s, rest = v:match("^(%d%d%d%d)-(%d%d)-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then error("last_modified_at is not RFC 3339: " .. v, 0) end
  local frac, zone = rest:match("^(%.%d+)(.*)$")
  if not frac then frac, zone = "", rest end
  local offset
  if zone == "Z" or zone == "z" then
    offset = 0
  else
    local sign, oh, om = zone:match("^([+-])(%d%d):(%d%d)$")
    if not sign then error("last_modified_at has no time zone: " .. v, 0) end
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "-" and -1 or 1)
  end
  local t = days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400
    + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s) - offset
  return t + (frac ~= "" and tonumber("0" .. frac) or 0)
end

local function check_item(item, side)
  if type(item) ~= "table" then error(side .. " item is not a table", 0) end
  for _, f in ipairs({ "entity_type", "entity_id", "tenant_id" }) do
    if item[f] == nil then error(side .. " item has no " .. f, 0) end
  end
  local lvl = item.truth_level
  if type(lvl) ~= "number" or lvl ~= math.floor(lvl) or lvl < 1 or lvl > 5 then
    error(side .. " item has an invalid truth_level: " .. tostring(lvl), 0)
  end
end

-- Upgrade rule (section 3, 6.3.4): content the user accepted is U1, whatever its level.
local function effective_level(item)
  if item.accepted_by_user == true then return 1 end
  return item.truth_level
end

local function upgraded(item)
  if item.accepted_by_user ~= true or item.truth_level == 1 then return item end
  local copy = shallow(item)
  local chain = {}
  for i, link in ipairs(type(item.origin_chain) == "table" and item.origin_chain or {}) do chain[i] = link end
  chain[#chain + 1] = { level = 1, source = "upgrade:accepted_by_user", from_level = item.truth_level,
                        from_source = item.origin_source, timestamp = item.last_modified_at }
  copy.origin_chain = chain
  copy.truth_level = 1
  copy.last_modified_by_level = 1
  return copy
end

-- Which side was written later; ties broken by version, then by canonical content.
local function later(a, b)
  local ta, tb = M.timestamp(a.last_modified_at), M.timestamp(b.last_modified_at)
  if ta ~= tb then return ta > tb end
  local va, vb = tonumber(a.version) or 0, tonumber(b.version) or 0
  if va ~= vb then return va > vb end
  return canon(a) > canon(b)
end

local function event(kind, rule, l, r, winner, extra)
  local e = {
    kind = kind, rule = rule, winner = winner,
    entity_type = l.entity_type, entity_id = l.entity_id, tenant_id = l.tenant_id,
    local_version = l.version, remote_version = r.version,
    local_level = l.truth_level, remote_level = r.truth_level,
  }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

local function other(side) return side == "local" and "remote" or "local" end

---------------------------------------------------------------------------------------
-- section 6.3: conflict resolution

function M.decide(l, r, context)
  check_item(l, "local")
  check_item(r, "remote")
  local _ = context
  -- 6.3.1: different tenants are never compared.
  if l.tenant_id ~= r.tenant_id then
    return { winner = "none", rule = "6.3.1", reason = "different tenants: never compared",
             event = { kind = "cross_tenant", rule = "6.3.1", entity_type = l.entity_type,
                       entity_id = l.entity_id, local_tenant = l.tenant_id, remote_tenant = r.tenant_id } }
  end
  if l.entity_type ~= r.entity_type or l.entity_id ~= r.entity_id then
    error("decide() compares two versions of one entity; got " .. tostring(l.entity_type) .. "/" ..
          tostring(l.entity_id) .. " and " .. tostring(r.entity_type) .. "/" .. tostring(r.entity_id), 0)
  end
  local items = { ["local"] = l, remote = r }
  local lv, rv = effective_level(l), effective_level(r)
  local ups = {}
  if lv ~= l.truth_level then ups[#ups + 1] = "local" end
  if rv ~= r.truth_level then ups[#ups + 1] = "remote" end
  local upgrade_note = #ups > 0 and table.concat(ups, ",") or nil

  local function result(winner, rule, reason, kind)
    local w, lose = items[winner], items[other(winner)]
    local res = { winner = winner, item = upgraded(w), rule = rule, reason = reason }
    if kind then
      res.event = event(kind, rule, l, r, winner, { upgraded = upgrade_note,
        discarded_version = lose.version, discarded_level = lose.truth_level })
    elseif upgrade_note then
      res.event = event("upgrade", "6.3.4", l, r, winner, { upgraded = upgrade_note })
    end
    -- Section 7.3: AI content never replaces U1 content, it stays as a proposal.
    local lose_level = winner == "local" and rv or lv
    local win_level = winner == "local" and lv or rv
    if win_level == 1 and lose_level >= 3 and not lose.deleted then
      res.proposal = other(winner)
      if res.event then res.event.proposal = res.proposal end
    end
    return res
  end

  -- 6.3.2: one side deleted.
  local ld, rd = l.deleted == true, r.deleted == true
  if ld and rd then
    return { winner = "same", item = upgraded(later(l, r) and l or r), rule = "6.3.2", reason = "both sides deleted" }
  end
  if ld ~= rd then
    if lv ~= rv then
      -- Respect the higher truth level; "unless the other side is more recent and also
      -- U1" can only apply when both are U1 (nothing outranks U1), handled below.
      local winner = lv < rv and "local" or "remote"
      return result(winner, "6.3.2", "deletion rule: higher truth level ("
        .. M.LEVEL_NAMES[math.min(lv, rv)] .. ") wins", "discarded")
    end
    local winner = later(l, r) and "local" or "remote"
    local reason = lv == 1 and "deletion rule: both U1, the more recent side wins"
      or "deletion rule: same level, the more recent side wins"
    return result(winner, "6.3.2", reason, "conflict")
  end

  -- Both exist: nothing to resolve if they do not differ.
  if deep_eq(l.payload, r.payload) and lv == rv then
    return { winner = "same", item = upgraded(l), rule = "6.3.3", reason = "no difference in content",
             event = upgrade_note and event("upgrade", "6.3.4", l, r, "same", { upgraded = upgrade_note }) or nil }
  end
  -- 6.3.3 case A: U1 against A2-C5.
  if (lv == 1) ~= (rv == 1) then
    local winner = lv == 1 and "local" or "remote"
    return result(winner, "6.3.3A", "U1 wins over " .. M.LEVEL_NAMES[math.max(lv, rv)], "discarded")
  end
  -- Case B: both U1, last write wins, conflict logged.
  if lv == 1 then
    local winner = later(l, r) and "local" or "remote"
    return result(winner, "6.3.3B", "both U1: last write wins", "conflict")
  end
  -- Case C: neither U1: lower level wins, then last write.
  if lv ~= rv then
    local winner = lv < rv and "local" or "remote"
    return result(winner, "6.3.3C", M.LEVEL_NAMES[math.min(lv, rv)] .. " wins over "
      .. M.LEVEL_NAMES[math.max(lv, rv)], "discarded")
  end
  local winner = later(l, r) and "local" or "remote"
  return result(winner, "6.3.3C", "same level (" .. M.LEVEL_NAMES[lv] .. "): last write wins", "conflict")
end

---------------------------------------------------------------------------------------
-- section 7: write rules per level

local function write_event(kind, rule, item, writer, existing, extra)
  local e = { kind = kind, rule = rule, entity_type = item.entity_type, entity_id = item.entity_id,
              tenant_id = item.tenant_id, writer_level = writer, version = item.version,
              existing_version = existing and existing.version or nil }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

local function changed_fields(item, existing)
  local new, old = item.payload or {}, (existing and existing.payload) or {}
  local out = {}
  for k, v in pairs(new) do if not deep_eq(v, old[k]) then out[#out + 1] = k end end
  for k in pairs(old) do if new[k] == nil then out[#out + 1] = k end end
  table.sort(out, function(a, b) return tostring(a) < tostring(b) end)
  return out
end

-- Whether a payload field is hidden from a level (section 7.3).
local function is_hidden(level, field, context)
  local classes = M.hidden_classes[level]
  if not classes then return false end
  local class = (context.field_classes or M.field_classes)[field]
  return (class ~= nil and classes[class] == true) or (M.hidden_fields[level] or {})[field] == true
end

-- A writer that cannot see a field cannot mean to delete it: a hidden field it left out
-- of its write is kept from the stored item.
local function with_hidden_kept(item, existing, writer, context)
  if existing == nil or not M.hidden_classes[writer] then return item end
  local payload = item.payload or {}
  local kept
  for k, v in pairs(existing.payload or {}) do
    if payload[k] == nil and is_hidden(writer, k, context) then
      kept = kept or shallow(payload)
      kept[k] = v
    end
  end
  if not kept then return item end
  local c = shallow(item)
  c.payload = kept
  return c
end

-- Only system-owned fields differ (and not the deleted flag).
local function only_system_change(item, existing, system)
  if existing == nil or (item.deleted == true) ~= (existing.deleted == true) then return false end
  for _, f in ipairs(changed_fields(item, existing)) do
    if not system[f] then return false end
  end
  return true
end

-- A system-field update below level 1: stored with the content's authority (level,
-- acceptance, origin, and the last-write-wins clock of the content), so content
-- authority never changes hands through it; the writer is in the server's chain hop
-- and in last_modified_by_level. Logged as `system_update`.
local function system_update(item, view, existing, writer)
  local kept = shallow(view)
  kept.truth_level, kept.accepted_by_user = existing.truth_level, existing.accepted_by_user
  kept.origin_source, kept.last_modified_at = existing.origin_source, existing.last_modified_at
  local rule = writer == 2 and "7.2" or "5.2"
  local fields = changed_fields(view, existing)
  return { action = "apply", rule = rule, item = kept,
           reason = "only system-owned fields changed: the content stays " .. M.LEVEL_NAMES[effective_level(existing)],
           event = write_event("system_update", rule, item, writer, existing,
                               { fields = #fields > 0 and fields or nil, kept_level = existing.truth_level }) }
end

function M.check_write(item, existing, context)
  check_item(item, "written")
  if existing ~= nil then check_item(existing, "existing") end
  context = context or {}
  local writer = context.writer_level or item.truth_level
  local classes = context.field_classes or M.field_classes
  local system = context.system_fields or M.system_fields
  local function reject(rule, reason, extra)
    return { action = "reject", rule = rule, reason = reason,
             event = write_event("write_rejected", rule, item, writer, existing, extra) }
  end

  -- Identity binds the level: nobody claims more authority than their token carries,
  -- and only a user can accept (the upgrade rule is a user action).
  if item.truth_level < writer then
    return reject("7", "truth_level " .. item.truth_level .. " claims more authority than the writer ("
      .. M.LEVEL_NAMES[writer] .. ")")
  end
  if item.accepted_by_user == true and writer ~= 1 then
    return reject("3", "only a user can set accepted_by_user")
  end
  if existing and existing.tenant_id ~= item.tenant_id then
    return reject("7.2", "tenant membership cannot change")
  end
  local view = with_hidden_kept(item, existing, writer, context)
  local changed = view ~= item and view or nil   -- returned only when it differs
  if writer == 1 then
    local up = upgraded(view)
    if up ~= view then
      -- Upgrade rule at sync time (6.3.4): accepted content is stored as U1.
      return { action = "apply", rule = "6.3.4", reason = "accepted by the user: stored as U1", item = up,
               event = write_event("upgrade", "6.3.4", item, writer, existing, { from_level = item.truth_level }) }
    end
    return { action = "apply", rule = "7.1", reason = "U1 can write anywhere", item = changed }
  end
  -- Protected fields: not writable below level 1.
  for _, f in ipairs(changed_fields(view, existing)) do
    local class = classes[f]
    if class then
      return reject(class == "ownership" and "7.2" or "7.3",
        class .. " field '" .. tostring(f) .. "' is not writable below level 1", { field = f, field_class = class })
    end
  end
  -- Section 8.1: in a local_first tenant the local vault is canonical; what AI cloud (C5)
  -- writes is a suggestion, never applied to entities (cloud_first: the rules below).
  if writer == 5 and context.vault_mode == "local_first" then
    return { action = "proposal", rule = "8.1", item = changed,
             reason = "local_first tenant: AI cloud output is kept as a proposal",
             event = write_event("proposal", "8.1", item, writer, existing, { vault_mode = "local_first" }) }
  end
  local system_only = only_system_change(view, existing, system)
  local existing_u1 = existing ~= nil and not existing.deleted and effective_level(existing) == 1
  if not existing_u1 then
    if system_only then return system_update(item, view, existing, writer) end
    return { action = "apply", rule = "7", reason = M.LEVEL_NAMES[writer] .. " may write non-U1 content", item = changed }
  end
  if view.deleted == true then
    if writer == 2 then
      return reject("7.2", "automation cannot hard-delete a U1 entity")
    end
    return { action = "proposal", rule = "7.3", reason = "AI cannot delete U1 content: kept as a proposal",
             item = changed, event = write_event("proposal", "7.3", item, writer, existing) }
  end
  if system_only then return system_update(item, view, existing, writer) end
  local rule = writer == 2 and "5.2" or "7.3"
  return { action = "proposal", rule = rule, item = changed,
           reason = M.LEVEL_NAMES[writer] .. " never replaces U1 content: kept as a proposal",
           event = write_event("proposal", rule, item, writer, existing) }
end

---------------------------------------------------------------------------------------
-- section 7.3: redacted views

function M.redacts(context)
  return M.hidden_classes[context.reader_level] ~= nil
end

-- The view of an item a redacted reader gets: hidden payload fields removed, and each
-- origin_chain link without the writer's identity or the client's claim.
function M.redact(item, context)
  local level = context.reader_level
  local view = shallow(item)
  if type(item.payload) == "table" then
    view.payload = {}
    for k, v in pairs(item.payload) do
      if not is_hidden(level, k, context) then view.payload[k] = v end
    end
  end
  if type(item.origin_chain) == "table" then
    view.origin_chain = {}
    for i, link in ipairs(item.origin_chain) do
      local l = type(link) == "table" and shallow(link) or link
      if type(l) == "table" then l.writer, l.claimed = nil, nil end
      view.origin_chain[i] = l
    end
  end
  return view
end

return M
