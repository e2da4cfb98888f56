-- hostsync.sandbox: run a policy file (replaceable decision code) in its own restricted
-- Lua state, with bounded instructions and memory. docs/policies.md has the details.
--
--   local sandbox = require "hostsync.sandbox"
--   local p, err = sandbox.load("policies/truth_hierarchy.lua",
--                               { max_instructions = 1e6, max_memory = 8 * 2^20 })
--   local decision, err = p:call("decide", local_item, remote_item, context)
--   local ok, result = p:invoke("on_chat", event)   -- nil is an answer here
--   local who = p:get("coordinator")   -- a plain field, copied out
--   local ok, err = p:reload()   -- a broken file leaves the old policy in force
--
-- A policy file returns a table of functions. Arguments and results cross by deep copy
-- of plain values (nil, booleans, numbers, strings, tables); metatables are dropped.
-- A policy error, an exhausted budget or a bad value gives nil, err; the caller goes on.
local _, raw = ...

local type, error, floor = type, error, math.floor

local check_opts = require("hostsync.check").opts

local M = {}

M.default_max_instructions = 10000000
M.default_max_memory = 16 * 1024 * 1024

local methods = {}

function methods:call(name, ...)
  if type(name) ~= "string" then error("Usage: policy:call(name: string, ...)", 2) end
  local result, err = raw.call(self, name, ...)
  if result == nil and err == nil then
    return nil, name .. ": the policy returned nil"
  end
  return result, err
end

-- Like call, for a function whose nil answer means "nothing" (a hook with nothing to do):
-- -> true, result (nil allowed) | false, "name: why".
function methods:invoke(name, ...)
  if type(name) ~= "string" then error("Usage: policy:invoke(name: string, ...)", 2) end
  local result, err = raw.call(self, name, ...)
  if err ~= nil then return false, err end
  return true, result
end

-- A plain field of the policy (a setting, e.g. `coordinator = "marcus"`), deep-copied;
-- nil when absent; nil, err for a function or a value that cannot cross.
function methods:get(name)
  if type(name) ~= "string" then error("Usage: policy:get(name: string)", 2) end
  return raw.get(self, name)
end

methods.reload = raw.reload
methods.memory = raw.memory
methods.path = raw.path

raw.policy_mt.__index = methods
raw.policy_mt.__tostring = function(p) return "hostsync.sandbox.policy (" .. raw.path(p) .. ")" end
raw.policy_mt.__metatable = "hostsync.sandbox.policy"

local function positive(v, what, default)
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v < 1 or v == math.huge then
    error("Usage: sandbox.load(path, { " .. what .. " = positive number })", 3)
  end
  return floor(v)
end

function M.load(path, opts)
  if type(path) ~= "string" then error("Usage: sandbox.load(path: string [, opts])", 2) end
  opts = check_opts(opts, { max_instructions = "number", max_memory = "number" },
                    "Usage: sandbox.load(path [, {max_instructions=n, max_memory=bytes}])")
  local instr = positive(opts.max_instructions, "max_instructions", M.default_max_instructions)
  local mem = positive(opts.max_memory, "max_memory", M.default_max_memory)
  return raw.load(path, instr, mem)
end

return M
