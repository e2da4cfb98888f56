-- hostsync.debug: a REPL inside a stopped script.
--
--   hostsync.debug.breakpoint()      -- stop here, look around, Ctrl-D (or .continue) goes on
--   hostsync run --debug script.lua  -- on an uncaught error, a session in the failing frame
--
-- How it reaches a frame's locals while the stack is alive: the session runs in a new
-- coroutine, resumed from the stopped thread. That thread is then suspended (it is
-- waiting in coroutine.resume), so its frames stay put and debug.getlocal(thread,
-- level, i) reads them at fixed levels while the session evaluates code. The session's
-- environment resolves a name as a session variable, then a local of the selected
-- frame, an upvalue of its function, the function's environment, then _G; assignments
-- go to the same place, so `x = 5` changes the script's local x.
--
-- Without a terminal (CI, cron) a breakpoint only writes one line to stderr: a
-- forgotten breakpoint must never hang a job.
local repl = require "hostsync.repl"
local pretty = require "hostsync.pretty"

local M = {}

local getinfo, getlocal, setlocal = debug.getinfo, debug.getlocal, debug.setlocal
local getupvalue, setupvalue = debug.getupvalue, debug.setupvalue

local function describe(info)
  local what = info.name and ("function '" .. info.name .. "'")
    or (info.what == "main" and "main chunk")
    or (info.what == "C" and "?")
    or ("function <" .. info.short_src .. ":" .. info.linedefined .. ">")
  if info.what == "C" then return "[C]: in " .. what end
  return info.short_src .. ":" .. (info.currentline or "?") .. ": in " .. what
end

-- The source text of the frame's current line, when the file is readable.
local function source_line(info)
  if info.source:sub(1, 1) ~= "@" or (info.currentline or 0) < 1 then return nil end
  local f = io.open(info.source:sub(2), "r")
  if not f then return nil end
  local n = 0
  for line in f:lines() do
    n = n + 1
    if n == info.currentline then
      f:close()
      return line
    end
  end
  f:close()
  return nil
end

-- The names a frame can see, with where each lives: name -> index. Later locals of
-- the same name shadow earlier ones, as in the source.
local function local_slots(T, level)
  local map, i = {}, 1
  while true do
    local name = getlocal(T, level, i)
    if name == nil then break end
    if name:sub(1, 1) ~= "(" then map[name] = i end
    i = i + 1
  end
  return map
end

local function upvalue_slots(f)
  local map, i = {}, 1
  while f do
    local name = getupvalue(f, i)
    if name == nil then break end
    if name ~= "" then map[name] = i end
    i = i + 1
  end
  return map
end

