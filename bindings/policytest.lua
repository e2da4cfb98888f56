-- hostsync.policytest: table-driven tests of a policy file, run by `hostsync test`.
--
--   local pt = require "hostsync.policytest"
--   pt.cases("my_policy.lua", {
--     { name = "U1 beats cloud AI", local_item = {...}, remote_item = {...},
--       expect_winner = "local", expect_event = { kind = "discarded", rule = "6.3.3A" } },
--     { name = "automation cannot delete U1", call = "check_write",
--       args = { item, existing, { writer_level = 2 } }, expect = { action = "reject" } },
--   })
--
-- Each case becomes one test. The policy runs in hostsync.sandbox exactly as the host
-- runs it. By default a case calls decide(local_item, remote_item, context); `call` and
-- `args` name any other function. Checks (all optional):
--   expect_winner  result.winner must equal it
--   expect_event   result.event must contain these fields (false: there must be no event)
--   expect         result must contain these fields (deeply, a subset match)
--   expect_error   the call must fail with an error containing this text
-- opts: { max_instructions =, max_memory = } for the sandbox.
local _ = ...
local t = require "hostsync.testing"
local sandbox = require "hostsync.sandbox"

local M = {}

-- Every field of `want` is in `got` (recursively for tables); returns nil or the path
-- of the first difference.
local function subset(got, want, path)
  if type(want) ~= "table" then
    if got ~= want then return path, got, want end
    return nil
  end
  if type(got) ~= "table" then return path, got, want end
  for k, v in pairs(want) do
    local p, g, w = subset(got[k], v, path .. "." .. tostring(k))
    if p then return p, g, w end
  end
  return nil
end
M.subset = subset

local function check_subset(got, want, what)
  local p, g, w = subset(got, want, what)
  if p then
    error(p .. ": expected " .. t.show(w) .. ", got " .. t.show(g) .. "\n  whole " .. what .. ": " .. t.show(got), 0)
  end
end

function M.run_case(policy, case)
  local fn = case.call or "decide"
  local args = case.args or { case.local_item, case.remote_item, case.context }
  local result, err = policy:call(fn, unpack(args, 1, case.args and table.maxn(case.args) or 3))
  if case.expect_error then
    t.fails(case.expect_error, result, err)
    return
  end
  if result == nil then error("policy failed: " .. tostring(err), 0) end
  if case.expect_winner ~= nil then t.eq(result.winner, case.expect_winner, "winner") end
  if case.expect_event == false then
    if result.event ~= nil then error("expected no event, got " .. t.show(result.event), 0) end
  elseif case.expect_event ~= nil then
    check_subset(result.event, case.expect_event, "event")
  end
  if case.expect ~= nil then check_subset(result, case.expect, "result") end
  return result
end

-- Registers one hostsync.testing test per case for the policy at `path`.
function M.cases(path, cases, opts)
  if type(path) ~= "string" or type(cases) ~= "table" then
    error("Usage: policytest.cases(path, cases [, opts])", 2)
  end
  local policy, err
  for i, case in ipairs(cases) do
    t.test(path .. ": " .. (case.name or ("case " .. i)), function()
      if policy == nil and err == nil then policy, err = sandbox.load(path, opts) end
      if not policy then error("cannot load the policy: " .. tostring(err), 0) end
      M.run_case(policy, case)
    end)
  end
end

return M
