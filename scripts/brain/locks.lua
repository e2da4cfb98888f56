-- Leases with fencing tokens. The policy (who may take, renew, release) is all here;
-- the host only runs SQL.
--
-- Acquire is one transaction whose grant is one statement: an upsert that replaces the
-- row only if it has expired. Both databases make that statement atomic against a
-- concurrent one (SQLite: BEGIN IMMEDIATE serializes writers; PostgreSQL: ON CONFLICT
-- locks the row and re-checks the WHERE on the newest version), so there is no
-- check-then-write window. The transaction first increments the per-lock counter in
-- lock_fences and holds that row until it commits: attempts on one name are serialized
-- by it, so fencing tokens strictly increase, across release and expiry too.
local json = require "hostsync.json"
local chat = require "brain.chat"
local hook_events = require "brain.hook_events"
local store = require "brain.store"
local validate = require "brain.validate"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}

local function holder_view(h, name)
  local rows = db_check(h:query(("SELECT id, project_id, held_by_ai, held_by_agent, held_by_machine, reason, fencing_token, %s AS acquired_at, %s AS expires_at FROM sync_locks WHERE id = ?")
    :format(store.ts(h, "acquired_at"), store.ts(h, "expires_at")), name))
  local r = rows[1]
  if not r then return nil end
  r = store.plain(r)
  return { lock = r.id, project = r.project_id, reason = r.reason, fencing_token = r.fencing_token,
           holder = { ai = r.held_by_ai, agent = r.held_by_agent, machine = r.held_by_machine },
           acquired_at = r.acquired_at, expires_at = r.expires_at }
end

-- The replaced lease as JSON text, in the upsert's DO UPDATE (sync_locks.* are the old values).
local taken_over_sql = {}
local function taken_over(tx)
  local b = tx:backend()
  if taken_over_sql[b] then return taken_over_sql[b] end
  local cols = "'ai', sync_locks.held_by_ai, 'agent', sync_locks.held_by_agent, 'machine', sync_locks.held_by_machine, " ..
    "'fencing_token', sync_locks.fencing_token, 'project', sync_locks.project_id, 'expires_at', " .. store.ts(tx, "sync_locks.expires_at")
  taken_over_sql[b] = b == "postgres" and ("json_build_object(" .. cols .. ")::text") or ("json_object(" .. cols .. ")")
  return taken_over_sql[b]
end

-- The lock's name and project were checked by its access rule (brain/access.lua): a
-- lock "<kind>:<project>" belongs to that project, one without ':' to the whole server.
function M.acquire(h, ident, name, body, project)
  local f = validate.fields(body, { ttl_seconds = { "integer", min = 1, maxv = 86400 }, reason = { "string", max = 2000 } })
  local ttl = f.ttl_seconds or 300
  return db_check(h:transaction(function(tx)
    local now = store.now()
    local expires = store.now(ttl)
    -- The counter first: on PostgreSQL its row lock serializes acquirers of one name
    -- before either looks at sync_locks, and on SQLite writers are serial anyway. A
    -- refused attempt also advances the counter; tokens may skip numbers, never repeat.
    -- Two statements in the common path: under group commit transactions run one at
    -- a time, so each statement here is on every acquirer's critical path.
    local fence = db_check(tx:query([[
      INSERT INTO lock_fences(name, last_token) VALUES (?, 1)
      ON CONFLICT (name) DO UPDATE SET last_token = lock_fences.last_token + 1
      RETURNING last_token]], name))[1].last_token
    -- A grant over an expired lease returns the lease it replaced (taken_over, migration
    -- 9), from the same statement: with hooks it raises lock_expired.
    local granted = db_check(tx:query([[
      INSERT INTO sync_locks(id, project_id, held_by_ai, held_by_machine, held_by_agent, acquired_at,
                             expires_at, reason, fencing_token, holder_token_id)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id, held_by_ai = excluded.held_by_ai,
        held_by_machine = excluded.held_by_machine, held_by_agent = excluded.held_by_agent,
        acquired_at = excluded.acquired_at, expires_at = excluded.expires_at, reason = excluded.reason,
        fencing_token = excluded.fencing_token, holder_token_id = excluded.holder_token_id,
        taken_over = ]] .. taken_over(tx) .. [[
      WHERE sync_locks.expires_at <= ?
      RETURNING id, taken_over]], name, project, ident.ai, ident.machine, ident.agent, now, expires, f.reason,
      fence, ident.token_id, now))
    if #granted == 0 then
      local v = holder_view(tx, name)
      return 409, { error = "lock '" .. name .. "' is held", holder = v.holder, expires_at = v.expires_at, reason = v.reason }
    end
    local old = granted[1].taken_over
    if type(old) == "string" and hook_events.enabled() then
      local lease = json.decode(old)
      hook_events.raise(tx, "lock_expired", { lock = name, project = lease.project,
        holder = { ai = lease.ai, agent = lease.agent, machine = lease.machine },
        fencing_token = lease.fencing_token, expired_at = lease.expires_at,
        taken_by = hook_events.by(ident), new_fencing_token = fence })
    end
    return 200, { lock = name, holder = { ai = ident.ai, agent = ident.agent, machine = ident.machine },
                  fencing_token = fence, expires_at = expires, project = project }
  end))
