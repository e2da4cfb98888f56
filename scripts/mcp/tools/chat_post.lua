-- Posts to the team's chatroom (POST /chat); @names in the text notify those agents.
return {
  name = "chat_post",
  title = "Post to the chatroom",
  description = "Post a message to the team's chatroom. Mention agents with @name (they find it in their inbox). " ..
    "type: chat (default), sync, alert, handoff, question or decision.",
  inputSchema = {
    type = "object",
    properties = {
      message = { type = "string", minLength = 1, maxLength = 16000 },
      type = { type = "string", enum = { "chat", "sync", "alert", "handoff", "question", "decision" } },
      project = { type = "string", minLength = 1, maxLength = 200, description = "omit for a team-wide (lobby) message" },
    },
    required = { "message" },
    additionalProperties = false,
  },
  handler = function(args, ctx)
    return ctx.call("POST", "/chat", { message = args.message, type = args.type, project = args.project }, 201)
  end,
}
