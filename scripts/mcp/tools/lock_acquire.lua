-- Takes a lock (POST /locks/:name/acquire). A held lock is a tool error naming the holder
-- and when the lease ends, so the agent can wait or ask instead of retrying blindly.
return {
  name = "lock_acquire",
  title = "Acquire a lock",
  description = "Take a named lock of the shared brain, e.g. push:<project> before pushing to that project's " ..
    "repository. Returns the fencing token that renew, release and the git push must carry. If someone " ..
    "holds it, the error says who and until when.",
  inputSchema = {
    type = "object",
    properties = {
      lock = { type = "string", minLength = 1, maxLength = 200, description = "lock name: <kind>:<project> (push:web) or a lobby lock without ':'" },
      ttl_seconds = { type = "integer", minimum = 1, maximum = 86400, description = "lease length (default 300)" },
      reason = { type = "string", maxLength = 2000, description = "what you hold it for (shown to others)" },
    },
    required = { "lock" },
    additionalProperties = false,
  },
  handler = function(args, ctx)
    local st, v = ctx.brain:api("POST", ctx.path("/locks/", args.lock, "/acquire"),
      { ttl_seconds = args.ttl_seconds, reason = args.reason })
    if st == 409 then
      ctx.fail(("lock %s is held by %s until %s (reason: %s); try again after that, or ask them in the chat")
        :format(args.lock, ctx.who(v.holder), tostring(v.expires_at), ctx.text(v.reason, "none given")))
    end
    if st ~= 200 then ctx.fail(("acquiring %s: %d %s"):format(args.lock, st, tostring(v.error))) end
    return v
  end,
}
