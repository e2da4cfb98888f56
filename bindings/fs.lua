-- hostsync.fs: files and directories with the durability rules of docs/architecture.md.
--
--   local fs = require "hostsync.fs"
--   fs.write_atomic("state/cursor.json", data)        -- old or new, never torn
--   fs.create_exclusive("out/packet-0001.json", data) -- never overwrites
--   fs.append("log/events.jsonl", line .. "\n")       -- O_APPEND, locked, fdatasync'ed
--   local lock = assert(fs.lock("run.lock", { wait = 5 }))
--   local r = assert(fs.line_reader("index.csv"))
--   for line, start in r:lines() do ... end
--
-- Failures of the world return nil, err ("open /x/y.csv: No such file or directory");
-- wrong arguments raise "Usage: ...". Reference: docs/api/fs.md.
local _, raw = ...

local type, error, tostring, pairs = type, error, tostring, pairs

local M = {}

-- Argument checks --------------------------------------------------------------

local function check_path(v, usage, what)
  if type(v) ~= "string" or v == "" then
    error(usage .. ": " .. (what or "path") .. " must be a non-empty string, got " .. (v == "" and '""' or type(v)), 3)
  end
end

local function check_string(v, usage, what)
  if type(v) ~= "string" then error(usage .. ": " .. what .. " must be a string, got " .. type(v), 3) end
end

local check = require "hostsync.check"
local is_count = check.is_count

local function check_count(v, usage, what)
  if not is_count(v) then error(usage .. ": " .. what .. " must be a non-negative integer, got " .. tostring(v), 3) end
end

-- opts must be nil or a table whose keys are all in `allowed` (name -> lua type).
local check_opts = check.opts

-- Whole files ------------------------------------------------------------------

function M.read_file(path)
  check_path(path, "Usage: fs.read_file(path)")
  return raw.read_file(path)
end

function M.read_range(path, offset, length)
  local usage = "Usage: fs.read_range(path, offset, length)"
  check_path(path, usage)
  check_count(offset, usage, "offset")
  check_count(length, usage, "length")
  return raw.read_range(path, offset, length)
end

function M.write_atomic(path, data)
  local usage = "Usage: fs.write_atomic(path, data)"
  check_path(path, usage)
  check_string(data, usage, "data")
  return raw.write_atomic(path, data)
end

function M.create_exclusive(path, data)
  local usage = "Usage: fs.create_exclusive(path, data)"
  check_path(path, usage)
  check_string(data, usage, "data")
  return raw.create_exclusive(path, data)
end

function M.append(path, data)
  local usage = "Usage: fs.append(path, data)"
  check_path(path, usage)
  check_string(data, usage, "data")
  return raw.append(path, data)
end

-- Streaming appender -------------------------------------------------------------

local appender = {}

-- w:write(...) -> w | nil, err: strings and numbers, like file:write (checked in C).
appender.write = raw.appender_write

appender.flush = raw.appender_flush
appender.sync = raw.appender_sync
appender.close = raw.appender_close
appender.bytes = raw.appender_bytes
appender.sha256_hex = raw.appender_sha256_hex

raw.appender_mt.__index = appender
raw.appender_mt.__tostring = function(w)
  return "hostsync.fs.appender (" .. (raw.appender_is_open(w) and "open" or "closed") .. ", " .. raw.appender_bytes(w) .. " bytes)"
end
raw.appender_mt.__metatable = "hostsync.fs.appender"

function M.appender(path, opts)
  local usage = "Usage: fs.appender(path [, {exclusive=bool, sha256=bool}])"
  check_path(path, usage)
  opts = check_opts(opts, { exclusive = "boolean", sha256 = "boolean" }, usage)
  return raw.appender(path, opts.exclusive, opts.sha256)
end

-- Lock ---------------------------------------------------------------------------

local lock = { release = raw.lock_release, held = raw.lock_held }
raw.lock_mt.__index = lock
raw.lock_mt.__tostring = function(l) return "hostsync.fs.lock (" .. (raw.lock_held(l) and "held" or "released") .. ")" end
raw.lock_mt.__metatable = "hostsync.fs.lock"

function M.lock(path, opts)
  local usage = "Usage: fs.lock(path [, {wait=seconds, shared=bool}])"
  check_path(path, usage)
  opts = check_opts(opts, { wait = "number", shared = "boolean" }, usage)
  local wait = opts.wait or 0
  if not (wait >= 0 and wait < math.huge) then error(usage .. ": wait must be >= 0 and finite", 2) end
  return raw.lock(path, wait, opts.shared == true)
end

-- Line reader --------------------------------------------------------------------

local reader = {
  sha256_hex = raw.reader_sha256_hex,
  next = raw.reader_next,
  offset = raw.reader_offset,
  line_no = raw.reader_line_no,
  partial_bytes = raw.reader_partial_bytes,
  close = raw.reader_close,
}

