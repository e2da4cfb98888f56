-- hostsync.db: one API over SQLite (the embedded default) and PostgreSQL.
--
--   local db = require "hostsync.db"
--   local h = assert(db.open("brain.sqlite"))          -- or "postgres://u:p@host/db"
--   h:exec("INSERT INTO chatroom(ai_source, message) VALUES (?, ?)", "claude", "hi")
--   for _, row in ipairs(assert(h:query("SELECT * FROM chatroom"))) do ... end
--   h:transaction(function(tx) tx:exec(...); tx:exec(...) end)
--   db.migrate(h, { { version = 1, name = "init", up = "CREATE TABLE ..." } })
--
-- Placeholders are `?` for both backends (rewritten to $1..$n for PostgreSQL). Failures
-- of the world return nil, err, kind, code: kind is "constraint", "busy", "connection",
-- "syntax" or "error", code the SQLSTATE or SQLite code. A handle opened with
-- { raise = true } raises those failures as db error values ({message, kind, code}) instead,
-- so code that aborts on any failure keeps the kind. Reference: docs/api/db.md.
local _, raw = ...

local type, error, tostring, pairs, ipairs, select = type, error, tostring, pairs, ipairs, select
local setmetatable, getmetatable, pcall, unpack = setmetatable, getmetatable, pcall, unpack
local floor = math.floor
local raw_execute, raw_run = raw.execute, raw.run

local check_opts = require("hostsync.check").opts

local M = {}

M.null = raw.null

-- Errors as values -------------------------------------------------------------

-- A failure of the world as a value: {message=, kind=, code=}; tostring gives the message.
-- Raised by handles opened with { raise = true }, so the kind survives the unwinding to
-- whoever maps it (a server answering 503 for "busy" and 500 for the rest).
local error_mt = { __tostring = function(e) return e.message end, __metatable = "hostsync.db.error" }

function M.error(message, kind, code)
  if type(message) ~= "string" then error("Usage: db.error(message, kind, code)", 2) end
  return setmetatable({ message = message, kind = kind or "error", code = code or "" }, error_mt)
end

function M.is_error(v)
  return type(v) == "table" and getmetatable(v) == "hostsync.db.error"
end

local raising = setmetatable({}, { __mode = "k" })   -- handle -> true: opened with raise = true

-- Passes a raw result through, or raises it as a db error when `h` raises and it failed.
-- The value carries the traceback of where it was raised: a transaction that rolls back
-- re-raises it from its own frame, and the log should show the statement's caller.
local function checked(h, a, err, kind, code)
  if a == nil and err ~= nil and raising[h] then
    local e = M.error(err, kind, code)
    e.traceback = debug.traceback(err, 3)
    error(e, 0)
  end
  return a, err, kind, code
end

-- db.check(...) -> ...: `assert` for database calls that keeps the failure's kind and
-- code. Passes a call's results through; when the call failed (nil or false first, then
-- err, kind, code: what every handle method returns) raises a db error value, with the
-- traceback of the caller, that a server maps by kind (busy -> 503) like a raising
-- handle's own.
function M.check(...)
  local v, err, kind, code = ...
  if v then return ... end
  local e = M.error(type(err) == "string" and err or ("database call returned " .. tostring(v)),
                    type(kind) == "string" and kind or nil, type(code) == "string" and code or nil)
  e.traceback = debug.traceback(e.message, 2)
  error(e, 0)
end

function M.blob(bytes)
  if type(bytes) ~= "string" then error("Usage: db.blob(bytes: string)", 2) end
  return setmetatable({ bytes = bytes }, raw.blob_mt)
end

local OPEN_USAGE = "Usage: db.open(url [, {busy_timeout=seconds, group_commit=boolean, raise=boolean, read_only=boolean}])"

