-- hostsync run push_hook.lua install --bare-repo DIR --server URL --token-file F --project P
-- hostsync run push_hook.lua install --clone DIR --server URL --token-file F --project P
-- hostsync run push_hook.lua check|check-client ...   (what the hooks run)
-- Fencing that git itself enforces (docs/brain.md, "The fencing hook"): a pre-receive hook
-- in the team's bare repository refuses every push whose `fencing_token` push option
-- (`git push -o fencing_token=N`, what push.lua sends) is not the current token of the
-- project's push lock `push:<project>`, as the brain reports it (GET /locks/push:P).
-- The hook fails closed: no option, a lock nobody holds, an unreachable brain: refused.
-- For a remote where no hook can be installed (a hosted service), `install --clone` puts
-- a client-side pre-push hook into an agent's clone instead: it refuses a push unless this
-- agent (the token's identity) holds push:<project> right now. That guards against a
-- plain `git push` outside push.lua on that machine; it cannot fence a paused holder (the
-- remote never sees the token), which only the pre-receive hook does.
local cli = require "hostsync.cli"
local http = require "hostsync.http"
local json = require "hostsync.json"
local proc = require "hostsync.proc"
local fs = require "hostsync.fs"

local usage = [==[hostsync run push_hook.lua install --bare-repo DIR --server URL --token-file F --project P
       hostsync run push_hook.lua install --clone DIR --server URL --token-file F --project P
       hostsync run push_hook.lua check|check-client --server URL --token-file F --project P]==]
local spec = {
  usage = usage,
  summary = "Install (or run) the pre-receive hook that checks push.lua's fencing token against the brain.",
  options = {
    { "--bare-repo", "DIR", "the bare repository to protect with a pre-receive hook (install)" },
    { "--clone", "DIR", "an agent's clone to guard with a client-side pre-push hook (install)" },
    { "--server", "URL", "the brain's base URL" },
    { "--token-file", "F", "a token the hook uses to ask the brain (any identity allowed on P)" },
    { "--project", "P", "project id (lock push:P)" },
  },
}
if arg[1] == "-h" or arg[1] == "--help" then cli.parse({ "--help" }, spec) end
local action = arg[1]
if action ~= "install" and action ~= "check" and action ~= "check-client" then
  cli.usage_error("expected 'install', 'check' or 'check-client'", usage)
end
local args = {}
for i = 2, #arg do args[#args + 1] = arg[i] end
local opts, rest = cli.parse(args, spec)
if #rest > 0 then cli.usage_error("unexpected argument '" .. rest[1] .. "'", usage) end
for _, k in ipairs { "server", "token_file", "project" } do
  if not opts[k] or opts[k] == "" then cli.usage_error("--" .. k:gsub("_", "-") .. " is required", usage) end
end

local function absolute(p)
  if p:sub(1, 1) == "/" then return p end
  local r = assert(proc.run({ "pwd", "-P" }))
  return (r.stdout:gsub("%s+$", "")) .. "/" .. p:gsub("^%./", "")
end
local function sq(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

if action == "install" then
  if (opts.bare_repo == nil) == (opts.clone == nil) then cli.usage_error("give one of --bare-repo and --clone", usage) end
  local bare = opts.bare_repo ~= nil
  local repo = absolute(opts.bare_repo or opts.clone)
  local r = proc.run({ "git", "rev-parse", "--is-bare-repository" }, { cwd = repo })
  if not r or not r.ok or (r.stdout:find("true") ~= nil) ~= bare then
    cli.fail("push_hook: " .. repo .. " is not a " .. (bare and "bare git repository" or "git clone (non-bare)"))
  end
  local exe = arg[-1]
  if not exe:find("/") then exe = assert(proc.which(exe)) end
  exe = absolute(exe)
  if bare then
    r = assert(proc.run({ "git", "config", "receive.advertisePushOptions", "true" }, { cwd = repo }))
    if not r.ok then cli.fail("push_hook: git config: " .. r.stderr) end
  end
  local name, check = bare and "pre-receive" or "pre-push", bare and "check" or "check-client"
  local hook = table.concat({
    "#!/bin/sh",
    "# installed by hostsync push_hook.lua: refuses pushes " ..
      (bare and "without the current fencing token" or "unless this agent holds the push lock"),
    "exec " .. table.concat({ sq(exe), "run", sq(absolute(arg[0])), check, "--server", sq(opts.server),
      "--token-file", sq(absolute(opts.token_file)), "--project", sq(opts.project) }, " "),
    "" }, "\n")
  local _, gp = nil, assert(proc.run({ "git", "rev-parse", "--git-path", "hooks" }, { cwd = repo }))
  local dir = gp.stdout:gsub("%s+$", "")
  if dir:sub(1, 1) ~= "/" then dir = repo .. "/" .. dir end
  proc.run({ "mkdir", "-p", dir })
  local ok, err = fs.write_atomic(dir .. "/" .. name, hook)
  if not ok then cli.fail("push_hook: " .. err) end
  r = assert(proc.run({ "chmod", "0755", dir .. "/" .. name }))
  if not r.ok then cli.fail("push_hook: chmod: " .. r.stderr) end
  io.stdout:write("installed ", dir, "/", name, " (push:", opts.project, ")\n")
  os.exit(0)
end

local function brain_get(path, refuse)
  local token = (fs.read_file(opts.token_file) or refuse("cannot read the hook's token file")):match("^%s*(.-)%s*$")
  local res, err = http.request { url = opts.server:gsub("/+$", "") .. path, timeout = 10,
    headers = { Authorization = "Bearer " .. token, Accept = "application/json" } }
  if not res then refuse("cannot ask the brain: " .. err) end
  if res.status ~= 200 then refuse("the brain answered " .. res.status .. ": " .. res.body) end
  local ok, v = pcall(json.decode, res.body)
  if not ok or type(v) ~= "table" then refuse("the brain's answer is not JSON") end
  return v
end

if action == "check-client" then
  -- runs as the clone's pre-push hook: this agent must hold the lock now
  local function refuse(msg)
    io.stderr:write("hostsync pre-push: push refused: ", msg, "\n")
    os.exit(1)
  end
  local me = brain_get("/whoami", refuse)
  local lock = brain_get("/locks/push:" .. opts.project, refuse)
  if not lock.held then
    refuse(("you do not hold push:%s; push with `hostsync run push.lua`"):format(opts.project))
  end
  local h = lock.holder
  if h.ai ~= me.ai or h.agent ~= me.agent or h.machine ~= me.machine then
    refuse(("push:%s is held by %s/@%s (machine %s), not by you"):format(opts.project, h.ai, h.agent, h.machine))
  end
  os.exit(0)
end

-- check: runs inside git receive-pack, stdin = "<old> <new> <ref>" lines (not needed).
local function refuse(msg)
  io.stderr:write("hostsync fencing: push refused: ", msg, "\n")
  os.exit(1)
end
local sent
for i = 0, (tonumber(os.getenv("GIT_PUSH_OPTION_COUNT") or "0") or 0) - 1 do
  local v = os.getenv("GIT_PUSH_OPTION_" .. i) or ""
  local t = v:match("^fencing_token=(%d+)$")
  if t then sent = tonumber(t) end
end
if not sent then
  refuse("no fencing_token push option; push with `hostsync run push.lua` (git push -o fencing_token=N)")
end
local lock = brain_get("/locks/push:" .. opts.project, refuse)
if not lock.held then refuse(("fencing token %d is stale: nobody holds push:%s"):format(sent, opts.project)) end
if lock.fencing_token ~= sent then
  refuse(("fencing token %d is stale: push:%s is held by %s/@%s with token %d"):format(sent, opts.project,
    lock.holder.ai, lock.holder.agent, lock.fencing_token))
end
os.exit(0)
