-- The brain's HTTP app: routes to handlers, authentication, error mapping. Each worker
-- thread loads this with its own Lua state (docs/api/http.md) and opens its own database
-- handle; shared state lives only in the database.
local auth = require "brain.auth"
local chat = require "brain.chat"
local conflicts = require "brain.conflicts"
local locks = require "brain.locks"
local records = require "brain.records"
local store = require "brain.store"
local sync_policy = require "brain.sync_policy"
local sync_pull = require "brain.sync_pull"
local sync_push = require "brain.sync_push"
local sync_resolve = require "brain.sync_resolve"
local sync_tenant = require "brain.sync_tenant"
local validate = require "brain.validate"

return function(config)
  -- The handlers are glue between C calls (database, JSON, sandbox). LuaJIT's trace
  -- recorder keeps starting and aborting traces through them: measured on /sync/push,
  -- an upsert in a loop cost 80 us with the JIT on and 10 us with it off. This worker's
  -- state runs interpreted.
  jit.off()
  local app = {}
  local h   -- this worker's handle, opened on first use and reopened after a failure

  local function handle()
    if not h then h = assert(store.open(config.db, config.group_commit)) end
    return h
  end

  -- Wraps a handler: 401 without a valid token, then runs it; validation errors
  -- ({status=, error=}) become their response; anything else is a 500 (and the handle is
  -- dropped, in case the connection is what failed).
  local function authed(fn, parse_body)
    return function(req)
      local res = { pcall(function()
        local db = handle()
        local ident, err = auth.identify(db, req)
        if not ident then
          if err then error(err, 0) end
          return 401, { ["WWW-Authenticate"] = 'Bearer realm="hostsync-brain"' }, { error = "missing or invalid bearer token" }
        end
        if parse_body then return fn(db, ident, req, validate.body(req, parse_body == "optional")) end
        return fn(db, ident, req)
      end) }
      local ok, a = res[1], res[2]
      -- Pass on exactly what the handler returned: (status, body) differs from
      -- (status, headers, body) by count.
      if ok then return unpack(res, 2, table.maxn(res)) end
      if type(a) == "table" and a.status then return a.status, { error = a.error } end
      -- Contention the database gave up on (SQLite's busy timeout, PostgreSQL's
      -- serialization or deadlock errors) is temporary and nothing was applied: 503 with
      -- Retry-After, which hostsync.http clients retry by themselves.
      local msg = tostring(a)
      if msg:find("SQLITE_BUSY", 1, true) or msg:find("SQLITE_LOCKED", 1, true)
          or msg:find("SQLSTATE 40001", 1, true) or msg:find("SQLSTATE 40P01", 1, true) then
        io.stderr:write("hostsync brain: ", req.method, " ", req.path, ": ", msg, "\n")
        return 503, { ["Retry-After"] = "1" }, { error = "database busy, retry" }
      end
      if h and h:in_transaction() == false then h:close() end
      h = nil
      error(a, 0)
    end
  end

  -- The sync contract (docs/sync-contract.md): only tokens with a tenant, and this
  -- worker's own sandboxed policy, reloaded when its file changes.
  local policy = sync_policy.new(config.sync_policy)
  local push_opts = { max_skew = config.sync_max_clock_skew }
  local function synced(fn, parse_body)
    return authed(function(db, id, req, body)
      if not id.tenant then
        error({ status = 403, error = "this token has no sync tenant (brain_admin.lua token create ... --tenant T --level L)" }, 0)
      end
      return fn(db, id, req, body)
    end, parse_body)
  end

  app.routes = {
    { "POST", "/locks/:name/acquire", authed(function(db, id, req, body) return locks.acquire(db, id, req.params.name, body) end, "optional") },
    { "POST", "/locks/:name/renew",   authed(function(db, id, req, body) return locks.renew(db, id, req.params.name, body) end, true) },
    { "POST", "/locks/:name/release", authed(function(db, id, req, body) return locks.release(db, id, req.params.name, body) end, true) },
    { "GET",  "/locks/:name",         authed(function(db, _, req) return locks.get(db, req.params.name) end) },
    { "GET",  "/sync/state",          authed(function(db, _, req) return records.get_state(db, req) end) },
    { "POST", "/sync/state",          authed(function(db, id, _, body) return records.post_state(db, id, body) end, true) },
    { "POST", "/chat",                authed(function(db, id, _, body) return chat.post(db, id, body) end, true) },
    { "GET",  "/chat",                authed(function(db, _, req) return chat.history(db, req) end) },
    { "GET",  "/chat/stream",         authed(function(db, _, req) return chat.stream(db, req) end) },
    { "POST", "/handoffs",            authed(function(db, id, _, body) return records.post_handoff(db, id, body) end, true) },
    { "GET",  "/handoffs",            authed(function(db, _, req) return records.list_handoffs(db, req) end) },
    { "POST", "/tasks",               authed(function(db, id, _, body) return records.post_task(db, id, body) end, true) },
    { "GET",  "/tasks",               authed(function(db, _, req) return records.list_tasks(db, req) end) },
    { "POST", "/conflicts",              authed(function(db, id, _, body) return conflicts.post(db, id, body, config.coordinator) end, true) },
    { "GET",  "/conflicts",              authed(function(db, id, req) return conflicts.list(db, id, req) end) },
    { "POST", "/conflicts/:id/assign",   authed(function(db, id, req, body) return conflicts.assign(db, id, req, body) end, true) },
    { "POST", "/conflicts/:id/resolve",  authed(function(db, id, req, body) return conflicts.resolve(db, id, req, body) end, "optional") },
    { "POST", "/sync/push",           synced(function(db, id, _, body) return sync_push.push(db, id, body, policy, push_opts) end, true) },
    { "GET",  "/sync/pull",           synced(function(db, id, req) return sync_pull.pull(db, id, req, policy) end) },
    { "GET",  "/sync/events",         synced(function(db, id, req) return sync_pull.events(db, id, req, policy) end) },
    { "POST", "/sync/conflict-resolve", synced(function(db, id, _, body) return sync_resolve.resolve(db, id, body, policy) end, true) },
    { "GET",  "/sync/tenant",         synced(function(db, id) return sync_tenant.get(db, id) end) },
    { "POST", "/sync/tenant",         synced(function(db, id, _, body) return sync_tenant.set(db, id, body) end, true) },
    { "GET",  "/sync/policy",         synced(function() policy:refresh(); return 200, policy:status() end) },
    { "GET",  "/whoami",              authed(function(_, id) return 200, { ai = id.ai, agent = id.agent, machine = id.machine, projects = id.project_list,
                                                                                      tenant = id.tenant, level = id.level } end) },
  }
  return app
end
