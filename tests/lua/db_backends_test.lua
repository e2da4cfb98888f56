-- hostsync.db against every backend at hand: SQLite always, PostgreSQL too when
-- HOSTSYNC_TEST_PG_URL names one (tests/e2e/test_db.py starts a real server on loopback
-- and runs this file with it). The same assertions run on both, so the backends stay
-- interchangeable; where they differ on purpose (booleans) the test says so.
local t = require "hostsync.testing"
local db = require "hostsync.db"

local PG_URL = os.getenv("HOSTSYNC_TEST_PG_URL")

local backends = {
  { name = "sqlite", open = function() return assert(db.open("sqlite:" .. t.tmpdir() .. "/test.db")) end },
  -- The same assertions through group commit (docs/api/db.md): one transaction at a
  -- time here, so each batch holds one; tests/e2e/test_db_group_commit.py has the races.
  { name = "sqlite (group_commit)", backend = "sqlite", grouped = true,
    open = function() return assert(db.open("sqlite:" .. t.tmpdir() .. "/test.db", { group_commit = true })) end },
}
if PG_URL then
  local n = 0
  backends[#backends + 1] = {
    name = "postgres",
    -- Every test gets its own schema, so tests never see each other's tables.
    open = function()
      n = n + 1
      local h = assert(db.open(PG_URL))
      local schema = "t" .. os.time() .. "_" .. n
      assert(h:exec("DROP SCHEMA IF EXISTS " .. schema .. " CASCADE; CREATE SCHEMA " .. schema))
      assert(h:exec("SET search_path TO " .. schema))
      return h, schema
    end,
  }
end

local function each(name, fn)
  for _, b in ipairs(backends) do
    t.test(b.name .. ": " .. name, function()
      local h = b.open()
      local ok, err = pcall(fn, h, b.backend or b.name, b.grouped)
      h:close()
      if not ok then error(err, 0) end
    end)
  end
end

local VALUES_DDL = [[CREATE TABLE v (
  id BIGINT PRIMARY KEY, i BIGINT, f DOUBLE PRECISION, s TEXT, b BYTEA, flag BOOLEAN)]]

