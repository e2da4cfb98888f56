-- One packet per record (docs/phase2.md, "Packets"): its layout, rendered by the runner and
-- checked by verify and by the repair of an unsealed file.
local csv = require "hostsync.csv"
local fs = require "hostsync.fs"
local json = require "hostsync.json"

local M = {}
M.VERSION = "0.1"

-- The packet layout (docs/phase2.md, "Packets"), written once: literal text and the
-- per-packet values, in the spec's field order. The runner renders it per record in C++
-- (a csv.template); verify checks every packet against it in C++ (an fs.line_pattern).
local function layout(run_id, value)
  return {
    '{"packet_version":"' .. M.VERSION .. '","run_id":' .. json.encode(run_id) .. ',"seq":', value.seq,
    ',"source":{"path":', value.path, ',"line_no":', value.line_no,
    '},"row":', value.row,
    ',"row_hash":"sha256:', value.row_hash,
    '","observed_at":"', value.observed_at, '"}',
  }
end

-- The packets of one run, as the CSV reader renders them (`row` is the RFC 8785 text
-- whose SHA-256 is row_hash).
function M.template(run_id, source_path)
  local S = csv.slot
  local parts = layout(run_id, { seq = S.seq, path = json.encode(source_path), line_no = S.line_no, row = S.row,
                                 row_hash = S.row_sha256, observed_at = S.local_time })
  parts[#parts] = parts[#parts] .. "\n"
  return csv.template(parts)
end

-- What every packet of one sync file must be, byte for byte: seq counting from
-- `first_seq`, line_no growing past `after_line`, row canonical with row_hash its
-- SHA-256, observed_at a time. source.path may be any string (outboxes written before
-- it was always relative to the root hold absolute ones).
function M.pattern(run_id, first_seq, after_line)
  local X = fs.match
  return fs.line_pattern(layout(run_id, { seq = X.counter("seq"), path = X.string("source.path"),
    line_no = X.increasing("source.line_no"), row = X.string_object("row"), row_hash = X.object_sha256("row_hash"),
    observed_at = X.iso_time("observed_at") }), { counter = first_seq, after = after_line })
end

-- A decoded row: an object whose keys and values are all strings.
function M.is_row(row)
  if type(row) ~= "table" then return false end
  for k, v in pairs(row) do
    if type(k) ~= "string" or type(v) ~= "string" then return false end
  end
  return true
end

return M
