-- Sync state (last push per project and per branch), handoffs and tasks: plain records,
-- one transaction per request. The pusher's identity is the token's. Which projects a
-- request may name or see was checked by its route's access rule (brain/access.lua):
-- lists get `scope.visible`, the SQL condition for the rows the token may see.
local json = require "hostsync.json"
local chat = require "brain.chat"
local store = require "brain.store"
local validate = require "brain.validate"

local M = {}

-- The last push of project `p` (its access rule checked it), or of one of its branches.
function M.get_state(h, p, branch)
  if branch == "" then validate.fail("query parameter 'branch' must not be empty") end
  local cols = ("last_push_ai, last_push_agent, last_push_machine, last_push_commit, last_push_message, %s AS last_push_at")
    :format(store.ts(h, "last_push_at"))
  local rows
  if branch then
    rows = assert(h:query("SELECT " .. cols .. " FROM sync_branch_state WHERE project_id = ? AND branch = ?", p, branch))
  else
    rows = assert(h:query("SELECT " .. cols .. " FROM sync_state WHERE project_id = ?", p))
  end
  local out = { project = p, branch = branch, last_push = json.null }
  if rows[1] then
    local r = store.plain(rows[1])
    out.last_push = { ai = r.last_push_ai, agent = r.last_push_agent, machine = r.last_push_machine,
                      commit = r.last_push_commit, message = r.last_push_message, at = r.last_push_at }
  end
  return 200, out
end

-- Records a push: the project's latest (the seed's sync_state row) and, when the body
-- names it, the branch's.
function M.post_state(h, ident, body)
  local f = validate.fields(body, { project = { "string", required = true, nonempty = true, max = 200 },
                                    branch = { "string", nonempty = true, max = 255 },
                                    commit = { "string", required = true, nonempty = true, max = 100 },
                                    message = { "string", max = 2000 } })
  local now = store.now()
  assert(h:transaction(function(tx)
    assert(tx:exec([[INSERT INTO sync_state(id, project_id, last_push_ai, last_push_agent, last_push_machine, last_push_commit,
        last_push_message, last_push_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (project_id) DO UPDATE SET last_push_ai = excluded.last_push_ai, last_push_agent = excluded.last_push_agent,
        last_push_machine = excluded.last_push_machine, last_push_commit = excluded.last_push_commit,
        last_push_message = excluded.last_push_message, last_push_at = excluded.last_push_at, updated_at = excluded.updated_at]],
      store.uuid(), f.project, ident.ai, ident.agent, ident.machine, f.commit, f.message, now, now, now))
    if f.branch then
      assert(tx:exec([[INSERT INTO sync_branch_state(project_id, branch, last_push_ai, last_push_agent, last_push_machine,
          last_push_commit, last_push_message, last_push_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (project_id, branch) DO UPDATE SET last_push_ai = excluded.last_push_ai,
          last_push_agent = excluded.last_push_agent, last_push_machine = excluded.last_push_machine,
          last_push_commit = excluded.last_push_commit, last_push_message = excluded.last_push_message,
          last_push_at = excluded.last_push_at]],
        f.project, f.branch, ident.ai, ident.agent, ident.machine, f.commit, f.message, now))
    end
    return true
  end))
  return 200, { project = f.project, branch = f.branch, last_push = { ai = ident.ai, agent = ident.agent,
                machine = ident.machine, commit = f.commit, message = f.message or json.null, at = now } }
end

function M.post_handoff(h, ident, body)
  local f = validate.fields(body, { to_agent = { "string", required = true, nonempty = true, max = 200 },
                                    artifact = { "string", max = 2000 }, context = { "string", max = 16000 },
                                    dependencies = { "object" }, project = { "string", max = 200 },
                                    message = { "string", max = 16000 } })
  return assert(h:transaction(function(tx)
    local rows = assert(tx:query([[INSERT INTO handoffs(from_agent, to_agent, artifact, context, dependencies, from_ai, project_id, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id]], ident.agent, f.to_agent, f.artifact, f.context,
      f.dependencies and json.encode(f.dependencies) or nil, ident.ai, f.project, store.now()))
    local msg = f.message or ("Handing off " .. (f.artifact or "work") .. " to @" .. f.to_agent)
    local _, posted = chat.insert(tx, ident, "handoff", msg, f.project, { handoff_id = rows[1].id })
    return 201, { id = rows[1].id, chat_id = posted.id }
  end))
end

-- GET /handoffs?to=AGENT&project=P
function M.list_handoffs(h, req, scope)
  local visible, args = scope.visible("project_id")
  local rows = assert(h:query(("SELECT id, from_agent, to_agent, artifact, context, dependencies, from_ai, project_id, %s AS created_at FROM handoffs WHERE (CAST(? AS TEXT) IS NULL OR to_agent = ?) AND %s ORDER BY id")
    :format(store.ts(h, "created_at"), visible), req.query.to, req.query.to, unpack(args)))
  local out = json.array()
  for _, r in ipairs(rows) do
    r = store.plain(r)
    if r.dependencies ~= json.null then r.dependencies = json.decode(r.dependencies) end
    out[#out + 1] = r
  end
  return 200, { handoffs = out }
end

M.TASK_STATUS = { "pending", "in_progress", "blocked", "done" }

function M.post_task(h, ident, body)
  local f = validate.fields(body, { title = { "string", required = true, nonempty = true, max = 2000 },
                                    project = { "string", max = 200 }, assigned_to = { "string", max = 200 },
                                    status = { "string", one_of = M.TASK_STATUS } })
  local rows = assert(h:query([[INSERT INTO tasks(project_id, title, status, assigned_to, created_by, created_at)
    VALUES (?, ?, ?, ?, ?, ?) RETURNING id]], f.project, f.title, f.status or "pending", f.assigned_to, ident.agent, store.now()))
  return 201, { id = rows[1].id }
end

-- GET /tasks?project=P&assigned_to=A
function M.list_tasks(h, req, scope)
  local visible, args = scope.visible("project_id")
  local rows = assert(h:query(("SELECT id, project_id, title, status, assigned_to, created_by, %s AS created_at FROM tasks WHERE (CAST(? AS TEXT) IS NULL OR assigned_to = ?) AND %s ORDER BY id")
    :format(store.ts(h, "created_at"), visible), req.query.assigned_to, req.query.assigned_to, unpack(args)))
  local out = json.array()
  for _, r in ipairs(rows) do out[#out + 1] = store.plain(r) end
  return 200, { tasks = out }
end

return M
