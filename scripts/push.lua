-- hostsync run push.lua [--server URL] [--token-file F] --project P --message MSG [--repo DIR]
-- The protocol's push workflow with real git (docs/brain.md, "The push workflow"):
--   1 check sync state   2 acquire push:<project>   3 commit with attribution
--   4 git pull --rebase (conflicts: policies/push_conflicts.lua, sandboxed)   5 git push -o fencing_token=N
--      (without the option where the remote takes none; a new branch skips step 4)
--   6 record the push    7 release the lock (always) and post a `sync` chat message
-- The lock is renewed between steps (single-threaded: no background heartbeat), with a TTL
-- that covers one step. Every failure after the grant releases the lock before exiting.
local cli = require "hostsync.cli"
local client = require "brain.client"
local proc = require "hostsync.proc"
local fs = require "hostsync.fs"
local time = require "hostsync.time"
local sandbox = require "hostsync.sandbox"

local EXIT = { ok = 0, error = 1, usage = 2, stale = 3, conflict = 4, busy = 5, rejected = 6 }

local spec = {
  usage = "hostsync run push.lua [--server URL --token-file F] --project P --message MSG [options]",
  summary = "Commit the working tree with the Jai.OS attribution and push it under the project's push lock.\n" ..
    "Exit status: 0 pushed (or nothing to push), 1 error, 2 usage, 3 someone pushed since your last pull,\n" ..
    "4 conflict the policy cannot resolve (rebase aborted; recorded in the brain, which alerts the coordinator;\n" ..
    "prints 'conflict ID'), 5 lock busy too long,\n" ..
    "6 the remote rejected the push (e.g. the fencing hook).",
  options = client.with_options {
    { "--project", "P", "project id (lock push:P)" },
    { "--message", "MSG", "commit message (<type>: <description>[\\n\\n<body>])" },
    { "--repo", "DIR", "the clone (default: .)", default = "." },
    { "--remote", "NAME", "remote (default: the branch's upstream remote, else origin)" },
    { "--branch", "NAME", "remote branch (default: the upstream branch, else the current one)" },
    { "--pull", nil, "if someone pushed since your last pull, warn and integrate it (step 4) instead of refusing" },
    { "--policy", "FILE", "conflict policy (default: policies/push_conflicts.lua)" },
    { "--ttl", "S", "lock lease in seconds, renewed between steps (default 120)", number = true, default = 120 },
    { "--wait", "S", "how long to retry a busy lock, with backoff (default 120)", number = true, default = 120 },
  },
}
local opts, rest = cli.parse(arg, spec)
if #rest > 0 then cli.usage_error("unexpected argument '" .. rest[1] .. "'", spec.usage) end

-- Failures inside the workflow are raised as {code, msg} so the lock is released first.
local function stop(code, msg) error({ code = code, msg = msg }, 0) end

local brain = client.connect(opts, { name = "push", usage = spec.usage, fail = function(msg) stop(EXIT.error, msg) end })
for _, k in ipairs { "project", "message" } do
  if not opts[k] or opts[k] == "" then cli.usage_error("--" .. k:gsub("_", "-") .. " is required", spec.usage) end
end
local function api(method, path, body) return brain:api(method, path, body) end
local project = opts.project
local lock = "push:" .. project
local lock_path = "/locks/" .. client.segment(lock)

local function git(args, allow_fail)
  local argv = { "git" }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local r, err = proc.run(argv, { cwd = opts.repo, timeout = 300,
    -- LC_ALL=C: git's messages are matched below (e.g. a remote without push options).
    env = { GIT_EDITOR = "true", GIT_TERMINAL_PROMPT = "0", GIT_MERGE_AUTOEDIT = "no", LC_ALL = "C" } })
  if not r then stop(EXIT.error, "push: " .. err) end
  if not r.ok and not allow_fail then
    stop(EXIT.error, ("push: git %s failed (exit %s):\n%s%s"):format(args[1], tostring(r.status), r.stdout, r.stderr))
  end
  return r, (r.stdout:gsub("%s+$", ""))
end

local function say(...) io.stderr:write("push: ", ...) io.stderr:write("\n") end

