-- The app the HTTP e2e tests serve: every worker thread loads this file into its own Lua
-- state (see test_http_server.py).
local http = require "hostsync.http"
local json = require "hostsync.json"
local time = require "hostsync.time"
local fs = require "hostsync.fs"

local app = {}

app.routes = {
  { "GET", "/hello/:name", "hello" },
  { "POST", "/json", "echo_json" },
  { "GET", "/files/*", "files" },
  { "GET", "/boom", "boom" },
  { "GET", "/state", "state" },
  { "GET", "/slow", "slow" },
  { "GET", "/events", "events" },
  { "GET", "/ticker", "ticker" },
  { "GET", "/quiet", "quiet" },
  { "GET", "/text", function() return 200, { ["Content-Type"] = "text/csv" }, "a,b\n" end },
  { "GET", "/block", "block" },
  { "GET", "/topic/:name", "subscribe" },
  { "GET", "/topic/:name/info", "topic_info" },
  { "POST", "/topic/:name", "publish" },
  { "POST", "/end-streams", "end_streams" },
}

function app.hello(req)
  return { name = req.params.name, q = req.query.q, method = req.method }
end

function app.echo_json(req)
  local v, err = json.decode(req.body)
  if v == nil then return 400, { error = "bad JSON: " .. err } end
  return 201, { got = v, n = #req.body }
end

function app.files(req) return { rest = req.params["*"] } end

function app.boom()
  local secret = "SECRET-DETAIL"
  error("handler failed with " .. secret)
end

-- Waits until `ready()` is true; the 120 s bound only keeps a broken test from hanging
-- (the test then fails on what it asserts).
local function wait_for(ready)
  local deadline = time.monotonic() + 120
  while not ready() and time.monotonic() < deadline do
    time.sleep(0.01)   -- polling an observed state: cannot change an outcome
  end
end

-- Counts requests in this Lua state. A file barrier (`dir`, `n`) holds each request until
-- n requests are in flight at once, so n concurrent requests occupy n distinct workers.
hits = 0
function app.state(req)
  hits = hits + 1
  local dir, n = req.query.dir, tonumber(req.query.n)
  assert(io.open(dir .. "/" .. req.query.id, "w")):close()
  wait_for(function() return #assert(fs.listdir(dir)) >= n end)
  return { worker = req.worker, hits = hits }
end

-- Marks its start (so a test knows it is in flight), then holds until the file `until`
-- exists: the test decides when it ends, not a clock.
function app.slow(req)
  if req.query.mark then assert(io.open(req.query.mark, "w")):close() end
  wait_for(function() return fs.exists(req.query["until"]) end)
  return "slow done"
end

-- Three events after the client's Last-Event-ID, then the server closes the stream.
function app.events(req)
  local last = tonumber(req.headers["last-event-id"] or "0")
  return { sse = function(send)
    send { retry = 50, data = "seen last-event-id " .. tostring(req.headers["last-event-id"]), event = "hello" }
    for i = last + 1, last + 3 do
      if not send { id = i, event = "tick", data = "event " .. i .. "\nsecond line" } then return end
    end
  end }
end

-- An endless stream until the client leaves or the server stops.
function app.ticker(req)
  return { sse = function(send, wait)
    local i = 0
    repeat
      i = i + 1
      if not send { id = i, data = { n = i } } then return end
    until not wait(0.05)
  end }
end

-- One event, then silence until the server stops: only the client's read timeout can
-- bring a second event.
function app.quiet(req)
  local last = tonumber(req.headers["last-event-id"] or "0")
  return { sse = function(send, wait)
    send { id = last + 1, data = "after " .. tostring(req.headers["last-event-id"]) }
    wait(86400)
  end }
end

-- Marks its start, then holds its worker until the file `until` exists.
function app.block(req)
  assert(io.open(req.query.mark, "w")):close()
  local deadline = time.monotonic() + 30
  while not fs.exists(req.query["until"]) and time.monotonic() < deadline do time.sleep(0.01) end
  return "unblocked"
end

-- Event topics (test_http_topics.py): ?after=N, ?replay=6,7 (events the "store" has),
-- ?project=P (sees P and events without a project), ?who=W (a label).
function app.subscribe(req)
  local replay = {}
  for id in (req.query.replay or ""):gmatch("%d+") do
    replay[#replay + 1] = { id = tonumber(id), event = "news", data = "replayed " .. id }
  end
  return http.subscribe{ topic = req.params.name, after = tonumber(req.query.after or "0"), replay = replay,
    filter = req.query.project and { project = { req.query.project, "" } } or nil,
    labels = req.query.who and { who = req.query.who } or nil }
end

function app.topic_info(req)
  local info = http.topic(req.params.name)
  if not info then return 404, { error = "no such topic" } end
  return info
end

-- {from =, events = [{id, data, project?}]}
function app.publish(req)
  local body = json.decode(req.body)
  local events = {}
  for i, e in ipairs(body.events) do
    events[i] = { id = e.id, event = "news", data = e.data, attrs = { project = e.project } }
  end
  return { new = http.publish(req.params.name, body.from, events) }
end

function app.end_streams(req)
  return { ended = http.end_streams(req.query.label, req.query.value) }
end

-- The background task: a heartbeat on topic "beat" (for whoever subscribed), on its own
-- thread, until the server stops.
function app.background(wait)
  local n = 0
  while wait(0.05) do
    local info = http.topic("beat")
    if info and info.subscribers > 0 then
      n = math.max(n, info.last) + 1
      http.publish("beat", info.last, { { id = n, event = "beat", data = "beat " .. n } })
    end
  end
  io.stderr:write("background stopped\n")
end

return app
