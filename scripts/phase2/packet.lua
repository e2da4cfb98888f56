-- Formats one packet line (docs/phase2.md, "Packets"). Fields in the spec's order; the
-- row is already RFC 8785 canonical JSON, so its hash is over exactly the text embedded.
local json = require "hostsync.json"
local hash = require "hostsync.hash"
local time = require "hostsync.time"

local M = {}
M.VERSION = "0.1"

-- Returns format(seq, line_no, row_json) -> packet line with "\n", for one run.
-- Integers print exactly with %.14g (LuaJIT's tostring) below 1e14, far above any
-- seq or line number a file can reach.
function M.formatter(run_id, source_path)
  local head = '{"packet_version":"' .. M.VERSION .. '","run_id":' .. json.encode(run_id) .. ',"seq":'
  local source = ',"source":{"path":' .. json.encode(source_path) .. ',"line_no":'
  local sha256_hex, local_iso = hash.sha256_hex, time.local_iso
  return function(seq, line_no, row_json)
    return head .. seq .. source .. line_no .. '},"row":' .. row_json
      .. ',"row_hash":"sha256:' .. sha256_hex(row_json)
      .. '","observed_at":"' .. local_iso() .. '"}\n'
  end
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
