-- mcp.tools: finds, loads and runs the MCP server's tools. A tool is a Lua file that
-- returns
--
--   { name = "lock_acquire", title = "...", description = "...",
--     inputSchema = { type = "object", properties = {...}, required = {...} },
--     annotations = { readOnlyHint = true },            -- optional (MCP tool annotations)
--     handler = function(args, ctx) return value end }  -- value: a table (structured) or text
--
-- Tools come from every `mcp/tools` directory on the script path, $HOSTSYNC_PATH first, and
-- from --tools DIR before all of them; the first file that declares a name wins, so a user
-- adds or replaces a tool by dropping a file into a directory of their own. A handler
-- reports a failure of the world with ctx.fail("what happened") (a tool result with
-- isError); its arguments were checked against inputSchema before it runs.
local fs = require "hostsync.fs"
local json = require "hostsync.json"
local schema = require "mcp.schema"

local M = {}

local FAILURE = {}   -- marks a ctx.fail() error value

-- ctx.fail(message): ends the tool call with an isError result naming the problem.
function M.fail(message)
  error({ [FAILURE] = true, message = tostring(message) }, 0)
end

-- Directories holding tools, in priority order: `extra` (e.g. --tools) first, then the
-- $HOSTSYNC_PATH entries, then the other script directories on package.path. Only
-- directories the host kept on package.path count: one it refused (writable by others)
-- never contributes code.
function M.directories(extra)
  local on_path, order = {}, {}
  for entry in package.path:gmatch("[^;]+") do
    local dir = entry:match("^(.*)/%?%.lua$")
    if dir and not on_path[dir] then on_path[dir] = true; order[#order + 1] = dir end
  end
  local dirs, seen = {}, {}
  local function add(d)
    if d and not seen[d] then seen[d] = true; dirs[#dirs + 1] = d end
  end
  for _, d in ipairs(extra or {}) do add(d) end
  for d in (os.getenv("HOSTSYNC_PATH") or ""):gmatch("[^:]+") do
    d = d:gsub("/+$", "")
    if on_path[d] and fs.exists(d .. "/mcp/tools") then add(d .. "/mcp/tools") end
  end
  for _, d in ipairs(order) do
    if fs.exists(d .. "/mcp/tools") then add(d .. "/mcp/tools") end
  end
  return dirs
end

local function check_tool(tool, file)
  if type(tool) ~= "table" then return nil, "must return a table (name, description, inputSchema, handler)" end
  if type(tool.name) ~= "string" or not tool.name:match("^[%w_%-%.]+$") or #tool.name > 128 then
    return nil, "name must be 1..128 characters of A-Z a-z 0-9 _ - ."
  end
  if type(tool.description) ~= "string" or tool.description == "" then return nil, "description is required" end
  if type(tool.handler) ~= "function" then return nil, "handler must be a function(args, ctx)" end
  local s = tool.inputSchema
  if type(s) ~= "table" or s.type ~= "object" then return nil, "inputSchema must be a JSON Schema with type = \"object\"" end
  local ok, err = schema.check(s)
  if not ok then return nil, err end
  for k in pairs(tool) do
    if not ({ name = 1, title = 1, description = 1, inputSchema = 1, outputSchema = 1, annotations = 1, handler = 1 })[k] then
      return nil, "unknown field '" .. tostring(k) .. "' in " .. file
    end
  end
  return true
end

-- Loads every tool -> list (sorted by name) | nil, "file: why". A file that does not load
-- or declare a valid tool stops the server: a broken tool is fixed, never silently left out.
function M.load(dirs)
  local by_name, list = {}, {}
  for _, dir in ipairs(dirs) do
    local names = assert(fs.listdir(dir))
    table.sort(names)
    for _, n in ipairs(names) do
      if n:match("%.lua$") then
        local file = dir .. "/" .. n
        local chunk, lerr = loadfile(file)
        if not chunk then return nil, lerr end
        local ok, tool = pcall(chunk)
        if not ok then return nil, file .. ": " .. tostring(tool) end
        local valid, why = check_tool(tool, file)
        if not valid then return nil, file .. ": " .. why end
        if not by_name[tool.name] then
          by_name[tool.name] = tool
          tool.file = file
          list[#list + 1] = tool
        end
      end
    end
  end
  table.sort(list, function(a, b) return a.name < b.name end)
  return list, by_name
end

-- The MCP description of a tool (tools/list).
function M.describe(tool)
  local properties = json.object()
  for k, v in pairs(tool.inputSchema.properties or {}) do properties[k] = v end
  local input = {}
  for k, v in pairs(tool.inputSchema) do input[k] = v end
  input.properties = properties
  if input.required then input.required = json.array(input.required) end
  return { name = tool.name, title = tool.title, description = tool.description, inputSchema = input,
           outputSchema = tool.outputSchema, annotations = tool.annotations }
end

local function text_result(text, is_error, structured)
  return { content = json.array { { type = "text", text = text } }, isError = is_error or nil,
           structuredContent = structured }
end

-- Runs a tool on decoded arguments -> a CallToolResult. Never raises: bad arguments, a
-- ctx.fail() and an unexpected error all become isError results naming the problem (an
-- unexpected one also goes to stderr with its traceback).
function M.call(tool, args, ctx)
  if args == nil then args = json.object() end
  local errors = schema.validate(args, tool.inputSchema)
  if errors then
    return text_result(("invalid arguments for %s: %s"):format(tool.name, table.concat(errors, "; ")), true)
  end
  local ok, value = xpcall(function() return tool.handler(args, ctx) end, function(e)
    if type(e) == "table" and e[FAILURE] then return e end
    return { unexpected = tostring(e), traceback = debug.traceback(tostring(e), 2) }
  end)
  if not ok then
    if value[FAILURE] then return text_result(value.message, true) end
    io.stderr:write("hostsync mcp: tool ", tool.name, " failed: ", value.traceback, "\n")
    return text_result(("internal error in tool %s: %s"):format(tool.name, value.unexpected), true)
  end
  if type(value) == "table" then
    -- structuredContent is a JSON object; a list is handed over as { items = list }.
    if getmetatable(value) == getmetatable(json.array()) then value = { items = value } end
    return text_result(json.encode(value, { sort_keys = true }), false, value)
  end
  return text_result(tostring(value == nil and "done" or value), false)
end

return M
