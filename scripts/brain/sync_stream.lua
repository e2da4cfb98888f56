-- GET /sync/stream: a live "poke" that a tenant's data moved on, with the version, so a
-- sync client follows changes (sync_client.lua sync --follow) instead of polling /sync/pull
-- (contract section 7.1: mirrors stay up to date). The event carries no data: the client
-- pulls, through the same rules as any pull. One topic per tenant ("sync:<tenant>"), fed
-- from sync_tenants.last_version after every /sync write (brain/topics.lua); a poke
-- stands for every version up to its own, so a burst of pushes costs one read.
local http = require "hostsync.http"
local topics = require "brain.topics"
local validate = require "brain.validate"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}

function M.topic(tenant)
  return "sync:" .. tenant
end

local function head(h, tenant)
  local r = db_check(h:query("SELECT last_version FROM sync_tenants WHERE tenant = ?", tenant))[1]
  return r and tonumber(r.last_version) or 0
end

local function poke(version)
  return { id = version, event = "sync", data = { version = version } }
end

topics.source("sync", function(h, name, after)
  local v = head(h, name:sub(#"sync:" + 1))
  if v > after then return { poke(v) } end
  return {}
end)

-- Resumes after Last-Event-ID (or ?since=, e.g. the client's pull cursor): if the tenant
-- is already past it, the first event comes at once. Without either, from now on.
function M.stream(h, ident, req)
  local v = head(h, ident.tenant)
  local from = req.headers["last-event-id"] or req.query.since
  local since = v
  if from ~= nil and from ~= "" then
    since = tonumber(from)
    if not since or since < 0 or since ~= math.floor(since) then
      validate.fail("Last-Event-ID must be a non-negative integer (a version)")
    end
  end
  local replay = {}
  if v > since then replay[1] = poke(v) end
  return http.subscribe{ topic = M.topic(ident.tenant), after = math.min(since, v), replay = replay,
                         labels = { token = tostring(ident.token_id) } }
end

return M
