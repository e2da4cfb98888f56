-- What concerns you (GET /inbox): mentions, handoffs to you, your tasks, with a cursor.
return {
  name = "inbox",
  title = "Your inbox",
  description = "What concerns you since cursor `since`: chat messages that @mention you, handoffs to you, tasks " ..
    "assigned to you and changes to them, in one ordered list. Pass the answer's `next` as `since` next time.",
  inputSchema = {
    type = "object",
    properties = {
      since = { type = "integer", minimum = 0 },
      limit = { type = "integer", minimum = 1, maximum = 1000 },
    },
    additionalProperties = false,
  },
  annotations = { readOnlyHint = true },
  handler = function(args, ctx)
    return ctx.call("GET", "/inbox" .. ctx.query { since = args.since, limit = args.limit })
  end,
}
