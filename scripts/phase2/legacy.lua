-- The files of a deployment written by another Phase 2 implementation (the
-- PowerShell original): its state files and sync files, read as they are and never
-- written. docs/phase2.md, "Taking over a deployment of the PowerShell original".
local fs = require "hostsync.fs"
local json = require "hostsync.json"
local hash = require "hostsync.hash"
local packet = require "phase2.packet"

local M = {}

-- Every sync_*.jsonl, also names hostsync itself would not write.
M.SYNC_PATTERN = "^sync_.+%.jsonl$"

local BOM = "\239\187\191"

local function strip_bom(text)
  if text:sub(1, 3) == BOM then return text:sub(4) end
  return text
end

local function utf16(text)
  local b1, b2 = text:byte(1, 2)
  return (b1 == 0xFF and b2 == 0xFE) or (b1 == 0xFE and b2 == 0xFF)
end

-- A state file as the original wrote it: JSON, maybe after a UTF-8 byte order mark
-- (PowerShell 5.1's Set-Content -Encoding UTF8 writes one). Returns the value and the
-- file's bytes, nothing if the file is missing, or nil, err.
function M.read_state(path)
  if not fs.exists(path) then return nil end
  local data, err = fs.read_file(path)
  if not data then return nil, err end
  if utf16(data) then
    return nil, path .. " is UTF-16 (PowerShell's Out-File default), not UTF-8 JSON: save it as UTF-8"
  end
  local value, derr = json.decode(strip_bom(data))
  if type(value) ~= "table" then return nil, path .. ": " .. (derr or "not a JSON object") end
  return value, data
end

-- hostsync's own state files carry fields the original's never had.
local function ours_diff_state(v) return type(v) == "table" and v.diff_state_version ~= nil end
local function ours_state(v) return type(v) == "table" and type(v.last_seq) == "number" end

-- The sync files in the outbox that match M.SYNC_PATTERN, sorted by name.
function M.sync_files(outbox)
  local out = {}
  if not fs.exists(outbox) then return out end
  for _, name in ipairs(assert(fs.listdir(outbox))) do
    if name:match(M.SYNC_PATTERN) then out[#out + 1] = name end
  end
  return out
end

-- Is there a deployment of another implementation to adopt? Only while hostsync has no
-- seal, and only if a state file is not hostsync's (hostsync writes state.json only after
-- a seal, and its diff_state.json has diff_state_version).
function M.detect(paths, seal_count)
  if seal_count > 0 then return false end
  local ds = fs.exists(paths.diff_state) and M.read_state(paths.diff_state)
  local st = fs.exists(paths.state) and M.read_state(paths.state)
  local unreadable = (fs.exists(paths.diff_state) and not ds) or (fs.exists(paths.state) and not st)
  return unreadable or (ds and not ours_diff_state(ds)) or (st and not ours_state(st)) or false
end

local function is_count(v, min)
  return type(v) == "number" and v % 1 == 0 and v >= min and v < 2 ^ 53
end

-- Checks one decoded line of an old sync file: the spec's packet with what adoption
-- relies on (an integer seq, source.line_no, a row of strings). Other fields are the
-- original's business and are kept as they are.
local function check_packet(p)
  if type(p) ~= "table" then return nil, "is not a JSON object" end
  if not is_count(p.seq, 0) then return nil, "has no integer 'seq'" end
  if type(p.source) ~= "table" or not is_count(p.source.line_no, 1) then
    return nil, "has no integer 'source.line_no'"
  end
  if not packet.is_row(p.row) then return nil, "has no 'row' object of strings" end
  return true
end

-- Reads an old sync file: each line a packet (a UTF-8 BOM before the first and CRLF line
-- ends are what PowerShell writes, and are accepted). Calls on_packet(p, line, text)
-- with the decoded packet, its line number in the file and its text (without BOM and line
-- end). Returns { packets, first_seq (lowest), last_seq (highest) } or nil, err.
function M.read_sync_file(path, on_packet)
  local head = fs.read_range(path, 0, 2)
  if head and utf16(head) then
    return nil, path .. " is UTF-16 (PowerShell's Out-File default), not UTF-8 JSON Lines"
  end
  local reader, err = fs.line_reader(path)
  if not reader then return nil, err end
  local info = { packets = 0, first_seq = nil, last_seq = nil }
  local line_no = 0
  for text in reader:lines() do
    line_no = line_no + 1
    if line_no == 1 then text = strip_bom(text) end
    local p, derr = json.decode(text)
    local ok, why
    if p == nil then ok, why = nil, "is not JSON (" .. tostring(derr) .. ")" else ok, why = check_packet(p) end
    if not ok then
      reader:close()
      return nil, string.format("%s line %d %s", path, line_no, why)
    end
    info.packets = info.packets + 1
    info.first_seq = math.min(info.first_seq or p.seq, p.seq)
    info.last_seq = math.max(info.last_seq or p.seq, p.seq)
    if on_packet then on_packet(p, line_no, text) end
  end
  local torn = reader:partial_bytes()
  reader:close()
  if torn > 0 then
    return nil, string.format("%s ends with an incomplete line (%d bytes): the original was interrupted "
      .. "while writing it", path, torn)
  end
  return info
end

-- The record of one old file in the adoption manifest.
function M.describe_file(outbox, name, on_packet)
  local path = outbox .. "/" .. name
  local info, err = M.read_sync_file(path, on_packet)
  if not info then return nil, err end
  local sha, herr = hash.sha256_file(path)
  if not sha then return nil, herr end
  return {
    file = name, sha256 = sha, bytes = assert(fs.stat(path)).size, packets = info.packets,
    first_seq = info.first_seq or json.null, last_seq = info.last_seq or json.null,
  }
end

return M