function M.open(url, opts)
  if type(url) ~= "string" or url == "" then error(OPEN_USAGE, 2) end
  local busy_ms, group_commit, raise, read_only
  if opts ~= nil then
    check_opts(opts, { busy_timeout = "number", group_commit = "boolean", raise = "boolean", read_only = "boolean" },
               OPEN_USAGE)
    if opts.busy_timeout and opts.busy_timeout < 0 then
      error(OPEN_USAGE .. ": busy_timeout must be a non-negative number", 2)
    end
    if opts.busy_timeout then busy_ms = floor(opts.busy_timeout * 1000) end
    group_commit = opts.group_commit   -- ignored for PostgreSQL, which groups commits itself
    raise = opts.raise
    read_only = opts.read_only
  end
  local h, err, kind, code = raw.open(url, busy_ms, group_commit, read_only)
  if not h then
    if raise then error(M.error(err, kind, code), 0) end
    return nil, err, kind, code
  end
  if raise then raising[h] = true end
  return h
end

-- Handle methods ---------------------------------------------------------------

local methods = {}

local function check_sql(sql, usage)
  if type(sql) ~= "string" then error(usage .. ": sql must be a string, got " .. type(sql), 3) end
end

function methods:exec(sql, ...)
  check_sql(sql, "Usage: h:exec(sql, ...)")
  return checked(self, raw_execute(self, sql, { ... }, select("#", ...), false))
end

function methods:query(sql, ...)
  check_sql(sql, "Usage: h:query(sql, ...)")
  return checked(self, raw_execute(self, sql, { ... }, select("#", ...), true))
end

local stmt_owner = setmetatable({}, { __mode = "k" })   -- statement -> its handle

function methods:prepare(sql)
  check_sql(sql, "Usage: h:prepare(sql)")
  local s, err, kind, code = checked(self, raw.prepare(self, sql))
  if s then stmt_owner[s] = self end
  return s, err, kind, code
end

function methods:raises()
  return raising[self] == true
end

function methods:backend()
  return (raw.info(self))
end

function methods:group_commit()
  return raw.grouped(self)
end

-- {queued=, batches=, transactions=, last_batch=}: how a group_commit handle batches.
function methods:group_stats()
  return raw.group_stats(self)
end

-- A consistent copy of the database into the new file `path` (SQLite's online backup
-- API; written beside it, fsynced, renamed without replacing). -> true | nil, err, kind, code
function methods:backup(path)
  if type(path) ~= "string" or path == "" then error("Usage: h:backup(path: string)", 2) end
  return raw.backup(self, path)
end

function methods:url()
  local _, url = raw.info(self)
  return url
end

function methods:close()
  raw.close(self)
end

-- Transactions: the handle itself is passed as `tx`. SQLite starts with BEGIN IMMEDIATE,
-- which takes the write lock up front (waiting up to the busy timeout): a deferred
-- BEGIN that reads and then writes can fail with SQLITE_BUSY_SNAPSHOT however long the
-- timeout, because the conflict is logical, not a wait.
local in_transaction = setmetatable({}, { __mode = "k" })

local function rethrow(err) error(err, 0) end

-- A group_commit handle (SQLite) runs the same protocol through tx_begin/tx_end: its
-- transaction is a savepoint in a batch that commits with one fsync, and tx_end returns
-- once the batch is durable (docs/api/db.md, "Group commit").
local function grouped_transaction(self, fn)
  local ok, err, kind, code = raw.tx_begin(self)
  if not ok then return checked(self, nil, err, kind, code) end
  in_transaction[self] = true
  local results = { pcall(fn, self) }
  in_transaction[self] = nil
  if not results[1] then
    raw.tx_end(self, false)
    rethrow(results[2])
  end
  ok, err, kind, code = raw.tx_end(self, true)
  if not ok then return checked(self, nil, err, kind, code) end
  return select(2, unpack(results, 1, table.maxn(results)))
end

