-- hostsync run adam.lua <tool> [options]: the SPEC-007 artifact pipeline
-- RAW -> SANITIZED -> CANON -> BUNDLE_MANIFEST -> BUILD_SPEC -> WORK_ORDER -> SNAPSHOT_EXPORT.
-- Every tool is run through the registry in adam/tools.lua; see docs/pipeline.md.
local cli = require "hostsync.cli"
local json = require "hostsync.json"
local tools = require "adam.tools"
local store_mod = require "adam.store"

local usage = "hostsync run adam.lua <tool> [options]   (tool --help for its options)"

local function list()
  local lines = { "Usage: " .. usage, "", "Registered tools, in pipeline order:" }
  for _, name in ipairs(tools.ORDER) do
    local tool = tools.lookup(name)
    lines[#lines + 1] = string.format("  %-22s %s", name, tool and tool.summary or "(not available)")
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "Every tool takes --repo DIR (default .) and --at TIME (created_at_utc, required)."
  return table.concat(lines, "\n") .. "\n"
end

local name = arg[1]
if name == nil or name == "-h" or name == "--help" then
  io.stdout:write(list())
  os.exit(name == nil and 2 or 0)
end
if not tools.is_registered(name) then
  cli.usage_error("'" .. name .. "' is not a registered tool; tools run only through the registry:\n  "
    .. table.concat(tools.ORDER, ", "), usage)
end
local tool = assert(tools.lookup(name))

local options = {
  { "--repo", "DIR", "repository root holding .adam_os/ (default: .)", default = "." },
  { "--at", "TIME", "created_at_utc for the records, ISO 8601 UTC (required)" },
  { "--json", nil, "print the registry records as JSON lines" },
}
for _, o in ipairs(tool.options or {}) do options[#options + 1] = o end
local spec = { usage = "hostsync run adam.lua " .. name .. " [options]", summary = tool.summary,
               description = tool.description, options = options }
local rest_args = {}
for i = 2, #arg do rest_args[#rest_args + 1] = arg[i] end
local opts, rest = cli.parse(rest_args, spec)
if #rest > 0 then cli.usage_error("unexpected argument '" .. rest[1] .. "'", spec.usage) end
if not opts.at then cli.usage_error("--at TIME is required (SPEC-007: created_at_utc comes from the caller)", spec.usage) end
for _, o in ipairs(tool.options or {}) do
  if o.required and opts[(o[1]:gsub("^%-%-", ""):gsub("%-", "_"))] == nil then
    cli.usage_error(o[1] .. " is required", spec.usage)
  end
end

local store, err = store_mod.open(opts.repo, opts.at)
if not store then cli.fail(name .. ": " .. err) end
local records, terr = tool.run(store, opts)
if not records then cli.fail(name .. ": " .. tostring(terr)) end
local inputs, outputs = {}, {}
for _, r in ipairs(records) do
  outputs[#outputs + 1] = store_mod.link(r)
  for _, p in ipairs(r.parents) do inputs[#inputs + 1] = p end
end
local ok, rerr = store:receipt(name, inputs, outputs)
if not ok then cli.fail(name .. ": " .. rerr) end
for _, r in ipairs(records) do
  if opts.json then
    print(json.canonical(r))
  else
    print(string.format("%s %s %s %s", r.artifact_type, r.artifact_id, r.sha256, r.relpath))
  end
end
