-- The brain's HTTP app: routes to handlers, authentication, error mapping. Each worker
-- thread loads this with its own Lua state (docs/api/http.md) and opens its own database
-- handle; shared state lives only in the database.
local access = require "brain.access"
local auth = require "brain.auth"
local chat = require "brain.chat"
local conflicts = require "brain.conflicts"
local errors = require "brain.errors"
local handoffs = require "brain.handoffs"
local hook_events = require "brain.hook_events"
local hooks = require "brain.hooks"
local inbox = require "brain.inbox"
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
local tasks = require "brain.tasks"
local validate = require "brain.validate"
local view = require "brain.view"

return function(config)
  -- The handlers are glue between C calls (database, JSON, sandbox). LuaJIT's trace
  -- recorder keeps starting and aborting traces through them: measured on /sync/push,
  -- an upsert in a loop cost 80 us with the JIT on and 10 us with it off. This worker's
  -- state runs interpreted.
  jit.off()
  hook_events.configure(config)   -- with a hooks file, changes queue hook events
  local app = {}
  local h   -- this worker's handle, opened on first use and reopened after a failure

  local function handle()
    if not h then h = store.open(config.db, config.group_commit, true) end
    return h
  end

  -- Runs fn(req) (a handler, or authorize). What it raises is answered by brain/errors.lua
  -- (a status it chose, 503 for a busy database, else 500 with an id in the log); after a
  -- 500 the handle is dropped, in case the connection is what failed. After a success its
  -- writes committed: they are published to the event topics they touched (brain/topics.lua).
  local function guarded(fn)
    return function(req)
      local trace
      local res = { xpcall(function() return fn(req) end, function(e)
        if not errors.is_answer(e) then trace = debug.traceback(tostring(e), 2) end
        return e
      end) }
      -- Pass on exactly what the handler returned: (status, body) differs from
      -- (status, headers, body) by count.
      if res[1] then
        if h then topics.flush(h) end
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

  -- The web view's files (brain/view.lua), read once per worker; no config.web: none.
  local view_files = assert(view.load(config.web or false))

  -- Authentication, before the body is read (docs/api/http.md, app.authorize): every
  -- request needs a valid token, whatever its route, so a stranger's body is never read
  -- into memory or parsed and an unknown path is not told apart from a known one. The
  -- one exception is the web view's own files (access rule "public"), which hold no data.
  app.authorize = guarded(function(req)
    if view.serves(view_files, req) then return end
    local ident, why = auth.identify(handle(), req.headers)
    if not ident then
      return 401, { ["WWW-Authenticate"] = 'Bearer realm="hostsync-brain"' }, { error = why }
    end
    req.identity = ident
  end)

  -- A route's handler behind its access rule (brain/access.lua): the body parsed (400),
  -- then the rule checked (400/403/404), then fn(db, identity, req, body, scope).
  local function authed(rule, fn, parse_body)
    return guarded(function(req)
      local db = rule[1] ~= "public" and handle() or nil   -- a static file needs no database
      validate.request_text(req)
      local body = parse_body and validate.body(req, parse_body == "optional") or nil
      local scope = access.check(rule, db, req.identity, req, body)
      -- A sync write may move the tenant's versions: /sync/stream followers get a poke.
      if rule[1] == "tenant" and req.method == "POST" then topics.touch(sync_stream.topic(req.identity.tenant)) end
      return fn(db, req.identity, req, body, scope)
    end)
  end

  -- The sync contract (docs/sync-contract.md): this worker's own sandboxed policy,
  -- reloaded when its file changes.
  local policy = sync_policy.new(config.sync_policy)
  local push_opts = { max_skew = config.sync_max_clock_skew }

  -- Every route with its access rule (brain/access.lua; docs/brain.md "Access"), its body
  -- (true: a JSON object is required; "optional": an empty body is {}) and its handler.
  -- A route without a rule stops the server from loading.
  local LOCK, IDENTITY = { "lock" }, { "identity" }
  local BODY, BODY_REQUIRED = { "body" }, { "body", required = true }
  local QUERY, LISTING, CONFLICT = { "query" }, { "listing" }, { "conflict" }
  local TASK, HANDOFF = { "task" }, { "handoff" }
  local TENANT, TENANT_USER = { "tenant" }, { "tenant", level = 1 }
  local PUBLIC = { "public" }
  app.access = {
    { "GET",  "/",                    PUBLIC, false, function(_, _, req) return view.respond(view_files, req) end },
    { "GET",  "/view/:file",          PUBLIC, false, function(_, _, req) return view.respond(view_files, req) end },
    { "POST", "/locks/:name/acquire", LOCK, "optional", function(db, id, req, body, scope) return locks.acquire(db, id, req.params.name, body, scope.project) end },
    { "POST", "/locks/:name/renew",   LOCK, true, function(db, id, req, body) return locks.renew(db, id, req.params.name, body) end },
    { "POST", "/locks/:name/release", LOCK, true, function(db, id, req, body) return locks.release(db, id, req.params.name, body) end },
    { "GET",  "/locks/:name",         LOCK, false, function(db, _, req) return locks.get(db, req.params.name) end },
    { "GET",  "/sync/state",          QUERY, false, function(db, _, req, _, scope) return records.get_state(db, scope.project, req.query.branch) end },
    { "POST", "/sync/state",          BODY_REQUIRED, true, function(db, id, _, body) return records.post_state(db, id, body) end },
    { "POST", "/chat",                BODY, true, function(db, id, _, body) return chat.post(db, id, body) end },
    { "GET",  "/chat",                LISTING, false, function(db, _, req, _, scope) return chat.history(db, req, scope.visible) end },
    { "GET",  "/chat/stream",         LISTING, false, function(db, id, req, _, scope) return chat.stream(db, id, req, scope.project) end },
    { "POST", "/handoffs",            BODY, true, function(db, id, _, body) return handoffs.post(db, id, body) end },
    { "GET",  "/handoffs",            LISTING, false, function(db, _, req, _, scope) return handoffs.list(db, req, scope) end },
    { "GET",  "/handoffs/:id",        HANDOFF, false, function(db, _, _, _, scope) return handoffs.get(db, scope.id) end },
    { "POST", "/handoffs/:id/ack",    HANDOFF, "optional", function(db, id, _, body, scope) return handoffs.ack(db, id, scope.id, body) end },
    { "POST", "/handoffs/:id/summary", HANDOFF, true, function(db, id, _, body, scope) return handoffs.set_summary(db, id, scope.id, body) end },
    { "POST", "/tasks",               BODY, true, function(db, id, _, body) return tasks.post(db, id, body) end },
    { "GET",  "/tasks",               LISTING, false, function(db, _, req, _, scope) return tasks.list(db, req, scope) end },
    { "GET",  "/tasks/:id",           TASK, false, function(db, _, _, _, scope) return tasks.get(db, scope.id) end },
    { "POST", "/tasks/:id",           TASK, true, function(db, id, _, body, scope) return tasks.update(db, id, scope.id, body) end },
    { "GET",  "/inbox",               LISTING, false, function(db, id, req, _, scope) return inbox.list(db, id, req, scope) end },
    { "POST", "/conflicts",              BODY_REQUIRED, true, function(db, id, _, body) return conflicts.post(db, id, body, config.coordinator) end },
    { "GET",  "/conflicts",              QUERY, false, function(db, _, req) return conflicts.list(db, req) end },
    { "POST", "/conflicts/:id/assign",   CONFLICT, true, function(db, id, _, body, scope) return conflicts.assign(db, id, scope.id, body) end },
    { "POST", "/conflicts/:id/resolve",  CONFLICT, "optional", function(db, id, _, body, scope) return conflicts.resolve(db, id, scope.id, body) end },
    { "POST", "/sync/push",           TENANT, true, function(db, id, _, body) return sync_push.push(db, id, body, policy, push_opts) end },
    { "GET",  "/sync/pull",           TENANT, false, function(db, id, req) return sync_pull.pull(db, id, req, policy) end },
    { "GET",  "/sync/events",         TENANT, false, function(db, id, req) return sync_pull.events(db, id, req, policy) end },
    { "GET",  "/sync/stream",         TENANT, false, function(db, id, req) return sync_stream.stream(db, id, req) end },
    { "POST", "/sync/conflict-resolve", TENANT_USER, true, function(db, id, _, body) return sync_resolve.resolve(db, id, body, policy) end },
    { "GET",  "/sync/tenant",         TENANT, false, function(db, id) return sync_tenant.get(db, id) end },
    { "POST", "/sync/tenant",         TENANT_USER, true, function(db, id, _, body) return sync_tenant.set(db, id, body) end },
    { "GET",  "/sync/policy",         TENANT, false, function() policy:refresh(); return 200, policy:status() end },
    { "GET",  "/whoami",              IDENTITY, false, function(_, id)
        return 200, { ai = id.ai, agent = id.agent, machine = id.machine, projects = id.project_list,
                      tenant = id.tenant, level = id.level, expires_at = id.expires_at } end },
  }
  app.routes = {}
  for i, r in ipairs(app.access) do
    app.routes[i] = { r[1], r[2], authed(access.rule(r, r[3]), r[5], r[4]) }
  end
  -- Publishes to the event topics what other servers (PostgreSQL) or other processes
  -- wrote, and ends the streams of tokens no longer valid, on a thread of its own
  -- (docs/brain.md, "Live streams"). With a hooks file it also runs the hooks
  -- (brain/hooks.lua, docs/hooks.md): never on a worker, so never before an answer.
  app.background = topics.watcher(config, hooks.step(config))
  return app
end
