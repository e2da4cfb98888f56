-- hostsync run adam.lua <tool> [options]: the SPEC-007 artifact pipeline
-- RAW -> SANITIZED -> CANON -> BUNDLE_MANIFEST -> BUILD_SPEC -> WORK_ORDER -> SNAPSHOT_EXPORT.
-- Every tool is run through the registry in adam/tools.lua (adam/run.lua runs it); list,
-- show and verify only read. See docs/pipeline.md.
local cli = require "hostsync.cli"
local tools = require "adam.tools"
local run = require "adam.run"

local usage = "hostsync run adam.lua <tool> [options]   (tool --help for its options)\n" ..
              "       hostsync run adam.lua list|show ID|verify [--repo DIR]"

-- Read-only commands: not tools (they write no artifact and no receipt).
local COMMANDS = {
  list = { module = "adam.inspect", summary = "list the registry's records, oldest first" },
  show = { module = "adam.inspect", summary = "show one record: its receipt, parents and children" },
  verify = { module = "adam.audit", summary = "check the registry, the files, the lineage and the receipt chain" },
}

local function overview()
  local lines = { "Usage: " .. usage, "", "Registered tools, in pipeline order:" }
  for _, name in ipairs(tools.ORDER) do
    local tool = tools.lookup(name)
    lines[#lines + 1] = string.format("  %-22s %s", name, tool and tool.summary or "(not available)")
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "Read-only commands:"
  for _, name in ipairs({ "list", "show", "verify" }) do
    lines[#lines + 1] = string.format("  %-22s %s", name, COMMANDS[name].summary)
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "Every tool takes --repo DIR (default .), --at TIME (created_at_utc; required by the tools\n" ..
                      "that record artifacts) and --wait SECONDS (for another run on the repository, default 600)."
  return table.concat(lines, "\n") .. "\n"
end

local name = arg[1]
if name == nil or name == "-h" or name == "--help" then
  io.stdout:write(overview())
  os.exit(name == nil and 2 or 0)
end
local rest_args = {}
for i = 2, #arg do rest_args[#rest_args + 1] = arg[i] end

if COMMANDS[name] then
  require(COMMANDS[name].module).main(name, rest_args)
  return
end
if not tools.is_registered(name) then
  cli.usage_error("'" .. name .. "' is not a registered tool; tools run only through the registry:\n  "
    .. table.concat(tools.ORDER, ", "), usage)
end
local tool = assert(tools.lookup(name))

local options = {
  { "--repo", "DIR", "repository root holding .adam_os/ (default: .)", default = "." },
  { "--at", "TIME", tool.records_nothing and "created_at_utc of the receipt, ISO 8601 UTC (optional)"
                                          or "created_at_utc for the records, ISO 8601 UTC (required)" },
  { "--wait", "SECONDS", "wait this long for another run on the repository to finish (default: 600)",
    default = "600" },
  { "--json", nil, "print the registry records as JSON lines" },
}
for _, o in ipairs(tool.options or {}) do options[#options + 1] = o end
local spec = { usage = "hostsync run adam.lua " .. name .. " [options]", summary = tool.summary,
               description = tool.description, options = options }
local opts, rest = cli.parse(rest_args, spec)
if #rest > 0 then cli.usage_error("unexpected argument '" .. rest[1] .. "'", spec.usage) end
if not opts.at and not tool.records_nothing then
  cli.usage_error("--at TIME is required (SPEC-007: created_at_utc comes from the caller)", spec.usage)
end
opts.wait = tonumber(opts.wait)
if not opts.wait or opts.wait < 0 or opts.wait ~= opts.wait or opts.wait == math.huge then
  cli.usage_error("--wait takes a number of seconds >= 0", spec.usage)
end
for _, o in ipairs(tool.options or {}) do
  if o.required and opts[(o[1]:gsub("^%-%-", ""):gsub("%-", "_"))] == nil then
    cli.usage_error(o[1] .. " is required", spec.usage)
  end
end
run.tool(name, tool, opts)
