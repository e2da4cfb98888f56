-- Provenance the server records, not the client (contract section 4.1 origin_source, origin_chain).
-- A pushed origin_source must name the level of the item it describes; origin_chain is
-- the server's: the stored entity's chain plus one hop per write, written from the token
-- (who wrote it, at which level, when by the server's clock). What the client sent as the
-- last link of its chain is kept inside that hop as `claimed`, marked as a claim.
local json = require "hostsync.json"
local auth = require "brain.auth"

local M = {}
local ARRAY_MT = getmetatable(json.array())

M.MAX_CHAIN = 64      -- links kept: the first (the origin) and the newest; sync_events has all
M.MAX_CLAIM = 4096    -- bytes of the client's last link kept as `claimed`

-- origin_source is "<level name>:<name>" (contract section 4.1: "user:web", "ai-cloud:llama-3") and
-- the level named must be the item's truth_level.
-- -> true | nil, reason [, "forged_source" when it names another level]
function M.check_source(source, level)
  local prefix = source:match("^([%w%-]+):.")
  if not prefix then
    return nil, ("origin_source '%s' must be LEVEL:NAME (LEVEL one of %s)"):format(source, table.concat(auth.LEVELS, ", "))
  end
  if prefix ~= auth.LEVELS[level] then
    return nil, ("forged origin_source: '%s' does not name this item's level %d (%s)"):format(source, level,
      auth.LEVELS[level]), "forged_source"
  end
  return true
end

-- The origin_source of an item sent without one: its level and the token's agent.
function M.default_source(level, ident)
  return auth.LEVELS[level] .. ":" .. tostring(ident.agent or "unknown")
end

-- Who writes, as hops record it (from the token): a table and its JSON text, made once
-- per request.
function M.writer(ident)
  local w = { token_id = ident.token_id, level = ident.level, ai = ident.ai, agent = ident.agent,
              machine = ident.machine }
  return { table = w, text = json.encode(w) }
end

local enc = json.encode
-- The hop of one write: the level and source written, who wrote it, when (the server's
-- clock), and the client's claim (its last link, and that link's JSON text).
-- -> hop, hop_text (put together from encoded parts: one per pushed item)
function M.hop(it, writer, now, mutation_id, claim, claim_text)
  local hop = { level = it.truth_level, source = it.origin_source, timestamp = now, mutation_id = mutation_id,
                writer = writer.table, claimed = claim }
  -- The mutation id last (see sync_items.item_json on string hashes).
  return hop, table.concat { '{"level":', it.truth_level, ',"source":', enc(it.origin_source), ',"timestamp":', enc(now),
    ',"writer":', writer.text, claim_text and (',"claimed":' .. claim_text) or "",
    mutation_id and (',"mutation_id":' .. enc(mutation_id)) or "", "}" }
end

-- stored ({item, ctext} of the stored entity, or nil) + hop -> chain, chain_text. The
-- common case splices text; past MAX_CHAIN the oldest links after the first are dropped.
function M.extend(stored, hop, hop_text)
  local old = stored and stored.item.origin_chain or {}
  local chain = setmetatable({}, ARRAY_MT)
  for i, link in ipairs(old) do chain[i] = link end
  chain[#chain + 1] = hop
  if #chain > M.MAX_CHAIN then
    local kept = setmetatable({ chain[1] }, ARRAY_MT)
    for i = #chain - M.MAX_CHAIN + 2, #chain do kept[#kept + 1] = chain[i] end
    return kept, json.encode(kept)
  end
  hop_text = hop_text or json.encode(hop)
  if #old == 0 then return chain, "[" .. hop_text .. "]" end
  return chain, stored.ctext:match("^(.-)%s*%]%s*$") .. "," .. hop_text .. "]"
end

return M
