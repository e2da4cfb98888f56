-- Talking to the sync server: bearer token, JSON, and retries with backoff. A push is
-- safe to retry whatever happened to the previous attempt, because every change carries
-- its mutation id and the server answers a repeated id with its first result.
local check = require "hostsync.check"
local http = require "hostsync.http"
local json = require "hostsync.json"
local time = require "hostsync.time"

local M = {}
M.__index = M

-- opts: retries (extra attempts, default 4), backoff (first delay in s, default 0.5),
-- timeout (s per read/write, default 60), on_retry(attempt, err, delay).
function M.new(base_url, token, opts)
  opts = check.opts(opts, { retries = "number", backoff = "number", timeout = "number", on_retry = "function" },
                    "Usage: sync_client.transport.new(base_url, token [, {retries=, backoff=, timeout=, on_retry=}])")
  return setmetatable({ base = (base_url:gsub("/+$", "")), token = token,
    retries = opts.retries or 4, backoff = opts.backoff or 0.5, timeout = opts.timeout or 60,
    on_retry = opts.on_retry }, M)
end

local RETRY_STATUS = { [429] = true, [502] = true, [503] = true, [504] = true }

-- -> decoded body | nil, err, kind ("unreachable": no answer after all retries;
-- "refused": the server answered with an error status, which comes 4th, and its decoded
-- body 5th, e.g. the `current` item of a 409; "bad_response")
function M:request(method, path, body)
  local headers = { Authorization = "Bearer " .. self.token, Accept = "application/json" }
  local text
  if body ~= nil then
    headers["Content-Type"] = "application/json"
    text = json.encode(body)
  end
  local delay, last_err = self.backoff, nil
  for attempt = 1, self.retries + 1 do
    -- Retries are ours, not http.request's: it never retries a POST whose exchange
    -- broke, and for a push that is exactly the case mutation ids make safe.
    local res, err = http.request{ method = method, url = self.base .. path, headers = headers, body = text,
                                   timeout = self.timeout, retries = 0 }
    if res and not RETRY_STATUS[res.status] then
      local v, jerr = json.decode(res.body)
      if res.status < 200 or res.status > 299 then
        local why = type(v) == "table" and v.error or res.body:sub(1, 200)
        return nil, ("%s %s: status %d: %s"):format(method, path, res.status, tostring(why)), "refused", res.status,
          type(v) == "table" and v or nil
      end
      if type(v) ~= "table" then
        return nil, ("%s %s: response is not a JSON object: %s"):format(method, path, tostring(jerr or res.body:sub(1, 200))),
          "bad_response"
      end
      return v
    end
    last_err = res and ("status " .. res.status) or err
    if attempt <= self.retries then
      local wait = math.min(delay, 10) * (0.5 + math.random() * 0.5)
      if self.on_retry then self.on_retry(attempt, last_err, wait) end
      time.sleep(wait)
      delay = delay * 2
    end
  end
  return nil, ("%s %s%s: server unreachable after %d attempt(s): %s"):format(method, self.base, path,
    self.retries + 1, tostring(last_err)), "unreachable"
end

function M:push(items)
  return self:request("POST", "/sync/push", { items = json.array(items) })
end

-- full: a page of a pull that started at 0 (the client replaces its set at the end), which
-- the server answers even from behind its prune horizon.
function M:pull(since, limit, full)
  return self:request("GET", ("/sync/pull?since=%d&limit=%d%s"):format(since, limit, full and "&full=1" or ""))
end

return M
