-- Reads the chatroom after a message id (GET /chat), optionally only what mentions you.
return {
  name = "chat_read",
  title = "Read the chatroom",
  description = "Messages after message id `since` (0: from the start), oldest first, at most `limit` (default " ..
    "50). Filter by project, type, or only_mentions (messages that @mention you). The answer's `next` is the " ..
    "`since` for the next read.",
  inputSchema = {
    type = "object",
    properties = {
      since = { type = "integer", minimum = 0 },
      limit = { type = "integer", minimum = 1, maximum = 1000 },
      project = { type = "string", minLength = 1, maxLength = 200 },
      type = { type = "string", enum = { "chat", "sync", "alert", "handoff", "question", "decision" } },
      only_mentions = { type = "boolean" },
    },
    additionalProperties = false,
  },
  annotations = { readOnlyHint = true },
  handler = function(args, ctx)
    local limit = args.limit or 50
    local v = ctx.call("GET", "/chat" .. ctx.query { since = args.since or 0, limit = limit, project = args.project })
    local me = args.only_mentions and ctx.me().agent
    local out, last = ctx.json.array(), args.since or 0
    for _, m in ipairs(v.messages or {}) do
      last = math.max(last, m.id)
      local mentioned = false
      for _, who in ipairs(m.mentions or {}) do mentioned = mentioned or who == me end
      if (not args.type or m.type == args.type) and (not me or mentioned) then out[#out + 1] = m end
    end
    return { messages = out, next = last }
  end,
}
