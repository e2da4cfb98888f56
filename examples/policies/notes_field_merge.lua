-- Field-level merge for notes: a sync conflict policy for `hostsync serve --sync-policy`.
-- Two devices of one user edit the same note offline; the second to push is stale (its
-- version is not the stored one) and goes to decide(). The default policy
-- (policies/truth_hierarchy.lua) keeps the later write whole. This one merges notes
-- field by field, losing nothing:
--   - a field only one side has is kept (without a common ancestor, "added here" and
--     "deleted there" look the same; keeping it is the choice that loses nothing);
--   - `tags` (a list) is the union of both sides, in first-seen order;
--   - a field both sides have with different values keeps the stored value, and the
--     incoming one is kept in `payload.merge_conflicts[field]` for the user to settle.
-- Only notes of the same authority (effective truth level) merge; otherwise the higher
-- authority wins, and a stale write of anything else loses to the stored version
-- (logged as a conflict, the client pulls again). Writes based on the stored version
-- follow a plain hierarchy (check_write).
--
-- Self-contained (the sandbox has no require). Tested by notes_field_merge_test.lua.
local M = {}

M.MERGED_TYPES = { note = true }
M.SET_FIELDS = { tags = true }          -- lists merged as sets

local function level_of(item, side)
  local lvl = type(item) == "table" and item.truth_level
  if type(lvl) ~= "number" or lvl ~= math.floor(lvl) or lvl < 1 or lvl > 5 then
    error(side .. " item has an invalid truth_level: " .. tostring(lvl), 0)
  end
  return item.accepted_by_user == true and 1 or lvl
end

local function same(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local function union(a, b)
  local out, seen = {}, {}
  for _, list in ipairs({ a, b }) do
    for _, v in ipairs(list) do
      if not seen[v] then seen[v], out[#out + 1] = true, v end
    end
  end
  return out
end

-- stored, incoming payloads -> merged payload, the fields that conflicted (sorted)
function M.merge(stored, incoming)
  local out, conflicts, names = {}, {}, {}
  for k, v in pairs(stored) do out[k] = v end
  for k, v in pairs(incoming) do
    local have = out[k]
    if have == nil then
      out[k] = v
    elseif M.SET_FIELDS[k] and type(have) == "table" and type(v) == "table" then
      out[k] = union(have, v)
    elseif k ~= "merge_conflicts" and not same(have, v) then
      conflicts[k], names[#names + 1] = v, k
    end
  end
  if #names > 0 then
    local kept = type(out.merge_conflicts) == "table" and out.merge_conflicts or {}
    local all = {}
    for k, v in pairs(kept) do all[k] = v end
    for k, v in pairs(conflicts) do all[k] = v end
    out.merge_conflicts = all
  end
  table.sort(names)
  return out, names
end

function M.decide(l, r)
  local lv, rv = level_of(l, "local"), level_of(r, "remote")
  if l.tenant_id ~= r.tenant_id then
    return { winner = "none", rule = "tenant", reason = "different tenants: never compared",
             event = { kind = "cross_tenant", entity_type = l.entity_type, entity_id = l.entity_id } }
  end
  local base = { entity_type = l.entity_type, entity_id = l.entity_id,
                 local_version = l.version, remote_version = r.version }
  local function event(kind, rule, extra)
    local e = { kind = kind, rule = rule }
    for k, v in pairs(base) do e[k] = v end
    for k, v in pairs(extra or {}) do e[k] = v end
    return e
  end
  if lv ~= rv then
    local winner = lv < rv and "local" or "remote"
    local lose = winner == "local" and r or l
    local res = { winner = winner, rule = "level", reason = "the higher authority wins",
                  event = event("discarded", "level", { discarded_level = lose.truth_level }) }
    if math.min(lv, rv) == 1 and math.max(lv, rv) >= 3 and not lose.deleted then
      res.proposal = winner == "local" and "remote" or "local"   -- AI content stays a proposal
    end
    return res
  end
  if M.MERGED_TYPES[l.entity_type] and not l.deleted and not r.deleted then
    local payload, conflicted = M.merge(l.payload or {}, r.payload or {})
    if same(payload, l.payload or {}) then
      return { winner = "same", rule = "merge", reason = "the stale write adds nothing" }
    end
    local item = {}
    for k, v in pairs(r) do item[k] = v end
    item.payload = payload
    return { winner = "remote", item = item, rule = "merge",
             reason = #conflicted > 0 and "merged; conflicting fields kept aside: " .. table.concat(conflicted, ", ")
               or "merged",
             event = event("merged", "merge", { conflicts = #conflicted > 0 and conflicted or nil }) }
  end
  return { winner = "local", rule = "stale", reason = "a write not based on the stored version loses",
           event = event("conflict", "stale", { discarded_version = r.version }) }
end

-- Writes based on the stored version: a plain hierarchy.
function M.check_write(item, existing, context)
  local writer = (context or {}).writer_level or item.truth_level
  local function refuse(rule, why) return { action = "reject", rule = rule, reason = why,
    event = { kind = "write_rejected", rule = rule, entity_type = item.entity_type,
              entity_id = item.entity_id, writer_level = writer } } end
  level_of(item, "written")
  if item.truth_level < writer then return refuse("forged", "the item claims more authority than its writer") end
  if item.accepted_by_user == true and writer ~= 1 then return refuse("accept", "only a user accepts content") end
  if existing and existing.tenant_id ~= item.tenant_id then return refuse("tenant", "tenant_id cannot change") end
  if existing and writer > 1 and level_of(existing, "stored") == 1 then
    if writer == 2 and item.deleted == true then return refuse("user-content", "automation cannot delete user content") end
    return { action = "proposal", rule = "user-content", reason = "only a user changes user content",
             event = { kind = "proposal", entity_type = item.entity_type, entity_id = item.entity_id,
                       writer_level = writer } }
  end
  return { action = "apply", rule = "write", reason = "allowed" }
end

-- AI cloud (level 5) reads views: the payload without the fields set aside by a merge
-- (the user has not settled them), the chain without who wrote each link.
function M.redacts(context) return (context.reader_level or 5) >= 5 end

function M.redact(item)
  local view = {}
  for k, v in pairs(item) do view[k] = v end
  view.payload = {}
  for k, v in pairs(item.payload or {}) do
    if k ~= "merge_conflicts" then view.payload[k] = v end
  end
  view.origin_chain = {}
  for i, link in ipairs(item.origin_chain or {}) do
    view.origin_chain[i] = { level = link.level, source = link.source, timestamp = link.timestamp }
  end
  return view
end

return M