-- The conflict policy runs in hostsync.sandbox like every user-replaceable policy: it
-- decides, it cannot reach the files, git or the network. Loaded once, before the lock.
local policy
local function load_policy()
  if policy then return policy end
  local path = opts.policy or package.searchpath("push_conflicts", package.path)
  if not path then stop(EXIT.error, "push: policies/push_conflicts.lua not found on the script path") end
  local p, err = sandbox.load(path)
  if not p then stop(EXIT.error, "push: conflict policy " .. err) end
  local coordinator, cerr = p:get("coordinator")
  if cerr or (coordinator ~= nil and type(coordinator) ~= "string") then
    stop(EXIT.error, "push: conflict policy " .. path .. ": coordinator must be an agent name (a string)")
  end
  policy = {
    coordinator = coordinator or "marcus",
    -- "mine" | "upstream" | nil (not the policy's to decide; so is a failing policy, said)
    resolve = function(file, agent)
      local side, why = p:call("resolve", file, agent)
      if why and not why:find("the policy returned nil", 1, true) then
        say("warning: conflict policy failed on ", file, ": ", why, " (left for the coordinator)")
      end
      return side
    end,
    owner = function(file) return (p:call("owner", file)) end,
  }
  return policy
end

local held -- the grant while we hold the lock

local function renew()
  local st, v = api("POST", lock_path .. "/renew", { fencing_token = held.fencing_token, ttl_seconds = opts.ttl })
  if st ~= 200 then
    held = nil -- it is not ours any more; nothing to release
    stop(EXIT.error, ("push: lost the push lock (%d: %s); nothing was pushed after that"):format(st, v.error or "?"))
  end
end

local function release()
  if not held then return end
  local st, v = api("POST", lock_path .. "/release", { fencing_token = held.fencing_token })
  if st ~= 200 then say(("warning: releasing %s: %d %s"):format(lock, st, v.error or "")) end
  held = nil
end

local function chat(kind, message, metadata)
  local st, v = api("POST", "/chat", { type = kind, message = message, project = project, metadata = metadata })
  if st ~= 201 then say(("warning: chat post failed: %d %s"):format(st, v.error or "")) end
end

-- whoami and repository facts (before the lock: nothing here needs it)
local function prepare()
  local st, me = api("GET", "/whoami")
  if st ~= 200 then stop(EXIT.error, ("push: whoami: %d %s"):format(st, me.error or "")) end
  local _, branch = git({ "symbolic-ref", "--short", "HEAD" })
  local r, up = git({ "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}" }, true)
  local remote, rbranch = opts.remote, opts.branch
  if r.ok and up ~= "" then
    local ur, ub = up:match("^([^/]+)/(.+)$")
    remote, rbranch = remote or ur, rbranch or ub
  end
  return me, remote or "origin", rbranch or branch
end

-- Does the remote have the branch yet? (Asked of the remote, not of a tracking ref that a
-- fetch refspec may not cover.) A new branch has nothing to integrate before the push.
local function remote_has_branch(remote, rbranch)
  local r = git({ "ls-remote", "--exit-code", "--heads", remote, "refs/heads/" .. rbranch }, true)
  if r.ok then return true end
  if r.status == 2 then return false end   -- --exit-code: no matching ref
  stop(EXIT.error, ("push: git ls-remote %s failed (exit %s):\n%s"):format(remote, tostring(r.status), r.stderr))
end

-- Step 1: has someone pushed to this branch since our last pull? The brain's last push of
-- the branch must already be in our history (after a fetch, so the commit is known here).
local function check_sync_state(remote, rbranch)
  git({ "fetch", "--quiet", remote })
  local st, s = api("GET", "/sync/state" .. client.query { project = project, branch = rbranch })
  if st ~= 200 then stop(EXIT.error, ("push: sync state: %d %s"):format(st, s.error or "")) end
  local lp = s.last_push
  if type(lp) ~= "table" then return end
  local r = git({ "merge-base", "--is-ancestor", lp.commit, "HEAD" }, true)
  if r.ok then return end
  local who = ("%s/@%s pushed %s (%s) at %s since your last pull"):format(lp.ai, lp.agent,
    lp.commit:sub(1, 12), (lp.message or ""):match("^[^\n]*"), lp.at)
  if opts.pull then
    say("WARNING: ", who, "; integrating it with git pull --rebase")
  else
    stop(EXIT.stale, "push: refused: " .. who .. ".\nYou MUST pull first: git pull --rebase " .. remote .. " " ..
      rbranch .. " (review it), then run push.lua again, or pass --pull to integrate it here.")
  end
end

-- Step 2: acquire, retrying 409 with bounded exponential backoff plus jitter.
local function acquire(reason)
  local deadline, delay = time.monotonic() + opts.wait, 0.02
  math.randomseed(os.time() + math.floor(time.monotonic() * 1e6) % 1e6)
  while true do
    local st, v = api("POST", lock_path .. "/acquire", { ttl_seconds = opts.ttl, project = project, reason = reason })
    if st == 200 then held = v return end
    if st ~= 409 then stop(EXIT.error, ("push: acquiring %s: %d %s"):format(lock, st, v.error or "")) end
    if time.monotonic() + delay > deadline then
      local h = v.holder or {}
      stop(EXIT.busy, ("push: BLOCKED: %s/@%s holds %s (reason: %s, expires %s); gave up after %ds. Try again later.")
        :format(h.ai or "?", h.agent or "?", lock, v.reason or "?", v.expires_at or "?", opts.wait))
    end
    time.sleep(delay / 2 + math.random() * delay / 2)
    delay = math.min(delay * 2, 0.25)
  end
end

local function rebase_in_progress()
  for _, d in ipairs { "rebase-merge", "rebase-apply" } do
    local _, p = git({ "rev-parse", "--git-path", d })
    if not p:find("^/") then p = opts.repo .. "/" .. p end
    if fs.read_file(p .. "/head-name") or fs.read_file(p .. "/next") then return true end
  end
  return false
end

-- Step 4's conflict handling: resolve what the policy owns, else abort and flag.
local function resolve_conflicts(me)
  local conflicts = load_policy()
  local rounds = 0
  while true do
    rounds = rounds + 1
    if rounds > 1000 then stop(EXIT.error, "push: rebase did not finish") end
    local _, out = git({ "diff", "--name-only", "--diff-filter=U" })
    local files = {}
    for f in out:gmatch("[^\n]+") do files[#files + 1] = f end
    if #files == 0 then
      -- no conflicts left in this step: continue (or skip a commit the resolution emptied)
      local r = git({ "-c", "core.editor=true", "rebase", "--continue" }, true)
      if not r.ok then
        local _, st = git({ "status", "--porcelain", "--untracked-files=no" })
        if st == "" then r = git({ "rebase", "--skip" }, true) end
        if not r.ok and not (r.stdout .. r.stderr):find("CONFLICT") then
          git({ "rebase", "--abort" }, true)
          stop(EXIT.error, "push: git rebase --continue failed:\n" .. r.stdout .. r.stderr)
        end
      end
      if not rebase_in_progress() then return end
    else
      local undecided, decided = {}, {}
      for _, f in ipairs(files) do
        local side = conflicts.resolve(f, me.agent)
        if side == "mine" or side == "upstream" then decided[#decided + 1] = { f, side }
        else undecided[#undecided + 1] = f end
      end
      if #undecided > 0 then
        git({ "rebase", "--abort" }, true)
        return undecided
      end
      for _, d in ipairs(decided) do
        -- rebase inverts the sides: --theirs is the commit being replayed (mine),
        -- --ours is the upstream it is replayed onto (see policies/push_conflicts.lua)
        local flag = d[2] == "mine" and "--theirs" or "--ours"
        local r = git({ "checkout", flag, "--", d[1] }, true)
        if r.ok then git({ "add", "--", d[1] })
        else git({ "rm", "--quiet", "--", d[1] }) end  -- that side deleted it
        say(("conflict in %s resolved to %s (owner @%s)"):format(d[1], d[2] == "mine" and "your side" or "the remote's side",
          conflicts.owner(d[1]) or "?"))
      end
    end
  end
end

-- The protocol's manual resolution: record the conflict in the brain (POST /conflicts, which
-- posts the `alert` mentioning the coordinator in the same transaction) -> the message
-- push.lua exits with. The conflict id also goes to stdout, for scripts.
local function record_conflict(me, files, first_line, remote, rbranch)
  local coord = load_policy().coordinator
  local _, head = git({ "rev-parse", "--short", "HEAD" })
  local ur, upstream = git({ "rev-parse", "--short", remote .. "/" .. rbranch }, true)
  local st, v = api("POST", "/conflicts", { project = project, files = files, local_commit = head,
    upstream_commit = ur.ok and upstream or nil, summary = first_line, coordinator = coord })
  local recorded -- what the message says about where the conflict went
  local cid = "ID"
  if st == 201 then
    cid = tostring(v.id)
    recorded = ("It is recorded as conflict #%s and @%s was alerted."):format(cid, v.coordinator)
    io.stdout:write("conflict ", cid, "\n")
  else
    -- A brain without /conflicts (or refusing it): still alert the coordinator in the chat.
    say(("warning: recording the conflict failed: %d %s"):format(st, v.error or ""))
    chat("alert", ("@%s CONFLICT: %s/@%s cannot push %q to %s: conflicting changes in %s need an owner. " ..
                   "The commit stays local (%s) on machine %s."):format(coord, me.ai, me.agent, first_line, project,
                   table.concat(files, ", "), head, me.machine), { conflict = files, commit = head, agent = me.agent })
    recorded = ("@%s was alerted in the chat (not recorded: %d)."):format(coord, st)
  end
  return ("push: CONFLICT in %s (no owner in the conflict policy). The rebase was aborted, " ..
    "nothing was pushed and your commit is kept locally. %s\n" ..
    "What to do: wait for @%s to assign an owner (POST /conflicts/%s/assign), or resolve it yourself: " ..
    "git pull --rebase %s %s, fix the files, git rebase --continue, run push.lua again, then POST /conflicts/%s/resolve.")
    :format(table.concat(files, ", "), recorded, coord, cid, remote, rbranch, cid)
end

-- Step 5. The fencing token goes along as a push option for the server-side hook
-- (push_hook.lua install). A remote that does not advertise push options (hosted
-- services, a plain bare repository) refuses the whole push before anything is sent; git
-- says so, and the push goes again without the option: there the client-side pre-push
-- hook (push_hook.lua install --client) checks the token instead.
local function push_head(remote, rbranch)
  local refspec = "HEAD:refs/heads/" .. rbranch
  local p = git({ "push", "--porcelain", "-o", "fencing_token=" .. tostring(held.fencing_token), remote, refspec }, true)
  if not p.ok and p.stderr:find("does not support push options", 1, true) then
    say("the remote takes no push options: pushing without the fencing token option ",
        "(the client-side pre-push hook checks it: push_hook.lua install --client)")
    p = git({ "push", "--porcelain", remote, refspec }, true)
  end
  if not p.ok then
    stop(EXIT.rejected, "push: the remote rejected the push:\n" .. p.stdout .. p.stderr)
  end
end

local function main()
  local me, remote, rbranch = prepare()
  local trailer = ("[Jai.OS] %s/@%s | Machine: %s"):format(me.ai, me.agent, me.machine)
  local first_line = opts.message:match("^[^\n]*")

  load_policy()                   -- a broken policy stops us before the lock, not during a rebase
  check_sync_state(remote, rbranch)                                          -- step 1
  local exists = remote_has_branch(remote, rbranch)
  -- Commits the push would send: past the remote branch, or for a new branch past
  -- everything the remote has.
  local function unpushed()
    local range = exists and { remote .. "/" .. rbranch .. "..HEAD" } or { "HEAD", "--not", "--remotes=" .. remote }
    local _, n = git({ "rev-list", "--count", unpack(range) })
    return tonumber(n) or 0
  end

  local _, dirty = git({ "status", "--porcelain" })
  if dirty == "" and exists and unpushed() == 0 then
    say("nothing to push (clean working tree, nothing ahead of ", remote, "/", rbranch, ")")
    return nil
  end

  acquire(first_line)                                                        -- step 2
  say(("holding %s with fencing token %s"):format(lock, tostring(held.fencing_token)))

  if dirty ~= "" then                                                        -- step 3
    git({ "add", "--all" })
    git({ "commit", "--quiet", "-m", opts.message .. "\n\n" .. trailer })
  end
  renew()

  if exists then                                                             -- step 4
    local r = git({ "pull", "--rebase", "--quiet", remote, rbranch }, true)
    if not r.ok and not rebase_in_progress() then
      stop(EXIT.error, "push: git pull --rebase failed (nothing pushed):\n" .. r.stdout .. r.stderr)
    end
    if not r.ok then
      local undecided = resolve_conflicts(me)
      if undecided then
        stop(EXIT.conflict, record_conflict(me, undecided, first_line, remote, rbranch))
      end
    end
    renew()
  else
    say("branch ", rbranch, " is new on ", remote, ": nothing to integrate, the push creates it")
  end

  local n = unpushed()
  if exists and n == 0 then
    say("nothing left to push: the remote already has everything (your changes were superseded)")
    return nil
  end
  push_head(remote, rbranch)                                                 -- step 5
  local _, commit = git({ "rev-parse", "HEAD" })

  local st, v = api("POST", "/sync/state", { project = project, branch = rbranch, commit = commit,  -- step 6
                                            message = opts.message })
  if st ~= 200 then say(("warning: recording the push failed: %d %s"):format(st, v.error or "")) end
  return { commit = commit, n = tonumber(n), me = me, first_line = first_line, remote = remote, branch = rbranch }
end

local ok, res = xpcall(main, function(e) return type(e) == "table" and e or debug.traceback(tostring(e), 2) end)
local rok, rerr = pcall(release)                                               -- step 7, always
if not rok then say("warning: release: ", tostring(type(rerr) == "table" and rerr.msg or rerr)) end
if not ok then
  if type(res) == "table" then cli.fail(res.msg, res.code) end
  cli.fail("push: internal error: " .. tostring(res), EXIT.error)
end
if res then
  pcall(chat, "sync", ("[%s/@%s] Pushed to %s: %s (%s, %d commit%s)"):format(res.me.ai, res.me.agent, project,
    res.first_line, res.commit:sub(1, 12), res.n, res.n == 1 and "" or "s"), { commit = res.commit, branch = res.branch })
  io.stdout:write(res.commit, "\n")
end
os.exit(EXIT.ok)
