-- GET /sync/pull and GET /sync/events: a tenant's changes and decisions in order.
--
-- The feed is every entity at its current version plus every proposal, ordered by
-- version. Versions are handed out while the tenant row is locked, so they commit in
-- order and one SELECT (one snapshot) always sees a prefix of them: a client paging with
-- `next` never misses or repeats a change. An entity changed again after a client's
-- cursor shows up once, at its newest version. The response is built as text from the
-- stored JSON columns; nothing is decoded on this path.
local json = require "hostsync.json"
local sstore = require "brain.sync_store"
local store = require "brain.store"
local validate = require "brain.validate"

local M = {}
M.DEFAULT_LIMIT, M.MAX_LIMIT = 500, 5000

local function int_query(req, name, default, max)
  local s = req.query[name]
  if s == nil or s == "" then return default end
  local n = tonumber(s)
  if not n or n < 0 or n ~= math.floor(n) then validate.fail(("query parameter '%s' must be a non-negative integer"):format(name)) end
  if max and n > max then validate.fail(("query parameter '%s' must be at most %d"):format(name, max)) end
  return n
end

-- Each change's JSON text is built by the database (json_object / json_build_object),
-- so the Lua side only joins strings. The tenant is a parameter (tenant_id of every item).
local function feed_sql(backend)
  local pg = backend == "postgres"
  local function change(kind, extra)
    if pg then
      return ([[json_build_object('kind', '%s', 'version', version, 'item', json_build_object(
          'entity_type', entity_type, 'entity_id', entity_id, 'tenant_id', CAST(? AS TEXT), 'truth_level', truth_level,
          'origin_source', origin_source, 'origin_chain', origin_chain, 'version', version,
          'last_modified_at', last_modified_at, 'payload', payload, 'deleted', deleted,
          'accepted_by_user', accepted_by_user, 'last_modified_by_level', last_modified_by_level%s))::text]])
        :format(kind, extra and (", 'base_version', " .. extra) or "")
    end
    return ([[json_object('kind', '%s', 'version', version, 'item', json_object(
        'entity_type', entity_type, 'entity_id', entity_id, 'tenant_id', ?, 'truth_level', truth_level,
        'origin_source', origin_source, 'origin_chain', json(origin_chain), 'version', version,
        'last_modified_at', last_modified_at, 'payload', json(payload),
        'deleted', json(CASE WHEN deleted THEN 'true' ELSE 'false' END),
        'accepted_by_user', json(CASE WHEN accepted_by_user THEN 'true' ELSE 'false' END),
        'last_modified_by_level', last_modified_by_level%s))]])
      :format(kind, extra and (", 'base_version', " .. extra) or "")
  end
  return ([[SELECT * FROM (SELECT version, %s AS change FROM sync_entities
      WHERE tenant = ? AND version > ? ORDER BY version LIMIT ?) e
    UNION ALL
    SELECT * FROM (SELECT version, %s AS change FROM sync_proposals
      WHERE tenant = ? AND version > ? ORDER BY version LIMIT ?) p
    ORDER BY version LIMIT ?]]):format(change("entity"), change("proposal", "base_version"))
end
local FEED_SQL = { sqlite = feed_sql("sqlite"), postgres = feed_sql("postgres") }

function M.pull(h, ident, req)
  local since = int_query(req, "since", 0)
  local limit = int_query(req, "limit", M.DEFAULT_LIMIT, M.MAX_LIMIT)
  if limit == 0 then limit = M.DEFAULT_LIMIT end
  local tenant = ident.tenant
  -- One row more than asked tells whether there is more.
  local rows = assert(sstore.stmt(h, FEED_SQL[h:backend()]):query(tenant, tenant, since, limit + 1,
                                                                 tenant, tenant, since, limit + 1, limit + 1))
  local more = #rows > limit
  local n = more and limit or #rows
  local parts = {}
  for i = 1, n do parts[i] = rows[i].change end
  local next_v = n > 0 and rows[n].version or since
  local body = '{"changes":[' .. table.concat(parts, ",") .. '],"next":' .. next_v .. ',"more":' .. tostring(more) .. "}"
  return 200, { ["Content-Type"] = "application/json" }, body
end

local function decoded(v)
  if v == nil or v == sstore.null then return json.null end
  return json.decode(v) or json.null
end

-- ?entity_type=&entity_id=&since=EVENT_ID&limit=N (default 100, max 1000)
function M.events(h, ident, req)
  local since = int_query(req, "since", 0)
  local limit = int_query(req, "limit", 100, 1000)
  if limit == 0 then limit = 100 end
  local et, eid = req.query.entity_type, req.query.entity_id
  if et == "" then et = nil end
  if eid == "" then eid = nil end
  local rows = assert(h:query(([[SELECT id, entity_type, entity_id, kind, rule, reason, mutation_id, stored_version,
      incoming_version, result_version, stored, incoming, detail, writer_token_id, writer_level, %s AS created_at
    FROM sync_events WHERE tenant = ? AND id > ? AND (CAST(? AS TEXT) IS NULL OR entity_type = ?)
      AND (CAST(? AS TEXT) IS NULL OR entity_id = ?) ORDER BY id LIMIT ?]]):format(store.ts(h, "created_at")),
    ident.tenant, since, et, et, eid, eid, limit))
  local out, next_id = json.array(), since
  for i, r in ipairs(rows) do
    local stored, incoming, detail = r.stored, r.incoming, r.detail
    r = store.plain(r)
    r.stored, r.incoming, r.detail = decoded(stored), decoded(incoming), decoded(detail)
    out[i] = r
    next_id = r.id
  end
  return 200, { events = out, next = next_id, more = #rows == limit }
end

return M
