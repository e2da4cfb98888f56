-- hostsync run push_hook.lua install --bare-repo DIR --server URL --token-file F --project P
-- hostsync run push_hook.lua check --server URL --token-file F --project P   (what the hook runs)
-- Fencing that git itself enforces (docs/brain.md, "The fencing hook"): a pre-receive hook
-- in the team's bare repository refuses every push whose `fencing_token` push option
-- (`git push -o fencing_token=N`, what push.lua sends) is not the current token of the
-- project's push lock `push:<project>`, as the brain reports it (GET /locks/push:P).
-- The hook fails closed: no option, a lock nobody holds, an unreachable brain: refused.
local cli = require "hostsync.cli"
local http = require "hostsync.http"
local json = require "hostsync.json"
local proc = require "hostsync.proc"
local fs = require "hostsync.fs"

local usage = [==[hostsync run push_hook.lua install --bare-repo DIR --server URL --token-file F --project P
       hostsync run push_hook.lua check --server URL --token-file F --project P]==]
local spec = {
  usage = usage,
  summary = "Install (or run) the pre-receive hook that checks push.lua's fencing token against the brain.",
  options = {
    { "--bare-repo", "DIR", "the bare repository to protect (install)" },
    { "--server", "URL", "the brain's base URL" },
    { "--token-file", "F", "a token the hook uses to ask the brain (any identity allowed on P)" },
    { "--project", "P", "project id (lock push:P)" },
  },
}
if arg[1] == "-h" or arg[1] == "--help" then cli.parse({ "--help" }, spec) end
local action = arg[1]
if action ~= "install" and action ~= "check" then cli.usage_error("expected 'install' or 'check'", usage) end
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
  if not opts.bare_repo then cli.usage_error("--bare-repo is required", usage) end
  local repo = absolute(opts.bare_repo)
  local r = proc.run({ "git", "rev-parse", "--is-bare-repository" }, { cwd = repo })
  if not r or not r.ok or not r.stdout:find("true") then cli.fail("push_hook: " .. repo .. " is not a bare git repository") end
  local exe = arg[-1]
  if not exe:find("/") then exe = assert(proc.which(exe)) end
  exe, r = absolute(exe), assert(proc.run({ "git", "config", "receive.advertisePushOptions", "true" }, { cwd = repo }))
  if not r.ok then cli.fail("push_hook: git config: " .. r.stderr) end
  local hook = table.concat({
    "#!/bin/sh",
    "# installed by hostsync push_hook.lua: refuses pushes without the current fencing token",
    "exec " .. table.concat({ sq(exe), "run", sq(absolute(arg[0])), "check", "--server", sq(opts.server),
      "--token-file", sq(absolute(opts.token_file)), "--project", sq(opts.project) }, " "),
    "" }, "\n")
  local _, gp = nil, assert(proc.run({ "git", "rev-parse", "--git-path", "hooks" }, { cwd = repo }))
  local dir = gp.stdout:gsub("%s+$", "")
  if dir:sub(1, 1) ~= "/" then dir = repo .. "/" .. dir end
  proc.run({ "mkdir", "-p", dir })
  local ok, err = fs.write_atomic(dir .. "/pre-receive", hook)
  if not ok then cli.fail("push_hook: " .. err) end
  r = assert(proc.run({ "chmod", "0755", dir .. "/pre-receive" }))
  if not r.ok then cli.fail("push_hook: chmod: " .. r.stderr) end
  io.stdout:write("installed ", dir, "/pre-receive (push:", opts.project, ")\n")
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
local token = (fs.read_file(opts.token_file) or refuse("cannot read the hook's token file")):match("^%s*(.-)%s*$")
local res, err = http.request { url = opts.server:gsub("/+$", "") .. "/locks/push:" .. opts.project, timeout = 10,
  headers = { Authorization = "Bearer " .. token, Accept = "application/json" } }
if not res then refuse("cannot ask the brain: " .. err) end
if res.status ~= 200 then refuse("the brain answered " .. res.status .. ": " .. res.body) end
local ok, lock = pcall(json.decode, res.body)
if not ok or type(lock) ~= "table" then refuse("the brain's answer is not JSON") end
if not lock.held then refuse(("fencing token %d is stale: nobody holds push:%s"):format(sent, opts.project)) end
if lock.fencing_token ~= sent then
  refuse(("fencing token %d is stale: push:%s is held by %s/@%s with token %d"):format(sent, opts.project,
    lock.holder.ai, lock.holder.agent, lock.fencing_token))
end
os.exit(0)
