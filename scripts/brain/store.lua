-- Opening the brain's database: URL resolution, migrations, and the small dialect
-- differences the handlers need. One handle per worker (a Lua state is one thread).
local db = require "hostsync.db"
local json = require "hostsync.json"
local time = require "hostsync.time"
local migrations = require "brain.migrations"

local M = {}

M.DEFAULT_DB = "brain.sqlite"

-- group_commit (SQLite): the workers' transactions share one fsync per batch
-- (docs/api/db.md); the server turns it on unless its config says "group_commit": false.
-- raise: failures raise db error values (the server's handles; brain/errors.lua maps them).
function M.open(url, group_commit, raise)
  local h, err = db.open(url or M.DEFAULT_DB, { group_commit = group_commit == true, raise = raise == true })
  if not h then return nil, err end
  return h
end

function M.migrate(h)
  return db.migrate(h, migrations(h:backend()))
end

-- The server's clock as ISO 8601 UTC with milliseconds: sorts as text on SQLite and is
-- read as TIMESTAMPTZ by PostgreSQL. Several servers on one PostgreSQL must keep their
-- clocks in sync (NTP): lock expiry compares their times.
function M.now(offset)
  return time.utc_iso(time.now() + (offset or 0), { ms = true })
end

-- A timestamp column read back in the same ISO form on both backends.
function M.ts(h, col)
  if h:backend() == "postgres" then
    return ("to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"):format(col)
  end
  return col
end

-- Rows carry db.null; JSON needs json.null.
function M.plain(row)
  local out = {}
  for k, v in pairs(row) do out[k] = (v == db.null) and json.null or v end
  return out
end

function M.uuid()
  local f = assert(io.open("/dev/urandom", "rb"))
  local b = { f:read(16):byte(1, 16) }
  f:close()
  b[7] = b[7] % 16 + 64; b[9] = b[9] % 64 + 128   -- version 4, RFC 4122 variant
  local hex = ("%02x"):rep(16):format(unpack(b))
  return hex:sub(1, 8) .. "-" .. hex:sub(9, 12) .. "-" .. hex:sub(13, 16) .. "-" .. hex:sub(17, 20) .. "-" .. hex:sub(21)
end

function M.random_hex(n)
  local f = assert(io.open("/dev/urandom", "rb"))
  local s = f:read(n)
  f:close()
  return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

return M