-- A scope for repl.session: names of the frame at `frame.level` of thread T.
local function frame_scope(T, frame)
  local scope = {}
  local function func() local info = getinfo(T, frame.level, "f") return info and info.func end
  function scope.get(name)
    local i = local_slots(T, frame.level)[name]
    if i then return true, select(2, getlocal(T, frame.level, i)) end
    local f = func()
    local u = upvalue_slots(f)[name]
    if u then return true, select(2, getupvalue(f, u)) end
    local env = f and getfenv(f)
    if env and env ~= _G and env[name] ~= nil then return true, env[name] end
    return false
  end
  function scope.set(name, value)
    local i = local_slots(T, frame.level)[name]
    if i then setlocal(T, frame.level, i, value) return true end
    local f = func()
    local u = upvalue_slots(f)[name]
    if u then setupvalue(f, u, value) return true end
    return false
  end
  function scope.names()
    local names = {}
    for k in pairs(local_slots(T, frame.level)) do names[#names + 1] = k end
    for k in pairs(upvalue_slots(func())) do names[#names + 1] = k end
    return names
  end
  return scope
end

local function show_frame(T, level, marker)
  local info = getinfo(T, level, "nSl")
  local text = (marker or "") .. describe(info)
  local src = source_line(info)
  if src then text = text .. "\n    " .. info.currentline .. "  " .. src:gsub("^%s+", "") end
  repl.out(text)
end

local function session_commands(T, frame, kind)
  local c = {}
  c.where = { help = "show the stack; > marks the selected frame", run = function()
    local lines = {}
    for l = frame.top, frame.bottom do
      local info = getinfo(T, l, "nSl")
      lines[#lines + 1] = (l == frame.level and "> " or "  ") .. "#" .. (l - frame.top) .. " " .. describe(info)
    end
    repl.out(table.concat(lines, "\n"))
  end }
  c.up = { help = "select the caller of the selected frame", run = function()
    if frame.level >= frame.bottom then return repl.err("already at the outermost frame") end
    frame.level = frame.level + 1
    show_frame(T, frame.level, "#" .. (frame.level - frame.top) .. " ")
  end }
  c.down = { help = "select the frame the selected one called", run = function()
    if frame.level <= frame.top then return repl.err("already at the innermost frame") end
    frame.level = frame.level - 1
    show_frame(T, frame.level, "#" .. (frame.level - frame.top) .. " ")
  end }
  c.locals = { help = "show the selected frame's locals and upvalues", run = function()
    local lines = {}
    local slots = local_slots(T, frame.level)
    local names = {}
    for k in pairs(slots) do names[#names + 1] = k end
    table.sort(names, function(a, b) return slots[a] < slots[b] end)
    for _, k in ipairs(names) do
      lines[#lines + 1] = "  " .. k .. " = " .. pretty.format(select(2, getlocal(T, frame.level, slots[k])))
    end
    local info = getinfo(T, frame.level, "f")
    local ups = upvalue_slots(info and info.func)
    local unames = {}
    for k in pairs(ups) do unames[#unames + 1] = k end
    table.sort(unames)
    for _, k in ipairs(unames) do
      lines[#lines + 1] = "  " .. k .. " = " .. pretty.format(select(2, getupvalue(info.func, ups[k]))) .. "  (upvalue)"
    end
    repl.out(#lines > 0 and table.concat(lines, "\n") or "(no locals)")
  end }
  c.quit = { help = "stop the script (exit status 1)", run = function() return "quit" end }
  c.exit = c.quit
  if kind == "breakpoint" then
    c.continue = { help = "leave the session and go on with the script (also Ctrl-D)",
      run = function() return "continue" end }
  end
  return c
end

local internal = {}

-- Runs in a fresh coroutine while thread T waits in coroutine.resume inside `enter`.
local function session_body(T, enter, kind, banner)
  -- Find `enter` on T's stack, then the first frame above our own machinery and the C
  -- functions between (the message handler, `error`): that is the user's frame.
  local level = 0
  while true do
    local info = getinfo(T, level, "f")
    if info == nil then return "error" end
    level = level + 1
    if info.func == enter then break end
  end
  while true do
    local info = getinfo(T, level, "Sf")
    if info == nil then return "error" end
    if not internal[info.func] and info.what ~= "C" then break end
    level = level + 1
  end
  local bottom = level
  while getinfo(T, bottom + 1, "l") do bottom = bottom + 1 end
  local frame = { level = level, top = level, bottom = bottom }
  if banner then repl.out(banner) end
  show_frame(T, level, kind == "breakpoint" and "breakpoint at " or "stopped at ")
  local s = repl.session {
    prompt = "debug> ",
    prompt2 = "debug>> ",
    scope = frame_scope(T, frame),
    commands = session_commands(T, frame, kind),
  }
  local reason = s:run()
  s.editor = nil
  return reason
end

local function enter(kind, banner)
  local T = repl.current_thread()
  local co = coroutine.create(session_body)
  local ok, reason = coroutine.resume(co, T, enter, kind, banner)
  collectgarbage()  -- closes the session's line editor: the terminal goes back to normal
  if not ok then
    repl.err("hostsync.debug: the session failed: " .. tostring(reason))
    return "error"
  end
  return reason
end
internal[enter] = true

local function caller_location(level)
  local info = getinfo(level + 1, "Sl")
  return info and (info.short_src .. ":" .. (info.currentline or "?")) or "?"
end

-- hostsync.debug.breakpoint([label]): a session at the caller's line; leaving it (Ctrl-D
-- or .continue) goes on with the script, .quit stops it with exit status 1. Without a
-- terminal, one line on stderr and nothing else.
function M.breakpoint(label)
  if label ~= nil and type(label) ~= "string" then error("Usage: debug.breakpoint([label: string])", 2) end
  if not repl.is_terminal() then
    io.stderr:write("hostsync: breakpoint at ", caller_location(2), label and (" (" .. label .. ")") or "",
      " skipped: no terminal\n")
    return
  end
  local reason = enter("breakpoint", label and ("breakpoint: " .. label) or nil)
  if reason == "quit" then
    io.stdout:flush()
    os.exit(1)
  end
end
internal[M.breakpoint] = true

-- The message handler's hook under `hostsync run --debug`: called with the error
-- message and traceback while the failing stack is still alive. Returns the error the
-- run then reports (a structured one: the traceback was already shown).
function M.post_mortem(message)
  repl.err(tostring(message))
  local first = tostring(message):match("^[^\n]*")
  enter("post-mortem", "post-mortem: the script failed; its stack is kept until you leave (.help, .quit)")
  return setmetatable({ message = "hostsync: " .. first, exit_code = 1 },
    { __tostring = function(e) return e.message end })
end
internal[M.post_mortem] = true

return M
