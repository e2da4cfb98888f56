-- hostsync.repl: the interactive session behind `hostsync repl`, also used by the
-- debugger (hostsync.debug) to open a session inside a stopped script.
--
-- The policy lives here: what a line means (an expression prints its values, a
-- leading `local` persists, an incomplete chunk asks for more), the dot-commands,
-- what Tab completes, how errors are shown. The raw table gives only line editing
-- (libedit), terminal detection, the SIGINT interrupt hook and chdir.
--
--   local repl = require "hostsync.repl"
--   local s = repl.session{ prompt = "> " }
--   s:run()
local _, raw = ...
local pretty = require "hostsync.pretty"

local check_opts = require("hostsync.check").opts

local M = {}

local type, pairs, ipairs, tostring, select = type, pairs, ipairs, tostring, select
local concat, sort = table.concat, table.sort
local getmetatable = debug.getmetatable  -- host objects hide theirs behind __metatable

local function pack(...) return { n = select("#", ...), ... } end

function M.is_terminal() return raw.isatty(0) and raw.isatty(1) end

M.current_thread = raw.current_thread

-- The history file: $HOSTSYNC_HISTORY (empty: none), else ~/.hostsync_history.
function M.history_path()
  local h = os.getenv("HOSTSYNC_HISTORY")
  if h then return h end
  local home = os.getenv("HOME")
  return home and home ~= "" and (home .. "/.hostsync_history") or ""
end

local function out(s)
  io.stdout:write(s, "\n")
  io.stdout:flush()
end
M.out = out

local function err(s)
  io.stdout:flush()  -- keep results and errors in the order they happened
  io.stderr:write(s, "\n")
  io.stderr:flush()
end
M.err = err

---------------------------------------------------------------------------------------
-- Compiling a line

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do keywords[w] = true end

