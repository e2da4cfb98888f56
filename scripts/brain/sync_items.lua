-- SyncItems (contract section 6.1, plus accepted_by_user and last_modified_by_level from
-- 4.1): checking and normalising what a client pushes, the plain copy a sandboxed policy
-- can receive, a stored row back as a SyncItem, and an item as JSON text (feed entries,
-- answers).
local db = require "hostsync.db"
local json = require "hostsync.json"
local time = require "hostsync.time"
local provenance = require "brain.sync_provenance"
local validate = require "brain.validate"

local M = {}
local ARRAY_MT = getmetatable(json.array())
local null = json.null

M.MAX_ID = 200              -- entity_type, entity_id, mutation_id, origin_source (bytes)
M.MAX_PAYLOAD = 256 * 1024  -- encoded payload (bytes)
-- Nesting: a payload travels inside answers and events and into the sandbox (64 levels);
-- a stored value that could not be answered again would poison every pull.
M.MAX_PAYLOAD_DEPTH = 32

local function is_object(v) return type(v) == "table" and getmetatable(v) ~= ARRAY_MT end
local function is_array(v) return type(v) == "table" and (getmetatable(v) == ARRAY_MT or next(v) == nil) end
local function given(v) return v ~= nil and v ~= null end

local function id_field(raw, name, required)
  local v = raw[name]
  if not given(v) then
    if required then return nil, ("field '%s' is required (string)"):format(name) end
    return nil
  end
  if type(v) ~= "string" then return nil, ("field '%s' must be a string"):format(name) end
  if v == "" then return nil, ("field '%s' must not be empty"):format(name) end
  if #v > M.MAX_ID then return nil, ("field '%s' is longer than %d bytes"):format(name, M.MAX_ID) end
  return v
end

local function bool_field(raw, name)
  local v = raw[name]
  if not given(v) then return false end
  if type(v) ~= "boolean" then return nil, ("field '%s' must be a boolean"):format(name) end
  return v
end

local function int_field(raw, name, lo, hi)
  local v = raw[name]
  if not given(v) then return nil end
  if type(v) ~= "number" or v ~= math.floor(v) or v < lo or v > hi then
    return nil, ("field '%s' must be an integer %d..%d"):format(name, lo, hi)
  end
  return v
end

-- The mutation id alone, so a malformed item can still be answered (and remembered)
-- under its id.
function M.mutation_id(raw)
  if not is_object(raw) then return nil, "item must be a JSON object" end
  return id_field(raw, "mutation_id", true)
end

-- The server's clock for one batch: now as stored text and as seconds, and how far
-- ahead of it a client's last_modified_at may be (seconds).
function M.clock(now, max_skew)
  return { now = now, epoch = assert(time.parse_iso(now)), max_skew = max_skew or M.DEFAULT_MAX_SKEW }
end
M.DEFAULT_MAX_SKEW = 300

