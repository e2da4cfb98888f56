-- hostsync.http: an HTTP client (timeouts, retries with backoff, TLS, JSON helpers, a
-- server-sent events reader that resumes) and a server whose routes are Lua handlers,
-- each worker thread running its own Lua state.
--
--   local http = require "hostsync.http"
--   local res, err = http.request{ method = "GET", url = "http://127.0.0.1:8080/x" }
--   local v, err = http.get_json("https://example.org/api", { ca_file = "ca.pem" })
--   http.sse(url, { on_event = function(ev) print(ev.id, ev.data) end })
--   http.serve{ port = 0, script = "app.lua", threads = 8 }    -- blocks until SIGTERM
--
-- Reference: docs/api/http.md.
local _, raw = ...

local json = require "hostsync.json"
local time = require "hostsync.time"

local type, error, pairs, ipairs, select, tostring, tonumber = type, error, pairs, ipairs, select, tostring, tonumber
local floor = math.floor

local M = {}

-- Shared option checks -----------------------------------------------------------------

local check = require "hostsync.check"
local check_opts, is_count = check.opts, check.is_count

local function check_headers(h, usage)
  if h == nil then return {} end
  if type(h) ~= "table" then error(usage .. ": headers must be a table of name = value", 3) end
  local out = {}
  for k, v in pairs(h) do
    if type(k) ~= "string" or (type(v) ~= "string" and type(v) ~= "number") then
      error(usage .. ": headers must map names (strings) to string values", 3)
    end
    if k:find("[\r\n:]") or tostring(v):find("[\r\n]") then
      error(usage .. ": header '" .. k .. "' contains a line break or colon", 3)
    end
    out[k] = tostring(v)
  end
  return out
end

local function check_number(v, name, usage, min)
  if v ~= nil and (type(v) ~= "number" or v ~= v or v < (min or 0)) then
    error(usage .. ": " .. name .. " must be a number >= " .. (min or 0), 3)
  end
end

local function has_header(h, name)
  name = name:lower()
  for k in pairs(h) do if k:lower() == name then return true end end
  return false
end

-- Client -------------------------------------------------------------------------------

local request_keys = { method = "any", url = "any", headers = "any", body = "any", timeout = "any",
  retries = "any", backoff = "any", ca_file = "any", verify = "any", idempotent = "any" }
local idempotent = { GET = true, HEAD = true, PUT = true, DELETE = true, OPTIONS = true, TRACE = true }

-- http.request{method=, url=, headers=, body=, timeout=, retries=, backoff=, ca_file=, verify=,
--              idempotent=}  -> {status=, headers=, body=, attempts=} | nil, err
function M.request(opts)
  local usage = "Usage: http.request{url=, method=, headers=, body=, timeout=, retries=, backoff=, ca_file=, verify=, idempotent=}"
  if type(opts) ~= "table" then error(usage, 2) end
  check_opts(opts, request_keys, usage)
  if type(opts.url) ~= "string" or not opts.url:match("^[Hh][Tt][Tt][Pp][Ss]?://") then
    error(usage .. ": url must be an http:// or https:// URL", 2)
  end
  local method = opts.method or "GET"
  if type(method) ~= "string" or not method:match("^[A-Z]+$") then
    error(usage .. ": method must be an upper-case token such as GET", 2)
  end
  local headers = check_headers(opts.headers, usage)
  if opts.body ~= nil and type(opts.body) ~= "string" then error(usage .. ": body must be a string", 2) end
  check_number(opts.timeout, "timeout", usage, 0.001)
  check_number(opts.backoff, "backoff", usage)
  if opts.idempotent ~= nil and type(opts.idempotent) ~= "boolean" then error(usage .. ": idempotent must be a boolean", 2) end
  local replay_safe = opts.idempotent == true or idempotent[method] == true
  local retries = opts.retries
  if retries == nil then retries = replay_safe and 2 or 0 end
  if type(retries) ~= "number" or retries < 0 or retries ~= floor(retries) or retries > 100 then
    error(usage .. ": retries must be an integer 0..100", 2)
  end
  if opts.ca_file ~= nil and type(opts.ca_file) ~= "string" then error(usage .. ": ca_file must be a path", 2) end
  if opts.verify ~= nil and type(opts.verify) ~= "boolean" then error(usage .. ": verify must be a boolean", 2) end
  local status, rheaders, body, attempts = raw.request(method, opts.url, headers, opts.body,
    opts.timeout or 30, retries, opts.backoff or 0.2, opts.ca_file, opts.verify ~= false, replay_safe)
  if status == nil then return nil, rheaders end
  return { status = status, headers = rheaders, body = body, attempts = attempts }
