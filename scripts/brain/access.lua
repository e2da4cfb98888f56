-- Who may do what: the one place where a request's scope is checked (docs/brain.md, "Access").
--
-- Every route in app.lua declares a rule; authed() in app.lua calls M.check with it before
-- the handler runs, and a route without a known rule stops the server from loading. The
-- brain's records belong to a project or to nobody (the "lobby": messages, handoffs,
-- tasks and locks of the whole server); the sync contract's to the token's tenant.
--
--   public    no token at all: the web view's page and static files (brain/view.lua), which
--             hold no data (the page reads everything through the API with its token);
--             app.authorize lets exactly the view's existing files through
--   identity  any valid token (GET /whoami)
--   lock      the project in the lock's name "<kind>:<project>"; a name without ':' is a
--             lobby lock. A body 'project' must agree with the name.
--   body      body.project (required = true: must be given; else absent means the lobby)
--   query     query.project, required
--   listing   a list or stream: only the projects the token may use, and the lobby;
--             an optional ?project= narrows it to that project and must be one of them
--   conflict, task, handoff
--             the stored record's project (:id); one the token may not see does not exist (404)
--   tenant    the token's own tenant (403 without one); level = 1: user tokens only
local db_null = require("hostsync.db").null
local auth = require "brain.auth"
local validate = require "brain.validate"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}

local function forbid(msg) error({ status = 403, error = msg }, 0) end

-- Records addressed by :id, whose stored project decides access: rule -> table.
local STORED = { conflict = "push_conflicts", task = "tasks", handoff = "handoffs" }

local RULES = {
  public = true, identity = true, lock = true, body = true, query = true, listing = true, tenant = true,
}
for kind in pairs(STORED) do RULES[kind] = true end

-- Checks a route's rule when the app loads -> the rule, or raises naming the route.
function M.rule(route, rule)
  if type(rule) ~= "table" or not RULES[rule[1]] then
    error(("brain: route %s %s has no access rule (one of public, identity, lock, body, query, listing, conflict, task, handoff, tenant)")
      :format(route[1], route[2]), 0)
  end
  return rule
end

function M.may_use(ident, project)
  return project == nil or ident.projects[project] or ident.projects["*"] or false
end

function M.require_project(ident, project)
  if not M.may_use(ident, project) then forbid("this token may not use project '" .. project .. "'") end
end

-- "<kind>:<project>" -> project; a name without ':' -> nil (a lobby lock).
function M.lock_project(name)
  local kind, project = name:match("^([^:]*):(.*)$")
  if not kind then return nil end
  if kind == "" or project == "" then
    validate.fail("lock name '" .. name .. "' must be <kind>:<project> (both non-empty) or have no ':'")
  end
  return project
end

local PROJECT = { "string", nonempty = true, max = 200 }
local REQUIRED_PROJECT = { "string", required = true, nonempty = true, max = 200 }

local function query_project(req, required)
  local p = req.query.project
  if p == nil or p == "" then
    if required then validate.fail("query parameter 'project' is required") end
    return nil
  end
  if #p > 200 then validate.fail("query parameter 'project' is longer than 200 bytes") end
  return p
end

-- The SQL condition "`column` is a project this token may see, or the lobby" -> sql, args.
-- A '*' token sees everything.
function M.visible_sql(ident, column)
  if ident.projects["*"] then return "1 = 1", {} end
  local marks, args = {}, {}
  for _, p in ipairs(ident.project_list) do
    marks[#marks + 1] = "?"
    args[#args + 1] = p
  end
  if #marks == 0 then return column .. " IS NULL", args end
  return ("(%s IS NULL OR %s IN (%s))"):format(column, column, table.concat(marks, ", ")), args
end

-- Runs a route's rule -> scope {project = P or nil; for listings visible(column) -> sql, args
-- and still_valid() -> whether the token is still good, for a stream that outlives the check};
-- raises {status = 400/403/404, error = ...} when the request is out of the token's scope.
-- `body` is the decoded body (routes with one), `db` the worker's handle.
function M.check(rule, db, ident, req, body)
  local kind = rule[1]
  if kind == "identity" or kind == "public" then return {} end
  if kind == "tenant" then
    if not ident.tenant then
      forbid("this token has no sync tenant (brain_admin.lua token create ... --tenant T --level L)")
    end
    if rule.level and ident.level > rule.level then
      forbid(("only a level %d token may do this (%s); this one is level %d"):format(rule.level,
        rule.level == 1 and "user" or "higher authority", ident.level))
    end
    return { tenant = ident.tenant }
  end
  local project
  if kind == "lock" then
    local name = req.params.name
    if #name > 200 then validate.fail("lock name is longer than 200 bytes") end
    project = M.lock_project(name)
    local given = validate.fields(body or {}, { project = PROJECT }).project
    if given ~= nil and given ~= project then
      validate.fail(project and ("lock '%s' belongs to project '%s' (its name says so), not '%s'"):format(name, project, given)
                             or ("lock '%s' has no project (no ':' in its name); drop 'project' or name it <kind>:%s")
                                :format(name, given))
    end
  elseif kind == "body" then
    project = validate.fields(body, { project = rule.required and REQUIRED_PROJECT or PROJECT }).project
  elseif kind == "query" then
    project = query_project(req, true)
  elseif kind == "listing" then
    project = query_project(req, false)
    M.require_project(ident, project)
    local function visible(column)
      if project then return column .. " = ?", { project } end
      return M.visible_sql(ident, column)
    end
    return { project = project, visible = visible,
             still_valid = function() return auth.still_valid(db, ident.token_id) end }
  elseif STORED[kind] then
    local id = validate.id(req.params.id, kind .. " id")
    local row = db_check(db:query("SELECT project_id FROM " .. STORED[kind] .. " WHERE id = ?", id))[1]
    local p = row and row.project_id
    if p == db_null then p = nil end
    -- Not visible is not found: ids of other projects' records are not an oracle.
    if not row or not M.may_use(ident, p) then error({ status = 404, error = ("no %s %d"):format(kind, id) }, 0) end
    return { project = p, id = id }
  end
  M.require_project(ident, project)
  return { project = project }
end

return M
