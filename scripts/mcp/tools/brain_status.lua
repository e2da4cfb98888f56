-- A project at a glance: its push lock, its last push and its open conflicts.
return {
  name = "brain_status",
  title = "Project status",
  description = "The state of one project in the shared brain: who holds its push lock (push:<project>) until " ..
    "when, the last push (commit, who, when), and the open push conflicts. Call it before starting work.",
  inputSchema = {
    type = "object",
    properties = { project = { type = "string", minLength = 1, maxLength = 200 } },
    required = { "project" },
    additionalProperties = false,
  },
  annotations = { readOnlyHint = true },
  handler = function(args, ctx)
    local p = args.project
    local lock = ctx.call("GET", ctx.path("/locks/", "push:" .. p))
    local state = ctx.call("GET", "/sync/state" .. ctx.query { project = p })
    local conflicts = ctx.call("GET", "/conflicts" .. ctx.query { project = p })
    local open = ctx.json.array()
    for _, c in ipairs(conflicts.conflicts or {}) do
      if c.status == "open" then open[#open + 1] = c end
    end
    return { project = p, push_lock = lock, last_push = state.last_push, open_conflicts = open, me = ctx.me() }
  end,
}
