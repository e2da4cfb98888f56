-- hostsync run brain_admin.lua token create|list|revoke ... [--db URL]
-- Manages the brain's bearer tokens (docs/brain.md). A token is printed once, at
-- creation; only its SHA-256 is stored, so a lost token is revoked and replaced.
local cli = require "hostsync.cli"
local auth = require "brain.auth"
local store = require "brain.store"

local usage = [==[hostsync run brain_admin.lua token create --ai AI --agent NAME --machine M --project P[,P...]
           [--tenant T --level user|automation|ai-local|ai-lan|ai-cloud|1..5] [--db URL]
       hostsync run brain_admin.lua token list [--db URL]
       hostsync run brain_admin.lua token revoke ID [--db URL]]==]
local spec = {
  usage = usage,
  summary = "Issue, list and revoke bearer tokens for the shared brain. --project * allows every project.",
  options = {
    { "--ai", "AI", "claude | gemini | chatgpt | grok | ..." },
    { "--agent", "NAME", "the agent, e.g. marcus (without @)" },
    { "--machine", "ID", "machine identifier" },
    { "--project", "P", "allowed projects, comma separated" },
    { "--tenant", "T", "sync tenant of this principal (needed for /sync/*; see docs/sync-contract.md)" },
    { "--level", "L", "its truth level: user, automation, ai-local, ai-lan, ai-cloud or 1..5" },
    { "--db", "URL", "SQLite path or postgres:// URL (default ./brain.sqlite)" },
  },
}
local args = {}
for i = 3, #arg do args[#args + 1] = arg[i] end
if arg[1] == "-h" or arg[1] == "--help" then cli.parse({ "--help" }, spec) end
local action = arg[2]
if arg[1] ~= "token" or not (action == "create" or action == "list" or action == "revoke") then
  cli.usage_error("expected 'token create', 'token list' or 'token revoke ID'", usage)
end
local opts, rest = cli.parse(args, spec)

local h, err = store.open(opts.db)
if not h then cli.fail("brain_admin: " .. err) end
local ok, merr = store.migrate(h)
if not ok then cli.fail("brain_admin: " .. merr) end

if action == "create" then
  if #rest > 0 then cli.usage_error("unexpected argument '" .. rest[1] .. "'", usage) end
  for _, k in ipairs { "ai", "agent", "machine", "project" } do
    if not opts[k] or opts[k] == "" then cli.usage_error("--" .. k .. " is required", usage) end
  end
  local projects = {}
  for p in opts.project:gmatch("[^,]+") do projects[#projects + 1] = p end
  local level
  if (opts.tenant ~= nil) ~= (opts.level ~= nil) then cli.usage_error("--tenant and --level go together", usage) end
  if opts.tenant == "" then cli.usage_error("--tenant must not be empty", usage) end
  if opts.level then
    level = auth.level_of(opts.level)
    if not level then cli.usage_error("--level must be one of " .. table.concat(auth.LEVELS, ", ") .. " or 1..5", usage) end
  end
  local token, terr = auth.create(h, opts.ai, (opts.agent:gsub("^@", "")), opts.machine, projects, opts.tenant, level)
  if not token then cli.fail("brain_admin: " .. terr) end
  io.stdout:write(token, "\n")
elseif action == "list" then
  local null = require("hostsync.db").null
  local rows = assert(h:query("SELECT id, ai, agent, machine, projects, revoked_at, tenant, level FROM tokens ORDER BY id"))
  for _, r in ipairs(rows) do
    local principal = r.tenant ~= null and ("\ttenant=%s level=%s"):format(r.tenant, auth.LEVELS[r.level] or tostring(r.level)) or ""
    io.stdout:write(("%d\t%s/@%s\t%s\t%s%s%s\n"):format(r.id, r.ai, r.agent, r.machine, r.projects, principal,
      r.revoked_at ~= null and "\trevoked" or ""))
  end
else
  local id = tonumber(rest[1] or "")
  if not id or #rest ~= 1 then cli.usage_error("token revoke needs one token ID (see token list)", usage) end
  local n = assert(h:exec("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", store.now(), id))
  if n == 0 then cli.fail("brain_admin: no active token with ID " .. id) end
  io.stdout:write("revoked token ", id, "\n")
end
