-- hostsync run db_rows.lua URL SQL [PARAM...]: runs one query (PARAMs bound as text) on a
-- SQLite file or a postgres:// URL and prints each row as one JSON object a line. The
-- sync tests' independent look at what the server stored, alike on both backends.
local db = require "hostsync.db"
local json = require "hostsync.json"

local h = assert(db.open(arg[1]))
local rows = assert(h:query(arg[2], unpack(arg, 3, #arg)))
for _, r in ipairs(rows) do
  local out = {}
  for k, v in pairs(r) do out[k] = v == db.null and json.null or v end
  io.stdout:write(json.encode(out), "\n")
end
h:close()
