-- Waits (bounded) until a new chat message mentions you. Polls the history once a second:
-- a wait must end at its deadline whatever the stream does, and MCP clients time a call
-- out after about a minute, so the wait is capped below that.
local time = require "hostsync.time"

return {
  name = "chat_wait_for_mention",
  title = "Wait for a mention",
  description = "Block until a chat message after `since` @mentions you, or until timeout_seconds pass " ..
    "(default 30, at most 50). Without `since`, waits for messages posted from now on. Returns the messages " ..
    "(empty when the time ran out) and `next` for the following wait.",
  inputSchema = {
    type = "object",
    properties = {
      since = { type = "integer", minimum = 0 },
      timeout_seconds = { type = "integer", minimum = 1, maximum = 50 },
      project = { type = "string", minLength = 1, maxLength = 200 },
    },
    additionalProperties = false,
  },
  annotations = { readOnlyHint = true },
  handler = function(args, ctx)
    local me = ctx.me().agent
    local since = args.since
    if not since then   -- "from now on": the newest id there is
      since = 0
      repeat
        local v = ctx.call("GET", "/chat" .. ctx.query { since = since, limit = 1000, project = args.project })
        for _, m in ipairs(v.messages or {}) do since = math.max(since, m.id) end
      until #(v.messages or {}) < 1000
    end
    local deadline = time.monotonic() + (args.timeout_seconds or 30)
    while true do
      local v = ctx.call("GET", "/chat" .. ctx.query { since = since, limit = 1000, project = args.project })
      local found = ctx.json.array()
      for _, m in ipairs(v.messages or {}) do
        since = math.max(since, m.id)
        for _, who in ipairs(m.mentions or {}) do
          if who == me then found[#found + 1] = m break end
        end
      end
      if #found > 0 then return { messages = found, next = since, timed_out = false } end
      if time.monotonic() >= deadline then return { messages = found, next = since, timed_out = true } end
      time.sleep(math.min(1, math.max(0, deadline - time.monotonic())))
    end
  end,
}
