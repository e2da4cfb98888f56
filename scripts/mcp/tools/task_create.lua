-- Creates a task (POST /tasks).
return {
  name = "task_create",
  title = "Create a task",
  description = "Create a task, optionally assigned to an agent and in a project.",
  inputSchema = {
    type = "object",
    properties = {
      title = { type = "string", minLength = 1, maxLength = 2000 },
      project = { type = "string", minLength = 1, maxLength = 200 },
      assigned_to = { type = "string", minLength = 1, maxLength = 200 },
      status = { type = "string", enum = { "open", "in_progress", "blocked", "done" } },
    },
    required = { "title" },
    additionalProperties = false,
  },
  handler = function(args, ctx)
    return ctx.call("POST", "/tasks", args, 201)
  end,
}
