-- artifact_sanitize: RAW -> SANITIZED. Applies the sanitize policy (policies/sanitize.lua
-- or --policy FILE): secret redaction, newline and control-character normalisation.
local fs = require "hostsync.fs"
local hash = require "hostsync.hash"

local M = {
  summary = "redact secrets and normalise a RAW artifact (policy: policies/sanitize.lua)",
  options = {
    { "--parent", "ID", "the raw artifact_id (required)", required = true },
    { "--policy", "FILE", "a sanitize policy file (default: policies/sanitize.lua)" },
  },
}

local function load_policy(path)
  if not path then
    local policy = require "sanitize"
    local source = package.searchpath and package.searchpath("sanitize", package.path)
    return policy, source
  end
  local chunk, err = loadfile(path)
  if not chunk then return nil, err end
  local ok, policy = pcall(chunk)
  if not ok then return nil, path .. ": " .. tostring(policy) end
  return policy, path
end

function M.apply(policy, text)
  local counts = {}
  for _, rule in ipairs(policy.redact or {}) do
    local n
    text, n = text:gsub(rule.pattern, rule.replace)
    counts[rule.name] = n
  end
  if policy.normalize then text = policy.normalize(text) end
  return text, counts
end

function M.run(store, opts)
  local parent, data = store:parent(opts.parent, "raw")
  if not parent then return nil, data end
  local policy, source = load_policy(opts.policy)
  if not policy then return nil, source end
  if type(policy) ~= "table" or type(policy.redact) ~= "table" then
    return nil, tostring(source) .. ": a sanitize policy returns { name=, redact={...}, normalize=fn }"
  end
  local text, counts = M.apply(policy, data)
  local policy_sha = source and fs.exists(source) and hash.sha256_file(source) or nil
  local rec, err = store:put({
    type = "sanitized", name = parent.relpath:match("[^/]+$"):gsub("^%x+%-", ""), data = text,
    media_type = parent.media_type, parents = { { artifact_id = parent.artifact_id, sha256 = parent.sha256 } },
    meta = { policy = policy.name or "unnamed", policy_sha256 = policy_sha, redactions = counts },
  })
  if not rec then return nil, err end
  return { rec }
end

return M
