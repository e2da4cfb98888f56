-- Prune horizons: how far brain_admin.lua prune has removed a log (docs/brain.md,
-- "Retention"). A reader whose cursor lies at or before a horizon is told so:
--   chat, inbox, sync_events   logs: the answer says `pruned_through` (rows up to that
--                              cursor may be gone); what is left is still answered
--   sync_feed (per tenant)     state: tombstones and closed proposals are gone, so a
--                              pull from before the horizon could miss a delete; it is
--                              refused with 410 and a resync instruction (sync_pull.lua)
-- The horizon is written in the same transaction as the deletion it describes, so a
-- reader never sees rows missing without the horizon that explains it.
local store = require "brain.store"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}

-- -> the cursor up to which `what` (of `tenant`, or the whole server) was pruned, 0 if never.
function M.horizon(h, what, tenant)
  local r = db_check(h:query("SELECT through FROM retention_horizons WHERE what = ? AND tenant = ?", what, tenant or ""))[1]
  return r and tonumber(r.through) or 0
end

-- Raises the horizon (never lowers it), inside the pruning transaction.
function M.raise(tx, what, tenant, through)
  db_check(tx:exec([[INSERT INTO retention_horizons(what, tenant, through, pruned_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (what, tenant) DO UPDATE SET through = excluded.through, pruned_at = excluded.pruned_at
    WHERE retention_horizons.through < excluded.through]], what, tenant or "", through, store.now()))
end

-- For a log read from cursor `since`: the field to add to its answer, or nil when the
-- reader's cursor lies after everything pruned.
function M.gap(h, what, since, tenant)
  local through = M.horizon(h, what, tenant)
  if through > 0 and since < through then return through end
  return nil
end

return M
