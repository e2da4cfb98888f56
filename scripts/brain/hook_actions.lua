-- What a hook may do (docs/hooks.md): a handler returns a list of actions, plain data
-- checked here before anything happens. The sandbox cannot hold a host function (its
-- state is separate and values cross by copy), so a capability is an action the host
-- agrees to perform, not a function the hook calls:
--
--   { action = "post_chat", message =, type =, project =, metadata = }
--   { action = "create_task", title =, project =, assigned_to =, status = }
--   { action = "http_post", url =, json = | body =, headers = }   (allow-listed hosts only)
local http = require "hostsync.http"
local json = require "hostsync.json"
local chat = require "brain.chat"
local tasks = require "brain.tasks"

local M = {}
M.MAX_ACTIONS = 16
M.MAX_HTTP = 4        -- per run: each may wait up to hooks.http_timeout

local FIELDS = {
  post_chat = { message = true, type = true, project = true, metadata = true },
  create_task = { title = true, project = true, assigned_to = true, status = true },
  http_post = { url = true, json = true, body = true, headers = true },
}

-- allow_hosts entries ("host" or "host:port", IPv6 as "[::1]:8080") -> lookup set.
function M.allow_set(list)
  local set = {}
  for _, e in ipairs(list or {}) do set[e:lower()] = true end
  return set
end

-- Where a URL may go: only to a host (any port) or host:port on the list, judged on the
-- HTTP client's own reading of the URL. -> true | nil, why
function M.allowed(url, allow)
  local u, err = http.parse_url(url)
  if not u then return nil, err end
  local host = u.host:lower()
  local shown = host:find(":", 1, true) and ("[" .. host .. "]") or host
  if allow[shown] or allow[shown .. ":" .. u.port] then return true end
  return nil, ("host %s (port %d) is not in hooks.allow_hosts"):format(shown, u.port)
end

local function fail(i, msg) error(("action %d: %s"):format(i, msg), 0) end

-- The handler's answer -> a list of checked actions; raises "action N: why".
function M.check(result, allow)
  if result == nil then return {} end
  if type(result) ~= "table" then error("a handler returns nil or a list of actions, not a " .. type(result), 0) end
  if result.action ~= nil then result = { result } end   -- one action alone
  local n, https = 0, 0
  for k in pairs(result) do
    if type(k) ~= "number" then error("a handler returns a list of actions; found key '" .. tostring(k) .. "'", 0) end
    n = n + 1
  end
  if n > M.MAX_ACTIONS then error(("%d actions; at most %d per run"):format(n, M.MAX_ACTIONS), 0) end
  local out = {}
  for i = 1, n do
    local a = result[i]
    if type(a) ~= "table" then fail(i, "not a table (list holes are not allowed)") end
    local fields = FIELDS[a.action]
    if not fields then fail(i, "unknown action '" .. tostring(a.action) .. "' (post_chat, create_task, http_post)") end
    for k in pairs(a) do
      if k ~= "action" and not fields[k] then fail(i, ("%s has no field '%s'"):format(a.action, tostring(k))) end
    end
    if a.action == "http_post" then
      https = https + 1
      if https > M.MAX_HTTP then fail(i, ("at most %d http_post per run"):format(M.MAX_HTTP)) end
      if type(a.url) ~= "string" then fail(i, "http_post needs url (a string)") end
      local ok, why = M.allowed(a.url, allow)
      if not ok then fail(i, "http_post " .. a.url .. ": " .. why) end
      if a.json ~= nil and a.body ~= nil then fail(i, "http_post takes json or body, not both") end
      if a.body ~= nil and type(a.body) ~= "string" then fail(i, "http_post body must be a string") end
      if a.headers ~= nil and type(a.headers) ~= "table" then fail(i, "http_post headers must be a table") end
      for k, v in pairs(a.headers or {}) do
        if type(k) ~= "string" or not k:match("^[%w%-]+$") or type(v) ~= "string" or v:find("[\r\n%z]") then
          fail(i, "http_post headers must map header names to single-line strings")
        end
        if M.RESERVED_HEADERS[k:lower()] then
          fail(i, ("http_post header '%s' is set by the server"):format(k))
        end
      end
    end
    out[i] = a
  end
  return out
end

-- Headers the server sets on every hook request (a receiver relies on them to drop
-- repeats and to see which event it is) or that name the connection: a hook may not set them.
M.RESERVED_HEADERS = { ["idempotency-key"] = true, ["x-hostsync-hook-event"] = true, host = true,
                       ["content-length"] = true, ["transfer-encoding"] = true, connection = true }

-- Sends the run's http_post actions (before its brain actions commit). Retries a broken
-- exchange twice at once; a status outside 2xx, or a failure after that, raises: the
-- whole event is retried later (hooks.max_attempts). Idempotency-Key lets a receiver
-- drop the repeats that at-least-once delivery allows.
function M.send_http(acts, event_id, timeout)
  for i, a in ipairs(acts) do
    if a.action == "http_post" then
      local headers = { ["Idempotency-Key"] = ("hostsync-hook-%s-%d"):format(tostring(event_id), i),
                        ["X-Hostsync-Hook-Event"] = tostring(event_id) }
      local body = a.body or ""
      if a.json ~= nil then
        body = json.encode(a.json)
        headers["Content-Type"] = "application/json"
      end
      for k, v in pairs(a.headers or {}) do headers[k] = v end
      local res, err = http.request{ method = "POST", url = a.url, headers = headers, body = body, timeout = timeout,
                                     retries = 2, backoff = 0.2, idempotent = true }
      if not res then error(("action %d: http_post: %s"):format(i, err), 0) end
      if res.status < 200 or res.status > 299 then
        error(("action %d: http_post %s: status %d"):format(i, a.url, res.status), 0)
      end
    end
  end
end

-- A validation error of a brain handler ({status, error}) as text.
local function text_of(e)
  if type(e) == "table" then return tostring(e.error or e.message or json.encode(e)) end
  return tostring(e)
end

-- The brain actions, inside the runner's transaction tx, as `ident`.
function M.apply_brain(tx, acts, ident)
  for i, a in ipairs(acts) do
    if a.action ~= "http_post" then
      local body = {}
      for k, v in pairs(a) do if k ~= "action" then body[k] = v end end
      local ok, err = pcall(a.action == "post_chat" and chat.post or tasks.post, tx, ident, body)
      if not ok then error(("action %d: %s: %s"):format(i, a.action, text_of(err)), 0) end
    end
  end
end

return M
