-- Lists tasks (GET /tasks), filtered on the server.
return {
  name = "task_list",
  title = "List tasks",
  description = "Tasks you may see, filtered by project, assignee and status.",
  inputSchema = {
    type = "object",
    properties = {
      project = { type = "string", minLength = 1, maxLength = 200 },
      assigned_to = { type = "string", minLength = 1, maxLength = 200 },
      status = { type = "string", enum = { "open", "in_progress", "blocked", "done" } },
    },
    additionalProperties = false,
  },
  annotations = { readOnlyHint = true },
  handler = function(args, ctx)
    return ctx.call("GET", "/tasks" .. ctx.query { project = args.project, assigned_to = args.assigned_to,
                                                   status = args.status })
  end,
}
