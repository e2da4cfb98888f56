-- hostsync run task.lua list [--project P] [--assigned-to A | --mine] [--status S] [--json]
-- hostsync run task.lua show ID [--json]
-- hostsync run task.lua update ID [--status S] [--assign A | --unassign] [--note TEXT] [--json]
-- hostsync run task.lua create TITLE... [--project P] [--assign A] [--status S] [--json]
-- The brain's tasks from a shell (docs/brain.md, "Tasks: task.lua"): the protocol's agents
-- working through tasks. Only a task's assignee or its creator may update it; every
-- change is kept in its history (show).
local cli = require "hostsync.cli"
local json = require "hostsync.json"
local client = require "brain.client"
local names = require "brain.names"
local STATUS = require("brain.tasks").STATUS   -- the server's list: one source of truth

local usage = [==[hostsync run task.lua list [--project P] [--assigned-to AGENT | --mine] [--status S] [--json]
       hostsync run task.lua show ID [--json]
       hostsync run task.lua update ID [--status S] [--assign AGENT | --unassign] [--note TEXT] [--json]
       hostsync run task.lua create TITLE... [--project P] [--assign AGENT] [--status S] [--json]]==]
local status_help = table.concat(STATUS, "|")
local spec = {
  usage = usage,
  summary = "List, show, update and create the shared brain's tasks. Status: " .. status_help .. ".\n" ..
    "Only a task's assignee or its creator may update it; show prints its history of changes.",
  options = client.with_options {
    { "--project", "P", "list: only this project; create: the task's project" },
    { "--assigned-to", "AGENT", "list: only tasks assigned to AGENT" },
    { "--mine", nil, "list: only tasks assigned to this token's agent" },
    { "--status", "S", "list: only this status; update/create: the new status (" .. status_help .. ")" },
    { "--assign", "AGENT", "update/create: assign to AGENT" },
    { "--unassign", nil, "update: remove the assignee" },
    { "--note", "TEXT", "update: why (kept in the history)" },
    { "--json", nil, "print JSON (list: one task per line)" },
  },
}

local COMMANDS = { list = { project = true, assigned_to = true, mine = true, status = true, json = true },
                   show = { json = true },
                   update = { status = true, assign = true, unassign = true, note = true, json = true },
                   create = { project = true, assign = true, status = true, json = true } }

local command, opts, rest = client.parse_command(arg, spec, COMMANDS, { "list", "show", "update", "create" })

local function agent_option(key)
  if opts[key] == nil then return nil end
  local n, why = names.agent(opts[key])
  if not n then cli.usage_error("--" .. key:gsub("_", "-") .. ": " .. why, usage) end
  return n
end
local assigned_to, assign = agent_option("assigned_to"), agent_option("assign")
if opts.status then
  local known = opts.status == "pending"   -- the protocol's word, accepted as open
  for _, s in ipairs(STATUS) do known = known or s == opts.status end
  if not known then cli.usage_error("--status must be one of " .. status_help .. ", got '" .. opts.status .. "'", usage) end
end
if opts.assign and opts.unassign then cli.usage_error("give --assign or --unassign, not both", usage) end
if opts.assigned_to and opts.mine then cli.usage_error("give --assigned-to or --mine, not both", usage) end

local id
if command == "show" or command == "update" then
  id = #rest == 1 and rest[1]:match("^%d+$") and tonumber(rest[1])
  if not id or id < 1 then cli.usage_error(command .. " needs one task ID (see task.lua list)", usage) end
elseif command == "list" and #rest > 0 then
  cli.usage_error("unexpected argument '" .. rest[1] .. "'", usage)
end
local title
if command == "create" then
  title = table.concat(rest, " ")
  if not title:find("%S") then cli.usage_error("create needs a TITLE", usage) end
end
if command == "update" and not (opts.status or opts.assign or opts.unassign or opts.note) then
  cli.usage_error("update needs --status, --assign, --unassign or --note", usage)
end

local brain = client.connect(opts, { name = "task", usage = usage })

local function shown(v) return (v == nil or v == json.null) and "-" or tostring(v) end
local function short_time(t) return (tostring(t or ""):gsub("%.%d+Z$", "Z")) end

-- `#ID [status] @assignee title (project, by @creator)`
local function line(t)
  return ("#%s [%s] @%s %s (%s, by @%s)"):format(shown(t.id), shown(t.status), shown(t.assigned_to), tostring(t.title),
    shown(t.project_id), shown(t.created_by))
end

local function show(t)
  if opts.json then io.stdout:write(json.encode(t), "\n") return end
  io.stdout:write(line(t), "\n")
  for _, e in ipairs(t.history or {}) do
    local parts = {}
    for _, field in ipairs { "title", "status", "assigned_to" } do
      local ch = (e.changes or {})[field]
      if ch then parts[#parts + 1] = ("%s %s -> %s"):format(field, shown(ch[1]), shown(ch[2])) end
    end
    io.stdout:write(("  %s %s/@%s %s%s\n"):format(short_time(e.at), shown(e.by.ai), shown(e.by.agent),
      #parts > 0 and table.concat(parts, "; ") or "note", e.note ~= json.null and (": " .. tostring(e.note)) or ""))
  end
end

if command == "list" then
  if opts.mine then assigned_to = brain:expect(200, "GET", "/whoami", nil, "whoami").agent end
  local v = brain:expect(200, "GET", "/tasks" .. client.query { project = opts.project, assigned_to = assigned_to,
    status = opts.status }, nil, "list")
  for _, t in ipairs(v.tasks) do io.stdout:write(opts.json and json.encode(t) or line(t), "\n") end
elseif command == "show" then
  local st, t = brain:api("GET", "/tasks/" .. id)
  if st ~= 200 then brain:refuse("show #" .. id, st, t) end
  show(t)
elseif command == "update" then
  local body = { status = opts.status, assigned_to = assign, note = opts.note }
  if opts.unassign then body.assigned_to = json.null end
  local st, t = brain:api("POST", "/tasks/" .. id, body)
  if st ~= 200 then brain:refuse("update #" .. id, st, t) end
  show(t)
else -- create
  local st, v = brain:api("POST", "/tasks", { title = title, project = opts.project, assigned_to = assign, status = opts.status })
  if st ~= 201 then brain:refuse("create", st, v) end
  local gst, t = brain:api("GET", "/tasks/" .. v.id)
  if gst ~= 200 then brain:refuse("create: task #" .. v.id .. " was created, but reading it back", gst, t) end
  show(t)
end
