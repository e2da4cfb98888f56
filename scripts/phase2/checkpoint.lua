-- Step 3, checkpoint: phase2/state.json (the last chain) and phase2/diff_state.json (the
-- cursor). Both are caches of the outbox, replaced atomically, rebuilt when behind.
local fs = require "hostsync.fs"
local json = require "hostsync.json"
local time = require "hostsync.time"

local M = {}

-- Returns the decoded file, or nil if it is missing, or nil, err if it is not JSON.
function M.read(path)
  if not fs.exists(path) then return nil end
  local text, err = fs.read_file(path)
  if not text then return nil, err end
  local value, derr = json.decode(text)
  if type(value) ~= "table" then return nil, path .. ": " .. (derr or "not a JSON object") end
  return value
end

local function write(path, value)
  return fs.write_atomic(path, json.encode(value, { pretty = true, sort_keys = true }) .. "\n")
end

function M.write_state(paths, last_seal, seal_count)
  return write(paths.state, {
    last_chain_hash = last_seal.chain,
    last_seq = last_seal.last_seq,
    last_file = last_seal.file,
    seals = seal_count,
    updated_at = time.utc_iso(),
  })
end

function M.write_cursor(paths, cursor, fingerprint)
  fingerprint.blocks = json.array(fingerprint.blocks)  -- [] even before the first full block
  return write(paths.diff_state, {
    diff_state_version = 1,
    source = paths.index_rel,
    last_line_no = cursor.line_no,
    offset = cursor.offset,
    fingerprint = fingerprint,
    updated_at = time.utc_iso(),
  })
end

-- Decides where this run starts. The last seal's cursor is the truth; diff_state.json may
-- be ahead of it only by blank lines and quarantined records (it is written after the
-- seal), and is behind it only after a crash between the two writes.
-- Returns { cursor = {offset, line_no}, fingerprint = checked-prefix fingerprint | nil,
--           header_end = number | nil }, warnings
function M.load_cursor(paths, last_seal)
  local warnings = {}
  local ds, err = M.read(paths.diff_state)
  if err then warnings[#warnings + 1] = err .. " (rebuilding the cursor from the seals)" end
  if ds and (type(ds.offset) ~= "number" or type(ds.last_line_no) ~= "number") then
    warnings[#warnings + 1] = paths.diff_state .. ": no offset/last_line_no (rebuilding it from the seals)"
    ds = nil
  end
  local seal_cursor = last_seal and last_seal.cursor
  local fp = ds and type(ds.fingerprint) == "table" and ds.fingerprint or nil
  if ds and (not seal_cursor or ds.offset >= seal_cursor.offset) then
    return { cursor = { offset = ds.offset, line_no = ds.last_line_no }, fingerprint = fp }, warnings
  end
  if seal_cursor then
    return { cursor = { offset = seal_cursor.offset, line_no = seal_cursor.line_no }, fingerprint = fp }, warnings
  end
  return { cursor = { offset = 0, line_no = 0 } }, warnings
end

return M
