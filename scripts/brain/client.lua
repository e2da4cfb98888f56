-- brain.client: the workflow scripts' HTTP client for the shared brain (push.lua,
-- chat.lua, handoff.lua). One place for the server URL, the token file and the JSON
-- request/response handling, so every script takes the same options and env fallbacks:
--
--   --server URL        else $HOSTSYNC_BRAIN_URL
--   --token-file F      else $HOSTSYNC_BRAIN_TOKEN_FILE
--
--   local client = require "brain.client"
--   local spec = { usage = ..., options = client.with_options{ { "--project", "P", "..." } } }
--   local opts = cli.parse(arg, spec)
--   local brain = client.connect(opts, { name = "chat", usage = spec.usage })
--   local status, value = brain:api("POST", "/chat", { message = "hi" })
--
-- api() returns the HTTP status and the decoded JSON body (a non-JSON body becomes
-- { error = body }); only a transport failure (the brain unreachable after retries) is
-- an error, raised through opts.fail (default: cli.fail with "<name>: brain: <err>").
local check = require "hostsync.check"
local cli = require "hostsync.cli"
local http = require "hostsync.http"
local json = require "hostsync.json"
local fs = require "hostsync.fs"

local M = {}

M.ENV_URL = "HOSTSYNC_BRAIN_URL"
M.ENV_TOKEN_FILE = "HOSTSYNC_BRAIN_TOKEN_FILE"

M.OPTIONS = {
  { "--server", "URL", "the brain's base URL (default: $" .. M.ENV_URL .. ")" },
  { "--token-file", "F", "file holding this agent's bearer token (default: $" .. M.ENV_TOKEN_FILE .. ")" },
}

-- The connection options followed by the script's own.
function M.with_options(own)
  local all = {}
  for _, o in ipairs(M.OPTIONS) do all[#all + 1] = o end
  for _, o in ipairs(own or {}) do all[#all + 1] = o end
  return all
end

-- For scripts with subcommands ("chat.lua post ..."): argv[1] names the command, one of
-- `commands` ({ name = { option_key = true } }, the options it takes), listed for the
-- usage error in `order`; the rest is parsed by `spec`. -> command, opts, rest
function M.parse_command(argv, spec, commands, order)
  if argv[1] == "-h" or argv[1] == "--help" then cli.parse({ "--help" }, spec) end
  local command = argv[1]
  if not commands[command] then
    local list = #order > 1 and (table.concat(order, ", ", 1, #order - 1) .. " or " .. order[#order]) or order[1]
    cli.usage_error(command and ("unknown command '" .. command .. "' (expected " .. list .. ")")
      or ("expected a command: " .. list), spec.usage)
  end
  local args = {}
  for i = 2, #argv do args[#args + 1] = argv[i] end
  local opts, rest = cli.parse(args, spec)
  M.check_options(opts, commands[command], command, spec.usage)
  return command, opts, rest
end

-- Refuses an option (other than --server/--token-file) that `command` does not take;
-- `allowed` is { option_key = true } (cli.parse's keys).
function M.check_options(opts, allowed, command, usage)
  for k in pairs(opts) do
    if not allowed[k] and k ~= "server" and k ~= "token_file" then
      cli.usage_error("--" .. k:gsub("_", "-") .. " does not apply to '" .. command .. "'", usage)
    end
  end
end

-- A whole-number option (`name`, cli.parse's key) >= min, or a usage error; nil stays nil.
function M.count_option(opts, name, min, usage)
  local n = opts[name]
  if n ~= nil and (n < min or n ~= math.floor(n)) then
    cli.usage_error(("--%s must be an integer >= %d, got %s"):format(name:gsub("_", "-"), min, tostring(n)), usage)
  end
  return n
end

-- Percent-encodes one path segment (a lock name such as push:proj).
function M.segment(s)
  return (tostring(s):gsub("[^%w%-%._~:]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- A query string from a table of name -> value (nil values left out), sorted so
-- the same arguments give the same URL.
function M.query(params)
  local keys = {}
  for k, v in pairs(params) do if v ~= nil then keys[#keys + 1] = k end end
  if #keys == 0 then return "" end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    parts[#parts + 1] = M.segment(k) .. "=" .. M.segment(params[k])
  end
  return "?" .. table.concat(parts, "&")
end

local Client = {}
Client.__index = Client

-- cfg: name (message prefix), usage (for usage errors), fail(msg) (transport failures),
-- retries, timeout. Missing --server/--token-file (and env) is a usage error (exit 2);
-- an unreadable token file fails with exit 1.
function M.connect(opts, cfg)
  cfg = check.opts(cfg, { name = "string", usage = "string", fail = "function", retries = "number", timeout = "number" },
                   "Usage: brain.client.connect(opts [, {name=, usage=, fail=, retries=, timeout=}])")
  local name = cfg.name or "brain"
  local server = opts.server
  if server == nil or server == "" then server = os.getenv(M.ENV_URL) end
  local token_file = opts.token_file
  if token_file == nil or token_file == "" then token_file = os.getenv(M.ENV_TOKEN_FILE) end
  if server == nil or server == "" then
    cli.usage_error("--server is required (or set " .. M.ENV_URL .. ")", cfg.usage)
  end
  if token_file == nil or token_file == "" then
    cli.usage_error("--token-file is required (or set " .. M.ENV_TOKEN_FILE .. ")", cfg.usage)
  end
  local text, err = fs.read_file(token_file)
  if not text then cli.fail(name .. ": cannot read token file: " .. err) end
  return setmetatable({
    name = name,
    base = server:gsub("/+$", ""),
    token = text:match("^%s*(.-)%s*$"),
    token_file = token_file,
    fail = cfg.fail or function(msg) cli.fail(msg) end,
    retries = cfg.retries or 5,
    timeout = cfg.timeout or 30,
  }, Client)
end

function Client:headers(extra)
  local h = { Authorization = "Bearer " .. self.token }
  for k, v in pairs(extra or {}) do h[k] = v end
  return h
end

-- Retries cover connection failures and 429/502/503/504 (hostsync.http's rules: POST is
-- retried only when nothing reached the server, so a write is never applied twice).
function Client:api(method, path, body)
  local res, err = http.request { method = method, url = self.base .. path, retries = self.retries,
    backoff = 0.1, timeout = self.timeout,
    headers = self:headers { ["Content-Type"] = body and "application/json" or nil, Accept = "application/json" },
    body = body and json.encode(body) or nil }
  if not res then self.fail(self.name .. ": brain: " .. err) end
  local ok, v = pcall(json.decode, res.body)
  if not ok or type(v) ~= "table" then v = { error = res.body } end
  return res.status, v
end

-- A refusal by the server as the script's failure, "<name>: <what>: <status> <error>":
-- exit 2 for a 400 (a malformed request is a usage error), else 1.
function Client:refuse(what, st, v)
  cli.fail(("%s: %s: %d %s"):format(self.name, what, st, tostring(v.error or "")), st == 400 and 2 or 1)
end

-- api() that expects one status: anything else fails with "<name>: <what>: <status> <error>".
function Client:expect(want, method, path, body, what)
  local st, v = self:api(method, path, body)
  if st ~= want then
    self.fail(("%s: %s: %d %s"):format(self.name, what or (method .. " " .. path), st, tostring(v.error or "")))
  end
  return v
end

return M