each("parameters of every type round-trip", function(h, backend)
  assert(h:exec(VALUES_DDL))
  local blob = "\0\1\2\255\254 binary\0tail"
  local text = "héllo, 東京 😀 'quoted' \"double\" ?"
  t.eq(h:exec("INSERT INTO v(id, i, f, s, b, flag) VALUES (?, ?, ?, ?, ?, ?)",
    1, -9007199254740992, 0.1, text, db.blob(blob), true), 1)
  t.eq(h:exec("INSERT INTO v(id, i, f, s, b, flag) VALUES (?, ?, ?, ?, ?, ?)", 2, 0, -1e300, "", db.blob(""), false), 1)
  -- nil (also trailing) and db.null both bind NULL
  t.eq(h:exec("INSERT INTO v(id, i, f, s, b, flag) VALUES (?, ?, ?, ?, ?, ?)", 3, nil, db.null, nil, nil, nil), 1)
  local rows, cols = assert(h:query("SELECT id, i, f, s, b FROM v ORDER BY id"))
  t.eq(cols, { "id", "i", "f", "s", "b" })
  t.eq(rows, {
    { id = 1, i = -9007199254740992, f = 0.1, s = text, b = blob },
    { id = 2, i = 0, f = -1e300, s = "", b = "" },
    { id = 3, i = db.null, f = db.null, s = db.null, b = db.null },
  })
  t.eq(tostring(rows[3].i), "db.null")
  -- Booleans bind as 1/0 everywhere; a BOOLEAN column reads back as a Lua boolean on
  -- PostgreSQL and as 1/0 on SQLite, which has no boolean type.
  local flags = assert(h:query("SELECT flag FROM v WHERE id < 3 ORDER BY id"))
  if backend == "postgres" then t.eq(flags, { { flag = true }, { flag = false } })
  else t.eq(flags, { { flag = 1 }, { flag = 0 } }) end
  -- Integers beyond 2^53 come back as exact decimal strings.
  assert(h:exec("INSERT INTO v(id, i) VALUES (?, ?)", 4, "9223372036854775807"))
  t.eq(assert(h:query("SELECT i FROM v WHERE id = ?", 4))[1].i, "9223372036854775807")
  -- Rows match on bound text and blobs.
  t.eq(#assert(h:query("SELECT id FROM v WHERE s = ?", text)), 1)
  t.eq(assert(h:query("SELECT id FROM v WHERE b = ?", db.blob(blob)))[1].id, 1)
end)

each("placeholders: ? inside literals, comments and identifiers is not one", function(h)
  local rows = assert(h:query([[SELECT '?' AS "q?", ? AS p -- trailing ? comment
    ]], "x"))
  t.eq(rows, { { ["q?"] = "?", p = "x" } })
  t.raises(function() h:query("SELECT ?, ?", 1) end, "Usage: the SQL has 2 parameter(s), got 1")
  t.raises(function() h:exec("SELECT 1", 1) end, "Usage: the SQL has 0 parameter(s), got 1")
  t.raises(function() h:exec("SELECT ?", {}) end, "Usage: parameter 1 is a table")
  t.raises(function() h:exec(42) end, "Usage: h:exec(sql, ...)")
end)

each("exec returns changed rows; several statements run in one exec", function(h)
  t.eq(h:exec("CREATE TABLE c(x INTEGER); INSERT INTO c VALUES (1); INSERT INTO c VALUES (2)"), 1)
  t.eq(h:exec("UPDATE c SET x = x + 10"), 2)
  t.eq(h:exec("DELETE FROM c WHERE x > 100"), 0)
  t.eq(h:exec("CREATE TABLE d(y INTEGER)"), 0)
end)

each("prepared statements are reused and die with their handle", function(h)
  assert(h:exec("CREATE TABLE p(k TEXT PRIMARY KEY, n INTEGER)"))
  local ins = assert(h:prepare("INSERT INTO p(k, n) VALUES (?, ?)"))
  local sel = assert(h:prepare("SELECT n FROM p WHERE k = ?"))
  for i = 1, 50 do t.eq(ins:exec("k" .. i, i), 1) end
  t.raises(function() ins:exec("x") end, "parameter")
  -- Inside a transaction a prepared read sees the transaction's own writes.
  t.raises(function()
    h:transaction(function()
      t.eq(ins:exec("in-tx", 99), 1)
      t.eq(sel:query("in-tx"), { { n = 99 } })
      error("roll back")
    end)
  end, "roll back")
  t.eq(sel:query("in-tx"), {})
  t.eq(sel:query("k7"), { { n = 7 } })
  t.eq(sel:query("nope"), {})
  t.match(tostring(sel), "hostsync.db.statement")
  h:close()
  t.raises(function() sel:query("k7") end, "Usage: statement used after its database was closed")
end)

-- SQLite keeps the prepared form of exec/query SQL for reuse: it must follow schema changes.
each("the same SQL run again after a schema change sees the new columns", function(h)
  assert(h:exec("CREATE TABLE sc(a INTEGER)"))
  assert(h:exec("INSERT INTO sc VALUES (1)"))
  local _, cols = assert(h:query("SELECT * FROM sc"))
  t.eq(cols, { "a" })
  assert(h:exec("ALTER TABLE sc ADD COLUMN b TEXT DEFAULT 'x'"))
  local rows
  rows, cols = assert(h:query("SELECT * FROM sc"))
  t.eq(cols, { "a", "b" })
  t.eq(rows, { { a = 1, b = "x" } })
end)

each("transactions commit on return, roll back and re-raise on error", function(h)
  assert(h:exec("CREATE TABLE tx(x INTEGER)"))
  local a, b = h:transaction(function(tx)
    t.eq(tx, h)
    t.ok(h:in_transaction())
    tx:exec("INSERT INTO tx VALUES (1)")
    return "done", 2
  end)
  t.eq({ a, b }, { "done", 2 })
  t.ok(not h:in_transaction())
  local err = t.raises(function()
    h:transaction(function(tx)
      tx:exec("INSERT INTO tx VALUES (2)")
      error({ why = "boom" })
    end)
  end)
  t.eq(assert(h:query("SELECT x FROM tx")), { { x = 1 } }, "the failed transaction left nothing")
  -- An error inside a failed statement: the same rollback.
  t.raises(function()
    h:transaction(function(tx)
      tx:exec("INSERT INTO tx VALUES (3)")
      assert(tx:exec("INSERT INTO nowhere VALUES (1)"))
    end)
  end, "nowhere")
  t.eq(#assert(h:query("SELECT x FROM tx")), 1)
  t.raises(function() h:transaction(function() h:transaction(function() end) end) end, "already inside a transaction")
  t.raises(function() h:transaction("nope") end, "Usage: h:transaction")
  t.eq(h:exec("INSERT INTO tx VALUES (4)"), 1, "the handle works after all that")
  local _ = err
end)

each("a unique violation is kind 'constraint'; ON CONFLICT acquires atomically", function(h, backend)
  assert(h:exec([[CREATE TABLE sync_locks (id TEXT PRIMARY KEY, held_by_ai TEXT NOT NULL, expires_at TEXT)]]))
  t.eq(h:exec("INSERT INTO sync_locks(id, held_by_ai) VALUES (?, ?)", "github-push", "claude"), 1)
  local ok, err, kind, code = h:exec("INSERT INTO sync_locks(id, held_by_ai) VALUES (?, ?)", "github-push", "gemini")
  t.is_nil(ok)
  t.eq(kind, "constraint")
  t.eq(code, backend == "postgres" and "23505" or "SQLITE_CONSTRAINT_PRIMARYKEY")
  t.match(err, "sync_locks") -- PostgreSQL names the constraint, SQLite the column
  t.match(err, backend == "postgres" and "postgres://" or "test%.db")
  local acquire = "INSERT INTO sync_locks(id, held_by_ai) VALUES (?, ?) ON CONFLICT (id) DO NOTHING RETURNING id"
  t.eq(assert(h:query(acquire, "github-push", "grok")), {}, "held: nothing returned")
  t.eq(assert(h:query(acquire, "deploy", "grok")), { { id = "deploy" } }, "free: granted")
  local _, _, nkind = h:exec("INSERT INTO sync_locks(id) VALUES ('x')")
  t.eq(nkind, "constraint", "NOT NULL is a constraint too")
  local _, serr, skind = h:query("SELEC 1")
  t.eq(skind, "syntax")
  t.match(serr, "syntax")
end)

local MIGRATIONS = {
  { version = 1, name = "locks", up = "CREATE TABLE sync_locks (id TEXT PRIMARY KEY, held_by_ai TEXT NOT NULL)" },
  { version = 2, name = "chat", up = {
    "CREATE TABLE chatroom (id BIGINT PRIMARY KEY, ai_source TEXT NOT NULL, message TEXT NOT NULL)",
    "CREATE INDEX idx_chatroom_ai ON chatroom(ai_source)",
  } },
}

each("migrations apply once, in order, and refuse a database that is not a prefix", function(h)
  t.eq(assert(db.migrate(h, { MIGRATIONS[1] })), { 1 })
  t.eq(assert(db.migrate(h, MIGRATIONS)), { 2 })
  t.eq(assert(db.migrate(h, MIGRATIONS)), {}, "nothing twice")
  local recorded = assert(h:query("SELECT version, name FROM schema_migrations ORDER BY version"))
  t.eq(recorded, { { version = 1, name = "locks" }, { version = 2, name = "chat" } })
  -- A program with a different history is refused.
  local ok, err, kind = db.migrate(h, { MIGRATIONS[1], { version = 3, name = "other", up = "SELECT 1" } })
  t.is_nil(ok)
  t.eq(kind, "migration")
  t.match(err, "not a prefix of the list: the database has version 2 %(chat%) where the list has 3 %(other%)")
  -- An older program that knows fewer versions than the database is refused too.
  ok, err = db.migrate(h, { MIGRATIONS[1] })
  t.is_nil(ok)
  t.match(err, "version 2 %(chat%) where the list has nothing")
  -- A failing migration rolls back entirely, its first statement included.
  local bad = { MIGRATIONS[1], MIGRATIONS[2], { version = 3, name = "half", up = {
    "CREATE TABLE half_done (x INTEGER)", "THIS IS NOT SQL" } } }
  ok, err, kind = db.migrate(h, bad)
  t.is_nil(ok)
  t.match(err, "migration 3 %(half%) failed")
  t.eq(kind, "syntax")
  t.eq(#assert(h:query("SELECT version FROM schema_migrations")), 2)
  local _, _, missing_kind = h:query("SELECT * FROM half_done")
  t.ok(missing_kind ~= nil, "half_done does not exist")
  t.raises(function() db.migrate(h, { { version = 2, name = "a", up = "x" }, { version = 1, name = "b", up = "y" } }) end,
    "version must be an integer greater than the previous one")
  t.raises(function() db.migrate(h, { { version = 1, up = "x" } }) end, "name must be a non-empty string")
  t.raises(function() db.migrate({}, {}) end, "h must be a db handle")
end)

each("tostring names the backend and never the password", function(h, backend)
  local s = tostring(h)
  if backend == "postgres" then
    t.match(s, "^hostsync%.db %(postgres postgres://hostsync@127%.0%.0%.1:%d+/hostsync%?sslmode=disable%)$")
  else
    t.match(s, "^hostsync%.db %(sqlite sqlite:.*test%.db%)$")
  end
  t.eq(h:backend(), backend)
  h:close()
  t.eq(tostring(h), "hostsync.db (closed)")
  t.raises(function() h:query("SELECT 1") end, "Usage: database handle used after close()")
end)

each("backup copies a consistent database into a new file, or says why not", function(h, backend)
  assert(h:exec("CREATE TABLE b (id BIGINT PRIMARY KEY, s TEXT)"))
  for i = 1, 300 do assert(h:exec("INSERT INTO b(id, s) VALUES (?, ?)", i, ("row %d "):format(i):rep(20))) end
  local dir = t.tmpdir()
  if backend == "postgres" then
    local msg = t.raises(function() h:backup(dir .. "/copy.sqlite") end, "Usage: h:backup copies SQLite databases; ")
    t.match(msg, "is postgres %(use pg_dump%)$")
    t.is_nil(t.read_file(dir .. "/copy.sqlite"))
    return
  end
  local copy = dir .. "/copy.sqlite"
  t.eq(h:backup(copy), true)
  -- Another connection goes on writing; the copy keeps what was committed at the backup.
  assert(h:exec("INSERT INTO b(id, s) VALUES (301, 'after')"))
  local c = assert(db.open(copy, { read_only = true }))
  t.eq(c:query("SELECT count(*) AS n, max(id) AS m FROM b")[1], { n = 300, m = 300 })
  t.eq(c:query("PRAGMA integrity_check")[1].integrity_check, "ok")
  t.eq(c:query("PRAGMA journal_mode")[1].journal_mode, "delete", "a backup is one self-contained file")
  -- read_only writes nothing: refused, and no -wal or -shm appears beside the copy.
  local ok, err = c:exec("INSERT INTO b(id) VALUES (999)")
  t.is_nil(ok)
  t.match(err, "readonly database")
  c:close()
  t.is_nil(t.read_file(copy .. "-wal"))
  t.is_nil(t.read_file(copy .. "-shm"))
  -- Never over an existing file (the copy is kept as it was), and no temporary file left.
  local again, aerr, kind, code = h:backup(copy)
  t.is_nil(again)
  t.eq({ aerr, kind, code }, { "backup to " .. copy .. ": File exists", "error", "EEXIST" })
  local p = io.popen("ls -A '" .. dir .. "'")
  t.eq(p:read("*a"), "copy.sqlite\n")
  p:close()
  local missing, merr = h:backup(dir .. "/no/such/dir/copy.sqlite")
  t.is_nil(missing)
  t.match(merr, "^create temporary file for .*/no/such/dir/copy%.sqlite: No such file or directory$")
  t.raises(function() h:backup("") end, "Usage: h:backup(path: string)")
  t.raises(function() db.open(copy, { read_only = true, group_commit = true }) end, "read_only and group_commit do not go together")
  local none, nerr, nkind = db.open(dir .. "/absent.sqlite", { read_only = true })
  t.is_nil(none)
  t.eq(nkind, "connection", nerr)
  t.is_nil(t.read_file(dir .. "/absent.sqlite"), "read_only creates no file")
end)

if PG_URL then
  local function pg() return assert(db.open(PG_URL)) end

  t.test("postgres: a read_only handle's transactions are read-only", function()
    local ro = assert(db.open(PG_URL, { read_only = true }))
    t.eq(ro:query("SELECT 1 AS one")[1].one, 1)
    local ok, err, _, code = ro:exec("CREATE TABLE ro_refused (a INT)")
    t.is_nil(ok)
    t.eq(code, "25006", err)
    ro:close()
  end)

  t.test("postgres: LISTEN/NOTIFY between two connections", function()
    local listener, sender = pg(), pg()
    assert(listener:listen("chat room"))
    t.is_nil(listener:wait_notification(0.05), "nothing yet")
    assert(sender:notify("chat room", "hello ☃ from sender"))
    local n = listener:wait_notification(5)
    t.eq({ n.channel, n.payload }, { "chat room", "hello ☃ from sender" })
    t.ok(n.pid > 0)
    -- Inside a transaction a notification is sent at commit, and not at all on rollback.
    sender:transaction(function(tx) tx:notify("chat room", "committed") end)
    pcall(sender.transaction, sender, function(tx) tx:notify("chat room", "rolled back"); error("no") end)
    t.eq(listener:wait_notification(5).payload, "committed")
    local t0 = os.time()
    t.is_nil(listener:wait_notification(0.3), "the rolled-back one never arrives")
    t.ok(os.time() - t0 <= 2)
    assert(listener:unlisten("chat room"))
    assert(sender:notify("chat room", "after unlisten"))
    t.is_nil(listener:wait_notification(0.2))
    listener:close()
    sender:close()
  end)

  t.test("postgres: the password stays out of errors and tostring", function()
    local password = PG_URL:match("//[^:]+:([^@]+)@")
    local wrong = PG_URL:gsub("//([^:]+):[^@]+@", "//%1:WrongPassw0rd@")
    local h, err, kind = db.open(wrong)
    t.is_nil(h)
    t.eq(kind, "connection")
    t.match(err, "^postgres://hostsync@127%.0%.0%.1:%d+/hostsync%?sslmode=disable: ")
    t.ok(not err:find("WrongPassw0rd", 1, true), err)
    local good = pg()
    t.ok(not tostring(good):find(password, 1, true))
    local _, qerr = good:query("SELECT * FROM no_such_table")
    t.ok(not qerr:find(password, 1, true))
    t.match(qerr, "SQLSTATE 42P01")
    good:close()
    local refused, rerr = db.open("postgres://u:pw@127.0.0.1:1/x?connect_timeout=2")
    t.is_nil(refused)
    t.match(rerr, "^postgres://u@127%.0%.0%.1:1/x%?connect_timeout=2: ")
  end)
end

t.test("sqlite: notifications need PostgreSQL; bad files are failures of the world", function()
  local dir = t.tmpdir()
  local h = assert(db.open(dir .. "/plain.db"))
  t.raises(function() h:listen("x") end, "Usage: h:listen needs PostgreSQL")
  t.raises(function() h:wait_notification(1) end, "needs PostgreSQL")
  -- The connection is set up for durability and concurrency.
  t.eq(assert(h:query("PRAGMA journal_mode"))[1].journal_mode, "wal")
  t.eq(assert(h:query("PRAGMA foreign_keys"))[1].foreign_keys, 1)
  t.eq(assert(h:query("PRAGMA synchronous"))[1].synchronous, 2)
  h:close()
  t.write_file(dir .. "/not.db", string.rep("this is not a database\n", 100))
  local bad, err, kind = db.open(dir .. "/not.db")
  t.is_nil(bad)
  t.match(err, "not%.db: file is not a database")
  t.eq(kind, "connection")
  local none, nerr = db.open(dir .. "/missing/dir/x.db")
  t.is_nil(none)
  t.match(nerr, "missing/dir/x%.db: unable to open database file")
  t.raises(function() db.open(42) end, "Usage: db.open(url")
  t.raises(function() db.open("x.db", { busy = 1 }) end, "unknown option 'busy'")
  t.ok(db.open(":memory:"))
  t.raises(function() db.open(":memory:", { group_commit = true }) end, "group_commit needs a database file")
  t.raises(function() db.open("x.db", { group_commit = 1 }) end, "option 'group_commit' must be a boolean")
  t.eq(assert(db.open(dir .. "/plain.db")):group_commit(), false)
end)

t.test("sqlite (group_commit): handles of one file share batches; reads see only committed data", function()
  local path = t.tmpdir() .. "/shared.db"
  local a = assert(db.open(path, { group_commit = true }))
  local b = assert(db.open(path, { group_commit = true }))
  t.eq(a:group_commit(), true)
  -- The writer connection keeps the durable settings.
  t.eq(assert(a:query("PRAGMA synchronous"))[1].synchronous, 2)
  assert(a:exec("CREATE TABLE g(x INTEGER)"))
  local before = a:group_stats()
  a:transaction(function(tx)
    assert(tx:exec("INSERT INTO g VALUES (1)"))
    t.eq(assert(tx:query("SELECT count(*) AS n FROM g"))[1].n, 1, "the transaction sees its own write")
    -- Another handle's read outside a transaction sees committed data only.
    t.eq(assert(b:query("SELECT count(*) AS n FROM g"))[1].n, 0)
    -- A second handle on the same thread cannot start a transaction: it would wait for itself.
    t.raises(function() b:transaction(function() end) end, "another handle of this thread is inside a transaction")
    t.raises(function() b:exec("INSERT INTO g VALUES (9)") end, "another handle of this thread")
  end)
  t.eq(assert(b:query("SELECT count(*) AS n FROM g"))[1].n, 1)
  local after = b:group_stats()
  t.eq(after.batches - before.batches, 1)
  t.eq(after.transactions - before.transactions, 1)
  t.eq(a:group_stats().last_batch > 0, true)
  -- Closing inside a transaction rolls it back and frees the writer for the other handle.
  pcall(a.transaction, a, function(tx) assert(tx:exec("INSERT INTO g VALUES (2)")); a:close(); error("stop") end)
  t.eq(b:exec("INSERT INTO g VALUES (3)"), 1)
  t.eq(assert(b:query("SELECT x FROM g ORDER BY x")), { { x = 1 }, { x = 3 } })
  b:close()
end)

t.test("postgres URLs: a password libpq cannot parse is not echoed (no server needed)", function()
  local h, err, kind = db.open("postgres://app:Hunter%zz2@127.0.0.1:1/x")
  t.is_nil(h)
  t.eq(kind, "connection")
  t.eq(err, 'postgres://app@127.0.0.1:1/x: invalid percent-encoded token: "***"')
  local _, err2 = db.open("postgres://127.0.0.1:1/x?password=Hunter%zz2&sslmode=disable")
  t.ok(not err2:find("Hunter", 1, true), err2)
  t.match(err2, "^postgres://127%.0%.0%.1:1/x%?sslmode=disable: ")
end)

-- raise = true: every failure of the world raises a db error value that keeps its kind
-- and code, so a server can map "busy" to 503 without reading messages.
for _, grouped in ipairs { false, true } do
  t.test("sqlite" .. (grouped and " (group_commit)" or "") .. ": raise = true raises db errors with kind and code", function()
    local path = t.tmpdir() .. "/raise.db"
    local h = assert(db.open(path, { raise = true, group_commit = grouped, busy_timeout = 0 }))
    t.eq(h:raises(), true)
    assert(h:exec("CREATE TABLE k (id TEXT PRIMARY KEY)"))
    t.eq(h:exec("INSERT INTO k VALUES (?)", "a"), 1)
    local ok, e = pcall(h.exec, h, "INSERT INTO k VALUES (?)", "a")
    t.eq(ok, false)
    t.ok(db.is_error(e), tostring(e))
    t.eq(e.kind, "constraint")
    t.eq(e.code, "SQLITE_CONSTRAINT_PRIMARYKEY")
    t.eq(tostring(e), e.message)
    t.match(e.message, "raise%.db: UNIQUE constraint failed: k%.id")
    -- The same failure inside a transaction: rolled back, and the value comes out unchanged.
    local ok2, e2 = pcall(h.transaction, h, function(tx)
      tx:exec("INSERT INTO k VALUES (?)", "b")
      tx:exec("INSERT INTO k VALUES (?)", "a")
    end)
    t.eq(ok2, false)
    t.eq(e2.kind, "constraint")
    t.eq(#h:query("SELECT id FROM k WHERE id = 'b'"), 0)
    -- Another connection holding the write lock: the transaction's BEGIN gives up at once.
    local other = assert(db.open(path, { busy_timeout = 0 }))
    assert(other:exec("BEGIN IMMEDIATE"))
    local ok3, e3 = pcall(h.transaction, h, function(tx) tx:exec("INSERT INTO k VALUES ('c')") end)
    t.eq(ok3, false)
    t.ok(db.is_error(e3), tostring(e3))
    t.eq(e3.kind, "busy")
    t.match(e3.code, "^SQLITE_BUSY")
    assert(other:exec("ROLLBACK"))
    other:close()
    -- A statement prepared on a raising handle raises too; syntax errors have their kind.
    local ok4, e4 = pcall(h.query, h, "SELEC 1")
    t.eq(ok4, false)
    t.eq(e4.kind, "syntax")
    h:close()
  end)
end

t.test("raise = true: a failed open raises; plain handles still return nil, err, kind, code", function()
  local dir = t.tmpdir()
  t.write_file(dir .. "/not.db", string.rep("this is not a database\n", 100))
  local ok, e = pcall(db.open, dir .. "/not.db", { raise = true })
  t.eq(ok, false)
  t.ok(db.is_error(e))
  t.eq(e.kind, "connection")
  t.raises(function() db.open("x.db", { raise = 1 }) end, "option 'raise' must be a boolean")
  local h = assert(db.open(dir .. "/plain.db"))
  t.eq(h:raises(), false)
  local r, err, kind, code = h:query("SELEC 1")
  t.is_nil(r)
  t.eq(kind, "syntax")
  t.eq(code, "SQLITE_ERROR")
  t.match(err, "syntax error")
  t.eq(db.is_error(err), false)
  t.eq(tostring(db.error("m", "busy", "40001")), "m")
  t.eq(db.error("m").kind, "error")
end)
