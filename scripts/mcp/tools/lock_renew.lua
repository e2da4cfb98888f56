-- Extends a lease (POST /locks/:name/renew) with the grant's fencing token.
return {
  name = "lock_renew",
  title = "Renew a lock",
  description = "Extend the lease of a lock you hold, with the fencing token its acquire returned. Fails if the " ..
    "lease already expired and someone else took the lock (then stop: your token is stale).",
  inputSchema = {
    type = "object",
    properties = {
      lock = { type = "string", minLength = 1, maxLength = 200 },
      fencing_token = { type = "integer", minimum = 1 },
      ttl_seconds = { type = "integer", minimum = 1, maximum = 86400, description = "new lease length from now (default 300)" },
    },
    required = { "lock", "fencing_token" },
    additionalProperties = false,
  },
  handler = function(args, ctx)
    return ctx.call("POST", ctx.path("/locks/", args.lock, "/renew"),
      { fencing_token = args.fencing_token, ttl_seconds = args.ttl_seconds })
  end,
}
