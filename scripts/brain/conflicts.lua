-- Push conflicts: the protocol's manual resolution ("flag conflict in Shared Brain, notify
-- @Marcus, @Marcus assigns a resolution owner, the owner resolves and pushes, others pull
-- and continue") as records in push_conflicts, each step posting its chat message in the
-- same transaction as the record, so the record and the message exist together or not.
--
-- Who may do what (identity from the token; agent names compared without '@', any case):
--   record   any token allowed on the project; the reporter is the token's identity
--   list     any token allowed on the project
--   assign   the conflict's coordinator only
--   resolve  the assignee, the coordinator, or the reporter (who may fix it themselves)
-- The project part is each route's access rule (brain/access.lua): a conflict of a
-- project the token may not use is "not found" before anything here runs.
local json = require "hostsync.json"
local chat = require "brain.chat"
local hook_events = require "brain.hook_events"
local names = require "brain.names"
local store = require "brain.store"
local validate = require "brain.validate"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}
M.STATUS = { "open", "assigned", "resolved" }
M.DEFAULT_COORDINATOR = "marcus"

local name = names.normalize

local function view(r)
  r = store.plain(r)
  return { id = r.id, project = r.project_id, reporter = { ai = r.ai, agent = r.agent, machine = r.machine },
           files = json.decode(r.files) or json.array(), local_commit = r.local_commit,
           upstream_commit = r.upstream_commit, summary = r.summary, coordinator = r.coordinator,
           status = r.status, assigned_to = r.assigned_to, chat_id = r.chat_seq, created_at = r.created_at,
           resolved_at = r.resolved_at, resolved_by = r.resolved_by, resolution = r.resolution }
end

local function select_sql(h, where)
  return ([[SELECT id, project_id, ai, agent, machine, files, local_commit, upstream_commit, summary, coordinator,
      status, assigned_to, chat_seq, %s AS created_at, %s AS resolved_at, resolved_by, resolution
    FROM push_conflicts WHERE ]]):format(store.ts(h, "created_at"), store.ts(h, "resolved_at")) .. where
end

local function agent_field(f, key) return validate.agent(f[key], ("field '%s'"):format(key)) end

-- POST /conflicts {project, files, local_commit?, upstream_commit?, summary?, coordinator?}
-- coordinator: the pushing agent's conflict policy names it; else the server's config.
function M.post(h, ident, body, default_coordinator)
  local f = validate.fields(body, { project = { "string", required = true, nonempty = true, max = 200 },
                                    files = { "array", required = true },
                                    local_commit = { "string", max = 100 }, upstream_commit = { "string", max = 100 },
                                    summary = { "string", max = 2000 }, coordinator = { "string", nonempty = true, max = 200 } })
  if #f.files == 0 or #f.files > 1000 then validate.fail("field 'files' must list 1 to 1000 paths") end
  for i, p in ipairs(f.files) do
    if type(p) ~= "string" or p == "" or #p > 4096 then
      validate.fail(("field 'files' item %d must be a non-empty path string"):format(i))
    end
  end
  local coord = agent_field(f, "coordinator") or name(default_coordinator or M.DEFAULT_COORDINATOR)
  return db_check(h:transaction(function(tx)
    local id = db_check(tx:query([[INSERT INTO push_conflicts(project_id, ai, agent, machine, files, local_commit,
        upstream_commit, summary, coordinator, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?) RETURNING id]],
      f.project, ident.ai, ident.agent, ident.machine, json.encode(f.files), f.local_commit, f.upstream_commit,
      f.summary, coord, store.now()))[1].id
    local msg = ("@%s CONFLICT #%s in %s: %s/@%s cannot push%s: conflicting changes in %s need an owner. " ..
                 "The commit stays local (%s) on %s's machine %s. Assign one: POST /conflicts/%s/assign.")
      :format(coord, tostring(id), f.project, ident.ai, ident.agent, f.summary and (" %q"):format(f.summary) or "",
              table.concat(f.files, ", "), f.local_commit or "?", ident.agent, ident.machine, tostring(id))
    local _, posted = chat.insert(tx, ident, "alert", msg, f.project,
      { conflict_id = id, files = f.files, commit = f.local_commit or json.null, agent = ident.agent })
    db_check(tx:exec("UPDATE push_conflicts SET chat_seq = ? WHERE id = ?", posted.id, id))
    hook_events.raise(tx, "conflict", { id = id, project = f.project, files = f.files, coordinator = coord,
      local_commit = f.local_commit or json.null, upstream_commit = f.upstream_commit or json.null,
      summary = f.summary or json.null, by = hook_events.by(ident), chat_id = posted.id })
    return 201, { id = id, chat_id = posted.id, coordinator = coord, status = "open" }
  end))