-- r:render(template [, {limit=, max_bytes=, separator=}])
--   -> text, count, last_start, last_sha256 | nil (no complete line left) | nil, err
local template_mt = raw.template_mt
function reader:render(tpl, opts)
  local usage = "Usage: r:render(template [, {limit=n, max_bytes=n, separator=s}])"
  if getmetatable(tpl) ~= "hostsync.fs.line_template" then error(usage .. ": template must be an fs.line_template", 2) end
  opts = check_opts(opts, { limit = "number", max_bytes = "number", separator = "string" }, usage)
  if opts.limit ~= nil then check_count(opts.limit, usage, "limit") end
  if opts.max_bytes ~= nil then check_count(opts.max_bytes, usage, "max_bytes") end
  return raw.reader_render(self, tpl, opts.limit or 0, opts.max_bytes or 0, opts.separator or "")
end

-- for line, start in r:lines() do ... end. The iterator is a C function (no Lua frame
-- per line) that raises on an I/O error, where r:next() returns nil, err: a bare
-- `for ... in r.next, r` would end silently on an error as if at the end of the file.
local raw_iter = raw.reader_iter
function reader:lines()
  return raw_iter, self
end

raw.reader_mt.__index = reader
raw.reader_mt.__metatable = "hostsync.fs.line_reader"

function M.line_reader(path, opts)
  local usage = "Usage: fs.line_reader(path [, {offset=n, line_no=n, sha256=bool}])"
  check_path(path, usage)
  opts = check_opts(opts, { offset = "number", line_no = "number", sha256 = "boolean" }, usage)
  if opts.offset ~= nil then check_count(opts.offset, usage, "offset") end
  if opts.line_no ~= nil then check_count(opts.line_no, usage, "line_no") end
  return raw.line_reader(path, opts.offset or 0, opts.line_no or 0, opts.sha256 == true)
end

-- fs.line_pattern{ 'text', fs.match.counter("seq"), ... }: the layout r:match checks.
M.match = {}
for _, kind in ipairs({ "counter", "increasing", "string", "string_object", "object_sha256", "iso_time" }) do
  M.match[kind] = function(name)
    if type(name) ~= "string" then error("Usage: fs.match." .. kind .. "(name)", 2) end
    return { match = kind, name = name }
  end
end

function M.line_pattern(parts, opts)
  local usage = "Usage: fs.line_pattern({ 'text', fs.match.kind(name), ... } [, {counter=n, after=n}])"
  if type(parts) ~= "table" then error(usage, 2) end
  for i, p in ipairs(parts) do
    if type(p) ~= "string" and not (type(p) == "table" and M.match[p.match] and type(p.name) == "string") then
      error(usage .. ": part " .. i .. " is a " .. type(p) .. ", not text or an fs.match value", 2)
    end
  end
  opts = check_opts(opts, { counter = "number", after = "number" }, usage)
  if opts.counter ~= nil then check_count(opts.counter, usage, "counter") end
  if opts.after ~= nil then check_count(opts.after, usage, "after") end
  return raw.line_pattern(parts, opts.counter or 1, opts.after or 0)
end
raw.pattern_mt.__index = { counter = raw.pattern_counter, after = raw.pattern_after }
raw.pattern_mt.__metatable = "hostsync.fs.line_pattern"

-- r:match(pattern [, {limit=n}]) -> count, "end" | "limit" | "mismatch" [, mismatch] | nil, err
function reader:match(pat, opts)
  local usage = "Usage: r:match(pattern [, {limit=n}])"
  if getmetatable(pat) ~= "hostsync.fs.line_pattern" then error(usage .. ": pattern must be an fs.line_pattern", 2) end
  opts = check_opts(opts, { limit = "number" }, usage)
  if opts.limit ~= nil then check_count(opts.limit, usage, "limit") end
  return raw.reader_match(self, pat, opts.limit or 0)
end

-- fs.line_template{ 'text', fs.slot.text, ... }: the layout r:render writes per line.
M.slot = {}
for _, name in ipairs({ "text", "text_sha256", "line_no", "offset" }) do
  M.slot[name] = setmetatable({ slot = name }, { __newindex = function() error("fs.slot is read-only", 2) end,
                                                 __tostring = function() return "fs.slot." .. name end })
end
local is_slot = {}
for _, v in pairs(M.slot) do is_slot[v] = true end

function M.line_template(parts)
  local usage = "Usage: fs.line_template{ 'text', fs.slot.name, ... }"
  if type(parts) ~= "table" then error(usage, 2) end
  for i, p in ipairs(parts) do
    if type(p) ~= "string" and not is_slot[p] then
      error(usage .. ": part " .. i .. " is a " .. type(p) .. ", not text or an fs.slot value", 2)
    end
  end
  return raw.line_template(parts)
end
template_mt.__metatable = "hostsync.fs.line_template"
template_mt.__tostring = function() return "hostsync.fs.line_template" end

-- Directory operations -----------------------------------------------------------

function M.stat(path, opts)
  local usage = "Usage: fs.stat(path [, {follow=bool}])"
  check_path(path, usage)
  opts = check_opts(opts, { follow = "boolean" }, usage)
  return raw.stat(path, opts.follow)
end

function M.exists(path)
  check_path(path, "Usage: fs.exists(path)")
  return raw.exists(path)
