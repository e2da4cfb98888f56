-- mcp.jsonrpc: JSON-RPC 2.0 over a line stream (MCP's stdio transport: one message per
-- line, UTF-8, no embedded newlines). Requests are answered in order; notifications get
-- no answer; a malformed message gets the spec's error and the server goes on.
local json = require "hostsync.json"

local M = {}

M.PARSE_ERROR, M.INVALID_REQUEST, M.METHOD_NOT_FOUND, M.INVALID_PARAMS, M.INTERNAL_ERROR =
  -32700, -32600, -32601, -32602, -32603

local RPC_ERROR = {}   -- marks an error raised with M.raise

-- Ends the current request with a JSON-RPC error (for protocol errors only: a failure of
-- the world inside a tool is a tool result with isError, not this).
function M.raise(code, message)
  error({ [RPC_ERROR] = true, code = code, message = message }, 0)
end

local ARRAY_MT = getmetatable(json.array())

-- A result without a JSON form (a tool returned a function, say) is answered as an
-- internal error instead of taking the server down.
local function write(out, msg, log)
  msg.jsonrpc = "2.0"
  local ok, text = pcall(json.encode, msg)
  if not ok then
    log("cannot encode the answer to request ", tostring(msg.id), ": ", tostring(text))
    text = json.encode({ jsonrpc = "2.0", id = msg.id, error = { code = M.INTERNAL_ERROR,
                         message = "internal error: the result has no JSON form" } })
  end
  out:write(text, "\n")
  out:flush()
end

local function valid_id(id)
  return type(id) == "string" or (type(id) == "number" and id == math.floor(id))
end

-- Handles one line -> the answer to write, or nil (a notification, a response).
function M.handle(line, dispatch, log)
  local msg, err = json.decode(line)
  if msg == nil then
    return { id = json.null, error = { code = M.PARSE_ERROR, message = "parse error: " .. tostring(err) } }
  end
  if type(msg) ~= "table" or getmetatable(msg) == ARRAY_MT or msg.jsonrpc ~= "2.0" then
    return { id = json.null, error = { code = M.INVALID_REQUEST,
             message = "not a JSON-RPC 2.0 message object (batches are not part of MCP since 2025-06-18)" } }
  end
  if msg.method == nil then return nil end  -- a response to a request we never send
  local is_request = msg.id ~= nil
  if is_request and not valid_id(msg.id) then
    return { id = json.null, error = { code = M.INVALID_REQUEST, message = "id must be a string or an integer" } }
  end
  if type(msg.method) ~= "string" then
    return is_request and { id = msg.id, error = { code = M.INVALID_REQUEST, message = "method must be a string" } } or nil
  end
  if not is_request then return nil end  -- notifications/initialized, notifications/cancelled, ...
  local ok, result = xpcall(function() return dispatch(msg.method, msg.params) end, function(e)
    if type(e) == "table" and e[RPC_ERROR] then return e end
    return { traceback = debug.traceback(tostring(e), 2), message = tostring(e) }
  end)
  if ok then return { id = msg.id, result = result } end
  if result[RPC_ERROR] then return { id = msg.id, error = { code = result.code, message = result.message } } end
  log("internal error in ", msg.method, ": ", result.traceback)
  return { id = msg.id, error = { code = M.INTERNAL_ERROR, message = "internal error: " .. result.message } }
end

-- Reads lines from `input` until end of file, answering on `out`.
function M.serve(input, out, dispatch, log)
  for line in input:lines() do
    if line:match("%S") then
      local answer = M.handle(line, dispatch, log)
      if answer then write(out, answer, log) end
    end
  end
end

return M