end

-- Renew and release: only the holder's identity with the current fencing token.
-- Another agent gets 403; the holder with a stale token (it lost the lease) gets 409.
local function owned(tx, ident, name, token)
  local rows = db_check(tx:query("SELECT holder_token_id, held_by_ai, held_by_agent, held_by_machine, fencing_token, expires_at FROM sync_locks WHERE id = ?", name))
  local r = rows[1]
  if not r or tonumber(r.fencing_token) ~= token then
    local v = holder_view(tx, name)
    return nil, 409, { error = "fencing token " .. token .. " is not the current grant of lock '" .. name .. "'",
                       holder = v and v.holder or nil, fencing_token = v and v.fencing_token or nil }
  end
  -- The holder is the (ai, agent, machine) of the grant, the protocol's three held_by_*
  -- columns: the same agent name on another machine is another worker.
  if r.held_by_ai ~= ident.ai or r.held_by_agent ~= ident.agent or r.held_by_machine ~= ident.machine then
    return nil, 403, { error = "lock '" .. name .. "' is held by " .. r.held_by_ai .. "/@" .. r.held_by_agent .. ", not by you" }
  end
  return r
end

function M.renew(h, ident, name, body)
  local f = validate.fields(body, { fencing_token = { "integer", required = true },
                                    ttl_seconds = { "integer", min = 1, maxv = 86400 } })
  return db_check(h:transaction(function(tx)
    local r, status, err = owned(tx, ident, name, f.fencing_token)
    if not r then return status, err end
    local now = store.now()
    -- An expired lease is gone even if nobody took it yet: the holder must acquire again.
    local n = db_check(tx:exec("UPDATE sync_locks SET expires_at = ? WHERE id = ? AND fencing_token = ? AND expires_at > ?",
      store.now(f.ttl_seconds or 300), name, f.fencing_token, now))
    if n == 0 then return 409, { error = "lease of lock '" .. name .. "' expired; acquire it again" } end
    return 200, holder_view(tx, name)
  end))
end

function M.release(h, ident, name, body)
  local f = validate.fields(body, { fencing_token = { "integer", required = true } })
  return db_check(h:transaction(function(tx)
    -- One statement when the caller holds the lock; the diagnosis (stale token or
    -- another agent's lock) only on the refusal path.
    local n = db_check(tx:exec([[DELETE FROM sync_locks WHERE id = ? AND fencing_token = ?
                               AND held_by_ai = ? AND held_by_agent = ? AND held_by_machine = ?]],
      name, f.fencing_token, ident.ai, ident.agent, ident.machine))
    if n == 0 then
      local _, status, err = owned(tx, ident, name, f.fencing_token)
      return status or 409, err or { error = "lock '" .. name .. "' was not released" }
    end
    return 200, { lock = name, released = true, fencing_token = f.fencing_token }
  end))
end

-- Administration (brain_admin.lua lock list / lock break) ---------------------------------

-- Every lock row (held, or expired and not yet taken over), oldest first; project: only
-- that project's (false: only lobby locks; nil: all).
function M.list(h, project)
  local where, args = "1 = 1", {}
  if project == false then where = "project_id IS NULL"
  elseif project then where, args = "project_id = ?", { project } end
  local now = store.now()
  local rows = db_check(h:query("SELECT id FROM sync_locks WHERE " .. where .. " ORDER BY acquired_at, id",
                               unpack(args)))
  local out = {}
  for _, r in ipairs(rows) do
    local v = holder_view(h, r.id)
    v.held = v.expires_at > now
    out[#out + 1] = v
  end
  return out
end

-- Deletes a lock whatever its holder, and tells the holder in the lock's project (or the
-- lobby) with an alert, in the same transaction. The fencing counter is kept, so the next
-- grant's token is still larger than the broken one: a holder that missed the alert is
-- refused by the fencing hook. by: the breaker's identity {ai, agent, machine}.
-- -> the broken lock's view | nil, err
function M.break_lock(h, name, reason, by)
  return h:transaction(function(tx)
    local v = holder_view(tx, name)
    if not v then return nil, "no lock named '" .. name .. "'" end
    db_check(tx:exec("DELETE FROM sync_locks WHERE id = ? AND fencing_token = ?", name, v.fencing_token))
    local msg = ("@%s lock %s (fencing token %s, held by %s/@%s on %s) was broken by an administrator on %s%s. Acquire it again before going on.")
      :format(v.holder.agent, name, tostring(v.fencing_token), v.holder.ai, v.holder.agent, v.holder.machine,
              by.machine, reason and (": " .. reason) or "")
    local project = v.project ~= json.null and v.project or nil
    local _, posted = chat.insert(tx, by, "alert", msg, project, { lock = name, fencing_token = v.fencing_token, broken = true })
    v.chat_id = posted.id
    return v
  end)
end

function M.get(h, name)
  local v = holder_view(h, name)
  if not v or v.expires_at <= store.now() then
    return 200, { lock = name, held = false }
  end
  v.held = true
  return 200, v
end

return M
