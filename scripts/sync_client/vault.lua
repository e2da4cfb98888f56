-- The local vault: one SQLite file holding the client's entities, its offline queue of
-- pending changes, the pull cursor, pulled proposals and the outcome of every pushed
-- change. Everything the client knows survives a restart (or a kill -9) because it is
-- only ever changed inside a transaction of this file.
local db = require "hostsync.db"
local json = require "hostsync.json"
local time = require "hostsync.time"

local M = {}

-- Levels as the server's tokens name them (docs/sync-client.md).
M.LEVELS = { user = 1, automation = 2, ["ai-local"] = 3, ["ai-lan"] = 4, ["ai-cloud"] = 5 }
M.LEVEL_NAMES = { "user", "automation", "ai-local", "ai-lan", "ai-cloud" }

local SCHEMA = {
  { version = 1, name = "vault", up = {
    [[CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL)]],
    -- The local view of each entity (what `get` shows: the server's state plus this
    -- client's pending changes), and the last server state seen for it.
    [[CREATE TABLE entities (
        entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,
        item TEXT NOT NULL,                 -- the local view, a SyncItem as JSON
        server_version INTEGER NOT NULL DEFAULT 0,
        server_item TEXT,                   -- the server's item at server_version, or NULL
        PRIMARY KEY (entity_type, entity_id))]],
    -- The offline queue. `item` is frozen once `sent` is 1: a rerun after a crash sends
    -- exactly the same bytes and mutation id, and the server replays its first answer.
    [[CREATE TABLE pending (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        mutation_id TEXT NOT NULL UNIQUE,
        entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,
        item TEXT NOT NULL,
        sent INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL)]],
    [[CREATE INDEX pending_entity ON pending(entity_type, entity_id, seq)]],
    -- What the server answered for each pushed change (applied, conflict, ...).
    [[CREATE TABLE outcomes (
        mutation_id TEXT PRIMARY KEY, entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,
        status TEXT NOT NULL, version INTEGER, reason TEXT, replayed INTEGER NOT NULL DEFAULT 0,
        unchanged INTEGER NOT NULL DEFAULT 0,      -- applied, but the server had nothing to change
        item TEXT NOT NULL, at TEXT NOT NULL)]],
    -- Suggestions pulled from the server (kind "proposal" in the pull feed).
    [[CREATE TABLE proposals (
        version INTEGER PRIMARY KEY, entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,
        item TEXT NOT NULL, accepted_at TEXT)]],
  } },
  { version = 2, name = "proposal status", up = {
    -- The server's status of each pulled proposal: open, or closed (resolved, accepted)
    -- by any vault of the tenant; only open ones can be accepted.
    [[ALTER TABLE proposals ADD COLUMN status TEXT NOT NULL DEFAULT 'open']],
  } },
  { version = 3, name = "full resync", up = {
    -- A pull from cursor 0 (a first pull, or a resync after the server pruned its feed)
    -- marks every entity and proposal it receives with the pull's mark (config
    -- resync_mark); at its end the server-known ones left unmarked no longer exist on
    -- the server: their deletes were pruned (sync_client/pull.lua).
    [[ALTER TABLE entities ADD COLUMN resync_mark INTEGER]],
    [[ALTER TABLE proposals ADD COLUMN resync_mark INTEGER]],
  } },
}

function M.now()
  return time.utc_iso(time.now(), { ms = true })
end

function M.open(path)
  local h, err = db.open(path)
  if not h then return nil, err end
  local ok, merr = db.migrate(h, SCHEMA)
  if not ok then h:close() return nil, merr end
  return setmetatable({ h = h, path = path }, { __index = M })
end

function M:close() self.h:close() end

function M:tx(fn)
  return self.h:transaction(function() return fn(self) end)
end

---------------------------------------------------------------------------------------
-- config

function M:get_config(key)
  local rows = assert(self.h:query("SELECT value FROM config WHERE key = ?", key))
  return rows[1] and rows[1].value or nil
end

