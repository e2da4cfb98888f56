-- The push workflow (scripts/push.lua, docs/brain.md "The push workflow"), run as its own
-- process with this server's brain URL and token file: lock, commit with attribution,
-- pull --rebase with the conflict policy, push with the fencing token, record, release.
local proc = require "hostsync.proc"

local OUTCOMES = {
  [1] = "error", [2] = "usage error", [3] = "someone pushed since your last pull (pull first, or pass pull=true)",
  [4] = "a conflict the policy cannot resolve (recorded; the coordinator was alerted)",
  [5] = "the push lock stayed busy", [6] = "the remote rejected the push",
}

return {
  name = "push",
  title = "Push (the team's push workflow)",
  description = "Commit the working tree of `repo` with your attribution and push it under the project's push " ..
    "lock (push:<project>), integrating others' work with git pull --rebase and the conflict policy. Returns " ..
    "the pushed commit, or an error saying what happened and what to do.",
  inputSchema = {
    type = "object",
    properties = {
      project = { type = "string", minLength = 1, maxLength = 200 },
      message = { type = "string", minLength = 1, maxLength = 16000, description = "<type>: <description>[\\n\\n<body>]" },
      repo = { type = "string", minLength = 1, description = "the clone (default: the server's working directory)" },
      branch = { type = "string", minLength = 1, maxLength = 255 },
      pull = { type = "boolean", description = "integrate others' pushes instead of refusing" },
      wait_seconds = { type = "integer", minimum = 0, maximum = 50, description = "how long to wait for a busy lock (default 30)" },
    },
    required = { "project", "message" },
    additionalProperties = false,
  },
  handler = function(args, ctx)
    local argv = { arg[-1] or "hostsync", "run", "push.lua", "--server", ctx.brain.base,
                   "--token-file", ctx.brain.token_file, "--project", args.project, "--message", args.message,
                   "--wait", tostring(args.wait_seconds or 30) }
    if args.repo then argv[#argv + 1] = "--repo"; argv[#argv + 1] = args.repo end
    if args.branch then argv[#argv + 1] = "--branch"; argv[#argv + 1] = args.branch end
    if args.pull then argv[#argv + 1] = "--pull" end
    local r, err = proc.run(argv, { timeout = 55 })
    if not r then ctx.fail("push: " .. err) end
    if r.timed_out then ctx.fail("push: did not finish within 55 s; the lock is released by push.lua or expires") end
    if r.status ~= 0 then
      ctx.fail(("push failed (%s, exit %s):\n%s"):format(OUTCOMES[r.status] or "error", tostring(r.status), r.stderr))
    end
    local commit = r.stdout:match("(%x+)%s*$")
    return { commit = commit, nothing_to_push = commit == nil, log = r.stderr }
  end,
}