end

-- GET /conflicts?project=P&status=S
function M.list(h, req)
  local p, status = req.query.project, req.query.status
  if status == "" then status = nil end
  if status then validate.fields({ status = status }, { status = { "string", one_of = M.STATUS } }) end
  local out = json.array()
  for _, r in ipairs(db_check(h:query(select_sql(h, "project_id = ? AND (CAST(? AS TEXT) IS NULL OR status = ?) ORDER BY id"),
                                    p, status, status))) do
    out[#out + 1] = view(r)
  end
  return 200, { conflicts = out }
end

-- Reads the conflict inside tx, checks the caller may `what` it, applies `set` only if the
-- row is still as read (so of two concurrent changes one wins and the other gets 409).
local function change(h, ident, id, what, allowed, set, message)
  return db_check(h:transaction(function(tx)
    local r = db_check(tx:query(select_sql(tx, "id = ?"), id))[1]
    if not r then error({ status = 404, error = "no conflict " .. id }, 0) end
    local c = view(r)
    if c.status == "resolved" then error({ status = 409, error = ("conflict %d is already resolved"):format(id) }, 0) end
    local who = name(ident.agent)
    if not allowed(c, who) then
      error({ status = 403, error = ("@%s may not %s conflict %d (%s)"):format(who, what, id,
        what == "assign" and ("only its coordinator @" .. c.coordinator .. " may")
                          or "only its assignee, its coordinator or its reporter may") }, 0)
    end
    local sql, args, nargs = set(c, who)   -- nargs: args may hold nils
    args[nargs + 1], args[nargs + 2] = id, c.status
    args[nargs + 3] = c.assigned_to == json.null and "" or c.assigned_to
    local n = db_check(tx:exec(sql .. " WHERE id = ? AND status = ? AND COALESCE(assigned_to, '') = ?",
                             unpack(args, 1, nargs + 3)))
    if n ~= 1 then error({ status = 409, error = ("conflict %d changed meanwhile; read it again"):format(id) }, 0) end
    local _, posted = chat.insert(tx, ident, what == "assign" and "decision" or "sync", message(c, who), c.project,
      { conflict_id = id })
    local out = view(db_check(tx:query(select_sql(tx, "id = ?"), id))[1])
    out.chat_message_id = posted.id
    return 200, out
  end))
end

-- POST /conflicts/:id/assign {to}
function M.assign(h, ident, id, body)
  local to = agent_field(validate.fields(body, { to = { "string", required = true, nonempty = true, max = 200 } }), "to")
  return change(h, ident, id, "assign",
    function(c, who) return who == name(c.coordinator) end,
    function() return "UPDATE push_conflicts SET status = 'assigned', assigned_to = ?", { to }, 1 end,
    function(c, who)
      return ("@%s you own conflict #%d in %s (%s), assigned by @%s: resolve it, push, then POST /conflicts/%d/resolve.")
        :format(to, c.id, c.project, table.concat(c.files, ", "), who, c.id)
    end)
end

-- POST /conflicts/:id/resolve {resolution?}  (resolution: the commit that fixed it, or a note)
function M.resolve(h, ident, id, body)
  local f = validate.fields(body, { resolution = { "string", max = 2000 } })
  return change(h, ident, id, "resolve",
    function(c, who)
      return who == name(c.coordinator) or who == name(c.reporter.agent)
          or (c.assigned_to ~= json.null and who == name(c.assigned_to))
    end,
    function(_, who)
      return "UPDATE push_conflicts SET status = 'resolved', resolved_by = ?, resolved_at = ?, resolution = ?",
             { who, store.now(), f.resolution }, 3
    end,
    function(c, who)
      return ("Conflict #%d in %s (%s) resolved by @%s%s. Pull and continue."):format(c.id, c.project,
        table.concat(c.files, ", "), who, f.resolution and (": " .. f.resolution) or "")
    end)
end

return M
