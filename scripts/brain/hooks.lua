-- Event hooks (docs/hooks.md): the server's hooks file, run in hostsync.sandbox by the
-- background task, never by a worker, so a hook never delays an answer. Events come
-- from hook_events (brain/hook_events.lua, written with the change that raised them);
-- each run is recorded in hook_runs; a failed one is retried with backoff up to
-- max_attempts, then the event is dead. Claims are leases: a run that dies with the
-- server is picked up again once its lease is over, and events left pending by a
-- killed server are found on the next start (at least once).
--
--   hooks.config(value, where) -> normalized config.hooks | nil, err
--   hooks.load(path, hc)       -> sandboxed hooks | nil, err   (serve checks before listening)
--   hooks.step(config)         -> the background task's step function (nil without hooks)
local failpoint = require "hostsync.failpoint"
local json = require "hostsync.json"
local sandbox = require "hostsync.sandbox"
local time = require "hostsync.time"
local hook_actions = require "brain.hook_actions"
local hook_events = require "brain.hook_events"
local policy_file = require "brain.policy_file"
local names = require "brain.names"
local store = require "brain.store"
local db = require "hostsync.db"
local db_check = db.check   -- assert for database calls, keeping kind and code

local M = {}

M.HANDLERS = { chat = "on_chat", handoff = "on_handoff", task = "on_task", conflict = "on_conflict",
               lock_expired = "on_lock_expired", sync_event = "on_sync_event" }
M.BATCH = 200         -- events claimed (and their plain runs recorded) per transaction
M.LEASE = 120         -- seconds a claim holds an event: longer than a run can take
M.MAX_BACKOFF = 3600

local DEFAULTS = { allow_hosts = {}, max_attempts = 5, retry_base = 2, max_instructions = 10000000,
                   max_memory = 16 * 1024 * 1024, max_depth = hook_events.DEFAULT_MAX_DEPTH, poll = 0.2,
                   http_timeout = 5, agent = "hooks" }

local function number(v, k, min, max, whole)
  if type(v) ~= "number" or v ~= v or v < min or v > max or (whole and v ~= math.floor(v)) then
    return nil, ("hooks.%s must be a %s from %s to %s"):format(k, whole and "whole number" or "number", min, max)
  end
  return v
end

-- The "hooks" value of the server's config: a file name, or an object (docs/hooks.md).
function M.config(v)
  if v == nil then return nil end
  if type(v) == "string" then v = { file = v } end
  if type(v) ~= "table" then return nil, "hooks must be a file name or an object" end
  local out = {}
  for k, d in pairs(DEFAULTS) do out[k] = d end
  for k, x in pairs(v) do
    if k == "file" then
      if type(x) ~= "string" or x == "" then return nil, "hooks.file must be a non-empty string" end
    elseif k == "agent" then
      -- The name the hooks' own chat messages and tasks carry: an agent name by the same
      -- rule as every other (brain/names.lua).
      local name, why = names.agent(x)
      if not name then return nil, "hooks.agent: " .. why end
      x = name
    elseif k == "allow_hosts" then
      if type(x) ~= "table" then return nil, "hooks.allow_hosts must be a list of host or host:port" end
      for i, e in ipairs(x) do
        if type(e) ~= "string" or not e:match("^[%w%.%-%[%]:]+$") then
          return nil, ("hooks.allow_hosts item %d must be a host or host:port"):format(i)
        end
      end
    elseif k == "settings" then
      if type(x) ~= "table" then return nil, "hooks.settings must be an object" end
    elseif k == "max_attempts" then local ok, e = number(x, k, 1, 100, true); if not ok then return nil, e end
    elseif k == "max_depth" then local ok, e = number(x, k, 0, 10, true); if not ok then return nil, e end
    elseif k == "retry_base" then local ok, e = number(x, k, 0.001, 3600); if not ok then return nil, e end
    elseif k == "poll" then local ok, e = number(x, k, 0.01, 60); if not ok then return nil, e end
    elseif k == "http_timeout" then local ok, e = number(x, k, 0.1, 60); if not ok then return nil, e end
    elseif k == "max_instructions" then local ok, e = number(x, k, 1000, 1e10, true); if not ok then return nil, e end
    elseif k == "max_memory" then local ok, e = number(x, k, 1024 * 1024, 1024 ^ 3, true); if not ok then return nil, e end
    else
      return nil, "hooks has no setting '" .. tostring(k) .. "'"
    end
    out[k] = x
  end
  if not out.file then return nil, "hooks.file (the hooks script) is missing" end
  return out
