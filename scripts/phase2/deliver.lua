-- `phase2.lua deliver --to URL`: sends the sealed packets of the outbox to a receiver over
-- HTTP, in batches, at least once, each with an idempotency key, and keeps a durable
-- cursor per destination so that the next call (after a success, a refusal or a kill -9)
-- goes on right after what the receiver acknowledged. docs/phase2.md, "Delivering the
-- outbox".
local fs = require "hostsync.fs"
local json = require "hostsync.json"
local hash = require "hostsync.hash"
local http = require "hostsync.http"
local time = require "hostsync.time"
local cli = require "hostsync.cli"
local progress = require "hostsync.progress"
local failpoint = require "hostsync.failpoint"
local layout = require "phase2.layout"
local seals_file = require "phase2.seals"
local manifest = require "phase2.manifest"
local checkpoint = require "phase2.checkpoint"

local M = {}

local EXIT_LATER = 75   -- EX_TEMPFAIL: the receiver is unreachable or busy; try again later
local BOM = "\239\187\191"
local HEX64 = string.rep("%x", 64)

local function refuse(msg) cli.fail("phase2 deliver: " .. msg) end
local function later(msg) cli.fail("phase2 deliver: " .. msg, EXIT_LATER) end
local function must(ok, err)
  if not ok then refuse(err) end
  return ok
end

-- The idempotency key of a packet: SHA-256 (lowercase hex) of its line as stored, without
-- the line end (and, in a file taken over from the PowerShell original, without the byte
-- order mark and CR). The same packet has the same key on every attempt and every machine.
M.key = hash.sha256_hex

