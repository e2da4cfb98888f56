-- Step 1, diff extract: read the records after the cursor and write their packets to a
-- hidden temporary file in the outbox. Nothing here is visible to readers of the outbox
-- until the commit step renames the file.
local csv = require "hostsync.csv"
local fs = require "hostsync.fs"
local progress = require "hostsync.progress"
local layout = require "phase2.layout"
local packet = require "phase2.packet"
local quarantine = require "phase2.quarantine"

local M = {}

local PROGRESS_EVERY = 16384  -- records between progress checks (a clock read each)

-- job = { paths, run_id, cursor = {offset, line_no}, next_seq, quarantine = bool,
--         max_packets = number|nil, quiet = bool }
-- Returns result = { packets, first_seq, last_seq, cursor, tmp, sha256, bytes,
--   bad = {message, info} | nil, quarantined = count, pending = csv pending | nil,
--   no_header = reason | nil } or nil, err.
function M.run(job)
  local paths = job.paths
  local reader, err = csv.open(paths.index, { offset = job.cursor.offset, line_no = job.cursor.line_no })
  if not reader then return nil, err end
  local result = { packets = 0, first_seq = job.next_seq, last_seq = job.next_seq - 1, quarantined = 0 }
  local header, why = reader:header()
  if not header then
    if why ~= "empty" and why ~= "incomplete" then reader:close(); return nil, why end
    result.no_header = why
    result.cursor = job.cursor
    reader:close()
    return result
  end
  result.header_end = reader:header_end()

  local tmp = layout.join(paths.outbox, layout.tmp_name(job.run_id))
  local writer
  local format = packet.formatter(job.run_id, paths.index_rel)
  local q = job.quarantine and quarantine.writer(paths.quarantine, job.run_id, paths.index_rel)
  local limit = job.max_packets or math.huge
  local seq = job.next_seq - 1
  local start_bytes = reader:bytes_read()
  local meter = progress.new("phase2", { enabled = not job.quiet })
  local next_object = reader.next_object

  while seq - job.next_seq + 1 < limit do
    local row_json, line_no = next_object(reader)
    if row_json == nil then
      if line_no == nil then break end            -- no more complete records
      local info = reader:last_error()
      if info.fatal then reader:close(); return nil, line_no end  -- a bad header, a read error
      if not q then
        result.bad = { message = line_no, info = info }
        break
      end
      local ok, qerr = q.add(info)
      if not ok then reader:close(); return nil, qerr end
    else
      if not writer then
        writer, err = fs.appender(tmp, { exclusive = true, sha256 = true })
        if not writer then reader:close(); return nil, err end
        result.tmp = tmp
      end
      seq = seq + 1
      local ok, werr = writer:write(format(seq, line_no, row_json))
      if not ok then reader:close(); return nil, werr end
      if seq % PROGRESS_EVERY == 0 then meter:update(seq - job.next_seq + 1, reader:bytes_read() - start_bytes) end
    end
  end

  if result.bad then
    -- Stop before the bad record: the next run starts at it again.
    result.cursor = { offset = result.bad.info.offset, line_no = result.bad.info.line_no - 1 }
  else
    local offset, lines = reader:cursor()
    result.cursor = { offset = offset, line_no = lines }
  end
  result.pending = reader:pending()
  result.packets = seq - job.next_seq + 1
  result.last_seq = seq
  meter:done(result.packets, reader:bytes_read() - start_bytes)
  reader:close()
  if q then
    local ok, qerr = q.flush()
    if not ok then return nil, qerr end
    result.quarantined, result.quarantined_lines = q.count, q.lines
  end
  if writer then
    result.sha256 = writer:sha256_hex()
    result.bytes = writer:bytes()
    local ok, cerr = writer:close()
    if not ok then return nil, cerr end
  end
  return result
end

return M
