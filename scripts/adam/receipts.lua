-- Run receipts: one per tool run, in .adam_os/runs/receipts.jsonl, chained by hash like
-- Phase 2's seals (docs/pipeline.md, "Run receipts"). A run gets its receipt_id when it
-- starts, so every registry record it appends can cite it; the receipt itself is
-- appended when the run ends, under the run lock, with
--
--   receipt_sha256 = sha256_hex(canonical JSON of the receipt without receipt_sha256,
--                               prev_chain and chain)
--   chain          = sha256_hex(prev_chain .. receipt_sha256)
--
-- prev_chain is the previous receipt's chain; for the first chained receipt, 64 zeros,
-- or, in a repository with receipts from before the chain (no receipt_id), the SHA-256
-- of those bytes, which the receipt records in `legacy`: the old lines are never
-- rewritten, the new chain commits to them.
local fs = require "hostsync.fs"
local hash = require "hostsync.hash"
local json = require "hostsync.json"

local M = {}

M.RELPATH = ".adam_os/runs/receipts.jsonl"
M.ZERO = string.rep("0", 64)
M.VERSION = "1"

-- rcpt_ + 24 random hex digits: unique without coordination, known before the run
-- writes anything.
function M.new_id()
  local f = assert(io.open("/dev/urandom", "rb"))
  local bytes = f:read(12)
  f:close()
  return "rcpt_" .. bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end)
end

local CHAIN_FIELDS = { receipt_sha256 = true, prev_chain = true, chain = true }

function M.body_sha256(receipt)
  local body = {}
  for k, v in pairs(receipt) do
    if not CHAIN_FIELDS[k] then body[k] = v end
  end
  return hash.sha256_hex(json.canonical(body))
end

-- Reads the receipts file: { entries = { {line=, offset=, receipt=|fragment=true}, ... },
-- bytes = file size }. A line that is not a JSON object is a fragment torn by a crash.
function M.read(path)
  local out = { entries = {}, bytes = 0, torn = 0 }
  if not fs.exists(path) then return out end
  local reader, err = fs.line_reader(path)
  if not reader then return nil, err end
  local n, offset = 0, 0
  for line in reader:lines() do
    n = n + 1
    local rec = json.decode(line)
    out.entries[#out.entries + 1] = { line = n, offset = offset,
                                      receipt = type(rec) == "table" and rec or nil, fragment = type(rec) ~= "table" }
    offset = reader:offset()
  end
  out.torn = reader:partial_bytes()
  reader:close()
  out.bytes = offset + out.torn
  return out
end

local function is_chained(r) return r and r.chain ~= nil end

-- Appends `receipt` (receipt_id, tool, at, inputs, outputs, meta...) to the chain. The
-- caller holds the run lock, so nobody appends between reading the head and appending.
-- `registry_records` is the registry as the run left it (legacy records are counted the
-- first time). Returns the receipt as written, or nil, err.
function M.append(repo, receipt, registry_records)
  local dir = repo .. "/.adam_os/runs"
  local ok, err = fs.mkdir_p(dir)
  if not ok then return nil, err end
  local path = repo .. "/" .. M.RELPATH
  local log, rerr = M.read(path)
  if not log then return nil, rerr end
  if log.torn > 0 then  -- terminate a torn last line (never rewrite): it stays a fragment
    ok, err = fs.append(path, "\n")
    if not ok then return nil, err end
    log.bytes = log.bytes + 1
  end
  local head
  for i = #log.entries, 1, -1 do
    if is_chained(log.entries[i].receipt) then head = log.entries[i].receipt.chain; break end
  end
  local r = {}
  for k, v in pairs(receipt) do r[k] = v end
  r.receipt_version = M.VERSION
  if not head then
    -- The first chained receipt: commit to whatever came before.
    head = M.ZERO
    local legacy_records = 0
    for _, rec in ipairs(registry_records or {}) do
      if rec.receipt_id == nil then legacy_records = legacy_records + 1 end
    end
    if log.bytes > 0 or legacy_records > 0 then
      local prefix_sha = log.bytes > 0 and hash.sha256_file(path, { offset = 0, length = log.bytes })
                         or hash.sha256_hex("")
      r.legacy = json.object({ receipts_bytes = log.bytes, receipts_sha256 = prefix_sha,
                               registry_records = legacy_records })
      if log.bytes > 0 then head = prefix_sha end
    end
  end
  r.receipt_sha256 = M.body_sha256(r)
  r.prev_chain = head
  r.chain = hash.sha256_hex(head .. r.receipt_sha256)
  ok, err = fs.append(path, json.canonical(r) .. "\n")
  if not ok then return nil, err end
  return r
end

-- Checks the chain. Returns a report { receipts =, legacy_lines =, fragments =, head =,
-- by_id = {receipt_id = receipt}, legacy = <first receipt's legacy or nil>,
-- problems = { "line N: ...", ... } }.
function M.verify(path)
  local report = { receipts = 0, legacy_lines = 0, fragments = 0, by_id = {}, problems = {} }
  local function problem(line, msg) report.problems[#report.problems + 1] = "receipts.jsonl:" .. line .. ": " .. msg end
  local log, err = M.read(path)
  if not log then
    report.problems[1] = err
    return report
  end
  local head
  for _, e in ipairs(log.entries) do
    local r = e.receipt
    if e.fragment then
      report.fragments = report.fragments + 1
    elseif not is_chained(r) then
      if head then
        problem(e.line, "a receipt without a chain after the chain started (written by an old hostsync, or forged)")
      else
        report.legacy_lines = report.legacy_lines + 1
      end
    else
      report.receipts = report.receipts + 1
      local expected_prev = head
      if not head then
        expected_prev = M.ZERO
        report.legacy = r.legacy
        if type(r.legacy) == "table" then
          if r.legacy.receipts_bytes ~= e.offset then
            problem(e.line, string.format("legacy.receipts_bytes is %s, but the chain starts at byte %d",
              tostring(r.legacy.receipts_bytes), e.offset))
          elseif e.offset > 0 then
            expected_prev = hash.sha256_file(path, { offset = 0, length = e.offset })
            if r.legacy.receipts_sha256 ~= expected_prev then
              problem(e.line, "the receipts before the chain changed (legacy.receipts_sha256 differs)")
            end
          end
        elseif e.offset > 0 then
          problem(e.line, "the chain starts after other receipts but records no legacy prefix")
        end
      end
      if r.prev_chain ~= expected_prev then
        problem(e.line, "prev_chain does not match the previous receipt's chain (a receipt was removed, changed or reordered)")
      end
      if r.receipt_sha256 ~= M.body_sha256(r) then problem(e.line, "receipt_sha256 does not match its content (modified)") end
      if r.chain ~= hash.sha256_hex(tostring(r.prev_chain) .. tostring(r.receipt_sha256)) then
        problem(e.line, "chain is not sha256(prev_chain + receipt_sha256)")
      end
      if type(r.receipt_id) ~= "string" then
        problem(e.line, "no receipt_id")
      elseif report.by_id[r.receipt_id] then
        problem(e.line, "receipt_id " .. r.receipt_id .. " appears twice")
      else
        report.by_id[r.receipt_id] = r
      end
      head = r.chain
    end
  end
  if log.torn > 0 then report.fragments = report.fragments + 1 end
  report.head = head
  return report
end

return M