end

-- A hooks file must define at least one handler, and nothing but functions under the
-- handler names (a table called on_chat is a mistake, not a hook).
function M.load(path, hc)
  local p, err = sandbox.load(path, { max_instructions = hc.max_instructions, max_memory = hc.max_memory })
  if not p then return nil, err end
  local any = false
  for _, name in pairs(M.HANDLERS) do
    local v, gerr = p:get(name)
    if v ~= nil then return nil, path .. ": " .. name .. " must be a function, not a " .. type(v) end
    if gerr then any = true end   -- "is a function: call it"
  end
  if not any then return nil, path .. ": defines no handler (on_chat, on_handoff, on_task, on_conflict, on_lock_expired, on_sync_event)" end
  return p
end

-- Values -> what can cross into the sandbox: json.null and db.null are host values,
-- dropped (a field that is null arrives absent).
local function plain(v)
  if v == json.null or v == db.null then return nil end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = plain(x) end
  return out
end

local R = {}
R.__index = R

local function runner(config)
  local hc = config.hooks
  local self = setmetatable({ hc = hc, config = config, allow = hook_actions.allow_set(hc.allow_hosts),
    settings = plain(hc.settings) or {},
    ident = { ai = "hook", agent = hc.agent, machine = "hostsync-serve" }, status_written = false }, R)
  self.file = policy_file.new(hc.file, function(path) return M.load(path, hc) end, "hooks file")
  return self
end

function R:handle()
  if not self.h then self.h = store.open(self.config.db, self.config.group_commit, true) end
  return self.h
end

