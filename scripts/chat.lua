-- hostsync run chat.lua post [--type T] [--project P] MESSAGE
-- hostsync run chat.lua history [--since N] [--limit N] [--type T] [--mention NAME] [--json]
-- hostsync run chat.lua tail [--since N] [--count N] [--json]
-- hostsync run chat.lua inbox [--since N] [--limit N] [--project P] [--json]
-- The protocol's cross-machine chatroom from a shell (docs/brain.md, "The chatroom: chat.lua").
-- The server assigns every message a sequence number (seq) in commit order and parses
-- the @mentions; `tail` follows GET /chat/stream and, after a disconnect, reconnects
-- with Last-Event-ID = the last seq it printed, so nothing is lost or printed twice.
local cli = require "hostsync.cli"
local http = require "hostsync.http"
local json = require "hostsync.json"
local time = require "hostsync.time"
local client = require "brain.client"
local inbox_cli = require "brain.inbox_cli"
local names = require "brain.names"
local TYPES = require("brain.chat").TYPES   -- the server's list: one source of truth

local usage = [==[hostsync run chat.lua post [--type T] [--project P] MESSAGE
       hostsync run chat.lua history [--since N] [--limit N] [--type T] [--mention NAME] [--json]
       hostsync run chat.lua tail [--since N] [--count N] [--json]
       hostsync run chat.lua inbox [--since N] [--limit N] [--project P] [--json]]==]
local type_help = table.concat(TYPES, "|")
local spec = {
  usage = usage,
  summary = "Post to the shared brain's chatroom, read its history, follow it live, or read your inbox\n" ..
    "(mentions, handoffs to you, your tasks' changes).\n" ..
    "Output: one line per message, `#seq time ai/@agent [type] message`; --json: one JSON object per line.",
  options = client.with_options {
    { "--type", "T", "post: message type (" .. type_help .. ", default chat); history: only this type" },
    { "--project", "P", "post: the project the message is about; inbox: only this project's entries" },
    { "--since", "N", "history/tail: only messages after seq N (tail default: from now on); inbox: after entry N", number = true },
    { "--limit", "N", "history: at most N messages (default 50; the latest N unless --since); inbox: at most N (100)", number = true },
    { "--mention", "NAME", "history: only messages that @mention NAME" },
    { "--count", "N", "tail: exit after N messages (default: follow until interrupted)", number = true },
    { "--json", nil, "history/tail/inbox: print each message (entry) as one line of JSON" },
  },
}

local COMMANDS = { post = { type = true, project = true }, history = { since = true, limit = true, type = true, mention = true, json = true },
                   tail = { since = true, count = true, json = true }, inbox = { since = true, limit = true, project = true, json = true } }

local command, opts, rest = client.parse_command(arg, spec, COMMANDS, { "post", "history", "tail", "inbox" })
local since, limit, count = client.count_option(opts, "since", 0, usage), client.count_option(opts, "limit", 1, usage),
  client.count_option(opts, "count", 1, usage)
if opts.type then
  local known = false
  for _, t in ipairs(TYPES) do known = known or t == opts.type end
  if not known then cli.usage_error("--type must be one of " .. type_help .. ", got '" .. opts.type .. "'", usage) end
end

local brain = client.connect(opts, { name = "chat", usage = usage })

-- `#seq time ai/@agent [type] message`; continuation lines of a message are indented.
local function show(m)
  if opts.json then
    io.stdout:write(json.encode(m), "\n")
  else
    local at = tostring(m.created_at or ""):gsub("%.%d+Z$", "Z")
    io.stdout:write(("#%d %s %s/@%s [%s] %s\n"):format(m.id, at, tostring(m.ai), tostring(m.agent), tostring(m.type),
      (tostring(m.message):gsub("\n", "\n    "))))
  end
  io.stdout:flush()
end

