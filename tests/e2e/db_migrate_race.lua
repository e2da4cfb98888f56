-- One of several processes migrating the same database at once (see test_db.py).
-- arg[1]: database URL. Prints the versions this process applied, comma-separated, and
-- the rows of the migrated table it then sees: "1,2 3".
local db = require "hostsync.db"

local h = assert(db.open(arg[1], { busy_timeout = 120 }))
local applied = assert(db.migrate(h, {
  { version = 1, name = "items", up = "CREATE TABLE items (x INTEGER)" },
  { version = 2, name = "seed", up = "INSERT INTO items VALUES (1)" },
  { version = 3, name = "more", up = { "INSERT INTO items VALUES (2)", "INSERT INTO items VALUES (3)" } },
}))
local rows = assert(h:query("SELECT count(*) AS n FROM items"))
io.write(table.concat(applied, ","), " ", rows[1].n, "\n")
h:close()
