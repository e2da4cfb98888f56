-- Lists handoffs (GET /handoffs), by receiver and status.
return {
  name = "handoff_list",
  title = "List handoffs",
  description = "Handoffs you may see, optionally only those to one agent (`to`, e.g. yourself) and with a " ..
    "status (open: not yet acknowledged; acknowledged).",
  inputSchema = {
    type = "object",
    properties = {
      to = { type = "string", minLength = 1, maxLength = 200 },
      status = { type = "string", enum = { "open", "acknowledged" } },
      project = { type = "string", minLength = 1, maxLength = 200 },
    },
    additionalProperties = false,
  },
  annotations = { readOnlyHint = true },
  handler = function(args, ctx)
    return ctx.call("GET", "/handoffs" .. ctx.query { to = args.to, status = args.status, project = args.project })
  end,
}
