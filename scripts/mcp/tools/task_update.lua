-- Updates a task (POST /tasks/:id): only its assignee or its creator may.
return {
  name = "task_update",
  title = "Update a task",
  description = "Change a task's status (open, in_progress, blocked, done) or assignee, with an optional note " ..
    "kept in its history. Only the task's assignee or creator may.",
  inputSchema = {
    type = "object",
    properties = {
      id = { type = "integer", minimum = 1 },
      status = { type = "string", enum = { "open", "in_progress", "blocked", "done" } },
      assigned_to = { type = "string", minLength = 1, maxLength = 200 },
      note = { type = "string", maxLength = 4000 },
    },
    required = { "id" },
    additionalProperties = false,
  },
  handler = function(args, ctx)
    local body = { status = args.status, assigned_to = args.assigned_to, note = args.note }
    if next(body) == nil then ctx.fail("nothing to change: give status, assigned_to or note") end
    return ctx.call("POST", ctx.path("/tasks/", tostring(args.id)), body)
  end,
}