end

-- http.parse_url(url) -> {scheme=, host=, port=, target=} | nil, err: how request() reads
-- a URL (absolute http/https only; no user info; IPv6 host without brackets).
function M.parse_url(url)
  if type(url) ~= "string" then error("Usage: http.parse_url(url: string)", 2) end
  return raw.parse_url(url)
end

local function merged(opts, extra, usage)
  if opts ~= nil and type(opts) ~= "table" then error(usage .. ": options must be a table", 3) end
  local t = {}
  for k, v in pairs(opts or {}) do t[k] = v end
  for k, v in pairs(extra) do t[k] = v end
  return t
end

function M.get(url, opts)
  return M.request(merged(opts, { method = "GET", url = url }, "Usage: http.get(url [, opts])"))
end

function M.post(url, body, opts)
  return M.request(merged(opts, { method = "POST", url = url, body = body }, "Usage: http.post(url, body [, opts])"))
end

-- A non-2xx status is a failure for the JSON helpers: nil, "GET url: status 404: {...}", res.
local function json_result(method, url, res, err)
  if res == nil then return nil, err end
  if res.status < 200 or res.status > 299 then
    return nil, method .. " " .. url .. ": status " .. res.status .. ": " .. res.body:sub(1, 200), res
  end
  if res.body == "" then return json.null, res end
  local v, derr = json.decode(res.body)
  if v == nil then return nil, method .. " " .. url .. ": response is not JSON: " .. derr, res end
  return v, res
end

function M.get_json(url, opts)
  local o = merged(opts, { method = "GET", url = url }, "Usage: http.get_json(url [, opts])")
  o.headers = o.headers or {}
  if not has_header(o.headers, "accept") then o.headers.Accept = "application/json" end
  return json_result("GET", url, M.request(o))
end

function M.post_json(url, value, opts)
  local o = merged(opts, { method = "POST", url = url, body = json.encode(value) }, "Usage: http.post_json(url, value [, opts])")
  local h = {}
  for k, v in pairs(o.headers or {}) do h[k] = v end
  if not has_header(h, "content-type") then h["Content-Type"] = "application/json" end
  if not has_header(h, "accept") then h.Accept = "application/json" end
  o.headers = h
  return json_result("POST", url, M.request(o))
end

-- SSE client ---------------------------------------------------------------------------

local sse_keys = { headers = "any", last_event_id = "any", on_event = "any", timeout = "any",
  reconnect_delay = "any", max_reconnects = "any", ca_file = "any", verify = "any" }

-- http.sse(url, {on_event=fn, headers=, last_event_id=, timeout=, reconnect_delay=,
--                max_reconnects=, ca_file=, verify=}) -> true, last_id | nil, err, last_id
function M.sse(url, opts)
  local usage = "Usage: http.sse(url, {on_event = function(ev) ... end, headers=, last_event_id=, timeout=, reconnect_delay=, max_reconnects=})"
  if type(url) ~= "string" or type(opts) ~= "table" or type(opts.on_event) ~= "function" then error(usage, 2) end
  check_opts(opts, sse_keys, usage)
  local base = check_headers(opts.headers, usage)
  check_number(opts.timeout, "timeout", usage, 0.001)
  check_number(opts.reconnect_delay, "reconnect_delay", usage)
  check_number(opts.max_reconnects, "max_reconnects", usage)
  if opts.last_event_id ~= nil and type(opts.last_event_id) ~= "string" then error(usage .. ": last_event_id must be a string", 2) end
  local on_event = opts.on_event
  local function callback(id, event, data)
    return on_event({ id = id, event = event, data = data })
  end
  local last_id = opts.last_event_id or ""
  local delay = opts.reconnect_delay or 1
  local failures = 0
  while true do
    local h = { Accept = "text/event-stream", ["Cache-Control"] = "no-cache" }
    for k, v in pairs(base) do h[k] = v end
    if last_id ~= "" then h["Last-Event-ID"] = last_id end
    local r1, r2, r3, r4, r5 = raw.sse_connect(url, h, opts.timeout or 60, opts.ca_file,
      opts.verify ~= false, callback, last_id)
    if r1 == false then error(r2, 0) end                 -- on_event raised: re-raise as is
    if r1 == "stopped" then return true, r2 end
    local retry_ms
    if r1 == "ended" then
      last_id, retry_ms, failures = r2, r3, 0
    else
      last_id, retry_ms = r3, r4
      if r5 then return nil, r2, last_id end              -- 204/4xx/not a stream: final
      failures = failures + 1
      if opts.max_reconnects and failures > opts.max_reconnects then return nil, r2, last_id end
    end
    if retry_ms then delay = retry_ms / 1000 end
    time.sleep(delay)
  end
