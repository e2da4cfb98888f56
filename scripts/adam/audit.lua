-- adam.lua verify: an auditor's check of a whole repository (docs/pipeline.md,
-- "Verifying a repository"). It changes nothing. It takes the run lock (waiting for a run
-- in progress), so it never reports a run that is still writing as broken.
--
-- Checks: every registry record (its id, its file's bytes, its parents); the receipt
-- chain; that every record written since receipts have ids cites a receipt that lists
-- it among its outputs, and that every receipt's outputs are in the registry.
local cli = require "hostsync.cli"
local fs = require "hostsync.fs"
local hash = require "hostsync.hash"
local receipts = require "adam.receipts"
local run = require "adam.run"
local store_mod = require "adam.store"

local M = {}

local function check_records(store, records, problems)
  local by_id = {}
  local function problem(r, msg) problems[#problems + 1] = "record " .. tostring(r.artifact_id) .. ": " .. msg end
  for _, r in ipairs(records) do
    if by_id[r.artifact_id] then problem(r, "appears twice in the registry") end
    by_id[r.artifact_id] = r
  end
  for _, r in ipairs(records) do
    local subdir = store_mod.TYPES[r.artifact_type]
    if not subdir then
      problem(r, "unknown artifact_type " .. tostring(r.artifact_type))
    elseif type(r.relpath) ~= "string" or type(r.sha256) ~= "string" then
      problem(r, "no relpath or sha256")
    else
      if store_mod.artifact_id(r.artifact_type, r.relpath, r.sha256) ~= r.artifact_id then
        problem(r, "artifact_id is not derived from its type, relpath and sha256")
      end
      local path, err = store:confine(r.relpath, subdir)
      if not path then
        problem(r, err)
      else
        local sha = hash.sha256_file(path)
        local st = fs.stat(path)
        if not sha then problem(r, r.relpath .. " is missing")
        elseif sha ~= r.sha256 then problem(r, r.relpath .. " does not match its sha256 (modified)")
        elseif st.size ~= r.byte_size then problem(r, r.relpath .. " does not have byte_size bytes") end
      end
    end
    if r.artifact_type ~= "raw" and (type(r.parents) ~= "table" or #r.parents == 0) then
      problem(r, "a derived artifact without parents")
    end
    for _, p in ipairs(type(r.parents) == "table" and r.parents or {}) do
      local parent = by_id[p.artifact_id]
      if not parent then problem(r, "parent " .. tostring(p.artifact_id) .. " is not in the registry")
      elseif parent.sha256 ~= p.sha256 then problem(r, "parent " .. p.artifact_id .. " has another sha256") end
    end
  end
  return by_id
end

-- Records and receipts cite each other: the record's receipt lists it, a receipt's
-- outputs exist. Records without receipt_id predate receipt ids: they must all come
-- first, and there must be as many as the first chained receipt counted.
local function check_citations(records, by_id, chain, problems)
  local legacy, cited_seen = 0, false
  for _, r in ipairs(records) do
    if r.receipt_id == nil then
      if cited_seen then
        problems[#problems + 1] = "record " .. r.artifact_id .. ": no receipt_id, after records that have one"
      end
      legacy = legacy + 1
    else
      cited_seen = true
      local receipt = chain.by_id[r.receipt_id]
      local listed = false
      for _, o in ipairs(receipt and receipt.outputs or {}) do
        if o.artifact_id == r.artifact_id and o.sha256 == r.sha256 then listed = true end
      end
      if not receipt then
        problems[#problems + 1] = "record " .. r.artifact_id .. ": its receipt " .. r.receipt_id .. " is not in the chain"
      elseif not listed then
        problems[#problems + 1] = "record " .. r.artifact_id .. ": its receipt " .. r.receipt_id .. " does not list it"
      end
    end
  end
  local counted = chain.legacy and chain.legacy.registry_records or 0
  if chain.receipts > 0 and legacy ~= counted then
    problems[#problems + 1] = string.format("%d records have no receipt_id, but the chain began with %d", legacy, counted)
  end
  for id, receipt in pairs(chain.by_id) do
    for _, o in ipairs(receipt.outputs or {}) do
      local r = by_id[o.artifact_id]
      if not r or r.sha256 ~= o.sha256 then
        problems[#problems + 1] = "receipt " .. id .. ": output " .. tostring(o.artifact_id) .. " is not in the registry"
      end
    end
  end
  return legacy
end

function M.main(_, args)
  local spec = {
    usage = "hostsync run adam.lua verify [--repo DIR] [--wait SECONDS]",
    summary = "Checks the registry (ids, files, lineage), the receipt chain and the citations between them. "
      .. "Changes nothing; exit status 1 and one line per problem if anything is wrong.",
    options = {
      { "--repo", "DIR", "repository root holding .adam_os/ (default: .)", default = "." },
      { "--wait", "SECONDS", "wait this long for a run in progress to finish (default: 600)", default = "600" },
    },
  }
  local opts, rest = cli.parse(args, spec)
  if #rest > 0 then cli.usage_error("unexpected argument '" .. rest[1] .. "'", spec.usage) end
  local store, err = store_mod.open(opts.repo)
  if not store then cli.fail("verify: " .. err) end
  local lock, lerr = run.lock(store.repo, tonumber(opts.wait) or 600)
  if not lock then cli.fail("verify: a run in progress holds the repository: " .. lerr) end
  local records, rerr = store:records()
  if not records then cli.fail("verify: " .. rerr) end
  local problems = {}
  local by_id = check_records(store, records, problems)
  local chain = receipts.verify(store.repo .. "/" .. receipts.RELPATH)
  for _, p in ipairs(chain.problems) do problems[#problems + 1] = p end
  local legacy = check_citations(records, by_id, chain, problems)
  lock:release()
  if #problems > 0 then
    for _, p in ipairs(problems) do io.stderr:write("FAILED: ", p, "\n") end
    cli.fail(string.format("verify: %d problem%s", #problems, #problems == 1 and "" or "s"))
  end
  print(string.format("OK: %d records (%d from before receipt ids), %d receipts (%d from before the chain, "
    .. "%d torn fragments), chain %s", #records, legacy, chain.receipts, chain.legacy_lines, chain.fragments,
    chain.head or "(empty)"))
end

return M
