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

local CHUNK = 65536  -- records per C++ call: between calls Lua shows progress

-- job = { paths, run_id, cursor = {offset, line_no}, next_seq, quarantine = bool,
--         max_packets = number|nil, quiet = bool }
-- Returns result = { packets, first_seq, last_seq, cursor, tmp, writer (still open: see
--   finish), sha256 and bytes (after finish),
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
  local st = fs.stat(paths.index, { follow = true })
  if st and st.size <= math.max(job.cursor.offset, result.header_end) then
    -- Nothing after the cursor: no temporary file, no fsync, nothing written at all.
    result.cursor = job.cursor
    reader:close()
    return result
  end

  local tmp = layout.join(paths.outbox, layout.tmp_name(job.run_id))
  local writer
  writer, err = fs.appender(tmp, { exclusive = true, sha256 = true })
  if not writer then reader:close(); return nil, err end
  local template = packet.template(job.run_id, paths.index_rel)
  local q = job.quarantine and quarantine.writer(paths.quarantine, job.run_id, paths.index_rel)
  local remaining = job.max_packets or math.huge
  local seq = job.next_seq  -- the next packet's seq
  local start_bytes = reader:bytes_read()
  local meter = progress.new("phase2", { enabled = not job.quiet })

  -- The records are rendered into the file in C++ (csv reader:write_lines); Lua only
  -- decides, between chunks, about bad records, the limit and progress.
  while remaining > 0 do
    local count, status = reader:write_lines(writer, template, { seq = seq, limit = math.min(CHUNK, remaining) })
    if not count then reader:close(); writer:close(); return nil, status end
    seq, remaining = seq + count, remaining - count
    meter:update(seq - job.next_seq, reader:bytes_read() - start_bytes)
    if status == "end" then break end
    if status == "bad" then
      local info = reader:last_error()
      if info.fatal then reader:close(); writer:close(); return nil, info.message end  -- a bad header, a read error
      if not q then
        result.bad = { message = info.message, info = info }
        break
      end
      local ok, qerr = q.add(info)
      if not ok then reader:close(); writer:close(); return nil, qerr end
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
  result.packets = seq - job.next_seq
  result.last_seq = seq - 1
  meter:done(result.packets, reader:bytes_read() - start_bytes)
  reader:close()
  if q then
    local ok, qerr = q.flush()
    if not ok then writer:close(); return nil, qerr end
    result.quarantined, result.quarantined_lines = q.count, q.lines
  end
  result.writer, result.tmp = writer, tmp
  return result
end

-- Makes the temporary file durable (or removes it if it holds no packet). Separate from
-- run() so the caller can do CPU work (the cursor's fingerprint) while the kernel is
-- still writing the file back, before this waits for the disk.
function M.finish(result)
  local writer = result.writer
  result.writer = nil
  local ok, err = writer:close()
  if not ok then return nil, err end
  if result.packets == 0 then
    fs.remove(result.tmp)  -- nothing to seal: the empty temporary file never gets a name
    result.tmp = nil
  else
    result.sha256, result.bytes = writer:sha256_hex(), writer:bytes()
  end
  return true
end

return M
