-- adam.lua list / show ID: read-only views of the registry and the receipts
-- (docs/pipeline.md, "Looking around"). They take no lock and write nothing.
local cli = require "hostsync.cli"
local json = require "hostsync.json"
local receipts = require "adam.receipts"
local store_mod = require "adam.store"

local M = {}

local function open(opts)
  local store, err = store_mod.open(opts.repo)
  if not store then cli.fail(err) end
  local records, rerr = store:records()
  if not records then cli.fail(rerr) end
  return store, records
end

local function list(opts)
  local _, records = open(opts)
  for _, r in ipairs(records) do
    if not opts.type or r.artifact_type == opts.type then
      if opts.json then
        print(json.canonical(r))
      else
        print(string.format("%s  %-17s %s  %s", tostring(r.created_at_utc), r.artifact_type, r.artifact_id, r.relpath))
      end
    end
  end
end

-- The receipt with this id, or nil.
local function find_receipt(store, id)
  local log = receipts.read(store.repo .. "/" .. receipts.RELPATH)
  for _, e in ipairs(log and log.entries or {}) do
    if e.receipt and e.receipt.receipt_id == id then return e.receipt end
  end
end

-- A record by artifact_id or by an unambiguous prefix of one.
local function find_record(records, id)
  local found
  for _, r in ipairs(records) do
    if r.artifact_id == id then return r end
    if r.artifact_id:sub(1, #id) == id then
      if found and found.artifact_id ~= r.artifact_id then
        cli.fail(string.format("'%s' is ambiguous: %s, %s, ...", id, found.artifact_id, r.artifact_id))
      end
      found = r
    end
  end
  return found
end

local function describe(r)
  return string.format("%s %s (%s)", r.artifact_type, r.artifact_id, r.relpath)
end

local function show(opts, id)
  local store, records = open(opts)
  if id:match("^rcpt_") then
    local receipt = find_receipt(store, id)
    if not receipt then cli.fail("no receipt " .. id .. " in " .. receipts.RELPATH) end
    io.stdout:write(json.encode(receipt, { pretty = true, sort_keys = true }), "\n")
    return
  end
  local record = find_record(records, id)
  if not record then cli.fail("no artifact " .. id .. " in the registry (list shows them all)") end
  local by_id, children = {}, {}
  for _, r in ipairs(records) do
    by_id[r.artifact_id] = r
    for _, p in ipairs(r.parents or {}) do
      if p.artifact_id == record.artifact_id then children[#children + 1] = r end
    end
  end
  local receipt = record.receipt_id and find_receipt(store, record.receipt_id)
  if opts.json then
    local child_links = {}
    for _, c in ipairs(children) do child_links[#child_links + 1] = store_mod.link(c) end
    print(json.canonical({ record = record, receipt = receipt, children = json.array(child_links) }))
    return
  end
  io.stdout:write(json.encode(record, { pretty = true, sort_keys = true }), "\n")
  if receipt then
    print(string.format("receipt:  %s: %s at %s", receipt.receipt_id, receipt.tool, tostring(receipt.at or "-")))
  elseif record.receipt_id then
    print("receipt:  " .. record.receipt_id .. " (not in " .. receipts.RELPATH .. ": its run was interrupted)")
  else
    print("receipt:  none (recorded before receipts had ids)")
  end
  for _, p in ipairs(record.parents or {}) do
    local parent = by_id[p.artifact_id]
    print("parent:   " .. (parent and describe(parent) or (p.artifact_id .. " (missing from the registry)")))
  end
  for _, c in ipairs(children) do print("child:    " .. describe(c)) end
end

function M.main(command, args)
  local options = {
    { "--repo", "DIR", "repository root holding .adam_os/ (default: .)", default = "." },
    { "--json", nil, "print JSON" },
  }
  if command == "list" then options[#options + 1] = { "--type", "TYPE", "only records of this artifact_type" } end
  local spec = {
    usage = command == "list" and "hostsync run adam.lua list [--type TYPE] [--repo DIR] [--json]"
                               or "hostsync run adam.lua show ID [--repo DIR] [--json]",
    summary = command == "list" and "The registry's records, oldest first: created_at_utc, type, artifact_id, relpath."
                                 or "One record (an artifact_id or a unique prefix of one), the receipt of the run "
                                    .. "that made it, its parents and its children; or a receipt (rcpt_...).",
    options = options,
  }
  local opts, rest = cli.parse(args, spec)
  if command == "list" then
    if #rest > 0 then cli.usage_error("unexpected argument '" .. rest[1] .. "'", spec.usage) end
    return list(opts)
  end
  if #rest ~= 1 then cli.usage_error("show takes one artifact_id or receipt_id", spec.usage) end
  return show(opts, rest[1])
end

return M
