-- The inbox: what concerns an agent, in one feed with a cursor (docs/brain.md, "GET
-- /inbox"). Each event that concerns agents writes one row per agent, in the same
-- transaction as the event, with a snapshot of what happened:
--   mention      a chat message @mentions the agent            {chat}
--   handoff      a handoff to the agent                        {handoff}
--   handoff_ack  the receiver acknowledged the agent's handoff {handoff, note}
--   task         a task the agent is assigned to, was assigned to or created was
--                created or changed                            {task, change}
-- An agent's own actions are not in its inbox. seq is one server-wide sequence assigned
-- as MAX + 1 while writers are serialized (SQLite's BEGIN IMMEDIATE; a transaction
-- advisory lock on PostgreSQL), so seq order is commit order and a reader asking for
-- "after N" never skips a row that committed late, like chat.
local json = require "hostsync.json"
local retention = require "brain.retention"
local store = require "brain.store"
local validate = require "brain.validate"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}
M.KINDS = { "mention", "handoff", "handoff_ack", "task" }
local INBOX_LOCK = "7526479701740773750"   -- advisory lock key (chat's is ...749)
M.DEFAULT_LIMIT, M.MAX_LIMIT = 100, 1000

-- Adds `kind` with `data` (a table) to the inbox of each of `agents` (normalized names;
-- duplicates and the actor itself are skipped). Runs inside the event's transaction.
function M.add(tx, agents, kind, ident, project, data)
  local text, locked, seen = nil, false, { [ident.agent] = true }
  for _, agent in ipairs(agents) do
    if agent and agent ~= json.null and not seen[agent] then
      seen[agent] = true
      if not locked and tx:backend() == "postgres" then
        db_check(tx:query("SELECT pg_advisory_xact_lock(" .. INBOX_LOCK .. ")"))
      end
      locked = true
      text = text or json.encode(data)
      db_check(tx:exec([[INSERT INTO inbox(seq, agent, kind, project_id, by_ai, by_agent, by_machine, data, created_at)
        VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM inbox), ?, ?, ?, ?, ?, ?, ?, ?)]],
        agent, kind, project, ident.ai, ident.agent, ident.machine, text, store.now()))
    end
  end
end

local function entry(r)
  local data = json.decode(r.data) or {}
  r = store.plain(r)
  local e = { seq = r.seq, kind = r.kind, at = r.created_at, project = r.project_id,
              by = { ai = r.by_ai, agent = r.by_agent, machine = r.by_machine } }
  for k, v in pairs(data) do e[k] = v end
  return e
end

-- GET /inbox?since=SEQ&limit=N[&project=P]: the token's agent's entries after `since`
-- that it may see (scope.visible: its projects and the lobby), oldest first.
function M.list(h, ident, req, scope)
  local since = validate.whole_number(req.query.since, "query parameter 'since'") or 0
  local limit = validate.whole_number(req.query.limit, "query parameter 'limit'") or 0
  if limit == 0 then limit = M.DEFAULT_LIMIT end
  if limit > M.MAX_LIMIT then limit = M.MAX_LIMIT end
  local visible, args = scope.visible("project_id")
  local params = { ident.agent, since }
  for _, a in ipairs(args) do params[#params + 1] = a end
  params[#params + 1] = limit + 1
  local rows = db_check(h:query(([[SELECT seq, kind, project_id, by_ai, by_agent, by_machine, data, %s AS created_at
    FROM inbox WHERE agent = ? AND seq > ? AND %s ORDER BY seq LIMIT ?]]):format(store.ts(h, "created_at"), visible),
    unpack(params)))
  local more = #rows > limit
  local out = json.array()
  for i = 1, more and limit or #rows do out[i] = entry(rows[i]) end
  local answer = { entries = out, next = #out > 0 and out[#out].seq or since, more = more }
  answer.pruned_through = retention.gap(h, "inbox", since)
  return 200, answer
end

return M