end

function M.mkdir_p(path, mode)
  local usage = "Usage: fs.mkdir_p(path [, mode])"
  check_path(path, usage)
  if mode ~= nil and not (is_count(mode) and mode <= 4095) then
    error(usage .. ": mode must be an integer 0..4095 (e.g. tonumber('755', 8))", 2)
  end
  return raw.mkdir_p(path, mode)
end

function M.listdir(path)
  check_path(path, "Usage: fs.listdir(path)")
  return raw.listdir(path)
end

function M.remove(path)
  check_path(path, "Usage: fs.remove(path)")
  return raw.remove(path)
end

function M.remove_tree(path)
  local usage = "Usage: fs.remove_tree(path)"
  check_path(path, usage)
  if path == "/" then error(usage .. ": refusing to remove /", 2) end
  return raw.remove_tree(path)
end

function M.rename(old, new, opts)
  local usage = "Usage: fs.rename(old, new [, {no_replace=bool}])"
  check_path(old, usage, "old")
  check_path(new, usage, "new")
  opts = check_opts(opts, { no_replace = "boolean" }, usage)
  return raw.rename(old, new, opts.no_replace)
end

function M.fsync_dir(path)
  check_path(path, "Usage: fs.fsync_dir(path)")
  return raw.fsync_dir(path)
end

function M.mkdtemp(prefix)
  check_path(prefix, "Usage: fs.mkdtemp(prefix)", "prefix")
  return raw.mkdtemp(prefix)
end

function M.realpath(path)
  check_path(path, "Usage: fs.realpath(path)")
  return raw.realpath(path)
end

function M.confine(root, relpath)
  local usage = "Usage: fs.confine(root, relpath)"
  check_path(root, usage, "root")
  check_string(relpath, usage, "relpath")
  return raw.confine(root, relpath)
end

-- Confined creation (host/fs_safe) ----------------------------------------------------
-- Paths are relative to `root` and walked with O_NOFOLLOW: symlinks below the root are
-- refused, never followed; "..", absolute and empty paths are refused. `within` (a
-- relative directory) restricts writes to that subtree of the root.

local function check_rel(v, usage)
  if type(v) ~= "string" or v == "" then error(usage .. ": relpath must be a non-empty string", 3) end
end

local function check_mode(v, usage)
  if v ~= nil and not (is_count(v) and v <= 4095) then
    error(usage .. ": mode must be an integer 0..4095 (e.g. tonumber('644', 8))", 3)
  end
end

function M.safe_create(root, relpath, data, opts)
  local usage = "Usage: fs.safe_create(root, relpath, data [, {within=, mkdirs=bool, mode=n}])"
  check_path(root, usage, "root")
  check_rel(relpath, usage)
  check_string(data, usage, "data")
  opts = check_opts(opts, { within = "string", mkdirs = "boolean", mode = "number" }, usage)
  check_mode(opts.mode, usage)
  return raw.safe_create(root, relpath, data, opts.within, opts.mkdirs, opts.mode)
end

function M.safe_mkdir(root, relpath, opts)
  local usage = "Usage: fs.safe_mkdir(root, relpath [, {within=, parents=bool, exclusive=bool, mode=n}])"
  check_path(root, usage, "root")
  check_rel(relpath, usage)
  opts = check_opts(opts, { within = "string", parents = "boolean", exclusive = "boolean", mode = "number" }, usage)
  check_mode(opts.mode, usage)
  return raw.safe_mkdir(root, relpath, opts.within, opts.parents, opts.exclusive, opts.mode)
end

local safe_writer = {
  write = raw.safe_writer_write,
  commit = raw.safe_writer_commit,
  finish = raw.safe_writer_commit,
  abort = raw.safe_writer_abort,
  bytes = raw.safe_writer_bytes,
  state = raw.safe_writer_state,
  path = raw.safe_writer_path,
}
raw.safe_writer_mt.__index = safe_writer
raw.safe_writer_mt.__tostring = function(w)
  return "hostsync.fs.safe_writer (" .. raw.safe_writer_state(w) .. ", " .. raw.safe_writer_bytes(w) .. " bytes)"
end
raw.safe_writer_mt.__metatable = "hostsync.fs.safe_writer"

function M.safe_writer(root, relpath, opts)
  local usage = "Usage: fs.safe_writer(root, relpath [, {within=, mkdirs=bool, mode=n, fsync=bool}])"
  check_path(root, usage, "root")
  check_rel(relpath, usage)
  opts = check_opts(opts, { within = "string", mkdirs = "boolean", mode = "number", fsync = "boolean" }, usage)
  check_mode(opts.mode, usage)
  local durable = opts.fsync
  if durable == nil then durable = true end
  return raw.safe_writer(root, relpath, opts.within, opts.mkdirs, opts.mode, durable)
end

function M.isatty(fd)
  if not (is_count(fd) and fd < 2 ^ 31) then error("Usage: fs.isatty(fd): fd must be a descriptor number such as 0, 1 or 2", 2) end
  return raw.isatty(fd)
end

return M
