-- Tasks: the protocol's "agents working through tasks" (docs/brain.md, "Tasks").
--
--   status      open | in_progress | blocked | done ('pending', the protocol's word and
--               what older clients send, is accepted on input as 'open')
--   created_by  the creating token's agent; assigned_to an agent name (brain/names.lua)
--   update      POST /tasks/:id {status?, assigned_to?, note?} by the task's assignee or
--               its creator only (403 otherwise); the project was checked by the route's
--               access rule (a task the token may not see is 404 before this runs)
--   history     every change, creation included: {at, by: {ai, agent, machine},
--               changes: {field: [old, new]}, note}, in task_history, written in the
--               same transaction as the change, with the inbox entries of the agents
--               it concerns (its creator and its assignees before and after)
local json = require "hostsync.json"
local hook_events = require "brain.hook_events"
local inbox = require "brain.inbox"
local store = require "brain.store"
local validate = require "brain.validate"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}
M.STATUS = { "open", "in_progress", "blocked", "done" }
M.ALIASES = { pending = "open" }
local ACCEPTED = { "open", "in_progress", "blocked", "done", "pending" }

-- A status from a body or a query (`what` names it) -> its canonical form.
function M.status(v, what)
  for _, s in ipairs(ACCEPTED) do
    if v == s then return M.ALIASES[v] or v end
  end
  validate.fail(("%s must be one of %s ('pending' is accepted as 'open')"):format(what, table.concat(M.STATUS, ", ")))
end

local function select_sql(h, where)
  return ([[SELECT id, project_id, title, status, assigned_to, created_by, %s AS created_at, %s AS updated_at
    FROM tasks WHERE ]]):format(store.ts(h, "created_at"), store.ts(h, "updated_at")) .. where
end

local function view(r) return store.plain(r) end

local function history(h, id)
  local out = json.array()
  for _, r in ipairs(db_check(h:query(("SELECT %s AS at, ai, agent, machine, changes, note FROM task_history WHERE task_id = ? ORDER BY id")
      :format(store.ts(h, "at")), id))) do
    local changes = json.decode(r.changes) or {}
    r = store.plain(r)
    out[#out + 1] = { at = r.at, by = { ai = r.ai, agent = r.agent, machine = r.machine }, changes = changes, note = r.note }
  end
  return out
end

-- Records one change (history + the inbox of the agents it concerns) inside tx.
local function record(tx, ident, action, task, changes, note, also_concerns)
  db_check(tx:exec("INSERT INTO task_history(task_id, at, ai, agent, machine, changes, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
    task.id, store.now(), ident.ai, ident.agent, ident.machine, json.encode(changes), note))
  local project = task.project_id ~= json.null and task.project_id or nil
  inbox.add(tx, { task.created_by, task.assigned_to, also_concerns }, "task", ident, project,
    { task = task, change = { changes = changes, note = note or json.null } })
  hook_events.raise(tx, "task", { action = action, task = task, changes = changes, note = note or json.null,
    by = hook_events.by(ident) })
end

-- POST /tasks {title, project?, assigned_to?, status?}
function M.post(h, ident, body)
  local f = validate.fields(body, { title = { "string", required = true, nonempty = true, max = 2000 },
                                    project = { "string", max = 200 }, assigned_to = { "string", max = 200 },
                                    status = { "string" } })
  local assignee = validate.agent(f.assigned_to, "field 'assigned_to'")
  local status = f.status and M.status(f.status, "field 'status'") or "open"
  local function run(tx)
    local now = store.now()
    local id = db_check(tx:query([[INSERT INTO tasks(project_id, title, status, assigned_to, created_by, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id]], f.project, f.title, status, assignee, ident.agent, now, now))[1].id
    local task = view(db_check(tx:query(select_sql(tx, "id = ?"), id))[1])
    local changes = { title = { json.null, f.title }, status = { json.null, status } }
    if assignee then changes.assigned_to = { json.null, assignee } end
    record(tx, ident, "created", task, changes, nil)
    return 201, { id = id }
  end
  if h:in_transaction() then return run(h) end   -- a hook's action, in the runner's transaction
  return db_check(h:transaction(run))
end

-- GET /tasks?project=P&assigned_to=A&status=S (scope.visible: what the token may see)
function M.list(h, req, scope)
  local visible, args = scope.visible("project_id")
  local q = req.query
  local assignee = validate.query_agent(q, "assigned_to")
  local status = (q.status or "") ~= "" and M.status(q.status, "query parameter 'status'") or nil
  local rows = db_check(h:query(select_sql(h, ("(CAST(? AS TEXT) IS NULL OR assigned_to = ?) AND (CAST(? AS TEXT) IS NULL OR status = ?) AND %s ORDER BY id")
    :format(visible)), assignee, assignee, status, status, unpack(args)))
  local out = json.array()
  for _, r in ipairs(rows) do out[#out + 1] = view(r) end
  return 200, { tasks = out }
end

local function with_history(h, task)
  task.history = history(h, task.id)
  return task
end

-- GET /tasks/:id: the task with its history.
function M.get(h, id)
  return 200, with_history(h, view(db_check(h:query(select_sql(h, "id = ?"), id))[1]))
end

local function same(a, b) return a == b or ((a == nil or a == json.null) and (b == nil or b == json.null)) end

-- POST /tasks/:id {status?, assigned_to? (null: unassign), note?}
function M.update(h, ident, id, body)
  local f = validate.fields(body, { status = { "string" }, assigned_to = { "string", max = 200 },
                                    note = { "string", max = 4000 } })
  local unassign = body.assigned_to == json.null
  if f.status == nil and f.assigned_to == nil and not unassign and f.note == nil then
    validate.fail("nothing to change: give 'status', 'assigned_to' (null to unassign) or 'note'")
  end
  local status = f.status and M.status(f.status, "field 'status'")
  local assignee = validate.agent(f.assigned_to, "field 'assigned_to'")
  return db_check(h:transaction(function(tx)
    local lock = tx:backend() == "postgres" and " FOR UPDATE" or ""
    local task = view(db_check(tx:query(select_sql(tx, "id = ?" .. lock), id))[1])
    local who = ident.agent
    if who ~= task.created_by and who ~= task.assigned_to then
      error({ status = 403, error = ("@%s may not update task %d (only its assignee%s or its creator @%s may)")
        :format(who, id, task.assigned_to ~= json.null and (" @" .. task.assigned_to) or "", tostring(task.created_by)) }, 0)
    end
    local changes, changed = {}, false
    if status and status ~= task.status then changes.status = { task.status, status }; changed = true end
    local new_assignee = unassign and json.null or assignee
    if new_assignee ~= nil and not same(new_assignee, task.assigned_to) then
      changes.assigned_to = { task.assigned_to, new_assignee }; changed = true
    end
    if not changed and f.note == nil then return 200, with_history(tx, task) end   -- nothing new: no entry
    local before = task.assigned_to
    if changed then
      local after = before
      if changes.assigned_to then after = new_assignee end
      db_check(tx:exec("UPDATE tasks SET status = ?, assigned_to = ?, updated_at = ? WHERE id = ?",
        changes.status and status or task.status, after ~= json.null and after or nil, store.now(), id))
    end
    task = view(db_check(tx:query(select_sql(tx, "id = ?"), id))[1])
    record(tx, ident, "updated", task, changes, f.note, before)
    return 200, with_history(tx, task)
  end))
end

return M
