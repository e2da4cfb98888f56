-- Hands work to another agent (POST /handoffs): recorded with its chat message in one
-- transaction.
return {
  name = "handoff_create",
  title = "Hand off work",
  description = "Hand work over to another agent: what (artifact), the context they need, dependencies, and " ..
    "optionally your session summary (Markdown). The receiver sees it in its inbox and acknowledges it.",
  inputSchema = {
    type = "object",
    properties = {
      to_agent = { type = "string", minLength = 1, maxLength = 200, description = "the receiving agent (with or without @)" },
      artifact = { type = "string", maxLength = 2000 },
      context = { type = "string", maxLength = 16000 },
      dependencies = { type = "object", description = "free-form: what this depends on" },
      project = { type = "string", minLength = 1, maxLength = 200 },
      message = { type = "string", maxLength = 16000, description = "the chat message (default: Handing off <artifact> to @<agent>)" },
      summary = { type = "string", maxLength = 65536, description = "session summary, Markdown" },
    },
    required = { "to_agent" },
    additionalProperties = false,
  },
  handler = function(args, ctx)
    return ctx.call("POST", "/handoffs", args, 201)
  end,
}