-- The file in force and the last refusal, for the admin view.
function R:write_status(h)
  local s = self.file
  local now = store.now()
  db_check(h:exec([[INSERT INTO hook_files(path, sha256, loaded_at, last_error, checked_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256, loaded_at = excluded.loaded_at,
      last_error = excluded.last_error, checked_at = excluded.checked_at]],
    s.path, s.sha256, s.loaded_at, s.last_error, now))
end

local function backoff(hc, attempt)
  return math.min(hc.retry_base * 2 ^ (attempt - 1), M.MAX_BACKOFF)
end

-- Records runs without brain actions (most runs), many per transaction: a transaction
-- per event would cost the runner a commit per event. A crash before this commit runs
-- those events again (at least once).
-- A successful run, inside tx: d = { id, handler, ms, attempt, actions, now }.
local function record_done(tx, d)
  db_check(tx:exec("UPDATE hook_events SET status = 'done', finished_at = ?, last_error = NULL WHERE id = ?", d.now, d.id))
  db_check(tx:exec([[INSERT INTO hook_runs(event_id, handler, ok, error, duration_ms, attempt, actions, at)
    VALUES (?, ?, TRUE, NULL, ?, ?, ?, ?)]], d.id, d.handler, d.ms, d.attempt, d.actions, d.now))
end

local function record_all(h, done)
  if #done == 0 then return end
  db_check(h:transaction(function(tx)
    for _, d in ipairs(done) do record_done(tx, d) end
    return true
  end))
end

local function has_brain_action(acts)
  for _, a in ipairs(acts) do if a.action ~= "http_post" then return true end end
  return false
end

-- One claimed event: run its handler, then perform its actions and record the run (a
-- run without brain actions is added to `done`, recorded with others by record_all).
function R:run(h, ev, handler, done)
  local hc = self.hc
  local event = plain(json.decode(ev.data)) or {}
  event.event_id, event.kind, event.origin, event.depth, event.attempt = ev.id, ev.kind, plain(ev.origin), ev.depth, ev.attempts
  local t0 = time.monotonic()
  local ok, err = pcall(function()
    local p = self.file.p
    local called, res = p:invoke(handler, event, { settings = self.settings, attempt = ev.attempts })
    if not called then error(res, 0) end
    local acts = hook_actions.check(res, self.allow)
    hook_actions.send_http(acts, ev.id, hc.http_timeout)
    local d = { id = ev.id, handler = handler, ms = (time.monotonic() - t0) * 1000, attempt = ev.attempts,
                actions = #acts, now = store.now() }
    if not has_brain_action(acts) then
      done[#done + 1] = d
      return
    end
    db_check(h:transaction(function(tx)
      hook_events.with_origin(ev, function() hook_actions.apply_brain(tx, acts, self.ident) end)
      record_done(tx, d)
      return true
    end))
  end)
  if ok then return end
  local why = type(err) == "table" and tostring(err.error or err.message) or tostring(err)
  local ms = (time.monotonic() - t0) * 1000
  local dead = ev.attempts >= hc.max_attempts
  db_check(h:transaction(function(tx)
    local now = store.now()
    db_check(tx:exec([[INSERT INTO hook_runs(event_id, handler, ok, error, duration_ms, attempt, actions, at)
      VALUES (?, ?, FALSE, ?, ?, ?, 0, ?)]], ev.id, handler, why, ms, ev.attempts, now))
    if dead then
      db_check(tx:exec("UPDATE hook_events SET status = 'dead', finished_at = ?, last_error = ? WHERE id = ?", now, why, ev.id))
    else
      db_check(tx:exec("UPDATE hook_events SET next_at = ?, last_error = ? WHERE id = ?",
        store.now(backoff(hc, ev.attempts)), why, ev.id))
    end
    return true
  end))
  io.stderr:write(("hostsync brain: hook %s for event %s failed (attempt %d of %d%s): %s\n"):format(handler,
    tostring(ev.id), ev.attempts, hc.max_attempts, dead and ", giving up" or "", why))
end

-- The handlers the loaded file defines (only a function gets "is a function" from get),
-- asked of the sandbox once per load, not once per event.
function R:handlers()
  local p = self.file.p
  if self.handlers_of ~= p then
    self.handlers_of, self.has = p, {}
    for _, name in pairs(M.HANDLERS) do
      local v, err = p:get(name)
      self.has[name] = v == nil and err ~= nil
    end
  end
  return self.has
end

-- One pass: reload if changed, then run what is due (oldest first). -> events handled
function R:step()
  local h = self:handle()
  if self.file:refresh() or not self.status_written then
    self:write_status(h)
    self.status_written = true
  end
  -- No hooks loaded (the file was broken when this runner started): events wait, their
  -- attempts untouched, until a good file loads.
  if not self.file.p then return 0 end
  local now = store.now()
  local due = db_check(h:query([[SELECT id, kind FROM hook_events WHERE status = 'pending' AND next_at <= ?
    ORDER BY id LIMIT ?]], now, M.BATCH))
  if #due == 0 then return 0 end
  local skip, want, has = {}, {}, self:handlers()
  for _, r in ipairs(due) do
    if has[M.HANDLERS[r.kind]] then want[#want + 1] = r.id else skip[#skip + 1] = r.id end
  end
  failpoint.hit("hook_before_claim")
  local claimed = db_check(h:transaction(function(tx)
    if #skip > 0 then
      db_check(tx:exec(("UPDATE hook_events SET status = 'skipped', finished_at = ? WHERE status = 'pending' AND id IN (%s)")
        :format(("?,"):rep(#skip):sub(1, -2)), now, unpack(skip)))
    end
    if #want == 0 then return {} end
    -- The lease: next_at moves past it, so a crashed run is due again afterwards. Only
    -- rows still due are taken (another server may have claimed them meanwhile).
    return db_check(tx:query(([[UPDATE hook_events SET attempts = attempts + 1, next_at = ?
      WHERE status = 'pending' AND next_at <= ? AND id IN (%s)
      RETURNING id, kind, data, origin, depth, attempts]]):format(("?,"):rep(#want):sub(1, -2)),
      store.now(M.LEASE), now, unpack(want)))
  end))
  table.sort(claimed, function(a, b) return a.id < b.id end)
  local done = {}
  for _, ev in ipairs(claimed) do
    failpoint.hit("hook_before_run")
    self:run(h, ev, M.HANDLERS[ev.kind], done)
  end
  record_all(h, done)
  return #claimed
end

-- The background task's part (brain/topics.lua watcher calls it every hooks.poll
-- seconds): the runner is built on first use, in the background task's own Lua state.
-- A failing step (a busy database) is logged and the next one tries again.
function M.step(config)
  if not config.hooks then return nil end
  local r
  return function()
    local ok, err = pcall(function()
      r = r or runner(config)
      while r:step() == M.BATCH do end   -- a backlog: keep going
    end)
    if not ok then
      io.stderr:write("hostsync brain: hooks: ", tostring(err), "\n")
      if r and r.h and not r.h:in_transaction() then r.h:close() end
      if r then r.h = nil end
    end
  end, config.hooks.poll
end

return M
