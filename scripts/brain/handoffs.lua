-- Handoffs: the handoff steps of the Jai.OS sync protocol (docs/brain.md, "Handoffs"). A handoff goes from
-- the token's agent to `to_agent`, posts its `handoff` chat message in the same
-- transaction, and may carry the session summary (Markdown, at most SUMMARY_MAX bytes)
-- that handoff.lua renders, so the receiver reads it from the brain.
--
--   acknowledge  POST /handoffs/:id/ack by the receiver (to_agent) only: records who
--                picked it up and when, and posts a `handoff` message saying so (same
--                transaction); a second acknowledgement is 409 naming the first
--   summary      POST /handoffs/:id/summary by the sender (from_agent) only, until it
--                is acknowledged
-- The project was checked by each route's access rule (brain/access.lua).
local json = require "hostsync.json"
local hook_events = require "brain.hook_events"
local chat = require "brain.chat"
local inbox = require "brain.inbox"
local store = require "brain.store"
local validate = require "brain.validate"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}
M.SUMMARY_MAX = 65536
M.STATUS = { "open", "acknowledged" }

local function select_sql(h, where, with_summary)
  return ([[SELECT id, from_agent, from_ai, from_machine, to_agent, artifact, context, dependencies, project_id,
      %s AS created_at, acknowledged_by, acknowledged_by_ai, acknowledged_by_machine, %s AS acknowledged_at, ack_note,
      summary IS NOT NULL AS has_summary, %s AS summary_at%s
    FROM handoffs WHERE ]]):format(store.ts(h, "created_at"), store.ts(h, "acknowledged_at"), store.ts(h, "summary_at"),
      with_summary and ", summary" or "") .. where
end

local function view(r)
  local deps = r.dependencies
  r = store.plain(r)
  r.dependencies = deps ~= nil and type(deps) == "string" and (json.decode(deps) or json.null) or json.null
  r.has_summary = r.has_summary == true or r.has_summary == 1
  r.status = r.acknowledged_at ~= json.null and "acknowledged" or "open"
  return r
end

local function read(h, id, with_summary, lock)
  local r = db_check(h:query(select_sql(h, "id = ?", with_summary) .. (lock and h:backend() == "postgres" and " FOR UPDATE" or ""), id))[1]
  return view(r)
end

-- What the receiver's inbox and the acknowledgement's entry show of a handoff.
local function brief(v)
  return { id = v.id, from_agent = v.from_agent, from_ai = v.from_ai, to_agent = v.to_agent, artifact = v.artifact,
           context = v.context, project = v.project_id }
end

local function summary_field(f)
  if f.summary and #f.summary > M.SUMMARY_MAX then
    validate.fail(("field 'summary' is longer than %d bytes"):format(M.SUMMARY_MAX))
  end
  return f.summary
end

