-- brain_admin.lua backup and restore (docs/brain.md, "Backups"): SQLite files through
-- the host's online backup (h:backup: one consistent snapshot while the server writes,
-- written beside the target, fsynced, renamed without replacing anything). PostgreSQL
-- is backed up with its own tools, pg_dump and pg_restore; these say so.
local db = require "hostsync.db"
local store = require "brain.store"
local migrations = require "brain.migrations"

local M = {}

M.PG_BACKUP = "backup copies SQLite databases; for PostgreSQL use its own tool, e.g.\n" ..
  "  pg_dump --format=custom --file brain.dump 'postgres://...'\n(docs/brain.md, \"Backups\")"
M.PG_RESTORE = "restore writes SQLite databases; for PostgreSQL use its own tool, e.g.\n" ..
  "  createdb brain_restored && pg_restore --dbname 'postgres://.../brain_restored' brain.dump\n" ..
  "(docs/brain.md, \"Backups\")"

function M.is_postgres(url) return url:find("^postgres://") ~= nil or url:find("^postgresql://") ~= nil end

local function sqlite_path(url) return (url:gsub("^sqlite://", ""):gsub("^sqlite:", "")) end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- A copy (or a source) checked: integrity, and the brain's schema version.
-- -> { integrity = "ok", version = N } | nil, err
local function inspect(h, label)
  local rows, err = h:query("PRAGMA integrity_check")
  if not rows then return nil, label .. ": " .. err end
  local verdict = {}
  for _, r in ipairs(rows) do verdict[#verdict + 1] = r.integrity_check end
  if verdict[1] ~= "ok" then return nil, label .. " fails PRAGMA integrity_check: " .. table.concat(verdict, "; ") end
  local v = h:query("SELECT MAX(version) AS v FROM schema_migrations")
  if not v then return nil, label .. " is not a brain database (no schema_migrations table)" end
  return { integrity = "ok", version = tonumber(v[1].v) or 0 }
end

-- `url` -> the new file `dest`. -> { from, to, bytes, version } | nil, err
function M.backup(url, dest)
  if M.is_postgres(url) then return nil, M.PG_BACKUP end
  local path = sqlite_path(url)
  if path == ":memory:" or not exists(path) then return nil, "no database at " .. path end
  local h, err = store.open(url)
  if not h then return nil, err end
  local ok, berr = h:backup(dest)
  h:close()
  if not ok then return nil, berr end
  local c, cerr = db.open(dest, { read_only = true })
  if not c then return nil, "the copy " .. dest .. " does not open: " .. cerr end
  local info, ierr = inspect(c, "the copy " .. dest)
  local size = c:query("SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()")
  c:close()
  if not info then return nil, ierr end
  return { from = path, to = dest, bytes = size and size[1].n or 0, version = info.version }
end

-- The backup `from` -> a new database `url` (never an existing one), migrated to this
-- version. -> { from, to, version, migrated = {versions} } | nil, err
function M.restore(from, url)
  if M.is_postgres(url) then return nil, M.PG_RESTORE end
  local path = sqlite_path(url)
  if path == ":memory:" then return nil, "restore needs a database file, not :memory:" end
  for _, suffix in ipairs { "", "-wal", "-journal" } do
    if exists(path .. suffix) then
      return nil, path .. suffix .. " exists: restore writes a new database and never replaces one"
    end
  end
  if not exists(from) then return nil, "no backup at " .. from end
  local src, err = db.open(from, { read_only = true })
  if not src then return nil, "the backup " .. from .. " does not open: " .. err end
  local info, ierr = inspect(src, "the backup " .. from)
  if info and info.version > #migrations(src:backend()) then
    info, ierr = nil, ("the backup %s has schema version %d, newer than this hostsync's %d"):format(from, info.version,
      #migrations(src:backend()))
  end
  local ok, berr = true, nil
  if info then ok, berr = src:backup(path) end
  src:close()
  if not info then return nil, ierr end
  if not ok then return nil, berr end
  local h, oerr = store.open(path)
  if not h then return nil, oerr end
  local applied, merr = store.migrate(h)
  local after = applied and inspect(h, "the restored " .. path)
  h:close()
  if not applied then return nil, merr end
  return { from = from, to = path, version = info.version, migrated = applied, now = after and after.version }
end

return M
