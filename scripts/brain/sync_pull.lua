-- GET /sync/pull and GET /sync/events: a tenant's changes and decisions in order.
--
-- The feed is every entity at its current version plus every proposal at its feed
-- position (where it was made, or where it was last closed), ordered by version.
-- Versions are handed out while the tenant row is locked, so they commit in order and
-- one SELECT (one snapshot) always sees a prefix of them: a client paging with `next`
-- never misses or repeats a change. An entity changed again after a client's cursor
-- shows up once, at its newest version; a proposal, once, with its newest status. For a
-- reader that sees everything the response is built as text from the stored JSON
-- columns, nothing decoded; a reader the policy redacts for (section 7.3) gets each
-- entry's item as the policy's view (brain/sync_redact.lua).
local json = require "hostsync.json"
local redact = require "brain.sync_redact"
local retention = require "brain.retention"
local sstore = require "brain.sync_store"
local store = require "brain.store"
local validate = require "brain.validate"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}
M.DEFAULT_LIMIT, M.MAX_LIMIT = 500, 5000

local function int_query(req, name, default, max)
  local n = validate.whole_number(req.query[name], ("query parameter '%s'"):format(name))
  if n == nil then return default end
  if max and n > max then validate.fail(("query parameter '%s' must be at most %d"):format(name, max)) end
  return n
end

-- Each row's feed entry was written as JSON text with the row (sync_items.feed_json), so
-- a pull reads text and joins it. One statement, so one snapshot: the two arms cannot
-- disagree about what committed. As a plain compound SELECT, SQLite merges the two
-- index-ordered arms lazily, without sorting; PostgreSQL does a merge append.
local FEED_SQL = [[SELECT version, feed_json FROM sync_entities WHERE tenant = ? AND version > ?
  UNION ALL
  SELECT feed_version, feed_json FROM sync_proposals WHERE tenant = ? AND feed_version > ?
  ORDER BY version LIMIT ?]]

function M.pull(h, ident, req, policy)
  local since = int_query(req, "since", 0)
  local limit = int_query(req, "limit", M.DEFAULT_LIMIT, M.MAX_LIMIT)
  if limit == 0 then limit = M.DEFAULT_LIMIT end
  local tenant = ident.tenant
  -- One row more than asked tells whether there is more.
  local rows = db_check(sstore.stmt(h, FEED_SQL):query(tenant, since, tenant, since, limit + 1))
  -- Tombstones and closed proposals up to the horizon were pruned: a client whose cursor
  -- lies before it may have missed a delete, so it must start over from 0 and replace
  -- its set (docs/sync-contract.md, "Retention"). A pull from 0, and the later pages of
  -- one (`full=1`: the client replaces its set at the end), are whole. Read after the
  -- feed: a prune that committed before the feed's snapshot is seen here.
  local through = retention.horizon(h, "sync_feed", tenant)
  if since > 0 and since < through and req.query.full ~= "1" then
    return 410, { error = ("the feed was pruned through version %d, after this cursor (%d): deletes may be missing; "
      .. "resync: pull from since=0 (later pages with full=1) and replace the local set with the server's")
      :format(through, since), resync = true, pruned_through = through, since = since }
  end
  local more = #rows > limit
  local n = more and limit or #rows
  local next_v = n > 0 and rows[n].version or since
  -- At the end of the feed the reader has everything that still exists: its cursor moves
  -- past the horizon, so its next pull is not refused for what it could not have read.
  if not more and next_v < through then next_v = through end
  policy:refresh()
  local view = redact.for_reader(policy, ident)
  -- One concatenation into the response (a page is megabytes: no intermediate copies).
  local parts = { '{"changes":[' }
  for i = 1, n do
    parts[#parts + 1] = view and view:entry_text(rows[i].feed_json) or rows[i].feed_json
    parts[#parts + 1] = ","
  end
  parts[n > 0 and #parts or #parts + 1] = '],"next":' .. next_v .. ',"more":' .. tostring(more) .. "}"
  return 200, { ["Content-Type"] = "application/json" }, table.concat(parts)
end

local function decoded(v)
  if v == nil or v == sstore.null then return json.null end
  return json.decode(v) or json.null
end

-- ?entity_type=&entity_id=&since=EVENT_ID&limit=N (default 100, max 1000)
function M.events(h, ident, req, policy)
  local since = int_query(req, "since", 0)
  local limit = int_query(req, "limit", 100, 1000)
  if limit == 0 then limit = 100 end
  local et, eid = req.query.entity_type, req.query.entity_id
  if et == "" then et = nil end
  if eid == "" then eid = nil end
  local rows = db_check(h:query(([[SELECT id, entity_type, entity_id, kind, rule, reason, mutation_id, stored_version,
      incoming_version, result_version, stored, incoming, detail, writer_token_id, writer_level, %s AS created_at
    FROM sync_events WHERE tenant = ? AND id > ? AND (CAST(? AS TEXT) IS NULL OR entity_type = ?)
      AND (CAST(? AS TEXT) IS NULL OR entity_id = ?) ORDER BY id LIMIT ?]]):format(store.ts(h, "created_at")),
    ident.tenant, since, et, et, eid, eid, limit))
  local out, next_id = json.array(), since
  policy:refresh()
  local view = redact.for_reader(policy, ident)
  for i, r in ipairs(rows) do
    local stored, incoming, detail = r.stored, r.incoming, r.detail
    r = store.plain(r)
    r.stored, r.incoming, r.detail = decoded(stored), decoded(incoming), decoded(detail)
    if view then r.stored, r.incoming = view:item(r.stored), view:item(r.incoming) end
    out[i] = r
    next_id = r.id
  end
  return 200, { events = out, next = next_id, more = #rows == limit,
                pruned_through = retention.gap(h, "sync_events", since) }
end

return M