function methods:transaction(fn)
  if type(fn) ~= "function" then error("Usage: h:transaction(function(tx) ... end)", 2) end
  if in_transaction[self] then error("Usage: h:transaction: already inside a transaction on this handle", 2) end
  if raw.grouped(self) then return grouped_transaction(self, fn) end
  local begin = raw.info(self) == "sqlite" and "BEGIN IMMEDIATE" or "BEGIN"
  local ok, err, kind, code = raw_execute(self, begin, {}, 0, false)
  if not ok then return checked(self, nil, err, kind, code) end
  in_transaction[self] = true
  local results = { pcall(fn, self) }
  in_transaction[self] = nil
  if not results[1] then
    raw_execute(self, "ROLLBACK", {}, 0, false)  -- a failed rollback leaves nothing to keep
    rethrow(results[2])
  end
  ok, err, kind, code = raw_execute(self, "COMMIT", {}, 0, false)
  if not ok then
    raw_execute(self, "ROLLBACK", {}, 0, false)
    return checked(self, nil, err, kind, code)
  end
  return select(2, unpack(results, 1, table.maxn(results)))
end

function methods:in_transaction()
  return in_transaction[self] == true
end

-- LISTEN/NOTIFY (PostgreSQL only) ----------------------------------------------

local function need_postgres(self, what)
  local backend = raw.info(self)
  if backend ~= "postgres" then
    error("Usage: h:" .. what .. " needs PostgreSQL (this handle is " .. tostring(backend) .. ")", 3)
  end
end

local function quote_ident(name)
  return '"' .. name:gsub('"', '""') .. '"'
end

function methods:listen(channel)
  if type(channel) ~= "string" or channel == "" then error("Usage: h:listen(channel: string)", 2) end
  need_postgres(self, "listen")
  return checked(self, raw_execute(self, "LISTEN " .. quote_ident(channel), {}, 0, false))
end

function methods:unlisten(channel)
  if type(channel) ~= "string" or channel == "" then error("Usage: h:unlisten(channel: string)", 2) end
  need_postgres(self, "unlisten")
  return checked(self, raw_execute(self, "UNLISTEN " .. quote_ident(channel), {}, 0, false))
end

function methods:notify(channel, payload)
  if type(channel) ~= "string" or channel == "" or (payload ~= nil and type(payload) ~= "string") then
    error("Usage: h:notify(channel: string [, payload: string])", 2)
  end
  need_postgres(self, "notify")
  local ok, err, kind, code = raw_execute(self, "SELECT pg_notify(?, ?)", { channel, payload or "" }, 2, false)
  if not ok then return checked(self, nil, err, kind, code) end
  return true
end

function methods:wait_notification(timeout)
  if type(timeout) ~= "number" or timeout < 0 then error("Usage: h:wait_notification(timeout_seconds: number)", 2) end
  need_postgres(self, "wait_notification")
  return checked(self, raw.wait_notification(self, timeout))
end

local conn_mt = raw.connection_mt
conn_mt.__index = methods
conn_mt.__tostring = function(h)
  local backend, url, open = raw.info(h)
  if not open then return "hostsync.db (closed)" end
  return "hostsync.db (" .. backend .. " " .. url .. ")"
end
conn_mt.__metatable = "hostsync.db.connection"

-- Statement methods ------------------------------------------------------------

local stmt_methods = {}

function stmt_methods:exec(...)
  return checked(stmt_owner[self], raw_run(self, { ... }, select("#", ...), false))
end

function stmt_methods:query(...)
  return checked(stmt_owner[self], raw_run(self, { ... }, select("#", ...), true))
end

local stmt_mt = raw.statement_mt
stmt_mt.__index = stmt_methods
stmt_mt.__tostring = function() return "hostsync.db.statement" end
stmt_mt.__metatable = "hostsync.db.statement"

-- Migrations -------------------------------------------------------------------

local MIGRATE_USAGE = "Usage: db.migrate(h, { {version=n, name=string, up=sql or {sql...}}, ... })"

