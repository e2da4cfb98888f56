-- The sync tables (migrations 4 and 5): the tenant row and its version counter, entities,
-- proposals, mutation results and sync_events. A push runs a few statements per batch
-- (not per item) and the same ones every time, so none is parsed twice: SQLite
-- connections keep the prepared form of each SQL text (docs/api/db.md; a grouped
-- handle's h:prepare is for reads only, so SQLite goes through h:query/h:exec), and on
-- PostgreSQL they are prepared once per handle.
local db = require "hostsync.db"
local json = require "hostsync.json"
local items = require "brain.sync_items"
local store = require "brain.store"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}

local prepared = setmetatable({}, { __mode = "k" })   -- PostgreSQL handle -> { sql -> statement }

-- -> an object with :query(...) and :exec(...) running `sql` on `h`
local function stmt(h, sql)
  if h:backend() ~= "postgres" then
    return { query = function(_, ...) return h:query(sql, ...) end,
             exec = function(_, ...) return h:exec(sql, ...) end }
  end
  local per = prepared[h]
  if not per then per = {}; prepared[h] = per end
  local s = per[sql]
  if not s then
    s = db_check(h:prepare(sql))
    per[sql] = s
  end
  return s
end
M.stmt = stmt

local ITEM_COLS = "entity_type, entity_id, version, truth_level, origin_source, origin_chain, last_modified_at, payload, deleted, accepted_by_user, last_modified_by_level"
M.ITEM_COLS = ITEM_COLS

-- Creates the tenant's row if needed and locks it for the rest of the transaction
-- (PostgreSQL: the upsert's row lock; SQLite: BEGIN IMMEDIATE already serializes
-- writers). Every write to a tenant starts here, so versions are handed out in commit
-- order. -> last_version, vault_mode
function M.lock_tenant(tx, tenant)
  local r = db_check(stmt(tx, [[INSERT INTO sync_tenants(tenant, last_version, vault_mode) VALUES (?, 0, 'local_first')
    ON CONFLICT (tenant) DO UPDATE SET last_version = sync_tenants.last_version
    RETURNING last_version, vault_mode]]):query(tenant))[1]
  return tonumber(r.last_version), r.vault_mode
end

function M.set_last_version(tx, tenant, v)
  db_check(stmt(tx, "UPDATE sync_tenants SET last_version = ? WHERE tenant = ?"):exec(v, tenant))
end

function M.tenant(h, tenant)
  local r = db_check(stmt(h, "SELECT vault_mode FROM sync_tenants WHERE tenant = ?"):query(tenant))[1]
  return r and r.vault_mode or "local_first"
end

function M.set_vault_mode(tx, tenant, mode)
  M.lock_tenant(tx, tenant)
  db_check(stmt(tx, "UPDATE sync_tenants SET vault_mode = ? WHERE tenant = ?"):exec(mode, tenant))
end

-- Batch reads for a push: the stored entities of a list of {entity_type, entity_id}
-- keys and the stored results of a list of mutation ids, one query each (the keys go
-- in as one JSON parameter). -> { ["type\0id"] = row }, { [mutation_id] = result }
function M.entities(h, tenant, keys)
  local sql = h:backend() == "postgres"
    and "SELECT " .. ITEM_COLS:gsub("([%w_]+)", "e.%1") .. [[ FROM jsonb_array_elements(CAST(? AS JSONB)) j
        JOIN sync_entities e ON e.tenant = ? AND e.entity_type = j->>0 AND e.entity_id = j->>1]]
    -- SQLite: CROSS JOIN fixes the order (keys outside, primary-key lookups inside);
    -- left to itself the planner scans the tenant's entities and re-reads the keys.
    or "SELECT " .. ITEM_COLS:gsub("([%w_]+)", "e.%1") .. [[ FROM json_each(?) j
        CROSS JOIN sync_entities e WHERE e.tenant = ? AND e.entity_type = j.value->>0 AND e.entity_id = j.value->>1]]
  local out = {}
  if #keys == 0 then return out end
  for _, r in ipairs(db_check(stmt(h, sql):query(json.encode(keys), tenant))) do
    out[r.entity_type .. "\0" .. r.entity_id] = r
  end
  return out
end

function M.mutations(h, tenant, ids)
  local sql = h:backend() == "postgres"
    and "SELECT mutation_id, result FROM sync_mutations WHERE tenant = ? AND mutation_id IN (SELECT jsonb_array_elements_text(CAST(? AS JSONB)))"
    or "SELECT mutation_id, result FROM sync_mutations WHERE tenant = ? AND mutation_id IN (SELECT value FROM json_each(?))"
  local out = {}
  if #ids == 0 then return out end
  for _, r in ipairs(db_check(stmt(h, sql):query(tenant, json.encode(ids)))) do out[r.mutation_id] = r.result end
  return out
end

-- Many rows in few statements: INSERT ... VALUES (...), (...) in chunks of 64, 32, ...,
-- 1 rows, so at most seven statement shapes per table are ever prepared.
local function insert_rows(tx, head, ncols, tail, rows, width)
  local one = "(" .. ("?, "):rep(ncols - 1) .. "?)"
  local i, n = 1, #rows
  while i <= n do
    local chunk = 64
    while chunk > n - i + 1 do chunk = chunk / 2 end
    local sql = head .. (one .. ", "):rep(chunk - 1) .. one .. tail
    local params, k = {}, 0
    for r = i, i + chunk - 1 do
      local row = rows[r]
      for c = 1, width do params[k + c] = row[c] end
      k = k + width
    end
    db_check(stmt(tx, sql):exec(unpack(params, 1, k)))
    i = i + chunk
  end
