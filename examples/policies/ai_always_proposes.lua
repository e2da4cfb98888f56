-- "AI output is always a proposal": a sync conflict policy for `hostsync serve
-- --sync-policy` (docs/policies.md, docs/sync-contract.md) for a household that wants to
-- review everything an AI writes. Unlike the default (policies/truth_hierarchy.lua),
-- where local and LAN AI may create content and edit non-user content directly, here
-- every write by an AI token (levels 3, 4 and 5), new content included, is stored as a
-- proposal; a user accepts it by writing it back with accepted_by_user = true, which
-- makes it user content (truth level 1).
--
-- Levels: 1 user, 2 automation, 3 AI local, 4 AI LAN, 5 AI cloud (lower = more authority).
-- Self-contained (the sandbox has no require). Tested by ai_always_proposes_test.lua.
local M = {}

-- Payload fields an AI cloud reader never sees (redact), and automation may not change.
M.protected_fields = { owner_id = true, permissions = true, api_key = true, plan = true }

local function level_of(item, side)
  local lvl = type(item) == "table" and item.truth_level
  if type(lvl) ~= "number" or lvl ~= math.floor(lvl) or lvl < 1 or lvl > 5 then
    error(side .. " item has an invalid truth_level: " .. tostring(lvl), 0)
  end
  return item.accepted_by_user == true and 1 or lvl
end

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

local function answer(action, rule, reason, item, extra)
  local ev = { kind = action == "apply" and "applied" or (action == "reject" and "write_rejected" or "proposal"),
               rule = rule, entity_type = item.entity_type, entity_id = item.entity_id }
  for k, v in pairs(extra or {}) do ev[k] = v end
  return { action = action, rule = rule, reason = reason, event = action ~= "apply" and ev or nil }
end

-- check_write(item, existing, context) -> { action = "apply"|"proposal"|"reject", ... }
function M.check_write(item, existing, context)
  context = context or {}
  local claimed = level_of(item, "written")
  local writer = context.writer_level or item.truth_level
  if item.truth_level < writer then
    return answer("reject", "forged", "the item claims more authority than its writer", item,
                  { writer_level = writer })
  end
  if item.accepted_by_user == true and writer ~= 1 then
    return answer("reject", "accept", "only a user accepts content", item, { writer_level = writer })
  end
  if existing and existing.tenant_id ~= item.tenant_id then
    return answer("reject", "tenant", "tenant_id cannot change", item, { writer_level = writer })
  end
  if writer >= 3 then
    return answer("proposal", "ai", "AI output is a proposal until a user accepts it", item,
                  { writer_level = writer })
  end
  if writer == 2 and existing then
    for field in pairs(M.protected_fields) do
      local old, new = (existing.payload or {})[field], (item.payload or {})[field]
      if old ~= new then
        return answer("reject", "protected", "automation cannot change " .. field, item,
                      { writer_level = writer, field = field })
      end
    end
    if level_of(existing, "stored") == 1 then
      if item.deleted == true then
        return answer("reject", "user-content", "automation cannot delete user content", item,
                      { writer_level = writer })
      end
      return answer("proposal", "user-content", "automation changing user content is a proposal", item,
                    { writer_level = writer })
    end
  end
  local res = answer("apply", "write", "allowed", item)
  if claimed == 1 and item.truth_level ~= 1 then
    -- The upgrade: content the user accepted is the user's (truth level 1).
    res.item = copy(item)
    res.item.truth_level = 1
    res.rule, res.reason = "accept", "accepted by the user: now user content"
  end
  return res
end

-- RFC 3339 or epoch seconds -> seconds, for last-write-wins between equal levels.
local function seconds(v)
  if type(v) == "number" then return v end
  local y, mo, d, h, mi, s, frac, zone = tostring(v):match(
    "^(%d+)-(%d+)-(%d+)[Tt ](%d+):(%d+):(%d+)(%.?%d*)(.*)$")
  if not y then error("last_modified_at is not RFC 3339: " .. tostring(v), 0) end
  local off = 0
  if zone ~= "Z" and zone ~= "z" then
    local sign, oh, om = zone:match("^([+-])(%d%d):(%d%d)$")
    if not sign then error("last_modified_at has no time zone: " .. v, 0) end
    off = (sign == "-" and -1 or 1) * (oh * 3600 + om * 60)
  end
  -- Days from the civil date (proleptic Gregorian), as in policies/truth_hierarchy.lua.
  y, mo = tonumber(y), tonumber(mo)
  if mo <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * (mo + (mo > 2 and -3 or 9)) + 2) / 5) + d - 1
  local days = era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
  return days * 86400 + h * 3600 + mi * 60 + s - off + (tonumber("0" .. frac) or 0)
end

-- A text of a value with sorted keys: the last tie-break, so that decide(a, b) and
-- decide(b, a) pick the same content (replicas converge).
local function canon(v)
  if type(v) ~= "table" then return type(v) == "string" and ("%q"):format(v) or tostring(v) end
  local keys, parts = {}, {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(x, y) return tostring(x) < tostring(y) end)
  for _, k in ipairs(keys) do parts[#parts + 1] = canon(k) .. ":" .. canon(v[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- Whether `a` was written after `b`; equal times: the higher version, then the content.
local function later(a, b)
  local ta, tb = seconds(a.last_modified_at), seconds(b.last_modified_at)
  if ta ~= tb then return ta > tb end
  local va, vb = tonumber(a.version) or 0, tonumber(b.version) or 0
  if va ~= vb then return va > vb end
  return canon(a) > canon(b)
end

-- decide(local_item, remote_item, context): a write not based on the stored version.
-- The higher authority wins; equal levels: the later write. AI content that loses to a
-- user's stays as a proposal.
function M.decide(l, r)
  local lv, rv = level_of(l, "local"), level_of(r, "remote")
  if l.tenant_id ~= r.tenant_id then
    return { winner = "none", rule = "tenant", reason = "different tenants: never compared",
             event = { kind = "cross_tenant", entity_type = l.entity_type, entity_id = l.entity_id } }
  end
  local winner, rule
  if lv ~= rv then
    winner, rule = lv < rv and "local" or "remote", "level"
  else
    winner, rule = later(l, r) and "local" or "remote", "last-write"
  end
  local w, lose = winner == "local" and l or r, winner == "local" and r or l
  local res = { winner = winner, rule = rule, reason = "the " .. winner .. " side wins (" .. rule .. ")",
                event = { kind = rule == "level" and "discarded" or "conflict", rule = rule, winner = winner,
                          entity_type = l.entity_type, entity_id = l.entity_id,
                          discarded_version = lose.version, discarded_level = lose.truth_level } }
  if w.accepted_by_user == true and w.truth_level ~= 1 then
    res.item = copy(w)
    res.item.truth_level = 1
  end
  if math.min(lv, rv) == 1 and math.max(lv, rv) >= 3 and not lose.deleted then
    res.proposal = winner == "local" and "remote" or "local"
    res.event.proposal = res.proposal
  end
  return res
end

-- redacts(context): AI cloud reads views only.
function M.redacts(context)
  return (context.reader_level or 5) >= 5
end

-- redact(item, context): the view without protected fields and writer identities.
function M.redact(item)
  local view = copy(item)
  view.payload = {}
  for k, v in pairs(item.payload or {}) do
    if not M.protected_fields[k] then view.payload[k] = v end
  end
  local chain = {}
  for i, link in ipairs(item.origin_chain or {}) do
    chain[i] = { level = link.level, source = link.source, timestamp = link.timestamp }
  end
  view.origin_chain = chain
  return view
end

return M