-- A chunk that begins with `local` would lose its variables when the chunk ends. So
-- `local a, b = ...` becomes `a, b = ...` with a and b declared as session variables
-- (the environment routes them to the session's own table, not to _G). Only the
-- leading statement is rewritten: locals inside a body are ordinary locals.
local function rewrite_local(src)
  local s = src:match("^%s*local%s+(.*)$")
  if not s then return src, nil end
  local fname = s:match("^function%s+([%a_][%w_]*)")
  if fname then return (src:gsub("^%s*local%s+function", "function", 1)), { fname } end
  local names, pos = {}, 1
  while true do
    local name, after = s:match("^%s*([%a_][%w_]*)()", pos)
    if not name or keywords[name] then return src, nil end
    names[#names + 1] = name
    pos = after
    local comma = s:match("^%s*,()", pos)
    if not comma then break end
    pos = comma
  end
  local rest = s:sub(pos)
  local list = concat(names, ", ")
  if rest:match("^%s*=") and not rest:match("^%s*==") then return list .. rest, names end
  return list .. " = nil" .. rest, names
end
M.rewrite_local = rewrite_local

local function incomplete(message)
  return message:find("'<eof>'$") ~= nil or message:find("<eof>$") ~= nil
end

-- compile(src, chunkname [, env]) -> fn, declared_names | nil, "incomplete" | nil, message.
-- An expression is tried first, so `1 + 1` and `f()` print results. Not as a plain
-- `return <src>`: LuaJIT makes `return error("x")` a real tail call, which loses the
-- "repl:1:" position. The values go through an identity function passed as `...`.
local function identity(...) return ... end

local function compile(src, chunkname, env)
  local body, declared = rewrite_local(src)
  local expr_incomplete = false
  if not declared then
    local f, msg = loadstring("return (...)(" .. src .. "\n)", chunkname)
    if f then
      if env then setfenv(f, env) end
      return function() return f(identity) end
    end
    -- The wrapper's closing parenthesis hides an open chunk: ask the plain form.
    expr_incomplete = incomplete(select(2, loadstring("return " .. src, chunkname)) or "")
  end
  local f, msg = loadstring(body, chunkname)
  if f then
    if env then setfenv(f, env) end
    return f, declared
  end
  -- Either form still open (`{` or `1 +` as an expression, `for ... do` as a
  -- statement) means the user is not done yet.
  if expr_incomplete or incomplete(msg) then return nil, "incomplete" end
  return nil, msg
end
M.compile = compile

---------------------------------------------------------------------------------------
-- Running user code

-- Drops the REPL's own frames from a traceback: they are noise to the user.
local function trim_traceback(tb)
  local lines = {}
  for line in (tb .. "\n"):gmatch("(.-)\n") do
    if line:find("bindings/repl.lua:", 1, true) or line:find("in function 'xpcall'", 1, true) then break end
    lines[#lines + 1] = line
  end
  if lines[#lines] == "stack traceback:" then lines[#lines] = nil end
  return concat(lines, "\n")
end

local function error_text(e)
  if type(e) == "string" then return e end
  if type(e) == "table" and e.message ~= nil and not (getmetatable(e) or {}).__tostring then
    return tostring(e.message)
  end
  local mt = getmetatable(e)
  if mt and type(mt) == "table" and mt.__tostring then
    local ok, s = pcall(tostring, e)
    if ok then return s end
  end
  return "(error object) " .. pretty.format(e)
end

local function handler(e)
  return trim_traceback(debug.traceback(error_text(e), 2))
end

-- Runs fn(...) as user code: Ctrl-C interrupts it, errors come back with a traceback.
-- Returns true, results... or false, message.
function M.call(fn, ...)
  local args = pack(...)
  raw.interrupt(true)
  local r = pack(xpcall(function() return fn(unpack(args, 1, args.n)) end, handler))
  raw.interrupt(false)
  return unpack(r, 1, r.n)
end

---------------------------------------------------------------------------------------
-- The session

local Session = {}
Session.__index = Session

-- repl.session{ prompt=, prompt2=, scope=, commands=, banner= } -> session
-- `scope` (used by the debugger) resolves names before globals: scope.get(name) ->
-- found, value; scope.set(name, value) -> handled; scope.names() -> array of names.
function M.session(opts)
  opts = check_opts(opts, { prompt = "string", prompt2 = "string", scope = "table", commands = "table", banner = "string" },
                    "Usage: repl.session([{prompt=, prompt2=, scope=, commands=, banner=}])")
  local s = setmetatable({
    prompt = opts.prompt or "> ",
    prompt2 = opts.prompt2 or ">> ",
    scope = opts.scope,
    declared = {},  -- names of session variables (from `local`)
    vals = {},      -- their values (a declared name may hold nil)
    commands = {},
    interactive = M.is_terminal(),
    failures = 0,
  }, Session)
  for name, c in pairs(M.commands) do s.commands[name] = c end
  for name, c in pairs(opts.commands or {}) do s.commands[name] = c end
  local declared, vals = s.declared, s.vals
  s.env = setmetatable({}, {
    __index = function(_, k)
      if declared[k] then return vals[k] end
      if s.scope then
        local found, v = s.scope.get(k)
        if found then return v end
      end
      return _G[k]
    end,
    __newindex = function(_, k, v)
      if declared[k] then vals[k] = v return end
      if s.scope and s.scope.set(k, v) then return end
      _G[k] = v
    end,
  })
  return s
end

-- Prints the results of an expression, tab-separated, as `print` would.
function Session:show(r, first)
  if r.n < first then return end
  local parts = {}
  for i = first, r.n do parts[#parts + 1] = pretty.format(r[i]) end
  out(concat(parts, "\t"))
end

-- Runs one compiled chunk (compiled with the session's environment).
function Session:execute(fn, declared)
  if declared then for _, name in ipairs(declared) do self.declared[name] = true end end
  local r = pack(M.call(fn))
  if r[1] then
    self:show(r, 2)
  else
    self.failures = self.failures + 1
    err(r[2])
  end
  return r[1]
end

-- Runs source text (a line, -e CODE, .load FILE) as a chunk of the session.
function Session:eval(src, chunkname)
  local fn, msg = compile(src, chunkname or "=repl", self.env)
  if not fn then
    self.failures = self.failures + 1
    err(msg == "incomplete" and ("incomplete chunk: " .. src) or msg)
    return false
  end
  return self:execute(fn, msg)
end

-- One line of input: a string, false (Ctrl-C) or nil (end of input).
function Session:readline(prompt)
  if self.interactive then
    if not self.editor then
      self.editor = raw.editor(M.history_path())
      raw.set_completer(self.editor, function(before) return M.complete(self, before) end)
    end
    return raw.read(self.editor, prompt)
  end
  return io.stdin:read("*l")
end

-- Reads a chunk, asking for more lines while it is incomplete. Returns
-- "command", name, argument | "chunk", fn, declared | "error", message | "cancel" | nil.
function Session:read_chunk()
  local line = self:readline(self.prompt)
  if line == nil then return nil end
  if line == false then return "cancel" end
  local name, arg = line:match("^%s*%.([%a_]+)%s*(.-)%s*$")
  if name then
    if self.editor then raw.add_history(self.editor, line) end
    return "command", name, arg
  end
  local src = line
  while true do
    if src:match("^%s*$") then return "empty" end
    local fn, declared = compile(src, "=repl", self.env)
    if fn or declared ~= "incomplete" then
      if self.editor then raw.add_history(self.editor, src) end
      if fn then return "chunk", fn, declared end
      return "error", declared
    end
    local more = self:readline(self.prompt2)
    if more == false then return "cancel" end
    if more == nil then return "error", "incomplete chunk at end of input: " .. src end
    src = src .. "\n" .. more
  end
end

-- The loop. Returns why it ended: "eof", or what a command returned ("quit", ...).
function Session:run()
  if not self.interactive then io.stdout:setvbuf("line") end
  while true do
    local kind, a, b = self:read_chunk()
    if kind == nil then
      if self.interactive then io.stdout:write("\n") end
      return "eof"
    elseif kind == "command" then
      local c = self.commands[a]
      if not c then
        err("unknown command ." .. a .. " (.help lists them)")
      else
        local ok, result = M.call(c.run, self, b)
        if not ok then err(result) elseif result then return result end
      end
    elseif kind == "chunk" then
      self:execute(a, b)
    elseif kind == "error" then
      self.failures = self.failures + 1
      err(a)
    end
  end
end

---------------------------------------------------------------------------------------
-- Dot-commands: { run = function(session, argument) -> nil | reason_to_end, help = }

M.commands = {}

M.commands.help = { help = "list the commands", run = function(s)
  local names = {}
  for name in pairs(s.commands) do names[#names + 1] = name end
  sort(names)
  local lines = { "Lua statements and expressions (an expression prints its value; a leading",
    "`local` persists; an incomplete chunk continues on the next line). Commands:" }
  for _, name in ipairs(names) do
    local c = s.commands[name]
    lines[#lines + 1] = string.format("  .%-16s %s", name .. (c.arg and (" " .. c.arg) or ""), c.help)
  end
  lines[#lines + 1] = "Tab completes names, fields and methods; Ctrl-C cancels a line or"
  lines[#lines + 1] = "interrupts a statement; Ctrl-D leaves."
  out(concat(lines, "\n"))
end }

M.commands.load = { arg = "FILE", help = "run a Lua file in this session", run = function(s, file)
  if file == "" then return err("Usage: .load FILE") end
  local fn, msg = loadfile(file)
  if not fn then
    s.failures = s.failures + 1
    return err(msg)
  end
  s:execute(setfenv(fn, s.env))
end }

-- Rebinds session variables and globals that held the old module table, so
-- `local p = require "policy"` followed by `.reload policy` uses the edited code.
local function rebind(s, old, new)
  local names = {}
  if type(old) ~= "table" then return names end
  for k, v in pairs(s.vals) do
    if v == old then s.vals[k] = new; names[#names + 1] = k end
  end
  for k, v in pairs(_G) do
    if v == old then _G[k] = new; names[#names + 1] = k end
  end
  sort(names)
  return names
end

M.commands.reload = { arg = "MODULE", help = "require MODULE again (after editing it)", run = function(s, name)
  if name == "" then return err("Usage: .reload MODULE") end
  local old = package.loaded[name]
  package.loaded[name] = nil
  local ok, new = M.call(require, name)
  if not ok then
    package.loaded[name] = old
    s.failures = s.failures + 1
    return err(new)
  end
  local names = rebind(s, old, new)
  out("reloaded " .. name .. (#names > 0 and (" (rebound: " .. concat(names, ", ") .. ")") or ""))
end }

M.commands.quit = { help = "leave the session", run = function() return "quit" end }
M.commands.exit = { help = "the same as .quit", run = function() return "quit" end }

---------------------------------------------------------------------------------------
-- Tab completion

-- Every key of a value reachable with `.` or `:`: its own (if a table) and those of
-- its metatables' __index tables (methods of host objects, string methods).
local function fields(v, seen_out)
  local names = seen_out or {}
  local depth = 0
  while v ~= nil and depth < 8 do
    if type(v) == "table" then
      for k in pairs(v) do if type(k) == "string" then names[k] = true end end
    end
    local mt = getmetatable(v)
    local index = type(mt) == "table" and rawget(mt, "__index") or nil
    if type(index) ~= "table" or index == v then break end
    v, depth = index, depth + 1
  end
  return names
end

local function safe_index(v, k)
  if type(v) ~= "table" and getmetatable(v) == nil then return nil end
  local ok, r = pcall(function() return v[k] end)
  if ok then return r end
  return nil
end

local function common_prefix(list)
  local p = list[1]
  for i = 2, #list do
    local s = list[i]
    local n = 0
    while n < #p and n < #s and p:byte(n + 1) == s:byte(n + 1) do n = n + 1 end
    p = p:sub(1, n)
  end
  return p
end

local function columns(list)
  local width = 0
  for _, s in ipairs(list) do width = math.max(width, #s) end
  width = width + 2
  local per_line = math.max(1, math.floor(80 / width))
  local lines, line = {}, {}
  for i, s in ipairs(list) do
    line[#line + 1] = s .. string.rep(" ", width - #s)
    if #line == per_line or i == #list then
      lines[#lines + 1] = concat(line):gsub("%s+$", "")
      line = {}
    end
  end
  return concat(lines, "\n")
end

-- Candidate names (a set) for what precedes the cursor, the partial word they complete,
-- and whether they are module names (dotted) rather than identifiers.
function M.candidates(s, before)
  -- require "hostsync.cs  -> the module names require knows about
  local partial_mod = before:match("require%s*%(?%s*[\"']([%w_%.%-]*)$")
  if partial_mod then
    local set = {}
    for k in pairs(package.preload) do set[k] = true end
    for k in pairs(package.loaded) do set[k] = true end
    return set, partial_mod, true
  end
  local path, sep, partial = before:match("([%a_][%w_%.]*)([%.:])([%w_]*)$")
  local set = {}
  if not path then
    partial = before:match("[%a_][%w_]*$") or ""
    if before:sub(#before - #partial, #before - #partial):match("[%.:]") then return set, partial end
    for k in pairs(keywords) do set[k] = true end
    for k in pairs(_G) do if type(k) == "string" then set[k] = true end end
    for k in pairs(s.declared) do set[k] = true end
    if s.scope then for _, k in ipairs(s.scope.names()) do set[k] = true end end
    return set, partial
  end
  local v = s.env[path:match("^[^%.]+")]
  for part in path:gmatch("%.([^%.]+)") do v = safe_index(v, part) end
  if v == nil then return set, partial end
  fields(v, set)
  if v == rawget(_G, "hostsync") then  -- the lazy namespace: modules not loaded yet
    for k in pairs(package.preload) do
      local mod = k:match("^hostsync%.([%w_]+)$")
      if mod then set[mod] = true end
    end
  end
  if sep == ":" then
    for k in pairs(set) do
      if type(safe_index(v, k)) ~= "function" then set[k] = nil end
    end
  end
  return set, partial
end

-- The completer libedit calls on Tab: -> text to insert, listing to show.
function M.complete(s, before)
  local set, partial, module_names = M.candidates(s, before)
  local list = {}
  for k in pairs(set) do
    if k:sub(1, #partial) == partial and (module_names or pretty.is_identifier(k)) then list[#list + 1] = k end
  end
  sort(list)
  if #list == 0 then return "", "" end
  local prefix = common_prefix(list)
  if #prefix > #partial then return prefix:sub(#partial + 1), "" end
  if #list == 1 then return "", "" end
  if #list > 200 then return "", string.format("(%d names; type more)", #list) end
  return "", columns(list)
end

---------------------------------------------------------------------------------------
-- `hostsync repl`: opts = { root=, actions = { {"l", spec} | {"e", code} }, script=, args= }

local function add_path(dir)
  package.path = dir .. "/?.lua;" .. dir .. "/?/init.lua;" .. package.path
end

function M.main(opts)
  opts = check_opts(opts, { root = "string", actions = "table", script = "string", args = "table", version = "string" },
                    "Usage: repl.main{root=, actions=, script=, args=, version=}")
  local s = M.session()
  if opts.root then
    local ok, msg = raw.chdir(opts.root)
    if not ok then
      err("hostsync repl: " .. msg)
      return 2
    end
    for _, sub in ipairs({ "scripts", "policies" }) do add_path(opts.root .. "/" .. sub) end
    add_path(".")
  end
  for _, a in ipairs(opts.actions or {}) do
    local ok
    if a[1] == "l" then
      -- -l NAME: NAME = require "NAME"; -l g=NAME names the global (hostsync.csv -> csv)
      local global, mod = a[2]:match("^([%a_][%w_]*)=(.+)$")
      mod = mod or a[2]
      global = global or mod:match("([%w_]+)$")
      local r = pack(M.call(require, mod))
      ok = r[1]
      if ok then _G[global] = r[2] else err(r[2]) end
    else
      ok = s:eval(a[2], "=(command line)")
    end
    if not ok then return 1 end
  end
  if opts.script then
    add_path(opts.script:match("^(.*)/[^/]*$") or ".")
    local fn, msg = loadfile(opts.script)
    if not fn then
      err(msg)
      return 1
    end
    local r = pack(M.call(fn, unpack(opts.args or {})))
    if not r[1] then
      err(r[2])
      return 1
    end
  end
  if s.interactive then
    out("hostsync " .. (opts.version or "") .. " REPL (" .. jit.version .. "). .help for help, Ctrl-D to leave.")
  end
  local reason = s:run()
  s.editor = nil
  -- Driven through a pipe, the exit status tells the driving program whether every
  -- statement worked; on a terminal, leaving is always a success.
  if reason == "eof" and not s.interactive and s.failures > 0 then return 1 end
  return 0
end

return M
