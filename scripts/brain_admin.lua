-- hostsync run brain_admin.lua token create --ai AI --agent NAME --machine M --project P [--db URL]
-- Issues a bearer token for the brain: prints it once; only its SHA-256 is stored.
local cli = require "hostsync.cli"
local auth = require "brain.auth"
local store = require "brain.store"

local spec = {
  usage = "hostsync run brain_admin.lua token create --ai AI --agent NAME --machine M --project P[,P...] [--db URL]",
  summary = "Issue a bearer token for the shared brain (docs/brain.md). --project * allows every project.",
  options = {
    { "--ai", "AI", "claude | gemini | chatgpt | grok | ..." },
    { "--agent", "NAME", "the agent, e.g. marcus (without @)" },
    { "--machine", "ID", "machine identifier" },
    { "--project", "P", "allowed projects, comma separated" },
    { "--db", "URL", "SQLite path or postgres:// URL (default ./brain.sqlite)" },
  },
}
local args = {}
for i = 3, #arg do args[#args + 1] = arg[i] end
if arg[1] ~= "token" or arg[2] ~= "create" then cli.usage_error("expected 'token create'", spec.usage) end
local opts, rest = cli.parse(args, spec)
if #rest > 0 then cli.usage_error("unexpected argument '" .. rest[1] .. "'", spec.usage) end
for _, k in ipairs { "ai", "agent", "machine", "project" } do
  if not opts[k] or opts[k] == "" then cli.usage_error("--" .. k .. " is required", spec.usage) end
end
local projects = {}
for p in opts.project:gmatch("[^,]+") do projects[#projects + 1] = p end

local h, err = store.open(opts.db)
if not h then cli.fail("brain_admin: " .. err) end
local ok, merr = store.migrate(h)
if not ok then cli.fail("brain_admin: " .. merr) end
local token, terr = auth.create(h, opts.ai, (opts.agent:gsub("^@", "")), opts.machine, projects)
if not token then cli.fail("brain_admin: " .. terr) end
io.stdout:write(token, "\n")
