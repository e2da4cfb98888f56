-- hostsync.tar: deterministic tar streams (libarchive) to any sink, and a safe reader.
--
--   local tar = require "hostsync.tar"
--   local paths = assert(tar.collect("tree"))            -- sorted, symlinks refused
--   local h = tar.hash_sink()
--   local w = assert(fs.safe_writer(out_root, "snap/archive.tar"))
--   assert(tar.write(tar.tee(h, w), "tree", paths))      -- finishes the tee: w commits
--   print(h:hex())                                       -- SHA-256 of the archive
--   assert(tar.extract("archive.tar", "restore", { max_bytes = 2^32 }))
--
-- A sink is any userdata whose metatable has `__hostsync_sink` (docs/architecture.md).
-- Failures of the world return nil, err; wrong arguments raise "Usage: ...".
-- Reference: docs/api/tar.md.
local _, raw = ...

local type, error, tostring, pairs, select = type, error, tostring, pairs, select
local getmetatable = debug.getmetatable

local M = {}

local check = require "hostsync.check"
local is_count, check_opts = check.is_count, check.opts

local function is_sink(v)
  if type(v) ~= "userdata" then return false end
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__hostsync_sink ~= nil
end
M.is_sink = is_sink

local function is_source(v)
  if type(v) == "string" then return v ~= "" end
  if type(v) == "function" then return true end
  if type(v) ~= "userdata" then return false end
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__hostsync_source ~= nil
end

-- Sinks ---------------------------------------------------------------------------

local sink_methods = {
  write = function(self, data)
    if type(data) ~= "string" then error("Usage: sink:write(data: string)", 2) end
    return raw.sink_write(self, data)
  end,
  finish = raw.sink_finish,
}

local hash_methods = { hex = raw.hash_hex, bytes = raw.hash_bytes }
for k, v in pairs(sink_methods) do hash_methods[k] = v end
raw.hash_sink_mt.__index = hash_methods
raw.hash_sink_mt.__tostring = function(s) return "hostsync.tar.hash_sink (" .. raw.hash_bytes(s) .. " bytes)" end
raw.hash_sink_mt.__metatable = "hostsync.tar.hash_sink"

raw.tee_mt.__index = sink_methods
raw.tee_mt.__tostring = function() return "hostsync.tar.tee" end
raw.tee_mt.__metatable = "hostsync.tar.tee"

-- A sink that hashes (SHA-256) and counts what it receives and stores nothing.
function M.hash_sink()
  return raw.hash_sink()
end

-- A sink writing every piece to each of its sinks, in order; finish() finishes each.
function M.tee(...)
  local n = select("#", ...)
  if n == 0 then error("Usage: tar.tee(sink, ...): at least one sink", 2) end
  for i = 1, n do
    if not is_sink((select(i, ...))) then
      error("Usage: tar.tee(sink, ...): argument " .. i .. " is not a sink (got " .. type((select(i, ...))) .. ")", 2)
    end
  end
  return raw.tee(...)
end

-- Writing -----------------------------------------------------------------------------

function M.collect(root, opts)
  local usage = "Usage: tar.collect(root [, {symlinks=\"refuse\"|\"store\"}])"
  if type(root) ~= "string" or root == "" then error(usage .. ": root must be a non-empty string", 2) end
  opts = check_opts(opts, { symlinks = "string" }, usage)
  local sym = opts.symlinks or "refuse"
  if sym ~= "refuse" and sym ~= "store" then error(usage .. ": symlinks must be \"refuse\" or \"store\"", 2) end
  return raw.collect(root, sym == "store")
end

function M.write(sink, root, paths, opts)
  local usage = "Usage: tar.write(sink, root, paths [, {mtime=n|\"file\", symlinks=\"refuse\"|\"store\", finish=bool, prefixes={path=bytes}, progress=fn}])"
  if not is_sink(sink) then error(usage .. ": sink must be a sink (tar.hash_sink(), tar.tee(), fs.appender, ...), got " .. type(sink), 2) end
  if type(root) ~= "string" or root == "" then error(usage .. ": root must be a non-empty string", 2) end
  if type(paths) ~= "table" then error(usage .. ": paths must be a list of relative paths", 2) end
  opts = check_opts(opts, { mtime = "any", symlinks = "string", finish = "boolean", prefixes = "table",
                            progress = "function" }, usage)
  for k, v in pairs(opts.prefixes or {}) do
    if type(k) ~= "string" or not is_count(v) then
      error(usage .. ": prefixes maps relative paths to byte counts", 2)
    end
  end
  local mtime, from_file = opts.mtime or 0, false
  if mtime == "file" then
    from_file, mtime = true, 0
  elseif not (is_count(mtime) and mtime < 8 ^ 11) then
    error(usage .. ": mtime must be \"file\" or an integer epoch 0 <= n < 8^11, got " .. tostring(mtime), 2)
  end
  local sym = opts.symlinks or "refuse"
  if sym ~= "refuse" and sym ~= "store" then error(usage .. ": symlinks must be \"refuse\" or \"store\"", 2) end
  local finish = opts.finish
  if finish == nil then finish = true end
  return raw.write(sink, root, paths, from_file, mtime, sym == "store", finish, opts.prefixes, opts.progress)
end

-- Reading -----------------------------------------------------------------------------

local function check_limits(opts, usage, allowed)
  opts = check_opts(opts, allowed, usage)
  if opts.max_entries ~= nil and not is_count(opts.max_entries) then
    error(usage .. ": max_entries must be a non-negative integer", 3)
  end
  if opts.max_bytes ~= nil and not is_count(opts.max_bytes) then
    error(usage .. ": max_bytes must be a non-negative integer", 3)
  end
  return opts
end

function M.list(source, opts)
  local usage = "Usage: tar.list(path|source [, {max_entries=n, max_bytes=n}])"
  if not is_source(source) then error(usage .. ": got " .. type(source), 2) end
  opts = check_limits(opts, usage, { max_entries = "number", max_bytes = "number" })
  return raw.list(source, opts.max_entries, opts.max_bytes)
end

function M.extract(source, dest, opts)
  local usage = "Usage: tar.extract(path|source, dest_dir [, {max_entries=n, max_bytes=n, fsync=bool}])"
  if not is_source(source) then error(usage .. ": the archive must be a path, a function or a byte source, got " .. type(source), 2) end
  if type(dest) ~= "string" or dest == "" then error(usage .. ": dest_dir must be a non-empty string", 2) end
  opts = check_limits(opts, usage, { max_entries = "number", max_bytes = "number", fsync = "boolean" })
  local durable = opts.fsync
  if durable == nil then durable = true end
  return raw.extract(source, dest, opts.max_entries, opts.max_bytes, durable)
end

return M