end

-- Server -------------------------------------------------------------------------------

local serve_keys = { address = "any", port = "any", script = "any", module = "any", config = "any", threads = "any",
  max_body = "any", read_timeout = "any", idle_timeout = "any", grace = "any", tls = "any" }

-- http.serve{address=, port=, script= | module=, config=, threads=, max_body=, read_timeout=,
--            idle_timeout=, grace=, tls={cert=, key=}} -> true (after SIGTERM/SIGINT) | nil, err
function M.serve(opts)
  local usage = "Usage: http.serve{script = PATH | module = NAME, config=, address=, port=, threads=, max_body=, read_timeout=, idle_timeout=, grace=, tls = {cert=, key=}}"
  if type(opts) ~= "table" then error(usage, 2) end
  check_opts(opts, serve_keys, usage)
  if (opts.script == nil) == (opts.module == nil) then error(usage .. ": give exactly one of script and module", 2) end
  if opts.script ~= nil and type(opts.script) ~= "string" then error(usage .. ": script must be a path", 2) end
  if opts.module ~= nil and type(opts.module) ~= "string" then error(usage .. ": module must be a module name", 2) end
  if opts.address ~= nil and type(opts.address) ~= "string" then error(usage .. ": address must be a string", 2) end
  local port = opts.port or 0
  if type(port) ~= "number" or port < 0 or port > 65535 or port ~= floor(port) then error(usage .. ": port must be 0..65535", 2) end
  local threads = opts.threads or 8
  if type(threads) ~= "number" or threads < 1 or threads > 256 or threads ~= floor(threads) then error(usage .. ": threads must be 1..256", 2) end
  check_number(opts.max_body, "max_body", usage)
  check_number(opts.read_timeout, "read_timeout", usage, 0.001)
  check_number(opts.idle_timeout, "idle_timeout", usage, 0.001)
  check_number(opts.grace, "grace", usage)
  -- Each worker state gets its own copy of config, as JSON: Lua values cannot cross states.
  local config
  if opts.config ~= nil then
    if type(opts.config) ~= "table" then error(usage .. ": config must be a table (JSON-encodable)", 2) end
    local text, err = json.encode(opts.config)
    if not text then error(usage .. ": config: " .. tostring(err), 2) end
    config = text
  end
  local cert, key
  if opts.tls ~= nil then
    if type(opts.tls) ~= "table" or type(opts.tls.cert) ~= "string" or type(opts.tls.key) ~= "string" then
      error(usage .. ": tls must be {cert = PATH, key = PATH}", 2)
    end
    check_opts(opts.tls, { cert = "string", key = "string" }, usage .. ": tls")
    cert, key = opts.tls.cert, opts.tls.key
  end
  return raw.serve{ address = opts.address or "127.0.0.1", port = port, threads = threads,
    max_body = opts.max_body, read_timeout = opts.read_timeout, idle_timeout = opts.idle_timeout, grace = opts.grace,
    tls_cert = cert, tls_key = key, script = opts.script, module = opts.module, config = config }
end

-- Event topics (docs/api/http.md, "Event topics") --------------------------------------

