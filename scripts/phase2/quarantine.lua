-- outbox/quarantine.jsonl: bad records set aside with --quarantine, each exactly once.
local fs = require "hostsync.fs"
local json = require "hostsync.json"
local codec = require "hostsync.codec"
local time = require "hostsync.time"

local M = {}

-- Offsets (in index.csv) of the records already quarantined: a rerun after a crash must
-- not add the same record twice.
local function known_offsets(path)
  local known = {}
  if not fs.exists(path) then return known end
  local reader = assert(fs.line_reader(path))
  while true do
    local line = reader:next()
    if not line then break end
    local entry = json.decode(line)
    if type(entry) == "table" and type(entry.source) == "table" and entry.source.offset then
      known[entry.source.offset] = true
    end
  end
  reader:close()
  return known
end

function M.writer(path, run_id, source_path)
  local known
  local pending = {}
  local self = { count = 0, lines = {} }
  function self.add(info)
    known = known or known_offsets(path)
    if known[info.offset] then return end
    known[info.offset] = true
    self.count = self.count + 1
    self.lines[#self.lines + 1] = info.line_no
    pending[#pending + 1] = json.canonical({
      quarantine_version = "0.1",
      run_id = run_id,
      source = { path = source_path, line_no = info.line_no, offset = info.offset, end_offset = info.end_offset },
      reason = info.reason,
      raw_base64 = codec.base64_encode(info.raw),
      found_at = time.utc_iso(),
    })
    if #pending >= 1000 then return self.flush() end
    return true
  end
  function self.flush()
    if #pending == 0 then return true end
    local ok, err = fs.append(path, table.concat(pending, "\n") .. "\n")
    pending = {}
    return ok, err
  end
  return self
end

return M