end

local ENTITY_HEAD = [[INSERT INTO sync_entities(tenant, entity_type, entity_id, version, truth_level, origin_source,
      origin_chain, last_modified_at, payload, deleted, accepted_by_user, last_modified_by_level, writer_token_id,
      feed_json, changed_at)
    VALUES ]]
local ENTITY_TAIL = [[
    ON CONFLICT (tenant, entity_type, entity_id) DO UPDATE SET version = excluded.version,
      truth_level = excluded.truth_level, origin_source = excluded.origin_source, origin_chain = excluded.origin_chain,
      last_modified_at = excluded.last_modified_at, payload = excluded.payload, deleted = excluded.deleted,
      accepted_by_user = excluded.accepted_by_user, last_modified_by_level = excluded.last_modified_by_level,
      writer_token_id = excluded.writer_token_id, feed_json = excluded.feed_json, changed_at = excluded.changed_at]]

-- rows: { {item, payload_text, chain_text, feed_json}, ... }, at most one per entity (a
-- multi-row upsert may not touch a row twice). changed_at is the server's now (the age
-- of a tombstone for brain_admin.lua prune).
function M.put_entities(tx, tenant, rows, token_id)
  local flat, now = {}, store.now()
  for i, r in ipairs(rows) do
    local it = r[1]
    flat[i] = { tenant, it.entity_type, it.entity_id, it.version, it.truth_level, it.origin_source or db.null,
                r[3], it.last_modified_at, r[2], it.deleted, it.accepted_by_user, it.last_modified_by_level, token_id,
                r[4], now }
  end
  insert_rows(tx, ENTITY_HEAD, 15, ENTITY_TAIL, flat, 15)
end

-- rows: { {mutation_id, result_text}, ... }
function M.put_mutations(tx, tenant, rows, now)
  local flat = {}
  for i, r in ipairs(rows) do flat[i] = { tenant, r[1], r[2], now } end
  insert_rows(tx, "INSERT INTO sync_mutations(tenant, mutation_id, result, created_at) VALUES ", 4, "", flat, 4)
end

function M.entity(h, tenant, etype, eid)
  return db_check(stmt(h, "SELECT " .. ITEM_COLS .. " FROM sync_entities WHERE tenant = ? AND entity_type = ? AND entity_id = ?")
    :query(tenant, etype, eid))[1]
end

function M.put_entity(tx, tenant, it, payload_text, chain_text, token_id)
  local entry = items.feed_json("entity", it.version, items.item_json(it, payload_text, chain_text))
  M.put_entities(tx, tenant, { { it, payload_text, chain_text, entry } }, token_id)
end

-- A proposal is written at its version (its id, named by answers, resolve and accept);
-- feed_version is its place in the pull feed, which moves when its status changes.
function M.put_proposal(tx, tenant, it, payload_text, chain_text, token_id, base_version, feed_json)
  db_check(stmt(tx, [[INSERT INTO sync_proposals(tenant, version, entity_type, entity_id, truth_level, origin_source,
      origin_chain, last_modified_at, payload, deleted, accepted_by_user, last_modified_by_level, writer_token_id,
      base_version, status, created_at, feed_json, feed_version)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)]]):exec(tenant, it.version, it.entity_type,
    it.entity_id, it.truth_level, it.origin_source or db.null, chain_text, it.last_modified_at, payload_text, it.deleted,
    it.accepted_by_user, it.last_modified_by_level, token_id, base_version, store.now(), feed_json, it.version))
end

-- -> the proposal's row (ITEM_COLS, base_version, status) | nil
function M.proposal(h, tenant, version)
  return db_check(stmt(h, "SELECT " .. ITEM_COLS .. ", base_version, status FROM sync_proposals WHERE tenant = ? AND version = ?")
    :query(tenant, version))[1]
end

-- Closes an open proposal (status "resolved" or "accepted") and moves it to feed_version,
-- so every vault that pulled it learns it is closed. -> true | false (not an open one)
function M.close_proposal(tx, tenant, version, status, feed_version)
  local row = M.proposal(tx, tenant, version)
  if not row or row.status ~= "open" then return false end
  local it, ptext, ctext = items.from_row(row, tenant)
  local entry = items.feed_json("proposal", feed_version,
    items.item_json(it, ptext, ctext, items.proposal_extra(row.base_version, status)))
  db_check(stmt(tx, [[UPDATE sync_proposals SET status = ?, feed_version = ?, feed_json = ?, closed_at = ?
    WHERE tenant = ? AND version = ?]]):exec(status, feed_version, entry, store.now(), tenant, version))
  return true
end

-- e = { entity_type, entity_id, kind, rule, reason, mutation_id, stored_version,
--       incoming_version, result_version, stored (JSON text), incoming (JSON text),
--       detail (table) }
function M.put_event(tx, tenant, e, ident, now)
  db_check(stmt(tx, [[INSERT INTO sync_events(tenant, entity_type, entity_id, kind, rule, reason, mutation_id,
      stored_version, incoming_version, result_version, stored, incoming, detail, writer_token_id, writer_level, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)]]):exec(tenant, e.entity_type, e.entity_id, e.kind,
    e.rule, e.reason, e.mutation_id, e.stored_version, e.incoming_version, e.result_version, e.stored, e.incoming,
    e.detail and json.encode(e.detail) or nil, ident.token_id, ident.level, now))
end

M.null = db.null

return M
