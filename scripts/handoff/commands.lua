-- handoff.lua's commands besides recording a handoff (docs/brain.md, "Handoffs:
-- handoff.lua"): the receiver's side of the protocol.
--   inbox [--since N] [--limit N] [--project P] [--json]   what concerns you (GET /inbox)
--   list [--to A | --mine] [--status open|acknowledged] [--project P] [--json]
--   show ID [--json]                                       one handoff and its summary
--   ack ID [--note TEXT] [--json]                          pick it up (receiver only)
local cli = require "hostsync.cli"
local json = require "hostsync.json"
local client = require "brain.client"
local inbox_cli = require "brain.inbox_cli"
local names = require "brain.names"

local M = {}

M.USAGE = [==[hostsync run handoff.lua --to AGENT [options]            record a handoff (--help)
       hostsync run handoff.lua inbox [--since N] [--limit N] [--project P] [--json]
       hostsync run handoff.lua list [--to AGENT | --mine] [--status open|acknowledged] [--project P] [--json]
       hostsync run handoff.lua show ID [--json]
       hostsync run handoff.lua ack ID [--note TEXT] [--json]]==]

local spec = {
  usage = M.USAGE,
  summary = "The receiving side of handoffs: your inbox, the handoffs to you, one handoff with its session\n" ..
    "summary, and acknowledging (picking up) a handoff, which the chatroom is told about.",
  options = client.with_options {
    { "--since", "N", "inbox: entries after N (the cursor the last run printed)", number = true },
    { "--limit", "N", "inbox: at most N entries (default 100)", number = true },
    { "--project", "P", "inbox/list: only this project" },
    { "--to", "AGENT", "list: handoffs to AGENT" },
    { "--mine", nil, "list: handoffs to this token's agent" },
    { "--status", "S", "list: open or acknowledged" },
    { "--note", "TEXT", "ack: a note for the sender" },
    { "--json", nil, "print JSON (inbox, list: one object per line)" },
  },
}

M.COMMANDS = { inbox = { since = true, limit = true, project = true, json = true },
               list = { to = true, mine = true, status = true, project = true, json = true },
               show = { json = true }, ack = { note = true, json = true } }

local function shown(v) return (v == nil or v == json.null) and "-" or tostring(v) end
local function short_time(t) return (tostring(t or ""):gsub("%.%d+Z$", "Z")) end

-- `#ID TIME @from -> @to [status] artifact (acknowledged by @x at T)`
local function line(hf)
  return ("#%s %s @%s -> @%s [%s] %s%s%s"):format(shown(hf.id), short_time(hf.created_at), shown(hf.from_agent),
    shown(hf.to_agent), shown(hf.status), shown(hf.artifact), hf.project_id ~= json.null and (" (" .. hf.project_id .. ")") or "",
    hf.status == "acknowledged" and (" acknowledged by @%s at %s"):format(shown(hf.acknowledged_by), short_time(hf.acknowledged_at)) or "")
end

local function one_id(rest, command)
  local id = #rest == 1 and rest[1]:match("^%d+$") and tonumber(rest[1])
  if not id or id < 1 then cli.usage_error(command .. " needs one handoff ID (see handoff.lua list)", M.USAGE) end
  return id
end

function M.run(argv)
  local command, opts, rest = client.parse_command(argv, spec, M.COMMANDS, { "inbox", "list", "show", "ack" })
  local since, limit = client.count_option(opts, "since", 0, M.USAGE), client.count_option(opts, "limit", 1, M.USAGE)
  if command ~= "show" and command ~= "ack" and #rest > 0 then
    cli.usage_error("unexpected argument '" .. rest[1] .. "'", M.USAGE)
  end
  local to
  if opts.to then
    local why
    to, why = names.agent(opts.to)
    if not to then cli.usage_error("--to: " .. why, M.USAGE) end
  end
  if opts.to and opts.mine then cli.usage_error("give --to or --mine, not both", M.USAGE) end
  if opts.status and opts.status ~= "open" and opts.status ~= "acknowledged" then
    cli.usage_error("--status must be open or acknowledged, got '" .. opts.status .. "'", M.USAGE)
  end
  local id = (command == "show" or command == "ack") and one_id(rest, command)
  local brain = client.connect(opts, { name = "handoff", usage = M.USAGE })

  if command == "inbox" then
    inbox_cli.run(brain, { since = since, limit = limit, project = opts.project, json = opts.json }, "handoff")
  elseif command == "list" then
    if opts.mine then to = brain:expect(200, "GET", "/whoami", nil, "whoami").agent end
    local v = brain:expect(200, "GET", "/handoffs" .. client.query { to = to, status = opts.status, project = opts.project },
      nil, "list")
    for _, hf in ipairs(v.handoffs) do io.stdout:write(opts.json and json.encode(hf) or line(hf), "\n") end
  elseif command == "show" then
    local st, hf = brain:api("GET", "/handoffs/" .. id)
    if st ~= 200 then brain:refuse("show #" .. id, st, hf) end
    if opts.json then
      io.stdout:write(json.encode(hf), "\n")
    else
      io.stdout:write(line(hf), "\n")
      if hf.context ~= json.null then io.stdout:write("Context: ", hf.context, "\n") end
      if hf.status == "acknowledged" and hf.ack_note ~= json.null then io.stdout:write("Note: ", hf.ack_note, "\n") end
      io.stdout:write("\n", hf.summary ~= json.null and hf.summary or "(no session summary stored)\n")
    end
  else -- ack
    local st, hf = brain:api("POST", "/handoffs/" .. id .. "/ack", { note = opts.note })
    if st ~= 200 then brain:refuse("ack #" .. id, st, hf) end
    if opts.json then
      io.stdout:write(json.encode(hf), "\n")
    else
      io.stdout:write(("handoff #%d acknowledged by @%s at %s (chat #%s)\n"):format(id, shown(hf.acknowledged_by),
        short_time(hf.acknowledged_at), shown(hf.chat_id)))
    end
  end
end

return M
