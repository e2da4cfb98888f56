-- The chatroom: post, history by sequence number, and a live stream (SSE) that resumes
-- from Last-Event-ID. seq is assigned as MAX+1 while writers are serialized (SQLite's
-- BEGIN IMMEDIATE; a transaction advisory lock on PostgreSQL), so seq order is commit
-- order and a reader asking for "seq > last seen" can never skip a message committed late.
--
-- The stream is an event-topic subscription (brain/topics.lua): the server's event loop
-- holds it, no worker; a post publishes to it after its commit, and on PostgreSQL the
-- other servers are told to publish too. The topic's events are read from the table, so
-- a missed or merged wake-up can delay a message but never lose or repeat one.
local http = require "hostsync.http"
local json = require "hostsync.json"
local hook_events = require "brain.hook_events"
local inbox = require "brain.inbox"
local names = require "brain.names"
local retention = require "brain.retention"
local store = require "brain.store"
local topics = require "brain.topics"
local validate = require "brain.validate"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}
M.TYPES = { "chat", "sync", "alert", "handoff", "question", "decision" }
local CHAT_LOCK = "7526479701740773749"   -- advisory lock key for chat inserts (a string: beyond 2^53)
M.TOPIC = "chat"
M.REPLAY = 1000            -- messages a stream replays at most before going live (the rest
                           -- follows from the topic, or after the client reconnects)

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
    if tx:backend() == "postgres" then db_check(tx:query("SELECT pg_advisory_xact_lock(" .. CHAT_LOCK .. ")")) end
    local rows = db_check(tx:query([[INSERT INTO chatroom(id, seq, ai_source, machine_id, agent_id, message, project_context,
        mentions, message_type, metadata, created_at)
      VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM chatroom), ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq]],
      store.uuid(), ident.ai, ident.machine, ident.agent, message, project, json.encode(mentions), mtype,
      metadata and json.encode(metadata) or nil, store.now()))
    topics.touch(M.TOPIC)
    hook_events.raise(tx, "chat", { id = rows[1].seq, type = mtype, message = message, project = project or json.null,
      ai = ident.ai, agent = ident.agent, machine = ident.machine or json.null, mentions = mentions,
      metadata = metadata or json.null })
    local to = {}
    for _, m in ipairs(mentions) do if not (not_inbox and not_inbox[m]) then to[#to + 1] = m end end
    inbox.add(tx, to, "mention", ident, project,
      { chat = { id = rows[1].seq, type = mtype, message = message, metadata = metadata or json.null } })
    return 201, { id = rows[1].seq, type = mtype, mentions = mentions }
  end
  if h:in_transaction() then return run(h) end
  return db_check(h:transaction(run))
end

-- The messages after `since` that the reader may see (visible: access.lua's scope.visible).
function M.after(h, since, limit, visible)
  local cond, args = visible("project_context")
  local params = { since }
  for _, a in ipairs(args) do params[#params + 1] = a end
  params[#params + 1] = limit
  local out = json.array()
  for _, r in ipairs(db_check(h:query(select_sql(h, cond), unpack(params)))) do out[#out + 1] = view(r) end
  return out
end

local function since_of(s, what) return validate.whole_number(s, what) or 0 end

function M.history(h, req, visible)
  local since = since_of(req.query.since, "query parameter 'since'")
  local limit = since_of(req.query.limit, "query parameter 'limit'")
  if limit == 0 or limit > 1000 then limit = limit == 0 and 100 or 1000 end
  return 200, { messages = M.after(h, since, limit, visible), pruned_through = retention.gap(h, "chat", since) }
end

-- Messages after `after` as topic events: the message as data, its project as the
-- attribute the stream filters on ("" for none).
-- The topic carries every message; each stream's filter decides what its reader sees.
M.EVERYONE = function() return "1 = 1", {} end

local function events_after(h, after, limit)
  local out = {}
  for i, m in ipairs(M.after(h, after, limit, M.EVERYONE)) do
    out[i] = { id = m.id, event = "chat", data = m, attrs = { project = m.project ~= json.null and m.project or "" } }
  end
  return out
end

topics.source(M.TOPIC, function(h, _, after) return events_after(h, after, topics.PAGE) end)

-- What a token's stream may see, decided once when it opens: messages of the projects
-- the token allows, and messages without a project; only `project`'s if the reader
-- asked for one (and may use it). A token allowed every project ("*") sees everything.
-- (The rule for what a token may read belongs with the access rules; this is the one
-- place the stream takes it from.)
function M.stream_filter(ident, project)
  if project then return { project = { project } } end
  if ident.projects["*"] then return nil end
  local allowed = { "" }
  for p in pairs(ident.projects) do allowed[#allowed + 1] = p end
  table.sort(allowed)
  return { project = allowed }
end

-- GET /chat/stream: without Last-Event-ID or ?since= it starts at the current end (only
-- new messages, like tail -f); history is GET /chat or ?since=0. The missed messages are
-- replayed from the table, then the stream is live. It holds no worker. `project`: only
-- that project's messages (the caller checked that the token may use it).
function M.stream(h, ident, req, project)
  local from = req.headers["last-event-id"] or req.query.since
  local since
  if from == nil or from == "" then
    since = tonumber(db_check(h:query("SELECT COALESCE(MAX(seq), 0) AS n FROM chatroom"))[1].n)
  else
    since = since_of(from, "Last-Event-ID")
  end
  -- Resuming from before what prune removed: say so first (a notice has no id, so
  -- Last-Event-ID stays the client's), then go on with what is left.
  local gap = retention.gap(h, "chat", since)
  return http.subscribe{ topic = M.TOPIC, after = since, replay = events_after(h, since, M.REPLAY),
                         filter = M.stream_filter(ident, project), labels = { token = tostring(ident.token_id) },
                         notices = gap and { { event = "pruned", data = { pruned_through = gap, since = since } } } or nil }
end

return M
