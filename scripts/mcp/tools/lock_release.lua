-- Gives a lock back (POST /locks/:name/release) with the grant's fencing token.
return {
  name = "lock_release",
  title = "Release a lock",
  description = "Release a lock you hold, with the fencing token its acquire returned.",
  inputSchema = {
    type = "object",
    properties = {
      lock = { type = "string", minLength = 1, maxLength = 200 },
      fencing_token = { type = "integer", minimum = 1 },
    },
    required = { "lock", "fencing_token" },
    additionalProperties = false,
  },
  annotations = { idempotentHint = true },
  handler = function(args, ctx)
    return ctx.call("POST", ctx.path("/locks/", args.lock, "/release"), { fencing_token = args.fencing_token })
  end,
}
