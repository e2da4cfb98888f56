-- `inbox` of chat.lua and handoff.lua: GET /inbox printed for a shell (docs/brain.md,
-- "The inbox"). One line per entry:
--   #SEQ TIME ai/@agent KIND WHAT
-- (`--json`: each entry as one line of JSON, the server's fields). stderr gets the
-- cursor to resume from: `inbox: N entries; resume with --since NEXT`.
local json = require "hostsync.json"
local client = require "brain.client"

local M = {}
M.PAGE = 1000   -- the server's largest page

local function first_line(s)
  s = tostring(s or "")
  local line = s:match("^[^\n]*")
  return line ~= s and (line .. " ...") or line
end

local function shown(v) return (v == nil or v == json.null) and "-" or tostring(v) end

-- One entry as a line of text.
function M.line(e)
  local at = tostring(e.at or ""):gsub("%.%d+Z$", "Z")
  local by = e.by or {}
  local what
  if e.kind == "mention" then
    local c = e.chat or {}
    what = ("[chat #%s %s] %s"):format(shown(c.id), shown(c.type), first_line(c.message))
  elseif e.kind == "handoff" then
    local h = e.handoff or {}
    what = ("handoff #%s to @%s: %s%s"):format(shown(h.id), shown(h.to_agent), shown(h.artifact),
      h.context and h.context ~= json.null and (" - " .. first_line(h.context)) or "")
  elseif e.kind == "handoff_ack" then
    local h = e.handoff or {}
    what = ("handoff #%s (%s) picked up by @%s%s"):format(shown(h.id), shown(h.artifact), shown(by.agent),
      e.note and e.note ~= json.null and (": " .. first_line(e.note)) or "")
  elseif e.kind == "task" then
    local t, c = e.task or {}, e.change or {}
    local parts = {}
    for _, field in ipairs { "title", "status", "assigned_to" } do
      local ch = (c.changes or {})[field]
      if ch then parts[#parts + 1] = ("%s %s -> %s"):format(field, shown(ch[1]), shown(ch[2])) end
    end
    what = ("task #%s %q [%s, @%s]%s%s"):format(shown(t.id), tostring(t.title), shown(t.status), shown(t.assigned_to),
      #parts > 0 and (": " .. table.concat(parts, "; ")) or "",
      c.note and c.note ~= json.null and (" - " .. first_line(c.note)) or "")
  else
    what = json.encode(e)
  end
  return ("#%s %s %s/@%s %s %s"):format(shown(e.seq), at, shown(by.ai), shown(by.agent), shown(e.kind), what)
end

-- Prints up to `limit` entries after `since` (0: from the start), page by page.
-- opts: since, limit (default 100), json, project.
function M.run(brain, opts, name)
  local since, want, printed = opts.since or 0, opts.limit or 100, 0
  local gap
  while printed < want do
    local v = brain:expect(200, "GET", "/inbox" .. client.query { since = since, limit = math.min(M.PAGE, want - printed),
      project = opts.project }, nil, "inbox")
    gap = gap or v.pruned_through
    for _, e in ipairs(v.entries) do
      io.stdout:write(opts.json and json.encode(e) or M.line(e), "\n")
      printed = printed + 1
    end
    since = v.next
    if not v.more then break end
  end
  if gap then
    io.stderr:write(("%s: inbox: entries up to #%d were pruned (brain_admin.lua prune)\n"):format(name, gap))
  end
  io.stderr:write(("%s: inbox: %d entr%s; resume with --since %d\n"):format(name, printed, printed == 1 and "y" or "ies", since))
end

return M
