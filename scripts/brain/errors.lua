-- How the brain answers a request whose handler raised: one place, so every route maps
-- failures the same way.
--
--   {status =, error =}        (brain/validate.lua, auth.require_project, ...) as it is;
--   a db error of kind "busy"  (docs/api/db.md: SQLite's busy timeout, a PostgreSQL
--                              serialization failure, deadlock or lock timeout) 503 with
--                              Retry-After: nothing was applied, and clients retry;
--   anything else              500 {"error": "internal server error", "id": ID}, and the
--                              log line "hostsync brain: error ID: METHOD PATH: ..." with
--                              the traceback, so a user's report names the log entry.
--
-- The kind comes from the error value the database raised (the server's handles are
-- opened with raise = true), never from reading its message.
local db = require "hostsync.db"
local store = require "brain.store"

local M = {}

M.RETRY_AFTER = "1"

-- True for an error a handler raised on purpose to answer with its status.
function M.is_answer(err)
  return type(err) == "table" and type(err.status) == "number" and not db.is_error(err)
end

-- -> status, headers, body. `trace` is the traceback taken where `err` was raised (nil
-- for answers); a db error brings its own.
function M.respond(req, err, trace)
  if M.is_answer(err) then return err.status, {}, { error = err.error } end
  if db.is_error(err) and err.kind == "busy" then
    io.stderr:write(("hostsync brain: %s %s: database busy (%s): %s\n"):format(req.method, req.path, err.code, err.message))
    return 503, { ["Retry-After"] = M.RETRY_AFTER }, { error = "database busy, retry" }
  end
  local id = store.random_hex(8)
  local detail = db.is_error(err) and err.traceback or trace or tostring(err)
  io.stderr:write(("hostsync brain: error %s: %s %s: %s\n"):format(id, req.method, req.path, detail))
  return 500, {}, { error = "internal server error", id = id }
end

return M
