-- Sync state: the last push per project and per branch, one transaction per request. The
-- pusher's identity is the token's. Which project a request may name was checked by its
-- route's access rule (brain/access.lua). Handoffs and tasks are brain/handoffs.lua and
-- brain/tasks.lua.
local json = require "hostsync.json"
local store = require "brain.store"
local validate = require "brain.validate"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}

-- The last push of project `p` (its access rule checked it), or of one of its branches.
function M.get_state(h, p, branch)
  if branch == "" then validate.fail("query parameter 'branch' must not be empty") end
  local cols = ("last_push_ai, last_push_agent, last_push_machine, last_push_commit, last_push_message, %s AS last_push_at")
    :format(store.ts(h, "last_push_at"))
  local rows
  if branch then
    rows = db_check(h:query("SELECT " .. cols .. " FROM sync_branch_state WHERE project_id = ? AND branch = ?", p, branch))
  else
    rows = db_check(h:query("SELECT " .. cols .. " FROM sync_state WHERE project_id = ?", p))
  end
  local out = { project = p, branch = branch, last_push = json.null }
  if rows[1] then
    local r = store.plain(rows[1])
    out.last_push = { ai = r.last_push_ai, agent = r.last_push_agent, machine = r.last_push_machine,
                      commit = r.last_push_commit, message = r.last_push_message, at = r.last_push_at }
  end
  return 200, out
end

-- Records a push: the project's latest (the protocol's sync_state row) and, when the body
-- names it, the branch's.
function M.post_state(h, ident, body)
  local f = validate.fields(body, { project = { "string", required = true, nonempty = true, max = 200 },
                                    branch = { "string", nonempty = true, max = 255 },
                                    commit = { "string", required = true, nonempty = true, max = 100 },
                                    message = { "string", max = 2000 } })
  local now = store.now()
  db_check(h:transaction(function(tx)
    db_check(tx:exec([[INSERT INTO sync_state(id, project_id, last_push_ai, last_push_agent, last_push_machine, last_push_commit,
        last_push_message, last_push_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (project_id) DO UPDATE SET last_push_ai = excluded.last_push_ai, last_push_agent = excluded.last_push_agent,
        last_push_machine = excluded.last_push_machine, last_push_commit = excluded.last_push_commit,
        last_push_message = excluded.last_push_message, last_push_at = excluded.last_push_at, updated_at = excluded.updated_at]],
      store.uuid(), f.project, ident.ai, ident.agent, ident.machine, f.commit, f.message, now, now, now))
    if f.branch then
      db_check(tx:exec([[INSERT INTO sync_branch_state(project_id, branch, last_push_ai, last_push_agent, last_push_machine,
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

return M
