-- artifact_sanitize: RAW -> SANITIZED. Applies the sanitize policy (policies/sanitize.lua
-- or --policy FILE): secret redaction, newline and control-character normalisation.
--
-- The policy is user-supplied code, so it runs in hostsync.sandbox (docs/policies.md):
-- its own Lua state without io, os.execute, require or load, and with instruction and
-- memory budgets, so a policy can neither touch the host nor run forever. It is called
-- as sanitize(text) and returns { text =, redactions = {rule = count}, name = }.
local fs = require "hostsync.fs"
local hash = require "hostsync.hash"
local json = require "hostsync.json"
local sandbox = require "hostsync.sandbox"
local names = require "adam.names"

local M = {
  summary = "redact secrets and normalise a RAW artifact (policy: policies/sanitize.lua)",
  options = {
    { "--parent", "ID", "the raw artifact_id (required)", required = true },
    { "--policy", "FILE", "a sanitize policy file (default: policies/sanitize.lua), run in the sandbox" },
  },
}

-- Budgets: a policy's gsub copies the text a few times, so memory grows with it; the
-- instruction budget stops a runaway loop (the patterns themselves run in C, where no
-- budget applies: docs/policies.md).
M.MAX_INSTRUCTIONS = 50 * 1000 * 1000
function M.memory_budget(text) return 64 * 1024 * 1024 + 8 * #text end

local function default_policy()
  local path = package.searchpath("sanitize", package.path)
  if not path then return nil, "policies/sanitize.lua not found on the script path" end
  return path
end

-- Runs the policy file at `path` on `text` in a fresh sandbox. Returns text, redactions,
-- policy name, or nil, err.
function M.apply(path, text)
  local policy, err = sandbox.load(path, { max_instructions = M.MAX_INSTRUCTIONS, max_memory = M.memory_budget(text) })
  if not policy then return nil, "policy " .. err end
  local result, cerr = policy:call("sanitize", text)
  if not result then
    if tostring(cerr):match("has no function 'sanitize'") then
      return nil, path .. ": a sanitize policy defines sanitize(text) -> { text =, redactions =, name = } " ..
        "(copy it from policies/sanitize.lua; docs/pipeline.md)"
    end
    return nil, "policy " .. path .. ": " .. tostring(cerr)
  end
  if type(result) ~= "table" or type(result.text) ~= "string" then
    return nil, "policy " .. path .. ": sanitize(text) must return { text = <string>, redactions = {...}, name = ... }"
  end
  -- Names go into the record's meta (JSON text): UTF-8 only.
  local counts = {}
  for rule, n in pairs(type(result.redactions) == "table" and result.redactions or {}) do
    if type(rule) ~= "string" or not names.valid_utf8(rule) or type(n) ~= "number" or n < 0 or n % 1 ~= 0 then
      return nil, "policy " .. path .. ": redactions maps rule names (UTF-8 text) to counts"
    end
    counts[rule] = n
  end
  local name = result.name == nil and "unnamed" or result.name
  if type(name) ~= "string" or not names.valid_utf8(name) then
    return nil, "policy " .. path .. ": name must be UTF-8 text"
  end
  return result.text, counts, name
end

function M.run(store, opts)
  local parent, data = store:parent(opts.parent, "raw")
  if not parent then return nil, data end
  local path, perr = opts.policy, nil
  if not path then path, perr = default_policy() end
  if not path then return nil, perr end
  if not fs.exists(path) then return nil, "policy " .. path .. ": No such file" end
  local policy_sha, herr = hash.sha256_file(path)
  if not policy_sha then return nil, herr end
  local text, counts, name = M.apply(path, data)
  if not text then return nil, counts end
  if hash.sha256_file(path) ~= policy_sha then  -- the meta must name the policy that ran
    return nil, "policy " .. path .. " changed while it ran; run again"
  end
  local rec, err = store:put({
    type = "sanitized", name = parent.relpath:match("[^/]+$"):gsub("^%x+%-", ""), data = text,
    media_type = parent.media_type, parents = { { artifact_id = parent.artifact_id, sha256 = parent.sha256 } },
    meta = { policy = name, policy_sha256 = policy_sha, redactions = json.object(counts) },
  })
  if not rec then return nil, err end
  return { rec }
end

return M
