-- brain_admin.lua prune: retention per table (docs/brain.md, "Retention"), without ever
-- breaking a client:
--   chat, inbox, sync_events  logs with a cursor: the oldest rows go, as a prefix of the
--                             cursor (everything up to the newest row older than the
--                             retention), and the prefix's end becomes the log's horizon
--                             (brain/retention.lua), so a reader from before it is told
--   sync_mutations            replay results: rows older than the retention go (a
--                             replay after that is decided like any stale write)
--   sync_tombstones           deleted entities and closed proposals whose last change is
--                             older than the retention; per tenant the largest pruned
--                             feed version becomes the feed's horizon, and a pull from
--                             before it gets 410 and resyncs (so no delete is missed)
--   hooks                     finished hook events (done, skipped, dead) older than the
--                             retention, with their runs; pending ones always stay
-- The newest row of each log is always kept, so its sequence (MAX + 1, or SQLite's rowid)
-- never goes back. Deletes run in chunks of CHUNK rows, each chunk one transaction with
-- its horizon, so the server's writers wait for one chunk at most.
local null = require("hostsync.db").null
local retention = require "brain.retention"
local store = require "brain.store"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}
M.CHUNK = 2000

-- What prune knows, in the order it runs; `default` is the documented retention.
M.TARGETS = {
  { name = "chat", option = "chat", default = "90d", what = "messages" },
  { name = "inbox", option = "inbox", default = "90d", what = "inbox entries" },
  { name = "sync_events", option = "sync_events", default = "30d", what = "sync events" },
  { name = "sync_mutations", option = "sync_mutations", default = "7d", what = "mutation results" },
  { name = "sync_tombstones", option = "sync_tombstones", default = "90d", what = "tombstones and closed proposals" },
  { name = "hooks", option = "hooks", default = "30d", what = "finished hook events and their runs" },
}

local UNITS = { s = 1, m = 60, h = 3600, d = 86400 }

-- "90d" | "12h" | "45m" | "90s" | "3600" -> seconds (> 0), or nil
function M.duration(s)
  local n, unit = tostring(s):match("^(%d+)([smhd]?)$")
  if not n or tonumber(n) == 0 then return nil end
  return tonumber(n) * UNITS[unit ~= "" and unit or "s"]
end

-- The logs with a sequence column: table, cursor column.
local LOGS = { chat = { "chatroom", "seq" }, inbox = { "inbox", "seq" }, sync_events = { "sync_events", "id" } }

local function one(h, sql, ...) return db_check(h:query(sql, ...))[1] end
local function num(v) return v ~= nil and v ~= null and tonumber(v) or nil end

-- A log: everything up to `bound` = the newest row older than `cutoff`, but never its
-- newest row. -> { count, through }
local function prune_log(h, name, cutoff, dry)
  local tbl, col = LOGS[name][1], LOGS[name][2]
  local bound = num(one(h, ("SELECT MAX(%s) AS b FROM %s WHERE created_at < ?"):format(col, tbl), cutoff).b)
  local newest = num(one(h, ("SELECT MAX(%s) AS m FROM %s"):format(col, tbl)).m)
  if not bound or not newest then return { count = 0 } end
  if bound >= newest then bound = newest - 1 end
  local count = tonumber(one(h, ("SELECT count(*) AS n FROM %s WHERE %s <= ?"):format(tbl, col), bound).n)
  if dry or count == 0 then return { count = count, through = count > 0 and bound or nil } end
  local done = 0
  while done < count do
    local n = db_check(h:transaction(function(tx)
      local chunk_end = num((db_check(tx:query(("SELECT %s AS c FROM %s WHERE %s <= ? ORDER BY %s LIMIT 1 OFFSET %d")
        :format(col, tbl, col, col, M.CHUNK - 1), bound))[1] or {}).c) or bound
      local deleted = db_check(tx:exec(("DELETE FROM %s WHERE %s <= ?"):format(tbl, col), chunk_end))
      retention.raise(tx, name, "", chunk_end)
      return deleted
    end))
    if n == 0 then break end
    done = done + n
  end
  return { count = done, through = bound }
end