function M:set_config(key, value)
  assert(self.h:exec("INSERT INTO config(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    key, tostring(value)))
end

function M:unset_config(key)
  assert(self.h:exec("DELETE FROM config WHERE key = ?", key))
end

-- The next pull starts at or before `version` (for an entity whose state must be read again).
function M:rewind_cursor(version)
  local cur = tonumber(self:get_config("pull_cursor") or "0")
  if version < cur then self:set_config("pull_cursor", math.max(version, 0)) end
end

function M:config()
  local out = {}
  for _, r in ipairs(assert(self.h:query("SELECT key, value FROM config"))) do out[r.key] = r.value end
  return out
end

---------------------------------------------------------------------------------------
-- entities

local function decode(text)
  if text == nil or text == db.null then return nil end
  return assert(json.decode(text))
end
M.decode = decode

-- -> {item=, server_version=, server_item=} or nil
function M:entity(etype, eid)
  local r = assert(self.h:query("SELECT item, server_version, server_item FROM entities WHERE entity_type = ? AND entity_id = ?",
    etype, eid))[1]
  if not r then return nil end
  return { item = decode(r.item), server_version = r.server_version, server_item = decode(r.server_item) }
end

function M:set_view(etype, eid, item)
  assert(self.h:exec([[INSERT INTO entities(entity_type, entity_id, item) VALUES (?, ?, ?)
    ON CONFLICT(entity_type, entity_id) DO UPDATE SET item = excluded.item]], etype, eid, json.encode(item)))
end

-- Records the server's state of an entity; `view` (optional) replaces the local view.
function M:set_server(etype, eid, server_item, view)
  local v = server_item and tonumber(server_item.version) or 0
  local view_text = json.encode(view or server_item)
  assert(self.h:exec([[INSERT INTO entities(entity_type, entity_id, item, server_version, server_item) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT(entity_type, entity_id) DO UPDATE SET server_version = excluded.server_version,
      server_item = excluded.server_item]] .. (view and ", item = excluded.item" or ""),
    etype, eid, view_text, v, server_item and json.encode(server_item) or nil))
end

function M:remove_entity(etype, eid)
  assert(self.h:exec("DELETE FROM entities WHERE entity_type = ? AND entity_id = ?", etype, eid))
end

-- Puts the local view back to the server's state (after the server refused our change).
function M:restore_server_view(etype, eid)
  local e = self:entity(etype, eid)
  if not e then return end
  if e.server_item then self:set_view(etype, eid, e.server_item) else self:remove_entity(etype, eid) end
end

function M:entities(etype)
  local rows
  if etype then
    rows = assert(self.h:query("SELECT item FROM entities WHERE entity_type = ? ORDER BY entity_type, entity_id", etype))
  else
    rows = assert(self.h:query("SELECT item FROM entities ORDER BY entity_type, entity_id"))
  end
  local out = {}
  for i, r in ipairs(rows) do out[i] = decode(r.item) end
  return out
end

---------------------------------------------------------------------------------------
-- the offline queue

function M:pending_for(etype, eid)
  local rows = assert(self.h:query("SELECT seq, mutation_id, item, sent FROM pending WHERE entity_type = ? AND entity_id = ? ORDER BY seq",
    etype, eid))
  for _, r in ipairs(rows) do r.item = decode(r.item) end
  return rows
end

function M:pending_count()
  return assert(self.h:query("SELECT count(*) AS n FROM pending"))[1].n
end

function M:all_pending()
  local rows = assert(self.h:query("SELECT seq, mutation_id, entity_type, entity_id, item, sent FROM pending ORDER BY seq"))
  for _, r in ipairs(rows) do r.item = decode(r.item) end
  return rows
end

-- Queues a change. A change not yet sent for the same entity is replaced (coalesced):
-- the server only needs the latest content; one already sent stays as it is, because
-- the server may have applied it. A replaced acceptance of a proposal carries over (the
-- user's later change builds on it), so the server still closes that proposal.
function M:enqueue(item, mutation_id)
  local rows = self:pending_for(item.entity_type, item.entity_id)
  local last = rows[#rows]
  if last and last.sent == 0 then
    if last.item.accepts_proposal and not item.accepts_proposal then
      item.accepts_proposal, item.accepted_by_user = last.item.accepts_proposal, true
    end
    assert(self.h:exec("UPDATE pending SET mutation_id = ?, item = ? WHERE seq = ?", mutation_id, json.encode(item), last.seq))
  else
    assert(self.h:exec("INSERT INTO pending(mutation_id, entity_type, entity_id, item, created_at) VALUES (?, ?, ?, ?, ?)",
      mutation_id, item.entity_type, item.entity_id, json.encode(item), M.now()))
  end
end

-- The oldest pending change of each entity, at most `limit`, marked sent (frozen).
function M:take_batch(limit)
  local rows = assert(self.h:query([[SELECT p.seq, p.mutation_id, p.item, p.sent FROM pending p
    WHERE p.seq = (SELECT min(q.seq) FROM pending q WHERE q.entity_type = p.entity_type AND q.entity_id = p.entity_id)
    ORDER BY p.seq LIMIT ?]], limit))
  for _, r in ipairs(rows) do
    if r.sent == 0 then assert(self.h:exec("UPDATE pending SET sent = 1 WHERE seq = ?", r.seq)) end
    r.item = decode(r.item)
  end
  return rows
end

function M:drop_pending(mutation_id)
  assert(self.h:exec("DELETE FROM pending WHERE mutation_id = ?", mutation_id))
end

-- After our change to an entity was applied at `version`, the next queued (unsent)
-- changes of that entity were built on it: they are based on `version` now.
function M:rebase_unsent(etype, eid, version)
  for _, r in ipairs(self:pending_for(etype, eid)) do
    if r.sent == 0 then
      r.item.version = version
      assert(self.h:exec("UPDATE pending SET item = ? WHERE seq = ?", json.encode(r.item), r.seq))
    end
  end
end

function M:record_outcome(res, item)
  assert(self.h:exec([[INSERT INTO outcomes(mutation_id, entity_type, entity_id, status, version, reason, replayed,
      unchanged, item, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(mutation_id) DO NOTHING]],
    res.mutation_id, item.entity_type, item.entity_id, res.status, tonumber(res.version),
    type(res.reason) == "string" and res.reason or nil, res.replayed == true and 1 or 0,
    res.unchanged == true and 1 or 0, json.encode(item), M.now()))
end

function M:outcomes()
  local rows = assert(self.h:query("SELECT * FROM outcomes ORDER BY at, mutation_id"))
  for _, r in ipairs(rows) do
    r.item = decode(r.item)
    for k, v in pairs(r) do if v == db.null then r[k] = nil end end
  end
  return rows
end

---------------------------------------------------------------------------------------
-- proposals

-- A pulled proposal at its server version, with the status the server gave it.
function M:put_proposal(version, item, status)
  assert(self.h:exec([[INSERT INTO proposals(version, entity_type, entity_id, item, status) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT(version) DO UPDATE SET item = excluded.item, status = excluded.status]],
    version, item.entity_type, item.entity_id, json.encode(item), status or "open"))
end

-- Open proposals (not closed on the server, not accepted here), or all with `all`.
function M:proposals(etype, eid, all)
  local sql = "SELECT version, item, accepted_at, status FROM proposals WHERE 1 = 1"
  local params = {}
  if etype then sql = sql .. " AND entity_type = ?"; params[#params + 1] = etype end
  if eid then sql = sql .. " AND entity_id = ?"; params[#params + 1] = eid end
  if not all then sql = sql .. " AND accepted_at IS NULL AND status = 'open'" end
  local rows = assert(self.h:query(sql .. " ORDER BY version", unpack(params)))
  for _, r in ipairs(rows) do
    r.item = decode(r.item)
    if r.accepted_at == db.null then r.accepted_at = nil end
  end
  return rows
end

-- Full resync (sync_client/pull.lua): marks what the server's feed holds.
function M:mark_entity_seen(etype, eid, mark)
  assert(self.h:exec("UPDATE entities SET resync_mark = ? WHERE entity_type = ? AND entity_id = ?", mark, etype, eid))
end

function M:mark_proposal_seen(version, mark)
  assert(self.h:exec("UPDATE proposals SET resync_mark = ? WHERE version = ?", mark, version))
end

-- After a full pull marked with `mark`: entities the server knew (server_version > 0) and
-- no longer has, i.e. deleted there with the tombstone pruned. Those without a queued
-- change are removed; those with one keep it (its push decides). Open proposals the
-- server no longer has were closed there. -> removed {type/id...}, kept {type/id...}, closed count
function M:finish_resync(mark)
  local gone = assert(self.h:query([[SELECT entity_type, entity_id FROM entities
    WHERE server_version > 0 AND (resync_mark IS NULL OR resync_mark <> ?) ORDER BY entity_type, entity_id]], mark))
  local removed, kept = {}, {}
  for _, r in ipairs(gone) do
    local name = r.entity_type .. "/" .. r.entity_id
    if #self:pending_for(r.entity_type, r.entity_id) > 0 then
      kept[#kept + 1] = name
      -- No server state any more: the queued change is pushed as a new entity.
      assert(self.h:exec("UPDATE entities SET server_version = 0, server_item = NULL WHERE entity_type = ? AND entity_id = ?",
        r.entity_type, r.entity_id))
    else
      removed[#removed + 1] = name
      self:remove_entity(r.entity_type, r.entity_id)
    end
  end
  local closed = assert(self.h:exec([[UPDATE proposals SET status = 'closed'
    WHERE status = 'open' AND (resync_mark IS NULL OR resync_mark <> ?)]], mark))
  return removed, kept, closed
end

function M:mark_proposal_accepted(version)
  assert(self.h:exec("UPDATE proposals SET accepted_at = ? WHERE version = ?", M.now(), version))
end

return M
