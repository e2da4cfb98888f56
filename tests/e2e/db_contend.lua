-- One of several processes hammering one SQLite file (see test_db.py): each round is a
-- read-modify-write transaction (read the counter, write it back plus one, log the
-- round). Without BEGIN IMMEDIATE and the busy timeout, rounds would fail with
-- SQLITE_BUSY or, worse, two processes would write the same counter value.
-- arg[1]: database path; arg[2]: worker name; arg[3]: rounds.
local db = require "hostsync.db"

local h = assert(db.open(arg[1], { busy_timeout = 120 }))
local rounds = tonumber(arg[3])
for i = 1, rounds do
  assert(h:transaction(function(tx)
    local n = assert(tx:query("SELECT n FROM counter WHERE id = 1"))[1].n
    assert(tx:exec("UPDATE counter SET n = ? WHERE id = 1", n + 1))
    assert(tx:exec("INSERT INTO rounds(worker, round, seen) VALUES (?, ?, ?)", arg[2], i, n))
    return true
  end))
end
h:close()
