-- Running one registered tool (docs/pipeline.md): the run lock, the run's receipt id,
-- finishing the receipts of runs killed before they wrote theirs, the tool itself, and
-- its receipt. adam.lua parses the command line and calls M.tool.
local cli = require "hostsync.cli"
local failpoint = require "hostsync.failpoint"
local fs = require "hostsync.fs"
local json = require "hostsync.json"
local receipts = require "adam.receipts"
local store_mod = require "adam.store"

local M = {}

-- One run at a time per repository: a run's records and its receipt then form one unit
-- that no other run can interleave with, and a record citing a receipt that is not there
-- can only be left by a run that died. Outside artifacts/ and runs/, so no snapshot
-- archives it (its content, the holder's pid, changes).
M.LOCK = ".adam_os/.lock"

function M.lock(repo, wait)
  local ok, err = fs.mkdir_p(repo .. "/.adam_os")
  if not ok then return nil, err end
  return fs.lock(repo .. "/" .. M.LOCK, { wait = wait })
end

-- The tool that writes each artifact type: for receipts finished on behalf of a dead run.
local TOOL_OF_TYPE = {
  raw = "artifact_ingest", sanitized = "artifact_sanitize", canon = "artifact_canon_select",
  bundle_manifest = "context_bundle_build", build_spec = "spec_generate", work_order = "work_order_emit",
  snapshot = "snapshot_export", snapshot_manifest = "snapshot_export",
}

-- Each {artifact_id, sha256} once, in order of first appearance.
function M.unique_links(links)
  local out, seen = {}, {}
  for _, l in ipairs(links) do
    if not seen[l.artifact_id] then
      seen[l.artifact_id] = true
      out[#out + 1] = { artifact_id = l.artifact_id, sha256 = l.sha256 }
    end
  end
  return out
end

local function parents_of(records)
  local links = {}
  for _, r in ipairs(records) do
    for _, p in ipairs(r.parents or {}) do links[#links + 1] = p end
  end
  return M.unique_links(links)
end

local function outputs_of(records)
  local links = {}
  for _, r in ipairs(records) do links[#links + 1] = store_mod.link(r) end
  return M.unique_links(links)
end

-- A run killed after appending records but before its receipt leaves records citing a
-- receipt that does not exist. The next run (holding the lock, so that run is dead)
-- appends that receipt, from what the records say, marked as finished by this run.
function M.complete_interrupted(store)
  local records, err = store:records()
  if not records then return nil, err end
  local log, rerr = receipts.read(store.repo .. "/" .. receipts.RELPATH)
  if not log then return nil, rerr end
  local known = {}
  for _, e in ipairs(log.entries) do
    if e.receipt and e.receipt.receipt_id then known[e.receipt.receipt_id] = true end
  end
  local orphans, order = {}, {}
  for _, r in ipairs(records) do
    local id = r.receipt_id
    if id and not known[id] then
      if not orphans[id] then orphans[id] = {}; order[#order + 1] = id end
      table.insert(orphans[id], r)
    end
  end
  for _, id in ipairs(order) do
    local group = orphans[id]
    local ok, aerr = receipts.append(store.repo, {
      receipt_id = id, tool = TOOL_OF_TYPE[group[1].artifact_type] or "unknown", at = group[1].created_at_utc,
      inputs = json.array(parents_of(group)), outputs = json.array(outputs_of(group)),
      meta = json.object({ interrupted = true, completed_by = store.receipt_id }),
    }, records)
    if not ok then return nil, aerr end
    io.stderr:write(string.format("adam: receipt %s of an interrupted %s run appended (%d record%s)\n", id,
      TOOL_OF_TYPE[group[1].artifact_type] or "?", #group, #group == 1 and "" or "s"))
  end
  return true
end

-- Runs `tool` (a module from adam/tools.lua) with parsed options; prints its records.
-- A tool returns records[, info]: the records it wrote or found (its outputs), or with
-- info.checked the records it only read (its inputs: snapshot_verify, snapshot_restore);
-- info.meta goes into the receipt.
function M.tool(name, tool, opts)
  local store, err = store_mod.open(opts.repo, opts.at)
  if not store then cli.fail(name .. ": " .. err) end
  local lock, lerr = M.lock(store.repo, opts.wait)
  if not lock then cli.fail(name .. ": another run holds the repository: " .. lerr) end
  store.receipt_id = receipts.new_id()
  local ok, cerr = M.complete_interrupted(store)
  if not ok then cli.fail(name .. ": " .. cerr) end
  local records, info = tool.run(store, opts)
  if not records then cli.fail(name .. ": " .. tostring(info)) end
  failpoint.hit("adam_before_receipt")  -- crash tests: records written, receipt not yet
  info = info or {}
  local inputs = info.checked and outputs_of(records) or parents_of(records)
  local outputs = info.checked and {} or outputs_of(records)
  local all, rerr = store:records()
  if not all then cli.fail(name .. ": " .. rerr) end
  local receipt, aerr = receipts.append(store.repo, {
    receipt_id = store.receipt_id, tool = name, at = store.at,
    inputs = json.array(inputs), outputs = json.array(outputs), meta = info.meta and json.object(info.meta),
  }, all)
  if not receipt then cli.fail(name .. ": " .. aerr) end
  lock:release()
  for _, r in ipairs(records) do
    if opts.json then
      print(json.canonical(r))
    else
      print(string.format("%s %s %s %s", r.artifact_type, r.artifact_id, r.sha256, r.relpath))
    end
  end
end

return M