-- POST /handoffs {to_agent, artifact?, context?, dependencies?, project?, message?, summary?}
function M.post(h, ident, body)
  local f = validate.fields(body, { to_agent = { "string", required = true, nonempty = true, max = 200 },
                                    artifact = { "string", max = 2000 }, context = { "string", max = 16000 },
                                    dependencies = { "object" }, project = { "string", max = 200 },
                                    message = { "string", max = 16000 }, summary = { "string" } })
  local to = validate.agent(f.to_agent, "field 'to_agent'")
  local summary = summary_field(f)
  return db_check(h:transaction(function(tx)
    local now = store.now()
    local id = db_check(tx:query([[INSERT INTO handoffs(from_agent, to_agent, artifact, context, dependencies, from_ai,
        from_machine, project_id, created_at, summary, summary_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id]],
      ident.agent, to, f.artifact, f.context, f.dependencies and json.encode(f.dependencies) or nil, ident.ai,
      ident.machine, f.project, now, summary, summary and now or nil))[1].id
    local msg = f.message or ("Handing off " .. (f.artifact or "work") .. " to @" .. to)
    local _, posted = chat.insert(tx, ident, "handoff", msg, f.project, { handoff_id = id }, { [to] = true })
    local v = read(tx, id)
    local entry = brief(v)
    entry.chat_id = posted.id
    inbox.add(tx, { to }, "handoff", ident, f.project, { handoff = entry })
    hook_events.raise(tx, "handoff", { action = "created", handoff = entry, by = hook_events.by(ident) })
    return 201, { id = id, chat_id = posted.id }
  end))
end

-- GET /handoffs?to=AGENT&status=open|acknowledged&project=P (without summaries: GET
-- /handoffs/:id has it; has_summary says whether there is one)
function M.list(h, req, scope)
  local visible, args = scope.visible("project_id")
  local q = req.query
  local to = validate.query_agent(q, "to")
  local status = (q.status or "") ~= "" and q.status or nil
  if status then validate.fields({ status = status }, { status = { "string", one_of = M.STATUS } }) end
  local ack = status == "acknowledged" and "acknowledged_at IS NOT NULL" or status == "open" and "acknowledged_at IS NULL" or "1 = 1"
  local out = json.array()
  for _, r in ipairs(db_check(h:query(select_sql(h, ("(CAST(? AS TEXT) IS NULL OR to_agent = ?) AND %s AND %s ORDER BY id")
      :format(ack, visible)), to, to, unpack(args)))) do
    out[#out + 1] = view(r)
  end
  return 200, { handoffs = out }
end

-- GET /handoffs/:id: the handoff with its summary.
function M.get(h, id)
  return 200, read(h, id, true)
end

-- POST /handoffs/:id/ack {note?}
function M.ack(h, ident, id, body)
  local f = validate.fields(body, { note = { "string", max = 4000 } })
  return db_check(h:transaction(function(tx)
    local v = read(tx, id, false, true)
    if ident.agent ~= v.to_agent then
      error({ status = 403, error = ("@%s may not acknowledge handoff %d: only its receiver @%s may")
        :format(ident.agent, id, v.to_agent) }, 0)
    end
    local now = store.now()
    local n = db_check(tx:exec([[UPDATE handoffs SET acknowledged_by = ?, acknowledged_by_ai = ?, acknowledged_by_machine = ?,
        acknowledged_at = ?, ack_note = ? WHERE id = ? AND acknowledged_at IS NULL]],
      ident.agent, ident.ai, ident.machine, now, f.note, id))
    if n ~= 1 then
      v = read(tx, id)
      error({ status = 409, error = ("handoff %d was already acknowledged by @%s at %s"):format(id,
        tostring(v.acknowledged_by), tostring(v.acknowledged_at)) }, 0)
    end
    local project = v.project_id ~= json.null and v.project_id or nil
    -- The receiver is named without '@': the message mentions the sender only.
    local msg = ("@%s handoff #%d%s picked up by %s (%s on %s)%s"):format(v.from_agent, id,
      v.artifact ~= json.null and (" (" .. v.artifact .. ")") or "", ident.agent, ident.ai, ident.machine,
      f.note and (": " .. f.note) or "")
    local _, posted = chat.insert(tx, ident, "handoff", msg, project, { handoff_id = id, acknowledged = true },
      { [v.from_agent] = true })
    inbox.add(tx, { v.from_agent }, "handoff_ack", ident, project, { handoff = brief(v), note = f.note or json.null,
      chat_id = posted.id })
    hook_events.raise(tx, "handoff", { action = "acknowledged", handoff = brief(read(tx, id)), note = f.note or json.null,
      by = hook_events.by(ident) })
    local out = read(tx, id)
    out.chat_id = posted.id
    return 200, out
  end))
end

-- POST /handoffs/:id/summary {summary}
function M.set_summary(h, ident, id, body)
  local f = validate.fields(body, { summary = { "string", required = true } })
  local summary = summary_field(f)
  return db_check(h:transaction(function(tx)
    local v = read(tx, id, false, true)
    if ident.agent ~= v.from_agent then
      error({ status = 403, error = ("@%s may not write the summary of handoff %d: only its sender @%s may")
        :format(ident.agent, id, v.from_agent) }, 0)
    end
    if v.status == "acknowledged" then
      error({ status = 409, error = ("handoff %d was already acknowledged by @%s at %s: its summary stays as it was read")
        :format(id, tostring(v.acknowledged_by), tostring(v.acknowledged_at)) }, 0)
    end
    db_check(tx:exec("UPDATE handoffs SET summary = ?, summary_at = ? WHERE id = ? AND acknowledged_at IS NULL", summary, store.now(), id))
    return 200, read(tx, id, true)
  end))
end

return M