local function post()
  if #rest == 0 then cli.usage_error("post needs a MESSAGE", usage) end
  local message = table.concat(rest, " ")
  if not message:find("%S") then cli.usage_error("the message is empty", usage) end
  local st, v = brain:api("POST", "/chat", { type = opts.type, project = opts.project, message = message })
  if st == 400 then cli.usage_error("chat: " .. tostring(v.error), usage) end
  if st ~= 201 then cli.fail(("chat: post: %d %s"):format(st, tostring(v.error or ""))) end
  local mentions = {}
  for _, m in ipairs(v.mentions or {}) do mentions[#mentions + 1] = "@" .. m end
  io.stdout:write(("#%d"):format(v.id), #mentions > 0 and (" (mentions " .. table.concat(mentions, ", ") .. ")") or "", "\n")
end

local PAGE = 1000  -- the server's largest page
local told_pruned = false

-- Calls visit(m) for every message after `from`, page by page, until visit returns false.
local function each_after(from, visit)
  while true do
    local v = brain:expect(200, "GET", "/chat" .. client.query { since = from, limit = PAGE }, nil, "history")
    if v.pruned_through and not told_pruned and command == "history" and since then
      told_pruned = true
      io.stderr:write(("chat: history: messages up to #%d were pruned (brain_admin.lua prune)\n"):format(v.pruned_through))
    end
    for _, m in ipairs(v.messages) do
      if visit(m) == false then return end
      from = m.id
    end
    if #v.messages < PAGE then return end
  end
end

local function history()
  if #rest > 0 then cli.usage_error("unexpected argument '" .. rest[1] .. "'", usage) end
  local want_mention = opts.mention and names.normalize(opts.mention)
  local function matches(m)
    if opts.type and m.type ~= opts.type then return false end
    if want_mention then
      for _, name in ipairs(m.mentions or {}) do if name == want_mention then return true end end
      return false
    end
    return true
  end
  limit = limit or 50
  -- The server filters by seq only, so type/mention filters are applied here. With
  -- --since: the first `limit` matches after it; without: the latest `limit` (a ring
  -- of the last matches over one pass through the history).
  local kept, n = {}, 0
  each_after(since or 0, function(m)
    if not matches(m) then return true end
    n = n + 1
    kept[(n - 1) % limit + 1] = m
    return not (since and n >= limit)
  end)
  local first = n > limit and n - limit + 1 or 1
  for i = first, n do show(kept[(i - 1) % limit + 1]) end
end

-- The current last seq: where a tail without --since starts. Asked once, before the
-- stream opens, so a disconnect before the first message still resumes from there.
local function current_end()
  local last = 0
  each_after(0, function(m) last = m.id end)
  return last
end

local function tail()
  if #rest > 0 then cli.usage_error("unexpected argument '" .. rest[1] .. "'", usage) end
  local last = since or current_end()
  io.stderr:write(("chat: tail: following after #%d\n"):format(last))
  local printed = 0
  local delay, MAX_DELAY = 0.25, 5
  local url = brain.base .. "/chat/stream"
  while true do
    local ok, err = http.sse(url, {
      headers = brain:headers(), last_event_id = tostring(last), timeout = 30,
      reconnect_delay = 0.1,   -- after a clean end of stream (the server restarting)
      max_reconnects = 0,      -- a failed connection comes back here: note it, back off
      on_event = function(ev)
        if ev.event == "pruned" then
          local g = json.decode(ev.data) or {}
          io.stderr:write(("chat: tail: messages up to #%s were pruned (brain_admin.lua prune); going on after them\n")
            :format(tostring(g.pruned_through)))
        end
        if ev.event ~= "chat" then return true end
        local m = json.decode(ev.data)
        if m.id <= last then return true end  -- never print one twice
        show(m)
        last, printed, delay = m.id, printed + 1, 0.25
        return not (count and printed >= count)
      end })
    if ok then return end
    local status = err:match("status (4%d%d)")
    if status and status ~= "429" then cli.fail("chat: tail: " .. err) end  -- 401/403/404: retrying cannot help
    io.stderr:write(("chat: tail: disconnected (%s); reconnecting in %.2gs from #%d\n"):format(err, delay, last))
    time.sleep(delay)
    delay = math.min(delay * 2, MAX_DELAY)
  end
end

if command == "post" then post()
elseif command == "history" then history()
elseif command == "inbox" then
  if #rest > 0 then cli.usage_error("unexpected argument '" .. rest[1] .. "'", usage) end
  inbox_cli.run(brain, { since = since, limit = limit, project = opts.project, json = opts.json }, "chat")
else tail() end
