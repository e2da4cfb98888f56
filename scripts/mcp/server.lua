-- hostsync mcp: the shared brain as Model Context Protocol tools for AI agents, over
-- stdio (JSON-RPC 2.0, one message per line; docs/mcp.md). The tools are Lua files
-- (mcp/tools.lua says where they come from); they reach the brain with the same URL and
-- token file as the workflow scripts (brain.client).
local cli = require "hostsync.cli"
local json = require "hostsync.json"
local client = require "brain.client"
local jsonrpc = require "mcp.jsonrpc"
local tools = require "mcp.tools"

-- The revisions this server speaks, newest first. The newest is what the official SDKs
-- speak today (@modelcontextprotocol/sdk 1.32: LATEST_PROTOCOL_VERSION 2025-11-25).
local VERSIONS = { "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05" }

local spec = {
  usage = "hostsync mcp [--server URL] [--token-file F] [--tools DIR]",
  summary = "Serve the shared brain's tools to an MCP client (an AI coding agent) on stdin/stdout.\n" ..
    "Tools: every mcp/tools/*.lua on the script path ($HOSTSYNC_PATH first), --tools DIR before those.\n" ..
    "Logs go to stderr; stdout carries only protocol messages. See docs/mcp.md.",
  options = client.with_options {
    { "--tools", "DIR", "a directory of tool files that comes before all others" },
    { "--list", nil, "print the tools (name and description) and exit" },
  },
}
local opts, rest = cli.parse(arg, spec)
if #rest > 0 then cli.usage_error("unexpected argument '" .. rest[1] .. "'", spec.usage) end

local list, by_name = tools.load(tools.directories({ opts.tools }))
if not list then cli.fail("hostsync mcp: tool " .. tostring(by_name)) end
if opts.list then
  for _, t in ipairs(list) do io.write(t.name, "\t", t.description:match("^[^\n]*"), "\n") end
  os.exit(0)
end

-- A transport failure inside a tool ends that call with isError, never the server.
local brain = client.connect(opts, { name = "brain", usage = spec.usage, fail = tools.fail, retries = 2 })
local ctx = require("mcp.context").new(brain, tools.fail)

local function log(...) io.stderr:write("hostsync mcp: ", ...) io.stderr:write("\n") end

local initialized = false

local handlers = {}

function handlers.initialize(params)
  local asked = type(params) == "table" and params.protocolVersion
  local version = VERSIONS[1]
  for _, v in ipairs(VERSIONS) do if v == asked then version = v end end
  initialized = true
  return {
    protocolVersion = version,
    capabilities = { tools = { listChanged = false } },
    serverInfo = { name = "hostsync", title = "hostsync shared brain", version = hostsync.version },
    instructions = "Tools of the team's shared brain at " .. brain.base .. ": push locks, the push workflow, " ..
      "the chatroom, handoffs, tasks and your inbox. Identity comes from the token; errors name what to do.",
  }
end

function handlers.ping() return json.object() end

handlers["tools/list"] = function()
  local out = json.array()
  for _, t in ipairs(list) do out[#out + 1] = tools.describe(t) end
  return { tools = out }
end

handlers["tools/call"] = function(params)
  if type(params) ~= "table" or type(params.name) ~= "string" then
    jsonrpc.raise(jsonrpc.INVALID_PARAMS, "tools/call needs params.name (a string)")
  end
  local tool = by_name[params.name]
  if not tool then jsonrpc.raise(jsonrpc.INVALID_PARAMS, "unknown tool: " .. params.name) end
  local args = params.arguments
  if args ~= nil and (type(args) ~= "table" or getmetatable(args) == getmetatable(json.array())) then
    return { content = json.array { { type = "text", text = "arguments must be a JSON object" } }, isError = true }
  end
  return tools.call(tool, args, ctx)
end

local BEFORE_INIT = { initialize = true, ping = true }

local function dispatch(method, params)
  local h = handlers[method]
  if not h then jsonrpc.raise(jsonrpc.METHOD_NOT_FOUND, "method not found: " .. method) end
  if not initialized and not BEFORE_INIT[method] then
    jsonrpc.raise(jsonrpc.INVALID_REQUEST, "initialize first")
  end
  return h(params)
end

log("serving ", #list, " tools for ", brain.base, " on stdio")
jsonrpc.serve(io.stdin, io.stdout, dispatch, log)
