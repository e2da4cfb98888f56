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

-- Request bodies. Each batch is a list of { key, file, line, text }.
local FORMATS = {}

-- {"packets":[{"key":K,"file":F,"line":N,"packet":<the packet's line, byte for byte>},...]}
function FORMATS.packets(batch, parts)
  parts[#parts + 1] = '{"packets":['
  for i, p in ipairs(batch) do
    parts[#parts + 1] = i == 1 and '{"key":"' or ',{"key":"'
    parts[#parts + 1] = p.key
    parts[#parts + 1] = '","file":'
    parts[#parts + 1] = p.file_json
    parts[#parts + 1] = ',"line":'
    parts[#parts + 1] = p.line
    parts[#parts + 1] = ',"packet":'
    parts[#parts + 1] = p.text
    parts[#parts + 1] = '}'
  end
  parts[#parts + 1] = ']}'
end

-- POST /sync/push of hostsync serve (docs/sync-contract.md): one new SyncItem per packet,
-- at the token's tenant and truth level; the key names the entity and the mutation.
M.ENTITY_TYPE = "phase2_packet"
FORMATS["sync-push"] = function(batch, parts)
  parts[#parts + 1] = '{"items":['
  for i, p in ipairs(batch) do
    parts[#parts + 1] = i == 1 and '{"mutation_id":"phase2:' or ',{"mutation_id":"phase2:'
    parts[#parts + 1] = p.key
    parts[#parts + 1] = '","entity_type":"' .. M.ENTITY_TYPE .. '","entity_id":"'
    parts[#parts + 1] = p.key
    parts[#parts + 1] = '","version":0,"origin_source":"phase2","payload":'
    parts[#parts + 1] = p.text
    parts[#parts + 1] = '}'
  end
  parts[#parts + 1] = ']}'
end

-- How many packets of a batch the receiver took, judged from its answer. Returns the
-- count (== #batch when all) and, if fewer, why the next one was not.
local function accepted(format, batch, res)
  if format ~= "sync-push" then return #batch end
  local answer = json.decode(res.body)
  local results = type(answer) == "table" and answer.results
  if type(results) ~= "table" or #results ~= #batch then
    return 0, "the answer is not one result per item: " .. res.body:sub(1, 200)
  end
  for i, r in ipairs(results) do
    if r.status ~= "applied" and r.status ~= "proposal" then
      return i - 1, string.format("the server %s it: %s", tostring(r.status), tostring(r.reason or json.encode(r)))
    end
  end
  return #batch
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
  if not FORMATS[format] then cli.usage_error("--format must be packets or sync-push, got " .. format) end
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
  local start_file, start_line = 1, 0
  if cursor then
    start_file = nil
    for i, f in ipairs(files) do
      if f.name == cursor.file then start_file = i end
    end
    if not start_file then
      refuse(string.format("the cursor %s names %s, which the outbox does not deliver (taken over files with "
        .. "--skip-adopted?); remove the cursor to deliver everything again", dest.cursor, tostring(cursor.file)))
    end
    start_line = cursor.line
  end

  local sent, requests, bytes_sent = 0, 0, 0
  local first_seq, last_seq
  local last_written = time.monotonic()
  local meter = progress.new("deliver", { enabled = not opts.quiet })
  local done_cursor = cursor   -- the last position the receiver acknowledged
  local delivered_before = cursor and cursor.delivered or 0

  local function save(force)
    if done_cursor == cursor then return end
    if not force and every > 0 and time.monotonic() - last_written < every then return end
    done_cursor.deliver_version = 1
    done_cursor.to, done_cursor.format, done_cursor.updated_at = url, format, time.utc_iso()
    local ok, err = fs.write_atomic(dest.cursor, json.encode(done_cursor, { sort_keys = true }) .. "\n")
    if not ok then refuse(err) end
    cursor = done_cursor
    last_written = time.monotonic()
    failpoint.hit("deliver_cursor_written")
  end

  local batch, batch_size = {}, 0
  local function send()
    if #batch == 0 then return end
    local parts = {}
    FORMATS[format](batch, parts)
    local body = table.concat(parts)
    local keys = {}
    for i, p in ipairs(batch) do keys[i] = p.key end
    headers["Idempotency-Key"] = hash.sha256_hex(table.concat(keys, ","))
    failpoint.hit("deliver_before_send")
    local res, err = http.request{ method = "POST", url = url, headers = headers, body = body, idempotent = true,
      retries = opts.retries or 5, backoff = opts.backoff or 0.5, timeout = opts.timeout or 30 }
    requests = requests + 1
    if not res then save(true); later(err .. " (after " .. (opts.retries or 5) .. " retries)") end
    if res.status < 200 or res.status > 299 then
      save(true)
      local msg = string.format("%s answered %d: %s", url, res.status, res.body:sub(1, 300))
      if res.status == 429 or res.status >= 500 then later(msg) end
      refuse(msg .. "\n  the receiver refused the batch starting at " .. batch[1].file .. " line " .. batch[1].line)
    end
    failpoint.hit("deliver_answered")
    local n, why = accepted(format, batch, res)
    if n > 0 then
      local last = batch[n]
      done_cursor = { file = last.file, line = last.line, key = last.key, delivered = delivered_before + sent + n }
      first_seq = first_seq or batch[1].text:match('"seq":(%d+)')
      last_seq = last.text:match('"seq":(%d+)')
    end
    sent, bytes_sent = sent + n, bytes_sent + #body
    meter:update(sent, bytes_sent)
    if n < #batch then
      save(true)
      local p = batch[n + 1]
      refuse(string.format("%s line %d (key %s) was not taken: %s", p.file, p.line, p.key, why))
    end
    save(false)
    batch, batch_size = {}, 0
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
    local file_json = json.encode(f.name)
    local reader = assert(fs.line_reader(path))
    local line = 0
    local skip = i == start_file and start_line or 0
    for text in reader:lines() do
      line = line + 1
      if line == 1 and f.old and text:sub(1, 3) == BOM then text = text:sub(4) end
      if line < skip then
        -- already delivered
      elseif line == skip then
        if M.key(text) ~= cursor.key then
          refuse(string.format("%s line %d is not the packet the cursor %s acknowledged (key %s): the outbox "
            .. "changed under the cursor", path, line, dest.cursor, cursor.key))
        end
      else
        if #batch > 0 and batch_size + #text > batch_bytes then send() end
        batch[#batch + 1] = { key = M.key(text), file = f.name, file_json = file_json, line = line, text = text }
        batch_size = batch_size + #text + 100
        if #batch >= batch_max then send() end
      end
    end
    reader:close()
    if skip > line then
      refuse(string.format("the cursor %s is at line %d of %s, which has %d lines", dest.cursor, skip, path, line))
    end
  end
  send()
  save(true)
  lock:release()
  meter:done(sent, bytes_sent)
  if sent == 0 then
    print(string.format("OK: nothing to deliver to %s", url))
  else
    print(string.format("OK: delivered %d packets (seq %s..%s) in %d requests to %s", sent, tostring(first_seq),
      tostring(last_seq), requests, url))
  end
end

return M
