-- The chatroom: post, history by sequence number, and a live stream (SSE) that resumes
-- from Last-Event-ID. seq is assigned as MAX+1 while writers are serialized (SQLite's
-- BEGIN IMMEDIATE; a transaction advisory lock on PostgreSQL), so seq order is commit
-- order and a reader asking for "seq > last seen" can never skip a message committed late.
--
-- Fan-out: on PostgreSQL every insert also NOTIFYs CHANNEL (delivered at COMMIT, dropped
-- on ROLLBACK), and a stream LISTENs and sleeps until a notification or a timeout, so
-- several servers on one database share one live stream. The notification is only a
-- wake-up: the stream always re-reads "seq > last sent", so a missed, merged or late
-- notification can delay a message but never lose or repeat one. SQLite (one server)
-- polls every POLL seconds.
local json = require "hostsync.json"
local inbox = require "brain.inbox"
local names = require "brain.names"
local retention = require "brain.retention"
local store = require "brain.store"
local validate = require "brain.validate"

local M = {}
M.TYPES = { "chat", "sync", "alert", "handoff", "question", "decision" }
local CHAT_LOCK = "7526479701740773749"   -- advisory lock key for chat inserts (a string: beyond 2^53)
M.CHANNEL = "hostsync_chat"               -- NOTIFY channel; the payload is the new seq
local POLL = 0.25          -- SQLite: seconds between polls
local KEEPALIVE = 5        -- PostgreSQL: seconds without a message before a ping and a re-read
local SLICE = 0.5          -- PostgreSQL: wait in slices this long so a server shutdown is noticed

local function view(r)
  r = store.plain(r)
  return { id = r.seq, uuid = r.id, type = r.message_type, message = r.message,
           ai = r.ai_source, agent = r.agent_id, machine = r.machine_id, project = r.project_context,
           mentions = json.decode(r.mentions ~= json.null and r.mentions or "[]") or json.array(),
           metadata = r.metadata ~= json.null and json.decode(r.metadata) or json.null,
           created_at = r.created_at }
end

-- visible: the reader's condition on project_context (brain/access.lua) -> sql, args.
local function select_sql(h, visible)
  return ("SELECT id, seq, ai_source, machine_id, agent_id, message, project_context, mentions, message_type, metadata, %s AS created_at FROM chatroom WHERE seq > ? AND %s ORDER BY seq LIMIT ?")
    :format(store.ts(h, "created_at"), visible)
end

function M.post(h, ident, body)
  local f = validate.fields(body, { type = { "string", one_of = M.TYPES }, message = { "string", required = true, nonempty = true, max = 16000 },
                                    project = { "string", max = 200 }, metadata = { "object" } })
  return M.insert(h, ident, f.type or "chat", f.message, f.project, f.metadata)
end

