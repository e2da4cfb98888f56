-- Picks up a handoff (POST /handoffs/:id/ack): only its receiver may; the chat says so.
return {
  name = "handoff_ack",
  title = "Acknowledge a handoff",
  description = "Acknowledge (pick up) a handoff made to you. The team's chat is told. Fails if it is not yours " ..
    "or was already acknowledged (the error says by whom and when).",
  inputSchema = {
    type = "object",
    properties = { id = { type = "integer", minimum = 1 } },
    required = { "id" },
    additionalProperties = false,
  },
  handler = function(args, ctx)
    return ctx.call("POST", ctx.path("/handoffs/", tostring(args.id), "/ack"), ctx.json.object())
  end,
}