local function check_attrs(t, what, usage)
  if t == nil then return {} end
  if type(t) ~= "table" then error(usage .. ": " .. what .. " must be a table of name = string", 3) end
  local out = {}
  for k, v in pairs(t) do
    if type(k) ~= "string" or (type(v) ~= "string" and type(v) ~= "number") then
      error(usage .. ": " .. what .. " must map names (strings) to strings", 3)
    end
    out[k] = tostring(v)
  end
  return out
end

-- {id=, event=, data=, attrs=} -> the same with data a string and attrs checked
local function check_event(ev, usage)
  if type(ev) ~= "table" then error(usage .. ": each event must be a table {id=, event=, data=, attrs=}", 3) end
  local id = ev.id
  if not is_count(id) then
    error(usage .. ": event id must be an integer 0..2^53", 3)
  end
  if ev.event ~= nil and (type(ev.event) ~= "string" or ev.event:find("[\r\n]")) then
    error(usage .. ": event name must be a single-line string", 3)
  end
  local data = ev.data
  if type(data) == "table" then data = json.encode(data)
  elseif data == nil then data = ""
  else data = tostring(data) end
  return { id = id, event = ev.event, data = data, attrs = check_attrs(ev.attrs, "attrs", usage) }
end

local function check_id(v, name, usage)
  if not is_count(v) then
    error(usage .. ": " .. name .. " must be an integer 0..2^53", 3)
  end
end

local function check_topic(topic, usage)
  if type(topic) ~= "string" or topic == "" then error(usage .. ": topic must be a non-empty string", 3) end
end

-- http.publish(topic, from, events) -> how many events were new. `events` holds every
-- event of the topic after id `from`, ids increasing.
function M.publish(topic, from, events)
  local usage = "Usage: http.publish(topic, from, { {id=, event=, data=, attrs=}, ... })"
  check_topic(topic, usage)
  check_id(from, "from", usage)
  if type(events) ~= "table" then error(usage, 2) end
  local list, last = {}, from
  for i, ev in ipairs(events) do
    local e = check_event(ev, usage)
    if e.id <= last then error(usage .. ": event " .. i .. ": ids must increase after `from`", 2) end
    last = e.id
    list[i] = e
  end
  return raw.publish(topic, from, list)
end

local subscribe_keys = { topic = "any", after = "any", replay = "any", filter = "any", labels = "any", notices = "any" }

