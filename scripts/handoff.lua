-- hostsync run handoff.lua --to AGENT [--title T] [--artifact X] [--context TEXT] [--depends-on X]...
--     [--task TITLE]... [--completed X]... [--in-progress X]... [--next X]... [--blockers X]...
--     [--repo DIR] [--since REF] [--template FILE] [--out FILE] [--project P]
-- hostsync run handoff.lua inbox|list|show ID|ack ID ...   (handoff/commands.lua)
-- The handoff steps of the Jai.OS sync protocol (docs/brain.md, "Handoffs: handoff.lua"):
--   1 record the handoff (POST /handoffs: the record and its `handoff` chat message are
--     one transaction on the server)   2 create the receiver's tasks (POST /tasks)
--   3 render the session-handoff summary (Markdown, the protocol's shape) from a template,
--     store it with the handoff (POST /handoffs/ID/summary) so the receiver reads it
--     from the brain, and write it to --out or stdout
-- Everything that can be checked locally (arguments, the template, git) is checked
-- before the brain is written to, so a mistake leaves no half-recorded handoff.
local cli = require "hostsync.cli"
local fs = require "hostsync.fs"
local time = require "hostsync.time"
local client = require "brain.client"
local names = require "brain.names"
local template = require "handoff.template"
local git_changes = require "handoff.git_changes"
local commands = require "handoff.commands"

-- The receiver's commands (inbox, list, show, ack) are handoff/commands.lua.
if commands.COMMANDS[arg[1]] then
  commands.run(arg)
  os.exit(0)
end

-- Options that may be given many times; hostsync.cli keeps only the last, so they are
-- taken out of the arguments first.
local REPEATED = { ["--task"] = "task", ["--completed"] = "completed", ["--in-progress"] = "in_progress",
                   ["--next"] = "next", ["--blockers"] = "blockers", ["--depends-on"] = "depends_on" }

local spec = {
  usage = commands.USAGE,
  summary = "Hand work to another agent: record the handoff, post it to the chatroom, create the receiver's\n" ..
    "tasks and write the session-handoff summary (Markdown) from an editable template, stored with the\n" ..
    "handoff. The receiver: inbox, list, show ID (the summary), ack ID (pick it up).",
  options = client.with_options {
    { "--to", "AGENT", "the receiving agent (@milo or milo)" },
    { "--title", "TEXT", "the summary's title (default: the artifact, else 'session')" },
    { "--artifact", "X", "what is handed over (a file, a feature)" },
    { "--context", "TEXT", "what the receiver needs to know" },
    { "--depends-on", "X", "a dependency, NAME or NAME=STATE (repeatable)" },
    { "--task", "TITLE", "a task for the receiver, created in the brain (repeatable)" },
    { "--completed", "X", "done this session (repeatable)" },
    { "--in-progress", "X", "started, not finished (repeatable)" },
    { "--next", "X", "a next step (repeatable)" },
    { "--blockers", "X", "a blocker (repeatable)" },
    { "--project", "P", "the project" },
    { "--repo", "DIR", "the git clone for 'Key Files Changed' (default: .)", default = "." },
    { "--since", "REF", "changed files since REF (default: since the last handoff from this clone, else the last commit)" },
    { "--template", "FILE", "Markdown template (default: templates/session_handoff.md on the script path)" },
    { "--out", "FILE", "write the summary here, atomically (default: stdout)" },
  },
}

local function take_repeated(args)
  local lists, remaining = {}, {}
  for _, key in pairs(REPEATED) do lists[key] = {} end
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--" then
      for j = i, #args do remaining[#remaining + 1] = args[j] end
      break
    end
    local name, value = a:match("^(%-%-[^=]+)=(.*)$")
    name = name or a
    local key = REPEATED[name]
    if key then
      if value == nil then
        i = i + 1
        value = args[i]
        if value == nil then cli.usage_error("option " .. name .. " needs a value", spec.usage) end
      end
      if not value:find("%S") then cli.usage_error("option " .. name .. " needs a non-empty value", spec.usage) end
      local l = lists[key]
      l[#l + 1] = value
    else
      remaining[#remaining + 1] = a
    end
    i = i + 1
  end
  return lists, remaining
end

local lists, args = take_repeated(arg)
local opts, rest = cli.parse(args, spec)
if #rest > 0 then cli.usage_error("unexpected argument '" .. rest[1] .. "'", spec.usage) end
if not opts.to then cli.usage_error("--to is required", spec.usage) end
local to = names.agent(opts.to)
if not to then cli.usage_error("--to must be an agent name, got '" .. opts.to .. "' (" .. names.RULE .. ")", spec.usage) end
local brain = client.connect(opts, { name = "handoff", usage = spec.usage })

-- The template's names: text values, and lists (each list L also gives the text L_count,
-- empty for an empty list, so a heading can be shown only when there is something under it).
local TEXT = { "title", "from_ai", "from_agent", "from_machine", "to_agent", "time", "project", "artifact",
               "context", "handoff_id", "chat_id", "changes_range" }
local LISTS = { "completed", "in_progress", "next_steps", "files_changed", "blockers", "tasks", "dependencies" }
local NAMES = {}
for _, n in ipairs(TEXT) do NAMES[n] = "text" end
for _, n in ipairs(LISTS) do NAMES[n] = "list"; NAMES[n .. "_count"] = "text" end

local function load_template()
  local path = opts.template
  if not path then
    path = package.searchpath("templates.session_handoff", (package.path:gsub("%.lua", ".md")))
    if not path then cli.fail("handoff: the default template templates/session_handoff.md is not on the script path") end
  end
  local text, err = fs.read_file(path)
  if not text then cli.fail("handoff: cannot read template: " .. err) end
  local t, perr = template.parse(text, path, NAMES)
  if not t then cli.fail("handoff: bad template: " .. perr) end
  return t
end

local function dependencies()
  if #lists.depends_on == 0 then return nil, {} end
  local obj, shown = {}, {}
  for _, d in ipairs(lists.depends_on) do
    local k, v = d:match("^([^=]+)=(.*)$")
    if k then obj[k] = v; shown[#shown + 1] = k .. ": " .. v
    else obj[d] = true; shown[#shown + 1] = d end
  end
  return obj, shown
end

local function handoff_message(title)
  local lines = { ("SESSION HANDOFF to @%s: %s"):format(to, title) }
  if opts.artifact then lines[#lines + 1] = "Artifact: " .. opts.artifact end
  if #lists.task > 0 then lines[#lines + 1] = ("Tasks for @%s: %s"):format(to, table.concat(lists.task, "; ")) end
  lines[#lines + 1] = "Blocking: " .. (#lists.blockers > 0 and table.concat(lists.blockers, "; ") or "none")
  return table.concat(lines, "\n")
end

-- Local checks first: template, git.
local tmpl = load_template()
local changes, gerr = git_changes.collect(opts.repo, opts.since)
if not changes then cli.fail("handoff: " .. gerr) end
local deps, deps_shown = dependencies()
local title = opts.title or opts.artifact or "session"

local me = brain:expect(200, "GET", "/whoami", nil, "whoami")

local st, rec = brain:api("POST", "/handoffs", { to_agent = to, artifact = opts.artifact, context = opts.context,
  dependencies = deps, project = opts.project, message = handoff_message(title) })
if st ~= 201 then brain:refuse("recording the handoff", st, rec) end

local task_ids = {}
for _, t in ipairs(lists.task) do
  local tst, tv = brain:api("POST", "/tasks", { title = t, project = opts.project, assigned_to = to, status = "open" })
  if tst ~= 201 then
    brain:refuse(("handoff #%d recorded, but creating task %q"):format(rec.id, t), tst, tv)
  end
  task_ids[#task_ids + 1] = "#" .. tostring(tv.id)
end

local values = {
  title = title, from_ai = me.ai, from_agent = me.agent, from_machine = me.machine, to_agent = to,
  time = time.format_utc("%Y-%m-%d %H:%M UTC"), project = opts.project, artifact = opts.artifact,
  context = opts.context, handoff_id = tostring(rec.id), chat_id = tostring(rec.chat_id),
  changes_range = changes.range,
  completed = lists.completed, in_progress = lists.in_progress, next_steps = lists.next,
  files_changed = changes.files, blockers = lists.blockers, tasks = lists.task, dependencies = deps_shown,
}
for _, n in ipairs(LISTS) do values[n .. "_count"] = #values[n] > 0 and tostring(#values[n]) or "" end
local markdown = tmpl:render(values)

-- Stored with the handoff first; the local copy is written even when that fails, so
-- the summary is never lost, and the failure is reported after it.
local sst, sv = brain:api("POST", "/handoffs/" .. rec.id .. "/summary", { summary = markdown })
if opts.out then
  local ok, err = fs.write_atomic(opts.out, markdown)
  if not ok then cli.fail(("handoff: #%d recorded, but writing the summary failed: %s"):format(rec.id, err)) end
else
  io.stdout:write(markdown)
end
if sst ~= 200 then
  cli.fail(("handoff: #%d recorded, but storing its summary in the brain failed: %d %s%s"):format(rec.id, sst,
    tostring(sv.error or ""), opts.out and (" (it is in " .. opts.out .. ")") or " (it is on stdout)"))
end
local mok, merr = git_changes.mark(opts.repo, changes.head)
if not mok then io.stderr:write("handoff: warning: could not move ", git_changes.MARKER, ": ", merr, "\n") end
io.stderr:write(("handoff: #%d to @%s recorded (chat #%d%s, summary stored%s)\n"):format(rec.id, to, rec.chat_id,
  #task_ids > 0 and (", tasks " .. table.concat(task_ids, " ")) or "",
  opts.out and (" and in " .. opts.out) or ""))
