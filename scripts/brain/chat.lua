-- The chatroom: post, history by sequence number, and a live stream (SSE) that resumes
-- from Last-Event-ID. seq is assigned as MAX+1 while writers are serialized (SQLite's
-- BEGIN IMMEDIATE; a transaction advisory lock on PostgreSQL), so seq order is commit
-- order and a reader polling "seq > last seen" can never skip a message committed late.
local json = require "hostsync.json"
local auth = require "brain.auth"
local store = require "brain.store"
local validate = require "brain.validate"

local M = {}
M.TYPES = { "chat", "sync", "alert", "handoff", "question", "decision" }
local CHAT_LOCK = "7526479701740773749"   -- advisory lock key for chat inserts (a string: beyond 2^53)

local function view(r)
  r = store.plain(r)
  return { id = r.seq, uuid = r.id, type = r.message_type, message = r.message,
           ai = r.ai_source, agent = r.agent_id, machine = r.machine_id, project = r.project_context,
           mentions = json.decode(r.mentions ~= json.null and r.mentions or "[]") or json.array(),
           metadata = r.metadata ~= json.null and json.decode(r.metadata) or json.null,
           created_at = r.created_at }
end

local function select_sql(h)
  return ("SELECT id, seq, ai_source, machine_id, agent_id, message, project_context, mentions, message_type, metadata, %s AS created_at FROM chatroom WHERE seq > ? ORDER BY seq LIMIT ?")
    :format(store.ts(h, "created_at"))
end

function M.post(h, ident, body)
  local f = validate.fields(body, { type = { "string", one_of = M.TYPES }, message = { "string", required = true, nonempty = true, max = 16000 },
                                    project = { "string", max = 200 }, metadata = { "object" } })
  if f.project and not auth.may_use(ident, f.project) then
    error({ status = 403, error = "this token may not use project '" .. f.project .. "'" }, 0)
  end
  return M.insert(h, ident, f.type or "chat", f.message, f.project, f.metadata)
end

-- Also used by other handlers (a handoff posts its message in the same transaction).
function M.insert(h, ident, mtype, message, project, metadata)
  local mentions, seen = json.array(), {}
  for m in message:gmatch("@([%w_%-]+)") do
    m = m:lower()
    if not seen[m] then seen[m] = true; mentions[#mentions + 1] = m end
  end
  local function run(tx)
    if tx:backend() == "postgres" then assert(tx:query("SELECT pg_advisory_xact_lock(" .. CHAT_LOCK .. ")")) end
    local rows = assert(tx:query([[INSERT INTO chatroom(id, seq, ai_source, machine_id, agent_id, message, project_context,
        mentions, message_type, metadata, created_at)
      VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM chatroom), ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq]],
      store.uuid(), ident.ai, ident.machine, ident.agent, message, project, json.encode(mentions), mtype,
      metadata and json.encode(metadata) or nil, store.now()))
    return 201, { id = rows[1].seq, type = mtype, mentions = mentions }
  end
  if h:in_transaction() then return run(h) end
  return assert(h:transaction(run))
end

function M.after(h, since, limit)
  local out = json.array()
  for _, r in ipairs(assert(h:query(select_sql(h), since, limit))) do out[#out + 1] = view(r) end
  return out
end

local function since_of(s, what)
  if s == nil or s == "" then return 0 end
  local n = tonumber(s)
  if not n or n < 0 or n ~= math.floor(n) then validate.fail(what .. " must be a non-negative integer") end
  return n
end

function M.history(h, req)
  local since = since_of(req.query.since, "query parameter 'since'")
  local limit = since_of(req.query.limit, "query parameter 'limit'")
  if limit == 0 or limit > 1000 then limit = limit == 0 and 100 or 1000 end
  return 200, { messages = M.after(h, since, limit) }
end

-- Each stream holds a worker while open (docs/api/http.md): size --threads for it.
function M.stream(h, req)
  -- Without Last-Event-ID or ?since= a stream starts at the current end (only new
  -- messages, like tail -f); history is GET /chat or ?since=0.
  local from = req.headers["last-event-id"] or req.query.since
  local since
  if from == nil or from == "" then
    since = tonumber(assert(h:query("SELECT COALESCE(MAX(seq), 0) AS n FROM chatroom"))[1].n)
  else
    since = since_of(from, "Last-Event-ID")
  end
  return { sse = function(send, wait)
    while true do
      local batch = M.after(h, since, 200)
      for _, m in ipairs(batch) do
        if not send{ id = tostring(m.id), event = "chat", data = m } then return end
        since = m.id
      end
      if #batch < 200 then
        if not send{ event = "ping" } then return end
        if not wait(0.25) then return end
      end
    end
  end }
end

return M
