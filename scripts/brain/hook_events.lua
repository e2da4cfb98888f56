-- Raising hook events (docs/hooks.md): a change that a hooks file may handle writes one
-- hook_events row in its own transaction, so the event exists exactly when the change
-- does, and survives a crash before any hook ran. Nothing is written while no hooks file
-- is configured: raise() is then one comparison.
--
--   hook_events.configure(config)   once per Lua state (a worker, the runner)
--   hook_events.raise(tx, kind, data)
--   hook_events.with_origin(event, fn)   runs fn with events raised marked as caused by
--                                        `event` (a hook's own actions), one level deeper
local json = require "hostsync.json"
local store = require "brain.store"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}

M.KINDS = { chat = true, handoff = true, task = true, conflict = true, lock_expired = true, sync_event = true }
M.DEFAULT_MAX_DEPTH = 1

local enabled = false
local max_depth = M.DEFAULT_MAX_DEPTH
local origin              -- { id =, depth = } while a hook's actions run

function M.configure(config)
  local hooks = config.hooks
  enabled = type(hooks) == "table" and hooks.file ~= nil
  max_depth = enabled and hooks.max_depth or M.DEFAULT_MAX_DEPTH
end

function M.enabled() return enabled end

function M.raise(tx, kind, data)
  if not enabled then return end
  assert(M.KINDS[kind], "unknown hook event kind")
  local depth = origin and origin.depth + 1 or 0
  if depth > max_depth then
    -- A hook's action raising an event of a hook's action ...: cut here, so hooks cannot
    -- feed each other forever (hooks.max_depth).
    io.stderr:write(("hostsync brain: hook event %s not raised: event %s is %d hooks deep (hooks.max_depth %d)\n")
      :format(kind, tostring(origin.id), depth, max_depth))
    return
  end
  local now = store.now()
  db_check(tx:exec([[INSERT INTO hook_events(kind, data, origin, depth, status, attempts, next_at, created_at)
    VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)]], kind, json.encode(data), origin and origin.id or nil, depth, now, now))
end

function M.with_origin(event, fn)
  local saved = origin
  origin = { id = event.id, depth = event.depth }
  local res = { pcall(fn) }
  origin = saved
  if not res[1] then error(res[2], 0) end
  return unpack(res, 2, table.maxn(res))
end

-- Who did it, as events name it.
function M.by(ident)
  return { ai = ident.ai, agent = ident.agent, machine = ident.machine or json.null }
end

return M