-- Also used by other handlers (a handoff posts its message in the same transaction).
-- Each mentioned agent gets the message in its inbox, except those in `not_inbox` (a
-- handoff puts its own entry there instead).
function M.insert(h, ident, mtype, message, project, metadata, not_inbox)
  local mentions = json.array(names.mentions(message))
  local function run(tx)
    if tx:backend() == "postgres" then assert(tx:query("SELECT pg_advisory_xact_lock(" .. CHAT_LOCK .. ")")) end
    local rows = assert(tx:query([[INSERT INTO chatroom(id, seq, ai_source, machine_id, agent_id, message, project_context,
        mentions, message_type, metadata, created_at)
      VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM chatroom), ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq]],
      store.uuid(), ident.ai, ident.machine, ident.agent, message, project, json.encode(mentions), mtype,
      metadata and json.encode(metadata) or nil, store.now()))
    if tx:backend() == "postgres" then assert(tx:notify(M.CHANNEL, tostring(rows[1].seq))) end
    local to = {}
    for _, m in ipairs(mentions) do if not (not_inbox and not_inbox[m]) then to[#to + 1] = m end end
    inbox.add(tx, to, "mention", ident, project,
      { chat = { id = rows[1].seq, type = mtype, message = message, metadata = metadata or json.null } })
    return 201, { id = rows[1].seq, type = mtype, mentions = mentions }
  end
  if h:in_transaction() then return run(h) end
  return assert(h:transaction(run))
end

-- The messages after `since` that the reader may see (visible: access.lua's scope.visible).
function M.after(h, since, limit, visible)
  local cond, args = visible("project_context")
  local params = { since }
  for _, a in ipairs(args) do params[#params + 1] = a end
  params[#params + 1] = limit
  local out = json.array()
  for _, r in ipairs(assert(h:query(select_sql(h, cond), unpack(params)))) do out[#out + 1] = view(r) end
  return out
end

local function since_of(s, what) return validate.whole_number(s, what) or 0 end

function M.history(h, req, visible)
  local since = since_of(req.query.since, "query parameter 'since'")
  local limit = since_of(req.query.limit, "query parameter 'limit'")
  if limit == 0 or limit > 1000 then limit = limit == 0 and 100 or 1000 end
  return 200, { messages = M.after(h, since, limit, visible), pruned_through = retention.gap(h, "chat", since) }
end

-- Sends every message after `since` -> the last id sent, or nil once the client is gone.
local function send_after(h, since, send, visible)
  while true do
    local batch = M.after(h, since, 200, visible)
    for _, m in ipairs(batch) do
      if not send{ id = tostring(m.id), event = "chat", data = m } then return nil end
      since = m.id
    end
    if #batch < 200 then return since end
  end
end

local function poll_loop(h, since, send, wait, scope)
  while scope.still_valid() do
    since = send_after(h, since, send, scope.visible)
    if not since or not send{ event = "ping" } or not wait(POLL) then return end
  end
end

-- -> true on a notification, false after KEEPALIVE seconds, nil when the server is stopping.
local function await_notification(h, wait)
  local waited = 0
  while waited < KEEPALIVE do
    local n, err = h:wait_notification(SLICE)
    if n then
      -- Drain what else is queued: one re-read covers all of it.
      repeat n, err = h:wait_notification(0) until not n
      if err then error(err, 0) end
      return true
    end
    if err then error(err, 0) end
    if not wait(0) then return nil end
    waited = waited + SLICE
  end
  return false
end

local function notified_loop(h, since, send, wait, scope)
  while scope.still_valid() do
    since = send_after(h, since, send, scope.visible)
    if not since then return end
    local woke = await_notification(h, wait)
    if woke == nil then return end
    -- A quiet stream still writes now and then: a closed connection is only noticed at a write.
    if not woke and not send{ event = "ping" } then return end
  end
end

-- Each stream holds a worker while open (docs/api/http.md): size --threads for it.
-- On PostgreSQL it LISTENs on the worker's own handle (the worker serves nothing else
-- while the stream is open) and UNLISTENs when the stream ends, dropping what was queued,
-- so the handle goes back to ordinary requests without notifications piling up.
-- A reader sees only the messages scope.visible lets through (its projects and the
-- lobby); ids keep their order, with gaps where others' messages are. The stream ends
-- when its token is revoked or expires (checked before each read).
function M.stream(h, req, scope)
  -- Without Last-Event-ID or ?since= a stream starts at the current end (only new
  -- messages, like tail -f); history is GET /chat or ?since=0.
  local from = req.headers["last-event-id"] or req.query.since
  local since
  if from == nil or from == "" then
    since = tonumber(assert(h:query("SELECT COALESCE(MAX(seq), 0) AS n FROM chatroom"))[1].n)
  else
    since = since_of(from, "Last-Event-ID")
  end
  -- Resuming from before what prune removed: say so first (the event has no id, so
  -- Last-Event-ID stays the client's), then go on with what is left.
  local gap = retention.gap(h, "chat", since)
  return { sse = function(send, wait)
    if gap and not send{ event = "pruned", data = { pruned_through = gap, since = since } } then return end
    if h:backend() ~= "postgres" then return poll_loop(h, since, send, wait, scope) end
    -- LISTEN before the first read: a message committed after that read is notified.
    assert(h:listen(M.CHANNEL))
    local ok, err = pcall(notified_loop, h, since, send, wait, scope)
    local uok = h:unlisten(M.CHANNEL)
    if uok then repeat until not h:wait_notification(0) end
    if not ok then error(err, 0) end
  end }
end

return M
