-- The brain's HTTP app: routes to handlers, authentication, error mapping. Each worker
-- thread loads this with its own Lua state (docs/api/http.md) and opens its own database
-- handle; shared state lives only in the database.
local auth = require "brain.auth"
local chat = require "brain.chat"
local conflicts = require "brain.conflicts"
local errors = require "brain.errors"
local locks = require "brain.locks"
local records = require "brain.records"
local store = require "brain.store"
local sync_policy = require "brain.sync_policy"
local sync_pull = require "brain.sync_pull"
local sync_push = require "brain.sync_push"
local sync_resolve = require "brain.sync_resolve"
local sync_stream = require "brain.sync_stream"
local sync_tenant = require "brain.sync_tenant"
local topics = require "brain.topics"
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
    if not h then h = store.open(config.db, config.group_commit, true) end
    return h
  end

  -- Wraps a handler: 401 without a valid token, then runs it. What it raises is answered
  -- by brain/errors.lua (a status it chose, 503 for a busy database, else 500 with an id
  -- in the log); after a 500 the handle is dropped, in case the connection is what failed.
  local function authed(fn, parse_body)
    return function(req)
      local trace
      local res = { xpcall(function()
        local db = handle()
        local ident = auth.identify(db, req)
        if not ident then
          return 401, { ["WWW-Authenticate"] = 'Bearer realm="hostsync-brain"' }, { error = "missing or invalid bearer token" }
        end
        if parse_body then return fn(db, ident, req, validate.body(req, parse_body == "optional")) end
        return fn(db, ident, req)
      end, function(e)
        if not errors.is_answer(e) then trace = debug.traceback(tostring(e), 2) end
        return e
      end) }
      -- Pass on exactly what the handler returned: (status, body) differs from
      -- (status, headers, body) by count. Its writes committed: publish them to the
      -- event topics they touched (brain/topics.lua).
      if res[1] then
        topics.flush(h)
        return unpack(res, 2, table.maxn(res))
      end
      topics.forget()
      local status, headers, body = errors.respond(req, res[2], trace)
      if status == 500 then
        if h and not h:in_transaction() then h:close() end
        h = nil
      end
      return status, headers, body
    end
  end

  -- The sync contract (docs/sync-contract.md): only tokens with a tenant, and this
  -- worker's own sandboxed policy, reloaded when its file changes.
  local policy = sync_policy.new(config.sync_policy)
  local function synced(fn, parse_body)
    return authed(function(db, id, req, body)
      if not id.tenant then
        error({ status = 403, error = "this token has no sync tenant (brain_admin.lua token create ... --tenant T --level L)" }, 0)
      end
      -- A write may move the tenant's versions: /sync/stream followers get a poke.
      if req.method == "POST" then topics.touch(sync_stream.topic(id.tenant)) end
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
    { "GET",  "/chat/stream",         authed(function(db, id, req) return chat.stream(db, id, req) end) },
    { "POST", "/handoffs",            authed(function(db, id, _, body) return records.post_handoff(db, id, body) end, true) },
    { "GET",  "/handoffs",            authed(function(db, _, req) return records.list_handoffs(db, req) end) },
    { "POST", "/tasks",               authed(function(db, id, _, body) return records.post_task(db, id, body) end, true) },
    { "GET",  "/tasks",               authed(function(db, _, req) return records.list_tasks(db, req) end) },
    { "POST", "/conflicts",              authed(function(db, id, _, body) return conflicts.post(db, id, body, config.coordinator) end, true) },
    { "GET",  "/conflicts",              authed(function(db, id, req) return conflicts.list(db, id, req) end) },
    { "POST", "/conflicts/:id/assign",   authed(function(db, id, req, body) return conflicts.assign(db, id, req, body) end, true) },
    { "POST", "/conflicts/:id/resolve",  authed(function(db, id, req, body) return conflicts.resolve(db, id, req, body) end, "optional") },
    { "POST", "/sync/push",           synced(function(db, id, _, body) return sync_push.push(db, id, body, policy) end, true) },
    { "GET",  "/sync/pull",           synced(function(db, id, req) return sync_pull.pull(db, id, req) end) },
    { "GET",  "/sync/events",         synced(function(db, id, req) return sync_pull.events(db, id, req) end) },
    { "GET",  "/sync/stream",         synced(function(db, id, req) return sync_stream.stream(db, id, req) end) },
    { "POST", "/sync/conflict-resolve", synced(function(db, id, _, body) return sync_resolve.resolve(db, id, body) end, true) },
    { "GET",  "/sync/tenant",         synced(function(db, id) return sync_tenant.get(db, id) end) },
    { "POST", "/sync/tenant",         synced(function(db, id, _, body) return sync_tenant.set(db, id, body) end, true) },
    { "GET",  "/sync/policy",         synced(function() policy:refresh(); return 200, policy:status() end) },
    { "GET",  "/whoami",              authed(function(_, id) return 200, { ai = id.ai, agent = id.agent, machine = id.machine, projects = id.project_list,
                                                                                      tenant = id.tenant, level = id.level } end) },
  }
  -- Publishes to the event topics what other servers (PostgreSQL) or other processes
  -- wrote, on a thread of its own (docs/brain.md, "Live streams").
  app.background = topics.watcher(config)
  return app
end
