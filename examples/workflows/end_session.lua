-- hostsync run examples/workflows/end_session.lua --to AGENT --project P [--context TEXT]
--     [--keep ID,ID...] [--dry-run]
--
-- Ending a working session with the shared brain (docs/brain.md): hand every task still
-- assigned to you in one project (open, in progress or blocked) over to another agent,
-- record a session handoff to that agent naming those tasks, and so post it to the
-- project's chatroom. A person coordinating several agents runs it for the agent whose
-- session ends (with that agent's token), or an agent runs it for itself.
--
--   1 checks: the receiver is an agent name other than you, --keep names tasks of yours
--   2 POST /handoffs: the record, its summary (the tasks, status and title) and the
--     `handoff` chat message mentioning the receiver are one transaction on the server
--   3 POST /tasks/ID {assigned_to = receiver, note = "handoff #N"} for each task: its
--     status is kept, the change is in its history and in the receiver's inbox
--
-- Steps 2 and 3 are separate requests (the brain has no multi-request transaction): if
-- a task cannot be moved (someone else took it meanwhile, or it was reassigned away from
-- you: a task you created is never taken back from its new holder), the others still are, and the
-- run names what was and was not moved and exits 1. The receiver picks the handoff up
-- with `hostsync run handoff.lua ack ID`.
--
-- It reuses the workflow scripts' modules: brain.client (--server/--token-file, the
-- environment, HTTP with retries) and brain.names (the agent-name rule).
local cli = require "hostsync.cli"
local failpoint = require "hostsync.failpoint"
local client = require "brain.client"
local names = require "brain.names"

local USAGE = "hostsync run examples/workflows/end_session.lua --to AGENT --project P [--context TEXT] " ..
  "[--keep ID,ID...] [--dry-run]"

local spec = {
  usage = USAGE,
  summary = "End your session: hand your unfinished tasks in a project (open, in_progress, blocked) to\n" ..
    "another agent, with a session handoff to that agent that lists them, posted to the project's chat.",
  options = client.with_options {
    { "--to", "AGENT", "the agent taking over (@milo or milo)" },
    { "--project", "P", "the project whose tasks are handed over; the handoff and its chat message are posted there" },
    { "--context", "TEXT", "what the receiver needs to know (stored with the handoff, shown in its summary)" },
    { "--keep", "IDS", "comma-separated task ids you keep (e.g. 12,15)" },
    { "--dry-run", nil, "print what would be handed over; change nothing" },
  },
}

local opts, rest = cli.parse(arg, spec)
if #rest > 0 then cli.usage_error("unexpected argument '" .. rest[1] .. "'", USAGE) end
if not opts.to then cli.usage_error("--to is required", USAGE) end
local to, why = names.agent(opts.to)
if not to then cli.usage_error("--to: " .. why, USAGE) end
-- Required: a project-less handoff is the lobby's, where every token would read the
-- titles of this project's tasks.
if not opts.project or opts.project == "" then cli.usage_error("--project is required", USAGE) end

local keep = {}
if opts.keep then
  for field in (opts.keep .. ","):gmatch("([^,]*),") do
    local id = field:match("^%s*(%d+)%s*$")
    if not id then cli.usage_error(("--keep: '%s' is not a task id"):format(field), USAGE) end
    keep[tonumber(id)] = true
  end
end

local brain = client.connect(opts, { name = "end_session", usage = USAGE })
local me = brain:expect(200, "GET", "/whoami", nil, "whoami")
if me.agent == to then cli.usage_error("--to: @" .. to .. " is you; hand over to another agent", USAGE) end

