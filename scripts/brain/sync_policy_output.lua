-- What a policy returns, checked before the server stores it. The policy decides the
-- content (payload, deleted) and which side's authority it carries; the server owns the
-- identity of what is written: the entity and tenant, the writer's level, the history
-- in origin_chain. A policy that forges those gets a policy error for that item.
--
-- Values come back from the sandbox as plain tables: JSON nulls arrive as
-- sync_items.NULL_FOR_POLICY and arrays without their mark, so both are restored here
-- (an empty table is an array where the item it came from had an array).
local json = require "hostsync.json"
local items = require "brain.sync_items"

local M = {}
local ARRAY_MT = getmetatable(json.array())
local null = json.null

-- v from the sandbox -> a JSON value; `like` is the value at the same place in the item
-- the policy was given, which says whether an empty table was an array.
local function restore(v, like)
  if v == items.NULL_FOR_POLICY then return null end
  if type(v) ~= "table" then return v end
  local shape = type(like) == "table" and like or nil
  local out = {}
  for k, x in pairs(v) do out[k] = restore(x, shape and shape[k]) end
  if next(out) == nil and shape and getmetatable(shape) == ARRAY_MT then setmetatable(out, ARRAY_MT) end
  return out
end
M.restore = restore

local deep_eq = require("hostsync.testing").deep_eq   -- plain deep equality of values

local function one_of(v, a, b)
  return v == a or (b ~= nil and v == b)
end

-- The stored chain: the one the policy was given (the server's, ending with this write's
-- hop), plus links the policy appended (e.g. the upgrade rule's). It may not drop or
-- change a link, nor append one that looks like a server hop (`writer`).
-- -> chain, chain_text | nil, err
local function chain_of(got, given, base)
  local have = given.origin_chain
  if type(got) ~= "table" or #got < #have then
    return nil, "origin_chain must be the item's chain, with links appended at most"
  end
  for i = 1, #have do
    if not deep_eq(got[i], have[i]) then return nil, ("origin_chain link %d differs from the item's"):format(i) end
  end
  if #got == #have then return base.item.origin_chain, base.ctext end
  local chain = setmetatable({}, ARRAY_MT)
  for i, link in ipairs(base.item.origin_chain) do chain[i] = link end
  for i = #have + 1, #got do
    local link = got[i]
    if type(link) ~= "table" then return nil, ("origin_chain link %d is not an object"):format(i) end
    if link.writer ~= nil then return nil, ("origin_chain link %d names a writer: only the server records writers"):format(i) end
    chain[i] = restore(link)
  end
  local ok, text = pcall(json.encode, chain)
  if not ok then return nil, "origin_chain: " .. tostring(text) end
  return chain, text
end

-- -> payload, payload_text | nil, err
local function payload_of(got, base, existing)
  if type(got) ~= "table" then return nil, "payload must be an object" end
  local payload = restore(got, base.item.payload)
  local ok, text = pcall(json.encode, payload)
  if not ok then return nil, "payload: " .. tostring(text) end
  if text == base.ptext then return base.item.payload, base.ptext end
  if existing and text == existing.ptext then return existing.item.payload, existing.ptext end
  if text:sub(1, 1) ~= "{" then return nil, "payload must be an object" end
  if #text > items.MAX_PAYLOAD then return nil, ("payload is larger than %d bytes"):format(items.MAX_PAYLOAD) end
  if text:find("\\u0000", 1, true) then return nil, "payload contains U+0000, which is not stored" end
  return payload, text
end

-- got: the item a policy returned; given: the item it was given (its sandbox copy);
-- base: {item, ptext, ctext}, that item as the server holds it; existing: the stored
-- entity ({item, ptext, ctext}) or nil; ident: the writer's token.
-- -> {item, ptext, ctext} | nil, err
function M.item(got, given, base, existing, ident)
  if type(got) ~= "table" then return nil, "item is not a table" end
  local b, ex = base.item, existing and existing.item
  for _, f in ipairs { "entity_type", "entity_id", "tenant_id" } do
    if got[f] ~= b[f] then return nil, ("item.%s %s is not the written item's %s"):format(f, tostring(got[f]), tostring(b[f])) end
  end
  if got.last_modified_by_level ~= ident.level then
    return nil, ("item.last_modified_by_level %s is not the writer's level %d"):format(tostring(got.last_modified_by_level), ident.level)
  end
  local level = got.truth_level
  if type(level) ~= "number" or level ~= math.floor(level) or level < 1 or level > 5 then
    return nil, "item.truth_level must be an integer 1..5"
  end
  -- The level is the item's, or less authority, or the stored content's, or U1 when the
  -- user accepted it (the upgrade rule).
  if not (level >= b.truth_level or (ex and level == ex.truth_level) or (level == 1 and b.accepted_by_user)) then
    return nil, ("item.truth_level %d claims more authority than the written item (%d)"):format(level, b.truth_level)
  end
  if type(got.accepted_by_user) ~= "boolean" or type(got.deleted) ~= "boolean" then
    return nil, "item.accepted_by_user and item.deleted must be booleans"
  end
  if got.accepted_by_user and not (b.accepted_by_user or (ex and ex.accepted_by_user)) then
    return nil, "item.accepted_by_user: only the user accepts"
  end
  if not one_of(got.origin_source, b.origin_source, ex and ex.origin_source) then
    return nil, "item.origin_source must be the written item's or the stored one's"
  end
  if not one_of(got.last_modified_at, b.last_modified_at, ex and ex.last_modified_at) then
    return nil, "item.last_modified_at must be the written item's or the stored one's"
  end
  local chain, ctext = chain_of(got.origin_chain, given, base)
  if not chain then return nil, "item." .. ctext end
  local payload, ptext = payload_of(got.payload, base, existing)
  if not payload then return nil, "item." .. ptext end
  return { item = { entity_type = b.entity_type, entity_id = b.entity_id, tenant_id = b.tenant_id,
                    truth_level = level, origin_source = got.origin_source, origin_chain = chain,
                    version = b.version, last_modified_at = got.last_modified_at, payload = payload,
                    deleted = got.deleted, accepted_by_user = got.accepted_by_user,
                    last_modified_by_level = ident.level },
           ptext = ptext, ctext = ctext }
end

return M
