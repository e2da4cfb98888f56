-- One packet per record (docs/phase2.md, "Packets"): its layout, and the check verify uses.
local csv = require "hostsync.csv"
local json = require "hostsync.json"
local hash = require "hostsync.hash"
local time = require "hostsync.time"

local M = {}
M.VERSION = "0.1"

-- The packet layout for one run, as a csv.template: the reader renders it per record in
-- C++ (fields in the spec's order; `row` is the RFC 8785 text whose SHA-256 is row_hash).
function M.template(run_id, source_path)
  local S = csv.slot
  return csv.template{
    '{"packet_version":"' .. M.VERSION .. '","run_id":' .. json.encode(run_id) .. ',"seq":', S.seq,
    ',"source":{"path":' .. json.encode(source_path) .. ',"line_no":', S.line_no,
    '},"row":', S.row,
    ',"row_hash":"sha256:', S.row_sha256,
    '","observed_at":"', S.local_time, '"}\n',
  }
end

M.FIELDS = { "packet_version", "run_id", "seq", "source", "row", "row_hash", "observed_at" }

-- Checks a decoded packet; returns true or nil, reason.
function M.check(p, expected_seq)
  if type(p) ~= "table" then return nil, "not a JSON object" end
  local n = 0
  for _ in pairs(p) do n = n + 1 end
  if n ~= #M.FIELDS then return nil, "has " .. n .. " fields, a packet has exactly " .. #M.FIELDS end
  for _, f in ipairs(M.FIELDS) do
    if p[f] == nil then return nil, "has no '" .. f .. "' field" end
  end
  if p.packet_version ~= M.VERSION then return nil, "packet_version is not \"0.1\"" end
  if type(p.run_id) ~= "string" or not p.run_id:match("^%d%d%d%d%d%d%d%d_%d%d%d%d%d%d$") then
    return nil, "run_id is not yyyymmdd_HHMMSS"
  end
  if p.seq ~= expected_seq then
    return nil, string.format("seq is %s, expected %d", tostring(p.seq), expected_seq)
  end
  if type(p.source) ~= "table" or type(p.source.path) ~= "string" or type(p.source.line_no) ~= "number" then
    return nil, "source must be {path, line_no}"
  end
  if type(p.row) ~= "table" then return nil, "row is not an object" end
  for k, v in pairs(p.row) do
    if type(k) ~= "string" or type(v) ~= "string" then return nil, "row values must all be strings" end
  end
  local want = "sha256:" .. hash.sha256_hex(json.canonical(json.object(p.row)))
  if p.row_hash ~= want then return nil, "row_hash does not match the row" end
  if type(p.observed_at) ~= "string" or not time.parse_iso(p.observed_at) then
    return nil, "observed_at is not an ISO 8601 time"
  end
  return true
end

return M