local function prune_mutations(h, cutoff, dry)
  local count = tonumber(one(h, "SELECT count(*) AS n FROM sync_mutations WHERE created_at < ?", cutoff).n)
  if dry or count == 0 then return { count = count } end
  local done = 0
  while true do
    local n = db_check(h:exec([[DELETE FROM sync_mutations WHERE (tenant, mutation_id) IN
      (SELECT tenant, mutation_id FROM sync_mutations WHERE created_at < ? LIMIT ]] .. M.CHUNK .. ")", cutoff))
    if n == 0 then break end
    done = done + n
  end
  return { count = done }
end

-- Tombstones and closed proposals. Each delete checks again that the row is still a
-- tombstone (closed) and old: a push may have brought the entity back meanwhile.
local function prune_tombstones(h, cutoff, dry)
  local count = tonumber(one(h, "SELECT count(*) AS n FROM sync_entities WHERE deleted AND changed_at < ?", cutoff).n)
    + tonumber(one(h, "SELECT count(*) AS n FROM sync_proposals WHERE status <> 'open' AND closed_at < ?", cutoff).n)
  if dry or count == 0 then return { count = count } end
  local done, tenants = 0, {}
  while true do
    local n = db_check(h:transaction(function(tx)
      local deleted, through = 0, {}
      local function note(tenant, v)
        v = tonumber(v)
        if not through[tenant] or v > through[tenant] then through[tenant] = v end
      end
      for _, r in ipairs(db_check(tx:query(("SELECT tenant, entity_type, entity_id, version FROM sync_entities WHERE deleted AND changed_at < ? LIMIT %d")
          :format(M.CHUNK), cutoff))) do
        if db_check(tx:exec([[DELETE FROM sync_entities WHERE tenant = ? AND entity_type = ? AND entity_id = ?
            AND version = ? AND deleted AND changed_at < ?]], r.tenant, r.entity_type, r.entity_id, r.version, cutoff)) == 1 then
          deleted = deleted + 1
          note(r.tenant, r.version)
        end
      end
      for _, r in ipairs(db_check(tx:query(("SELECT tenant, version, feed_version FROM sync_proposals WHERE status <> 'open' AND closed_at < ? LIMIT %d")
          :format(M.CHUNK), cutoff))) do
        if db_check(tx:exec("DELETE FROM sync_proposals WHERE tenant = ? AND version = ? AND feed_version = ? AND status <> 'open'",
            r.tenant, r.version, r.feed_version)) == 1 then
          deleted = deleted + 1
          note(r.tenant, r.feed_version)
        end
      end
      for tenant, v in pairs(through) do
        retention.raise(tx, "sync_feed", tenant, v)
        if not tenants[tenant] or v > tenants[tenant] then tenants[tenant] = v end
      end
      return deleted
    end))
    if n == 0 then break end
    done = done + n
  end
  return { count = done, tenants = tenants }
end

-- Finished hook events and their runs, a chunk per transaction (a run is never left
-- without its event). Pending events are work still owed: never pruned.
local FINISHED_HOOKS = "SELECT id FROM hook_events WHERE status <> 'pending' AND finished_at < ? ORDER BY id LIMIT "
  .. M.CHUNK
local function prune_hooks(h, cutoff, dry)
  local count = tonumber(one(h, "SELECT count(*) AS n FROM hook_events WHERE status <> 'pending' AND finished_at < ?",
    cutoff).n)
  if dry or count == 0 then return { count = count } end
  local done = 0
  while true do
    local n = db_check(h:transaction(function(tx)
      db_check(tx:exec("DELETE FROM hook_runs WHERE event_id IN (" .. FINISHED_HOOKS .. ")", cutoff))
      return db_check(tx:exec("DELETE FROM hook_events WHERE id IN (" .. FINISHED_HOOKS .. ")", cutoff))
    end))
    if n == 0 then break end
    done = done + n
  end
  return { count = done }
end

-- retentions: { name = seconds | false (keep) } for each of M.TARGETS. -> a list of
-- { name, what, keep (seconds or false), cutoff, count, through?, tenants? }, in order.
function M.run(h, retentions, dry)
  local out = {}
  for _, t in ipairs(M.TARGETS) do
    local keep = retentions[t.name]
    local r = { name = t.name, what = t.what, keep = keep, count = 0 }
    if keep then
      r.cutoff = store.now(-keep)
      local res
      if LOGS[t.name] then res = prune_log(h, t.name, r.cutoff, dry)
      elseif t.name == "sync_mutations" then res = prune_mutations(h, r.cutoff, dry)
      elseif t.name == "hooks" then res = prune_hooks(h, r.cutoff, dry)
      else res = prune_tombstones(h, r.cutoff, dry) end
      for k, v in pairs(res) do r[k] = v end
    end
    out[#out + 1] = r
  end
  return out
end

return M