local function check_migrations(list)
  if type(list) ~= "table" then error(MIGRATE_USAGE, 3) end
  local last = 0
  for i, m in ipairs(list) do
    local where = MIGRATE_USAGE .. ": migration " .. i
    if type(m) ~= "table" then error(where .. " is not a table", 3) end
    local v = m.version
    if type(v) ~= "number" or v ~= floor(v) or v <= last then
      error(where .. ": version must be an integer greater than the previous one (" .. last .. ")", 3)
    end
    if type(m.name) ~= "string" or m.name == "" then error(where .. ": name must be a non-empty string", 3) end
    local up = m.up
    if type(up) == "table" then
      for j, sql in ipairs(up) do
        if type(sql) ~= "string" then error(where .. ": up[" .. j .. "] must be a string", 3) end
      end
    elseif type(up) ~= "string" then
      error(where .. ": up must be a string or a list of strings", 3)
    end
    last = v
  end
end

-- Any fixed number works; this one spells "hsmigrat" in ASCII, unlikely to clash with an
-- application's own advisory locks.
local MIGRATION_LOCK_KEY = "7526479701740773748"

local CREATE_TABLE = [[CREATE TABLE IF NOT EXISTS schema_migrations (
  version BIGINT PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL
)]]

-- A failure inside a migration's transaction raises this table, so the transaction rolls
-- back, and migrate turns it back into nil, err, kind, code.
local function must(ok, err, kind, code)
  if ok then return ok end
  error({ migrate_error = err, kind = kind, code = code }, 0)
end

-- One migration step in its own transaction: re-reads the applied versions while holding
-- the write lock (BEGIN IMMEDIATE on SQLite, LOCK TABLE on PostgreSQL), so concurrent
-- migrators apply each version exactly once. Returns the version applied, or "done".
local function step(h, migrations, postgres)
  return h:transaction(function(tx)
    if postgres then must(tx:exec("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")) end
    local rows = must(tx:query("SELECT version, name FROM schema_migrations ORDER BY version"))
    for i, row in ipairs(rows) do
      local m = migrations[i]
      if not m or m.version ~= row.version then
        must(nil, h:url() .. ": applied migrations are not a prefix of the list: the database has version "
          .. tostring(row.version) .. " (" .. tostring(row.name) .. ") where the list has "
          .. (m and (m.version .. " (" .. m.name .. ")") or "nothing"), "migration")
      end
    end
    local m = migrations[#rows + 1]
    if not m then return "done" end
    local steps = type(m.up) == "table" and m.up or { m.up }
    for _, sql in ipairs(steps) do
      local r, err, kind, code = tx:exec(sql)
      if not r then must(nil, "migration " .. m.version .. " (" .. m.name .. ") failed: " .. err, kind, code) end
    end
    must(tx:exec("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
      m.version, m.name, os.date("!%Y-%m-%dT%H:%M:%SZ")))
    return m.version
  end)
end

local function migrate(h, migrations)
  local postgres = h:backend() == "postgres"
  if postgres then
    -- Two PostgreSQL sessions creating the table at the same moment can both pass IF NOT
    -- EXISTS and one then fails ("already exists", or on pg_type's unique index); a
    -- transaction-scoped advisory lock makes the second wait and then see the table.
    must(h:transaction(function(tx)
      must(tx:exec("SELECT pg_advisory_xact_lock(" .. MIGRATION_LOCK_KEY .. ")"))
      must(tx:exec(CREATE_TABLE))
      return true
    end))
  else
    must(h:exec(CREATE_TABLE))
  end
  local applied_now = {}
  while true do
    local v = must(step(h, migrations, postgres))
    if v == "done" then return applied_now end
    applied_now[#applied_now + 1] = v
  end
end

-- Applies the migrations not yet recorded in schema_migrations, in order; returns the
-- versions this call applied (empty when up to date) or nil, err, kind, code.
function M.migrate(h, migrations)
  if getmetatable(h) ~= "hostsync.db.connection" then error(MIGRATE_USAGE .. ": h must be a db handle", 2) end
  check_migrations(migrations)
  local ok, result = pcall(migrate, h, migrations)
  if ok then return result end
  if type(result) == "table" and result.migrate_error then
    return checked(h, nil, result.migrate_error, result.kind, result.code)
  end
  error(result, 0)
end

return M