-- Your unfinished tasks in the project, oldest first (the server filters by assignee).
local st, listed = brain:api("GET", "/tasks" .. client.query { project = opts.project, assigned_to = me.agent })
if st ~= 200 then brain:refuse("listing your tasks in " .. opts.project, st, listed) end
local moving, kept = {}, {}
for _, t in ipairs(listed.tasks) do
  if t.status ~= "done" then
    if keep[t.id] then kept[#kept + 1] = t; keep[t.id] = nil else moving[#moving + 1] = t end
  end
end
local unknown = {}
for id in pairs(keep) do unknown[#unknown + 1] = "#" .. id end
if #unknown > 0 then
  table.sort(unknown)
  cli.usage_error(("--keep: %s %s not among @%s's unfinished tasks in %s"):format(table.concat(unknown, " "),
    #unknown > 1 and "are" or "is", me.agent, opts.project), USAGE)
end

local function line(t) return ("#%d [%s] %s"):format(t.id, t.status, t.title) end

-- The chat message, in handoff.lua's shape (docs/brain.md, "Handoffs"): the first line
-- mentions the receiver, then the tasks and what blocks.
local function message()
  local lines = { ("SESSION HANDOFF to @%s: end of %s's session"):format(to, me.agent) }
  local titles, blocked = {}, {}
  for _, t in ipairs(moving) do
    titles[#titles + 1] = line(t)
    if t.status == "blocked" then blocked[#blocked + 1] = "#" .. t.id end
  end
  lines[#lines + 1] = ("Tasks for @%s: %s"):format(to, #titles > 0 and table.concat(titles, "; ") or "none")
  lines[#lines + 1] = "Blocking: " .. (#blocked > 0 and table.concat(blocked, " ") or "none")
  return table.concat(lines, "\n")
end

-- The summary stored with the handoff (`handoff.lua show ID` prints it).
local function summary()
  local out = { ("## Session Handoff: end of %s's session"):format(me.agent),
    ("**From:** %s/@%s (%s)"):format(me.ai, me.agent, me.machine), "**To:** @" .. to,
    "**Project:** " .. opts.project, "", "### Tasks for @" .. to }
  for _, t in ipairs(moving) do out[#out + 1] = "- [ ] " .. line(t) end
  if #moving == 0 then out[#out + 1] = "- None" end
  if #kept > 0 then
    out[#out + 1] = ""
    out[#out + 1] = "### Kept by @" .. me.agent
    for _, t in ipairs(kept) do out[#out + 1] = "- " .. line(t) end
  end
  out[#out + 1] = ""
  out[#out + 1] = "### Context"
  out[#out + 1] = opts.context or "None"
  return table.concat(out, "\n") .. "\n"
end

if opts.dry_run then
  for _, t in ipairs(moving) do io.stdout:write(line(t), " -> @", to, "\n") end
  for _, t in ipairs(kept) do io.stdout:write(line(t), " kept\n") end
  io.stderr:write(("end_session: dry run: %d task(s) would go to @%s; nothing changed\n"):format(#moving, to))
  os.exit(0)
end

local hst, rec = brain:api("POST", "/handoffs", { to_agent = to, project = opts.project, context = opts.context,
  artifact = ("%d open task(s)"):format(#moving), message = message(), summary = summary() })
if hst ~= 201 then brain:refuse("recording the handoff", hst, rec) end
-- The window between the record and the task moves, where another agent may take a task.
failpoint.hit("end_session_recorded")

local moved, failed = {}, {}
for _, t in ipairs(moving) do
  -- Still yours? As its creator you may update a task someone else now holds: moving it
  -- would take it from them (any other task the server refuses, 403). A change between
  -- this read and the move is not seen.
  local ust, u, gst, now
  if t.created_by == me.agent then gst, now = brain:api("GET", "/tasks/" .. t.id) end
  if gst == 200 and now.assigned_to ~= me.agent then
    ust, u = 409, { error = ("now assigned to @%s, left alone"):format(tostring(now.assigned_to)) }
  else
    ust, u = brain:api("POST", "/tasks/" .. t.id, { assigned_to = to, note = ("handoff #%d"):format(rec.id) })
  end
  if ust == 200 then
    moved[#moved + 1] = "#" .. t.id
    io.stdout:write(line(t), " -> @", to, "\n")
  else
    failed[#failed + 1] = ("#%d: %d %s"):format(t.id, ust, tostring(u.error or ""))
  end
end

local done = ("end_session: handoff #%d to @%s recorded (chat #%d); tasks handed over: %s"):format(rec.id, to,
  rec.chat_id, #moved > 0 and table.concat(moved, " ") or "none")
if #failed > 0 then
  cli.fail(done .. "; not handed over: " .. table.concat(failed, "; "))
end
io.stderr:write(done, "\n")
