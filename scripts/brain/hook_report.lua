-- The admin view of the hooks (brain_admin.lua hooks, docs/hooks.md): the hooks file
-- each server has in force and why an edit was refused, events by status, and the
-- recent runs (only failed ones with failed = true), newest first.
local json = require "hostsync.json"
local store = require "brain.store"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}

function M.read(h, failed, limit)
  local files = json.array()
  for _, r in ipairs(db_check(h:query(("SELECT path, sha256, %s AS loaded_at, last_error, %s AS checked_at FROM hook_files ORDER BY path")
      :format(store.ts(h, "loaded_at"), store.ts(h, "checked_at"))))) do
    files[#files + 1] = store.plain(r)
  end
  local counts = {}
  for _, r in ipairs(db_check(h:query("SELECT status, COUNT(*) AS n FROM hook_events GROUP BY status"))) do
    counts[r.status] = tonumber(r.n)
  end
  local runs = json.array()
  for _, r in ipairs(db_check(h:query(([[SELECT r.id, r.event_id, e.kind, r.handler, r.ok, r.error, r.duration_ms, r.attempt,
      r.actions, %s AS at, e.status AS event_status FROM hook_runs r JOIN hook_events e ON e.id = r.event_id
      WHERE %s ORDER BY r.id DESC LIMIT ?]]):format(store.ts(h, "r.at"), failed and "NOT r.ok" or "1 = 1"), limit))) do
    r = store.plain(r)
    r.ok = r.ok == true or r.ok == 1
    runs[#runs + 1] = r
  end
  return { files = files, events = counts, runs = runs }
end

return M
