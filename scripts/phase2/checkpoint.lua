-- Step 3, checkpoint: phase2/state.json (the last chain) and phase2/diff_state.json (the
-- cursor). Both are caches of the outbox, replaced atomically, rebuilt when behind.
local fs = require "hostsync.fs"
local json = require "hostsync.json"
local time = require "hostsync.time"
local legacy = require "phase2.legacy"

local M = {}

-- Returns the decoded file, or nil if it is missing, or nil, err if it is not JSON. A
-- UTF-8 byte order mark is skipped: the state files of a deployment being taken over may
-- still be the PowerShell original's, which writes one.
function M.read(path)
  local value, err = legacy.read_state(path)
  if value == nil then return nil, err end
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
--           rewrite = true when diff_state.json must be written even if the cursor does
--           not move (it is missing, unreadable or not hostsync's) }, warnings
function M.load_cursor(paths, last_seal)
  local warnings = {}
  local ds, err = M.read(paths.diff_state)
  local seal_cursor = last_seal and last_seal.cursor
  local from = seal_cursor and "the last seal" or "the start of index.csv"
  if err then warnings[#warnings + 1] = string.format("%s (the cursor comes from %s)", err, from) end
  if ds and (type(ds.offset) ~= "number" or type(ds.last_line_no) ~= "number") then
    local what = type(ds.last_line_no) == "number"
      and string.format("has last_line_no %d but no byte offset (not written by hostsync)", ds.last_line_no)
      or "has no offset and no last_line_no"
    warnings[#warnings + 1] = string.format("%s %s; the cursor comes from %s, and the file is rewritten",
      paths.diff_state, what, from)
    ds = nil
  end
  local fp = ds and type(ds.fingerprint) == "table" and ds.fingerprint or nil
  if ds and (not seal_cursor or ds.offset >= seal_cursor.offset) then
    return { cursor = { offset = ds.offset, line_no = ds.last_line_no }, fingerprint = fp }, warnings
  end
  local rewrite = ds == nil and seal_cursor ~= nil
  if seal_cursor then
    return { cursor = { offset = seal_cursor.offset, line_no = seal_cursor.line_no }, fingerprint = fp,
             rewrite = rewrite }, warnings
  end
  return { cursor = { offset = 0, line_no = 0 } }, warnings
end

return M
