-- The brain's live streams on the host's event topics (docs/api/http.md, "Event topics";
-- docs/brain.md, "Live streams"). The database is the store of record: a topic only
-- carries what was read from it after a write, so a stream never holds a worker and
-- never polls.
--
--   topics.source(prefix, read)  read(h, name, after) -> events after `after` (ids
--                                increasing, a page at most PAGE long), for every topic
--                                whose name is `prefix` or starts with `prefix .. ":"`
--   topics.touch(name)           a write of this request changed the topic
--   topics.flush(h)              after the request succeeded (its transaction committed):
--                                publish the touched topics here, and tell the other
--                                servers on PostgreSQL (NOTIFY CHANNEL, payload the name)
--   topics.refresh(h, name)      read and publish what the topic lacks, if anyone listens
--   topics.watcher(config)       the background task: refreshes on NOTIFY (PostgreSQL)
--                                and every config.stream_sweep seconds (default SWEEP: a
--                                missed notification, a writer in another process); every
--                                TOKEN_CHECK seconds ends the streams of tokens revoked
--                                since they opened; `also` (optional): step, every = a
--                                function the task also calls every `every` seconds
--                                (the hooks runner, brain/hooks.lua)
local http = require "hostsync.http"
local auth = require "brain.auth"
local store = require "brain.store"
local time = require "hostsync.time"

local M = {}

M.CHANNEL = "hostsync_topics"
M.PAGE = 500
M.SWEEP = 5            -- seconds between re-reads of every topic someone listens to
M.LISTEN_SLICE = 0.5   -- PostgreSQL: seconds per wait for a notification (shutdown is noticed)
M.TOKEN_CHECK = 2      -- seconds between checks of the tokens whose streams are open

local sources = {}     -- prefix -> read(h, name, after)
local touched = {}     -- name -> true, for the request being handled

function M.source(prefix, read)
  sources[prefix] = read
end

local function source_of(name)
  return sources[name] or sources[name:match("^([^:]+):")]
end

function M.touch(name)
  touched[name] = true
end

-- Publishes what `name` lacks; -> how many events were new. Costs nothing while nobody
-- on this server listens (the first subscriber starts the topic where it is).
function M.refresh(h, name)
  local info = http.topic(name)
  if not info or info.subscribers == 0 then return 0 end
  local read = source_of(name)
  if not read then return 0 end
  local from, new = info.last, 0
  while true do
    local events = read(h, name, from)
    if #events == 0 then break end
    new = new + http.publish(name, from, events)
    from = events[#events].id
    if #events < M.PAGE then break end
  end
  return new
end

-- After a request succeeded. A failure here must not fail the request (it committed):
-- it is logged, and the watcher's next sweep publishes what was missed.
function M.flush(h)
  if next(touched) == nil then return end
  local names = touched
  touched = {}
  local ok, err = pcall(function()
    local postgres = h:backend() == "postgres"
    for name in pairs(names) do
      M.refresh(h, name)
      if postgres then h:notify(M.CHANNEL, name) end
    end
  end)
  if not ok then io.stderr:write("hostsync brain: publishing to event topics: ", tostring(err), "\n") end
end

-- After a request failed: what it touched did not commit.
function M.forget()
  touched = {}
end

local function sweep(h)
  for _, name in ipairs(http.topics()) do M.refresh(h, name) end
end

-- A stream was admitted once, when it opened: end those whose token is no longer valid.
-- (Streams are labelled with their token's id.)
local function check_tokens(h)
  local open = http.stream_labels("token")
  if #open == 0 then return end
  for _, id in ipairs(auth.invalid_among(h, open)) do http.end_streams("token", id) end
end

-- The background task (app.background): its own handle, so it never competes with a
-- worker's. Raising ends it; the host starts it again a second later.
function M.watcher(config, also, also_every)
  local every = config.stream_sweep or M.SWEEP
  if type(every) ~= "number" or every <= 0 then error("config: stream_sweep must be a number of seconds > 0", 0) end
  local slice = math.min(every, M.TOKEN_CHECK, also and also_every or math.huge)
  return function(wait)
    local h = store.open(config.db, false, true)
    local postgres = h:backend() == "postgres"
    if postgres then h:listen(M.CHANNEL) end
    local next_sweep = time.monotonic() + every
    local next_check = time.monotonic() + M.TOKEN_CHECK
    local next_also = time.monotonic()
    while true do
      if postgres then
        local n = h:wait_notification(M.LISTEN_SLICE)
        if n then
          local names = {}
          repeat
            names[n.payload] = true
            n = h:wait_notification(0)
          until not n
          for name in pairs(names) do M.refresh(h, name) end
        end
        if not wait(0) then break end
      elseif not wait(slice) then
        break
      end
      local now = time.monotonic()
      -- On PostgreSQL a pass ends at every burst of notifications: `also` keeps its own
      -- pace (also_every), not the notifications'.
      if also and (not postgres or now >= next_also) then
        also()
        now = time.monotonic()
        next_also = now + also_every
      end
      if now >= next_sweep then
        sweep(h)
        next_sweep = now + every
      end
      if now >= next_check then
        check_tokens(h)
        next_check = now + M.TOKEN_CHECK
      end
    end
    h:close()
  end
end

return M
