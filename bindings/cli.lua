-- hostsync.cli: option parsing and the exit conventions for scripts.
--
--   local cli = require "hostsync.cli"
--   local opts, rest = cli.parse(arg, {
--     usage = "hostsync run tool.lua [options] [run|verify]",
--     summary = "Turn new index.csv rows into sealed sync packets.",
--     options = {
--       { "--root", "DIR", "project root (default: .)", default = "." },
--       { "--quarantine", nil, "move bad rows aside and go on" },
--     },
--   })
--
-- `--help` prints the generated help and exits 0; an unknown option or a missing value
-- raises a usage error (exit status 2). `cli.fail(msg)` stops a script with a message
-- and no traceback (exit status 1, or the one given): for expected failures such as a
-- bad input row, where a traceback would only be noise.
local M = {}

local function raise(message, exit_code)
  error(setmetatable({ message = message, exit_code = exit_code },
    { __tostring = function(e) return e.message end }), 0)
end

function M.fail(message, exit_code)
  raise(tostring(message), exit_code or 1)
end

function M.usage_error(message, usage)
  raise(message .. (usage and ("\n\nUsage: " .. usage .. "\n(--help for details)") or ""), 2)
end

local function key_of(long)
  return (long:gsub("^%-%-", ""):gsub("%-", "_"))
end

function M.help_text(spec)
  local lines = { "Usage: " .. spec.usage }
  if spec.summary then lines[#lines + 1] = "" ; lines[#lines + 1] = spec.summary end
  if spec.description then lines[#lines + 1] = "" ; lines[#lines + 1] = spec.description end
  lines[#lines + 1] = ""
  lines[#lines + 1] = "Options:"
  local width = 0
  local heads = {}
  for i, o in ipairs(spec.options or {}) do
    heads[i] = "  " .. o[1] .. (o[2] and (" " .. o[2]) or "")
    width = math.max(width, #heads[i])
  end
  heads[#heads + 1] = "  -h, --help"
  width = math.max(width, #heads[#heads])
  for i, o in ipairs(spec.options or {}) do
    lines[#lines + 1] = heads[i] .. string.rep(" ", width - #heads[i] + 2) .. o[3]
  end
  lines[#lines + 1] = heads[#heads] .. string.rep(" ", width - #heads[#heads] + 2) .. "show this help"
  if spec.epilog then lines[#lines + 1] = "" ; lines[#lines + 1] = spec.epilog end
  return table.concat(lines, "\n") .. "\n"
end

-- Parses `args` (an `arg`-style array) against spec.options. Returns the options table
-- (keys are the long names without dashes, '-' -> '_') and the positional arguments.
-- "--opt=value" and "--opt value" both work; "--" ends option parsing.
function M.parse(args, spec)
  if type(args) ~= "table" or type(spec) ~= "table" then
    error("Usage: cli.parse(args, spec)", 2)
  end
  local by_name = {}
  local opts = {}
  for _, o in ipairs(spec.options or {}) do
    by_name[o[1]] = o
    if o.short then by_name[o.short] = o end
    if o.default ~= nil then opts[key_of(o[1])] = o.default end
  end
  local rest = {}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--" then
      for j = i + 1, #args do rest[#rest + 1] = args[j] end
      break
    elseif a == "-h" or a == "--help" then
      io.stdout:write(M.help_text(spec))
      os.exit(0)
    elseif a:sub(1, 1) == "-" and #a > 1 then
      local name, value = a:match("^(%-%-[^=]+)=(.*)$")
      name = name or a
      local o = by_name[name]
      if not o then M.usage_error("unknown option '" .. name .. "'", spec.usage) end
      if o[2] then
        if value == nil then
          i = i + 1
          value = args[i]
          if value == nil then M.usage_error("option " .. name .. " needs a value (" .. o[2] .. ")", spec.usage) end
        end
        if o.number then
          local n = tonumber(value)
          if not n then M.usage_error("option " .. name .. " needs a number, got '" .. value .. "'", spec.usage) end
          value = n
        end
        opts[key_of(o[1])] = value
      else
        if value ~= nil then M.usage_error("option " .. name .. " takes no value", spec.usage) end
        opts[key_of(o[1])] = true
      end
    else
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  return opts, rest
end

return M