-- A handler returns http.subscribe{...}: an event stream held by the server's event loop.
function M.subscribe(opts)
  local usage = "Usage: http.subscribe{topic=, after=, replay=, filter=, labels=, notices=}"
  if type(opts) ~= "table" then error(usage, 2) end
  check_opts(opts, subscribe_keys, usage)
  check_topic(opts.topic, usage)
  local after = opts.after or 0
  check_id(after, "after", usage)
  -- Notices go first, without ids (so Last-Event-ID stays the client's): not topic events.
  local notices = {}
  for i, ev in ipairs(opts.notices or {}) do
    if type(ev) ~= "table" then error(usage .. ": notice " .. i .. " must be a table {event=, data=}", 2) end
    local e = check_event({ id = 0, event = ev.event, data = ev.data }, usage)
    notices[i] = { event = e.event, data = e.data }
  end
  local replay, last = {}, after
  for i, ev in ipairs(opts.replay or {}) do
    local e = check_event(ev, usage)
    if e.id <= last then error(usage .. ": replay event " .. i .. ": ids must increase after `after`", 2) end
    last = e.id
    replay[i] = e
  end
  local filter = {}
  if opts.filter ~= nil then
    if type(opts.filter) ~= "table" then error(usage .. ": filter must be a table of name = {allowed values}", 2) end
    for k, values in pairs(opts.filter) do
      if type(k) ~= "string" or type(values) ~= "table" then
        error(usage .. ": filter must be a table of name = {allowed values}", 2)
      end
      local list = {}
      for i, v in ipairs(values) do
        if type(v) ~= "string" then error(usage .. ": filter." .. k .. " must list strings", 2) end
        list[i] = v
      end
      filter[k] = list
    end
  end
  return { subscribe = { topic = opts.topic, after = after, replay = replay, filter = filter, notices = notices,
                         labels = check_attrs(opts.labels, "labels", usage) } }
end

-- http.topic(name) -> {floor=, last=, subscribers=, buffered=} | nil (nobody subscribed yet)
function M.topic(name)
  check_topic(name, "Usage: http.topic(name)")
  return raw.topic_info(name)
end

-- http.topics() -> the names of the topics this process has
function M.topics()
  return raw.topics()
end

-- http.stream_labels(label) -> the distinct values of `label` among open subscriber streams
function M.stream_labels(label)
  if type(label) ~= "string" then error("Usage: http.stream_labels(label: string)", 2) end
  return raw.stream_labels(label)
end

-- http.end_streams(label, value) -> how many subscriber streams were ended
function M.end_streams(label, value)
  if type(label) ~= "string" or (type(value) ~= "string" and type(value) ~= "number") then
    error("Usage: http.end_streams(label: string, value: string)", 2)
  end
  return raw.end_streams(label, tostring(value))
end

-- Worker side (internal): runs inside each worker thread's own Lua state ----------------

local function split_path(path)
  local parts = {}
  for seg in path:gmatch("[^/]+") do parts[#parts + 1] = seg end
  return parts
end

-- "/locks/:name/*" -> matcher(parts) -> params | nil, where parts is the request path
-- split once per request (split_path): every route is tried against the same split,
-- and a route with another number of segments is refused before any string work.
local function compile_pattern(pattern)
  local segs = split_path(pattern)
  local n, rest = #segs, segs[#segs] == "*"
  local names = {}                 -- names[i]: the parameter name of a ":name" segment
  for i, seg in ipairs(segs) do
    if seg:sub(1, 1) == ":" then names[i] = seg:sub(2) end
  end
  return function(parts)
    if rest then
      if #parts < n - 1 then return nil end
    elseif #parts ~= n then
      return nil
    end
    local params = {}
    for i = 1, n do
      if rest and i == n then
        params["*"] = table.concat(parts, "/", i)
        return params
      end
      local name = names[i]
      if name then params[name] = parts[i]
      elseif segs[i] ~= parts[i] then return nil end
    end
    return params
  end
end

local function compile_routes(routes, app, name)
  if routes == nil then return nil end
  if type(routes) ~= "table" then error(name .. ": routes must be a list of {METHOD, PATTERN, handler}", 0) end
  local out = {}
  for i, r in ipairs(routes) do
    local method, pattern, h = r[1], r[2], r[3]
    if type(method) ~= "string" or type(pattern) ~= "string" or pattern:sub(1, 1) ~= "/" then
      error(name .. ": route " .. i .. " must be {METHOD, \"/path/:param\", handler}", 0)
    end
    local fn = h
    if type(h) == "string" then fn = app[h] end
    if type(fn) ~= "function" then
      error(name .. ": route " .. i .. " (" .. method .. " " .. pattern .. "): handler " .. tostring(h) .. " is not a function", 0)
    end
    out[#out + 1] = { method = method:upper(), match = compile_pattern(pattern), fn = fn }
  end
  return out
end

local function json_error(status, message, extra)
  local h = { ["Content-Type"] = "application/json" }
  for k, v in pairs(extra or {}) do h[k] = v end
  return status, h, json.encode({ error = message })
end

-- A handler's results -> status, headers, body (string) or the stream function.
local function respond(n, a, b, c)
  if n == 0 or (n == 1 and a == nil) then return 204, {}, "" end
  local status, headers, body
  if type(a) == "number" then
    status = a
    if n >= 3 then headers, body = b, c else body = b end
  else
    status, body = 200, a
  end
  if status ~= floor(status) or status < 100 or status > 599 then
    error("http handler returned status " .. tostring(status) .. " (expected 100..599)", 0)
  end
  if headers ~= nil and type(headers) ~= "table" then
    error("http handler returned headers of type " .. type(headers) .. " (expected a table)", 0)
  end
  local h = {}
  for k, v in pairs(headers or {}) do h[tostring(k)] = tostring(v) end
  if type(body) == "table" then
    if type(body.sse) == "function" then return status, h, body.sse end
    if type(body.subscribe) == "table" then return status, h, body.subscribe end
    body = json.encode(body)
    if not has_header(h, "content-type") then h["Content-Type"] = "application/json" end
  elseif body == nil then
    body = ""
  elseif type(body) == "number" then
    body = tostring(body)
  elseif type(body) ~= "string" then
    error("http handler returned a " .. type(body) .. " body (expected string, table or nil)", 0)
  end
  return status, h, body
end

local function respond_all(...) return respond(select("#", ...), ...) end

local function pack(...) return { n = select("#", ...), ... } end

-- The app of one worker: the script's (or module's) value, or, with config, the value of
-- calling it with this worker's copy of config.
local function load_app(spec)
  local app, name
  if spec.script then
    name = spec.script
    local chunk, err = loadfile(spec.script)
    if not chunk then error(err, 0) end
    app = chunk()
    if app == nil and not spec.config then app = _G end   -- the script defined globals
  else
    name = spec.module
    app = require(spec.module)
  end
  if spec.config then
    if type(app) ~= "function" then error(name .. ": with config, must return a function(config) -> app", 0) end
    local config, err = json.decode(spec.config)
    if config == nil then error(name .. ": config: " .. tostring(err), 0) end
    app = app(config)
  end
  if type(app) ~= "table" then error(name .. ": must return a table (or define globals) with routes or route(req)", 0) end
  return app, name
end

-- -> dispatch(req), admit(req) | nil, background(wait) | nil: the functions the host calls.
function M._worker(spec)
  local app, name = load_app(spec)
  local routes = compile_routes(app.routes, app, name)
  local fallback = app.route
  if routes == nil and type(fallback) ~= "function" then
    error(name .. ": defines neither routes = {...} nor route(req)", 0)
  end
  if app.background ~= nil and type(app.background) ~= "function" then
    error(name .. ": background must be a function(wait)", 0)
  end
  local authorize = app.authorize
  if authorize ~= nil and type(authorize) ~= "function" then error(name .. ": authorize must be a function(req)", 0) end
  local function dispatch(req)
    local method = req.method == "HEAD" and "GET" or req.method
    local allowed
    local parts = split_path(req.path)
    for _, r in ipairs(routes or {}) do
      local params = r.match(parts)
      if params then
        if r.method == method or r.method == "*" then
          req.params = params
          return respond_all(r.fn(req))
        end
        allowed = (allowed and allowed .. ", " or "") .. r.method
      end
    end
    req.params = {}
    if type(fallback) == "function" then
      local results = pack(fallback(req))
      if results.n > 0 and results[1] ~= nil then return respond(results.n, results[1], results[2], results[3]) end
    end
    if allowed then return json_error(405, "method " .. req.method .. " not allowed on " .. req.path, { Allow = allowed }) end
    return json_error(404, "no route for " .. req.method .. " " .. req.path)
  end
  -- authorize(req) sees every request before its body is read (req.body is nil): nothing
  -- lets it through, a response refuses it (and the body is discarded unread).
  local function admit(req)
    local results = pack(authorize(req))
    if results.n == 0 or results[1] == nil then return nil end
    local status, headers, body = respond(results.n, results[1], results[2], results[3])
    if type(body) == "function" then error("http authorize returned an event stream (expected a refusal)", 0) end
    return status, headers, body
  end
  return dispatch, authorize and admit or nil, app.background
end

function M._run_stream(fn, raw_send, raw_wait)
  local function send(ev)
    if type(ev) == "string" then return raw_send(nil, nil, ev) end
    if type(ev) ~= "table" then error("Usage: send(data: string | {id=, event=, data=, retry=})", 2) end
    local data = ev.data
    if type(data) == "table" then data = json.encode(data)
    elseif data == nil then data = ""
    else data = tostring(data) end
    local id = ev.id ~= nil and tostring(ev.id) or nil
    if (id and id:find("[\r\n]")) or (ev.event ~= nil and (type(ev.event) ~= "string" or ev.event:find("[\r\n]"))) then
      error("Usage: send: id and event must be single-line strings", 2)
    end
    if ev.retry ~= nil and (type(ev.retry) ~= "number" or ev.retry < 0) then error("Usage: send: retry must be milliseconds >= 0", 2) end
    return raw_send(id, ev.event, data, ev.retry)
  end
  local function wait(seconds)
    if type(seconds) ~= "number" or seconds < 0 then error("Usage: wait(seconds: number >= 0)", 2) end
    return raw_wait(seconds)
  end
  fn(send, wait)
end

return M