-- The files whose packets are delivered, in order: the old files an adoption names (unless
-- skipped), then each sealed sync file. Each with the SHA-256 and size it must have.
local function files_to_send(paths, opts)
  local read, err = seals_file.read(paths.seals)
  if not read then refuse(err) end
  local ok, lerr = seals_file.check_links(paths.seals, read.seals)
  if not ok then refuse(lerr .. "; nothing is sent from a broken chain") end
  local files = {}
  for _, seal in ipairs(read.seals) do
    if seals_file.is_adoption(seal) then
      local m, merr = manifest.read(paths, seal)
      if not m then refuse(merr) end
      if not opts.skip_adopted then
        for _, f in ipairs(m.files) do
          files[#files + 1] = { name = f.file, sha256 = f.sha256, bytes = f.bytes, packets = f.packets, old = true }
        end
      end
    else
      files[#files + 1] = { name = seal.file, sha256 = seal.sha256, bytes = seal.bytes, packets = seal.packets }
    end
  end
  return files
end

-- Where a destination's cursor and lock live: one pair per (format, URL).
local function destination(paths, url, format)
  local id = hash.sha256_hex(format .. " " .. url):sub(1, 16)
  local dir = layout.join(paths.state_dir, "deliver")
  return { id = id, dir = dir, cursor = layout.join(dir, id .. ".json"), lock = layout.join(dir, id .. ".lock") }
end

-- Request formats: each renders the packets of one file with a line template (in C++,
-- no Lua per packet), and wraps a batch of them into a body.
local S = fs.slot
local FORMATS = {}

-- {"packets":[{"key":K,"file":F,"line":N,"packet":<the packet's line, byte for byte>},...]}
FORMATS.packets = {
  template = function(file)
    return fs.line_template{ '{"key":"', S.text_sha256, '","file":' .. json.encode(file) .. ',"line":', S.line_no,
      ',"packet":', S.text, '}' }
  end,
  open = '{"packets":[', close = ']}',
}

-- POST /sync/push of hostsync serve (docs/sync-contract.md): one new SyncItem per packet,
-- at the token's tenant and truth level; the key names the entity and the mutation. No
-- origin_source: it must name the token's level (LEVEL:NAME), which only the server knows,
-- so the server writes "<level>:<the token's agent>".
M.ENTITY_TYPE = "phase2_packet"
FORMATS["sync-push"] = {
  template = function()
    return fs.line_template{ '{"mutation_id":"phase2:', S.text_sha256, '","entity_type":"' .. M.ENTITY_TYPE
      .. '","entity_id":"', S.text_sha256, '","version":0,"payload":', S.text, '}' }
  end,
  open = '{"items":[', close = ']}',
}

-- How many packets of a batch of `count` the receiver took, judged from its answer.
-- Returns the count (== count when all) and, if fewer, why the next one was not.
local function accepted(format, count, res)
  if format ~= "sync-push" then return count end
  local answer = json.decode(res.body)
  local results = type(answer) == "table" and answer.results
  if type(results) ~= "table" or #results ~= count then
    return 0, "the answer is not one result per item: " .. res.body:sub(1, 200)
  end
  for i, r in ipairs(results) do
    if r.status ~= "applied" and r.status ~= "proposal" then
      return i - 1, string.format("the server %s it: %s", tostring(r.status), tostring(r.reason or json.encode(r)))
    end
  end
  return count
end

-- The place of the n-th packet (from 1) of a chunk: { file, line, offset, key, text }.
local function packet_at(paths, chunk, n)
  local reader = assert(fs.line_reader(layout.join(paths.outbox, chunk.file),
    { offset = chunk.offset, line_no = chunk.line - 1 }))
  local text, start
  for _ = 1, n do text, start = reader:next() end
  reader:close()
  return { file = chunk.file, line = chunk.line + n - 1, offset = start, key = M.key(text), text = text }
end

local function read_token(path)
  local text, err = fs.read_file(path)
  if not text then refuse(err) end
  local token = text:match("^%s*(%S+)")
  if not token then refuse(path .. " is empty: it must hold the bearer token") end
  return token
end

-- A file is sent only if it still has the bytes its seal (or the adoption manifest) fixed.
local function check_sealed_file(path, f)
  local st, err = fs.stat(path)
  if not st then return nil, err end
  local sha = hash.sha256_file(path)
  if st.size ~= f.bytes or sha ~= f.sha256 then
    return nil, string.format("%s has changed since it was sealed (SHA-256 %s, %d bytes; sealed as %s, %d bytes): "
      .. "nothing of it is sent; `phase2.lua verify` tells more", path, tostring(sha), st.size, f.sha256, f.bytes)
  end
  return true
end

function M.run(opts)
  local paths = layout.from_options(opts)
  local url = opts.to
  if not url then cli.usage_error("deliver needs --to URL") end
  if not url:match("^[Hh][Tt][Tt][Pp][Ss]?://") then cli.usage_error("--to must be an http:// or https:// URL") end
  local format = opts.format or (url:match("/sync/push/?$") and "sync-push" or "packets")
  local fmt = FORMATS[format]
  if not fmt then cli.usage_error("--format must be packets or sync-push, got " .. format) end
  local batch_max = opts.batch or 500
  if batch_max < 1 or batch_max % 1 ~= 0 or (format == "sync-push" and batch_max > 1000) then
    cli.usage_error("--batch must be a whole number from 1" .. (format == "sync-push" and " to 1000 (the server's limit)" or ""))
  end
  local batch_bytes = opts.batch_bytes or 4 * 1024 * 1024
  local every = opts.checkpoint_every or 1
  local headers = { ["Content-Type"] = "application/json" }
  if opts.token_file then headers["Authorization"] = "Bearer " .. read_token(opts.token_file) end

  local dest = destination(paths, url, format)
  must(fs.mkdir_p(dest.dir))
  local lock, lerr = fs.lock(dest.lock, { wait = opts.wait })
  if not lock then later(lerr .. " (another deliver to " .. url .. " is working)") end

  local cursor = checkpoint.read(dest.cursor)
  local files = files_to_send(paths, opts)
  local start_file = 1
  if cursor then
    start_file = nil
    for i, f in ipairs(files) do
      if f.name == cursor.file then start_file = i end
    end
    if not start_file then
      refuse(string.format("the cursor %s names %s, which the outbox does not deliver (taken over files with "
        .. "--skip-adopted?); remove the cursor to deliver everything again", dest.cursor, tostring(cursor.file)))
    end
  end

  local sent, requests, bytes_sent = 0, 0, 0
  local first_seq
  local last_written = time.monotonic()
  local meter = progress.new("deliver", { enabled = not opts.quiet })
  local done_cursor = cursor   -- the last packet the receiver acknowledged
  local delivered_before = cursor and cursor.delivered or 0

  local function save(force)
    if done_cursor == cursor then return end
    if not force and every > 0 and time.monotonic() - last_written < every then return end
    local c = done_cursor
    local record = { deliver_version = 1, to = url, format = format, file = c.file, line = c.line,
                     offset = c.offset, key = c.key, delivered = c.delivered, updated_at = time.utc_iso() }
    must(fs.write_atomic(dest.cursor, json.encode(record, { sort_keys = true }) .. "\n"))
    cursor = done_cursor
    last_written = time.monotonic()
    failpoint.hit("deliver_cursor_written")
  end

  -- The batch being filled: rendered chunks (each a run of lines of one file).
  local chunks, count, size = {}, 0, 0
  local function send()
    if count == 0 then return end
    local parts = { fmt.open }
    for i, c in ipairs(chunks) do
      if i > 1 then parts[#parts + 1] = "," end
      parts[#parts + 1] = c.text
    end
    parts[#parts + 1] = fmt.close
    local body = table.concat(parts)
    -- The batch's key: its first packet's key and its size. The same batch sent again
    -- (a retry, a rerun after a kill) has the same one; a batch that differs, another.
    headers["Idempotency-Key"] = chunks[1].text:match(HEX64) .. "-" .. count
    for _, c in ipairs(chunks) do c.text = nil end   -- in the body now; free it before the request
    failpoint.hit("deliver_before_send")
    local res, err = http.request{ method = "POST", url = url, headers = headers, body = body, idempotent = true,
      retries = opts.retries or 5, backoff = opts.backoff or 0.5, timeout = opts.timeout or 30 }
    requests = requests + 1
    if not res then save(true); later(err .. " (after " .. (opts.retries or 5) .. " retries)") end
    if res.status < 200 or res.status > 299 then
      save(true)
      local msg = string.format("%s answered %d: %s", url, res.status, res.body:sub(1, 300))
      if res.status == 429 or res.status >= 500 then later(msg) end
      refuse(msg .. "\n  the receiver refused the batch starting at " .. chunks[1].file .. " line " .. chunks[1].line)
    end
    failpoint.hit("deliver_answered")
    local n, why = accepted(format, count, res)
    first_seq = first_seq or body:match('"seq":(%d+)')
    if n == count then
      local last = chunks[#chunks]
      done_cursor = { file = last.file, line = last.last_line, offset = last.last_offset, key = last.last_key,
                      delivered = delivered_before + sent + n }
    elseif n > 0 then
      -- Which chunk holds the n-th packet, and where is it.
      local k = n
      for _, c in ipairs(chunks) do
        if k <= c.count then
          local p = packet_at(paths, c, k)
          done_cursor = { file = p.file, line = p.line, offset = p.offset, key = p.key, delivered = delivered_before + sent + n }
          break
        end
        k = k - c.count
      end
    end
    sent, bytes_sent = sent + n, bytes_sent + #body
    meter:update(sent, bytes_sent)
    if n < count then
      save(true)
      local k = n + 1
      for _, c in ipairs(chunks) do
        if k <= c.count then
          local p = packet_at(paths, c, k)
          refuse(string.format("%s line %d (key %s) was not taken: %s", p.file, p.line, p.key, why))
        end
        k = k - c.count
      end
    end
    save(false)
    chunks, count, size = {}, 0, 0
  end

  for i = start_file, #files do
    local f = files[i]
    local path = layout.join(paths.outbox, f.name)
    local sound, why = check_sealed_file(path, f)
    if not sound then
      send()   -- what came before it is sound: deliver it, then stop
      save(true)
      refuse(why)
    end
    local start = (f.old and fs.read_range(path, 0, 3) == BOM) and 3 or 0
    local reader, rerr
    if i == start_file and cursor then
      reader, rerr = fs.line_reader(path, { offset = cursor.offset, line_no = cursor.line - 1 })
      if not reader then refuse(rerr) end
      local text = reader:next()
      if not text or M.key(text) ~= cursor.key then
        refuse(string.format("%s line %d is not the packet the cursor %s acknowledged (key %s): the outbox "
          .. "changed under the cursor", path, cursor.line, dest.cursor, cursor.key))
      end
    else
      reader, rerr = fs.line_reader(path, { offset = start })
      if not reader then refuse(rerr) end
    end
    local tpl = fmt.template(f.name)
    while true do
      local line = reader:line_no() + 1
      local offset = reader:offset()
      local text, n, last_offset, last_key = reader:render(tpl, { limit = batch_max - count,
        max_bytes = math.max(1, batch_bytes - size), separator = "," })
      if not text then
        if n then refuse(n) end
        break
      end
      chunks[#chunks + 1] = { file = f.name, line = line, offset = offset, count = n, text = text,
                              last_line = reader:line_no(), last_offset = last_offset, last_key = last_key }
      count, size = count + n, size + #text
      if count >= batch_max or size >= batch_bytes then send() end
    end
    reader:close()
  end
  send()
  save(true)
  lock:release()
  meter:done(sent, bytes_sent)
  if sent == 0 then
    print(string.format("OK: nothing to deliver to %s", url))
  else
    local last = packet_at(paths, { file = done_cursor.file, line = done_cursor.line, offset = done_cursor.offset }, 1)
    print(string.format("OK: delivered %d packets (seq %s..%s) in %d requests to %s", sent, tostring(first_seq),
      tostring(last.text:match('"seq":(%d+)')), requests, url))
  end
end

return M
