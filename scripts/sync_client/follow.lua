-- sync --follow: after a first push and pull, follows the server's GET /sync/stream and
-- runs push + pull each time the tenant moves on past this vault's cursor (contract section
-- 7.1: mirrors stay up to date), instead of polling. A broken connection is retried with
-- backoff; the pull that follows the reconnect catches up with whatever was missed.
local check = require "hostsync.check"
local http = require "hostsync.http"
local json = require "hostsync.json"
local time = require "hostsync.time"

local M = {}

M.FIRST_DELAY, M.MAX_DELAY = 0.5, 10
M.SILENCE = 45   -- seconds without a byte (the server pings every 15) before reconnecting

-- opts: sync() (push then pull; -> how many changes the pull brought), cursor() (the
-- vault's pull cursor), count (stop after this many rounds that brought changes),
-- fail(msg), note(msg). -> the number of such rounds.
function M.run(transport, opts)
  opts = check.opts(opts, { sync = "function", cursor = "function", count = "number", fail = "function", note = "function" },
                    "Usage: sync_client.follow.run(transport, {sync=, cursor=, count=, fail=, note=})")
  local rounds, delay = 0, M.FIRST_DELAY
  local url = transport.base .. "/sync/stream"
  while true do
    local ok, err = http.sse(url, {
      headers = { Authorization = "Bearer " .. transport.token },
      last_event_id = tostring(opts.cursor()),
      timeout = M.SILENCE, reconnect_delay = M.FIRST_DELAY,
      max_reconnects = 0,   -- a failed connection comes back here: say so, back off
      on_event = function(ev)
        if ev.event ~= "sync" then return true end
        local v = json.decode(ev.data)
        delay = M.FIRST_DELAY
        if type(v) ~= "table" or type(v.version) ~= "number" or v.version <= opts.cursor() then return true end
        if opts.sync() > 0 then rounds = rounds + 1 end
        return not (opts.count and rounds >= opts.count)
      end })
    if ok then return rounds end
    local status = err:match("status (4%d%d)")
    if status and status ~= "429" then opts.fail("follow: " .. err) end   -- 401/403: retrying cannot help
    opts.note(("follow: disconnected (%s); reconnecting in %.2gs"):format(err, delay))
    time.sleep(delay)
    delay = math.min(delay * 2, M.MAX_DELAY)
    -- Whatever happened while the stream was down comes with the catch-up pull.
    if opts.sync() > 0 then rounds = rounds + 1 end
    if opts.count and rounds >= opts.count then return rounds end
  end
end

return M