-- The last link of a pushed origin_chain, kept as the hop's `claimed`.
-- -> link, its JSON text | nil | nil, nil, err
local function claim_of(chain)
  local last = chain[#chain]
  if last == nil then return nil end
  if not is_object(last) then return nil, nil, "field 'origin_chain': its last link must be an object" end
  local text = json.encode(last)
  if #text > provenance.MAX_CLAIM then
    return nil, nil, ("field 'origin_chain': its last link is larger than %d bytes"):format(provenance.MAX_CLAIM)
  end
  return last, text
end

-- raw (decoded JSON), ident (the token), clock (M.clock) ->
--   item, payload_text, notes {claim, claim_text, claimed_at, accepts} | nil, reason [, identity rule]
-- The identity-bound rules are checked here, before any policy: the tenant comes from the
-- token, a truth level may not claim more authority than the token's, only a user
-- principal may set accepted_by_user, and origin_source names the item's level. The
-- writer's level is recorded as last_modified_by_level whatever the client sent. A
-- last_modified_at more than clock.max_skew ahead of the server is stored as the
-- server's now (notes.claimed_at keeps what was sent). origin_chain is not taken: the
-- server writes it (brain/sync_provenance.lua); its last link becomes notes.claim.
function M.normalise(raw, ident, clock)
  local it, notes, err = {}, {}
  it.entity_type, err = id_field(raw, "entity_type", true); if err then return nil, err end
  it.entity_id, err = id_field(raw, "entity_id", true); if err then return nil, err end
  local tenant = raw.tenant_id
  if given(tenant) and tenant ~= ident.tenant then
    return nil, "cross-tenant: tenant_id is not this token's tenant", "cross_tenant"
  end
  it.tenant_id = ident.tenant
  local level; level, err = int_field(raw, "truth_level", 1, 5); if err then return nil, err end
  level = level or ident.level
  if level < ident.level then
    return nil, ("forged truth level: truth_level %d claims more authority than this token (level %d)")
      :format(level, ident.level), "forged_level"
  end
  it.truth_level = level
  it.accepted_by_user, err = bool_field(raw, "accepted_by_user"); if err then return nil, err end
  if it.accepted_by_user and ident.level ~= 1 then
    return nil, "forged accepted_by_user: only a user-level (1) token may accept", "forged_acceptance"
  end
  notes.accepts, err = int_field(raw, "accepts_proposal", 1, 2^53 - 1); if err then return nil, err end
  if notes.accepts and not it.accepted_by_user then
    return nil, "field 'accepts_proposal' needs accepted_by_user: true (accepting is a user action)"
  end
  it.deleted, err = bool_field(raw, "deleted"); if err then return nil, err end
  it.origin_source, err = id_field(raw, "origin_source", false); if err then return nil, err end
  if it.origin_source then
    local ok, why, rule = provenance.check_source(it.origin_source, level)
    if not ok then return nil, why, rule end
  else
    it.origin_source = provenance.default_source(level, ident)
  end
  local v; v, err = int_field(raw, "version", 0, 2^53 - 1); if err then return nil, err end
  it.version = v or 0
  local _; _, err = int_field(raw, "last_modified_by_level", 1, 5); if err then return nil, err end
  it.last_modified_by_level = ident.level
  local at = raw.last_modified_at
  if given(at) then
    if type(at) ~= "string" then return nil, "field 'last_modified_at' must be an RFC 3339 string" end
    local t, perr = time.parse_iso(at)
    if not t then return nil, "field 'last_modified_at' is not RFC 3339: " .. perr end
    if t > clock.epoch + clock.max_skew then
      it.last_modified_at, notes.claimed_at = clock.now, at
    else
      it.last_modified_at = at
    end
  else
    it.last_modified_at = clock.now
  end
  local payload = raw.payload
  if not given(payload) then payload = {} end
  if not is_object(payload) then return nil, "field 'payload' must be an object" end
  if validate.depth(payload, M.MAX_PAYLOAD_DEPTH) > M.MAX_PAYLOAD_DEPTH then
    return nil, ("field 'payload' nests deeper than %d levels"):format(M.MAX_PAYLOAD_DEPTH)
  end
  it.payload = payload
  local chain = raw.origin_chain
  if not given(chain) then chain = {} end
  if not is_array(chain) then return nil, "field 'origin_chain' must be an array" end
  notes.claim, notes.claim_text, err = claim_of(chain); if err then return nil, err end
  local payload_text = json.encode(payload)
  if #payload_text > M.MAX_PAYLOAD then return nil, ("field 'payload' is larger than %d bytes"):format(M.MAX_PAYLOAD) end
  -- PostgreSQL's JSONB cannot hold U+0000; refuse it on both backends alike.
  if payload_text:find("\\u0000", 1, true) or (notes.claim_text and notes.claim_text:find("\\u0000", 1, true)) then
    return nil, "field 'payload' or 'origin_chain' contains U+0000, which is not stored"
  end
  return it, payload_text, notes
end

-- JSON null is a light userdata, which cannot cross into the sandbox: a policy sees it
-- as this string (policies compare payloads; they do not produce them).
M.NULL_FOR_POLICY = "\0json.null"
local function strip_nulls(v)
  if v == null then return M.NULL_FOR_POLICY end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = strip_nulls(x) end
  return out
end

M.strip_nulls = strip_nulls

-- The copy of an item a policy receives; text is its encoded payload + chain, used to
-- skip the walk when there is no null at all.
function M.for_policy(it, payload_text, chain_text)
  if not (payload_text:find("null", 1, true) or chain_text:find("null", 1, true)) then return it end
  local c = {}
  for k, x in pairs(it) do c[k] = x end
  c.payload, c.origin_chain = strip_nulls(it.payload), strip_nulls(it.origin_chain)
  return c
end

local function truthy(v) return v == true or v == 1 end

-- A stored row (sync_entities or sync_proposals) -> a SyncItem table.
function M.from_row(r, tenant)
  local payload, chain = json.decode(r.payload), json.decode(r.origin_chain)
  return {
    entity_type = r.entity_type, entity_id = r.entity_id, tenant_id = tenant,
    truth_level = r.truth_level, origin_source = r.origin_source ~= db.null and r.origin_source or nil,
    origin_chain = chain, version = r.version, last_modified_at = r.last_modified_at,
    payload = payload, deleted = truthy(r.deleted), accepted_by_user = truthy(r.accepted_by_user),
    last_modified_by_level = r.last_modified_by_level,
  }, r.payload, r.origin_chain
end

local enc = json.encode
-- An item as JSON text, put together from its already encoded payload and origin_chain
-- (no second encoding); `extra` is more members as text (",\"base_version\":3").
--
-- Its version comes last, and so do the feed entry's and the answer's: LuaJIT 2.1's
-- string hash reads only a few bytes of a long string (its first, middle, quarter and
-- last four) and its length, so thousands of texts that differ only in between (items
-- of one batch, the same payload shape) would share one hash chain and every new one
-- would be compared with all of them. Ending each text with the version keeps their
-- hashes apart (measured: about 30 us less per pushed item).
function M.item_json(it, payload_text, chain_text, extra)
  local src = it.origin_source
  return table.concat {
    '{"entity_type":', enc(it.entity_type),
    ',"entity_id":', enc(it.entity_id), ',"tenant_id":', enc(it.tenant_id), ',"truth_level":', it.truth_level,
    ',"origin_source":', (src ~= nil and src ~= null) and enc(src) or "null",
    ',"origin_chain":', chain_text,
    ',"last_modified_at":', enc(it.last_modified_at), ',"payload":', payload_text,
    ',"deleted":', it.deleted and "true" or "false",
    ',"accepted_by_user":', it.accepted_by_user and "true" or "false",
    ',"last_modified_by_level":', it.last_modified_by_level, extra or "", ',"version":', it.version, "}" }
end

-- A /sync/pull entry: {"kind", "version" (its place in the feed), "item"} as JSON text.
function M.feed_json(kind, feed_version, item_json)
  return '{"kind":"' .. kind .. '","item":' .. item_json .. ',"version":' .. feed_version .. "}"
end

-- The members a proposal's item adds: the version it was based on and its status.
function M.proposal_extra(base_version, status)
  return ',"base_version":' .. base_version .. ',"status":' .. enc(status)
end

-- A SyncItem table -> JSON text (what is stored in sync_events and returned).
function M.encode(it)
  return json.encode(it)
end

return M
