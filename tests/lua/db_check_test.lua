-- db.check: `assert` for database calls that keeps what failed (kind, code) instead of a
-- bare string, on raising and plain handles alike.
local t = require "hostsync.testing"
local db = require "hostsync.db"

local function handle(opts)
  local h = assert(db.open(t.tmpdir() .. "/check.db", opts))
  db.check(h:exec("CREATE TABLE u (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"))
  db.check(h:exec("INSERT INTO u (name) VALUES (?)", "ada"))
  return h
end

t.test("results pass through unchanged, all of them", function()
  local h = handle()
  local rows, columns = db.check(h:query("SELECT id, name FROM u"))
  t.eq(rows, { { id = 1, name = "ada" } })
  t.eq(columns, { "id", "name" })
  t.eq(db.check(h:exec("UPDATE u SET name = ? WHERE id = ?", "bob", 1)), 1)
  t.eq(db.check(h:transaction(function(tx) return db.check(tx:exec("DELETE FROM u")), "done" end)), 1)
end)

for _, raise in ipairs({ false, true }) do
  t.test("a failed statement raises a db error with its kind and code (raise = " .. tostring(raise) .. ")", function()
    local h = handle({ raise = raise })
    local ok, e = pcall(function() return db.check(h:exec("INSERT INTO u (name) VALUES (?)", "ada")) end)
    t.eq(ok, false)
    t.eq(db.is_error(e), true)
    t.eq(e.kind, "constraint")
    t.match(e.code, "^SQLITE_CONSTRAINT")
    t.match(e.message, "UNIQUE")
    t.match(e.traceback, "db_check_test%.lua:%d+")
    -- and nothing was stored
    t.eq(db.check(h:query("SELECT COUNT(*) AS n FROM u"))[1].n, 1)
  end)
end

t.test("a transaction whose function returns nil, err raises it as a db error of kind 'error'", function()
  local h = handle()
  local ok, e = pcall(db.check, h:transaction(function() return nil, "no such thing" end))
  t.eq(ok, false)
  t.eq({ e.message, e.kind, e.code }, { "no such thing", "error", "" })
  ok, e = pcall(db.check, nil)
  t.eq(ok, false)
  t.eq(e.message, "database call returned nil")
end)

t.test("a busy database is kind 'busy' through db.check (what the brain answers with 503)", function()
  local path = t.tmpdir() .. "/busy.db"
  local a = assert(db.open(path))
  db.check(a:exec("CREATE TABLE x (v INTEGER)"))
  local b = assert(db.open(path, { busy_timeout = 0 }))
  db.check(a:exec("BEGIN IMMEDIATE"))
  local ok, e = pcall(function() return db.check(b:exec("INSERT INTO x VALUES (1)")) end)
  db.check(a:exec("ROLLBACK"))
  t.eq(ok, false)
  t.eq(e.kind, "busy")
end)
