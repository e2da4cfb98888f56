-- `phase2.lua verify`: re-reads the whole outbox and checks every file hash, the chain,
-- every packet and state.json; names the first broken file or packet. With --deep it
-- also checks every byte of index.csv before the cursor and that the packets are exactly
-- the CSV's records, in order (nothing lost, nothing emitted twice).
local fs = require "hostsync.fs"
local json = require "hostsync.json"
local progress = require "hostsync.progress"
local hash = require "hostsync.hash"
local csv = require "hostsync.csv"
local cli = require "hostsync.cli"
local layout = require "phase2.layout"
local seals_file = require "phase2.seals"
local packet = require "phase2.packet"
local checkpoint = require "phase2.checkpoint"
local fingerprint = require "phase2.fingerprint"
local recover = require "phase2.recover"
local legacy = require "phase2.legacy"
local manifest = require "phase2.manifest"

local M = {}

local function broken(msg) cli.fail("phase2 verify: FAILED: " .. msg) end

local CHUNK = 65536  -- lines per C++ call: between calls Lua shows progress

local function sha_differs(paths, path, seal, sha)
  broken(string.format("%s: SHA-256 is %s, its seal (%s line %d) says %s", path, sha, paths.seals, seal.line_no, seal.sha256))
end

-- Checks one sync file against its seal, in one pass: the file's SHA-256, and every
-- packet against the packet layout (in C++: seq counting on from next_seq, line_no
-- growing past after_line, the row canonical and row_hash its SHA-256, ...). Returns the
-- next seq and the last line_no. With --deep, on_packet(line_no, row_hash, path, n)
-- then gets each packet in a second pass.
local function check_file(paths, seal, next_seq, after_line, on_packet, meter)
  local path = layout.join(paths.outbox, seal.file)
  local reader, err = fs.line_reader(path, { sha256 = true })
  if not reader then broken(err) end
  local pat = packet.pattern(seal.run_id, next_seq, after_line)
  local count = 0
  while true do
    local n, status, bad = reader:match(pat, { limit = CHUNK })
    if not n then broken(status) end
    count = count + n
    meter.step(n, reader:offset())
    if status == "mismatch" then
      reader:close()
      -- A file changed after its seal is named as such, not by the packet that changed.
      local sha = hash.sha256_file(path)
      if sha ~= seal.sha256 then sha_differs(paths, path, seal, sha) end
      broken(string.format("%s:%d: packet seq %d: %s (byte %d of the line)", path, bad.line_no, pat:counter(),
        bad.reason, bad.at + 1))
    end
    if status == "end" then break end
  end
  local torn = reader:partial_bytes()
  local sha = reader:sha256_hex()
  reader:close()
  if sha ~= seal.sha256 then sha_differs(paths, path, seal, sha) end
  if torn > 0 then broken(path .. ": ends with a torn line") end
  if count ~= seal.packets or pat:counter() - 1 ~= seal.last_seq then
    broken(string.format("%s: holds %d packets, its seal says %d (seq %d..%d)", path, count, seal.packets,
      seal.first_seq, seal.last_seq))
  end
  if on_packet then
    -- The layout is checked: line_no and row_hash are where it puts them.
    local n = 0
    for line in assert(fs.line_reader(path)):lines() do
      n = n + 1
      on_packet(tonumber(line:match('"line_no":(%d+)},"row":')), line:match('"row_hash":"(sha256:%x+)"'), path, n)
    end
  end
  return pat:counter(), pat:after()
end

-- --deep: the packets must be exactly the CSV's records before the cursor, in order,
-- except the quarantined ones.
local function csv_matcher(paths, quarantined, start)
  local reader = assert(csv.open(paths.index, start and { offset = start.offset, line_no = start.line_no }))
  return function(packet_line, row_hash, path, line_no)
    while true do
      local row_json, ln = reader:next_object()
      if row_json == nil and ln == nil then
        broken(string.format("%s:%d: the packet has no record in index.csv", path, line_no))
      end
      if row_json == nil then
        local info = reader:last_error()
        if not quarantined[info.offset] then
          broken(string.format("%s:%d is a bad record that is neither emitted nor quarantined", paths.index_rel, info.line_no))
        end
      else
        if ln ~= packet_line or "sha256:" .. hash.sha256_hex(row_json) ~= row_hash then
          broken(string.format("%s:%d: the packet is line %d, but the next record of index.csv is line %d%s",
            path, line_no, packet_line, ln, ln == packet_line and " with other content" or ""))
        end
        return
      end
    end
  end
end

local function quarantined_offsets(paths)
  local set = {}
  if not fs.exists(paths.quarantine) then return set end
  local reader = assert(fs.line_reader(paths.quarantine))
  while true do
    local line = reader:next()
    if not line then break end
    local q = json.decode(line)
    if type(q) == "table" and type(q.source) == "table" then set[q.source.offset] = true end
  end
  reader:close()
  return set
end

local function note(msg) io.stderr:write("phase2 verify: note: ", msg, "\n") end

-- Verify takes the run lock shared: runs wait for it, other verifies do not. A run that
-- holds the lock for longer than --wait is not waited for; verify then checks what is
-- sealed and treats what the run has not finished yet (an unsealed newest file, a
-- state.json one seal behind) as work in progress, never as damage. Returns the lock, or
-- nil and the reason it is not held.
local function shared_lock(paths, wait)
  if not fs.exists(paths.state_dir) then return nil end  -- no run has ever started here
  local lock, err = fs.lock(paths.lock, { shared = true, wait = wait })
  if lock then return lock end
  return nil, err
end

function M.run(opts)
  local paths = layout.from_options(opts)
  local lock, busy = shared_lock(paths, opts.wait)
  if busy then note(busy .. ": a run is working; what it has not sealed yet is not checked") end
  -- Without the lock, state.json is read before the seals: a run writes it after its
  -- seal, so what is read can only be behind the seals, never ahead of them.
  local st, serr = checkpoint.read(paths.state)
  local read, err = seals_file.read(paths.seals)
  if not read then broken(err) end
  for _, l in ipairs(read.fragments) do
    io.stderr:write(string.format("phase2 verify: note: %s:%d is a fragment torn by a crash (skipped)\n", paths.seals, l))
  end
  if read.torn_tail > 0 then
    io.stderr:write(string.format("phase2 verify: note: %s ends with a torn line of %d bytes (a run repairs it)\n",
      paths.seals, read.torn_tail))
  end
  if legacy.detect(paths, #read.seals) then
    cli.fail(string.format("phase2 verify: %s holds a deployment of another Phase 2 implementation that "
      .. "hostsync has not taken over yet; `hostsync run phase2.lua` (or `adopt`) takes it over "
      .. "(docs/phase2.md)", paths.outbox_rel))
  end
  local last_chain, last_seq = seals_file.check_links(paths.seals, read.seals)
  if not last_chain then broken(last_seq) end
  local adoption = read.seals[1] and seals_file.is_adoption(read.seals[1]) and read.seals[1] or nil

  if opts.deep then
    -- First the bytes: a rewritten history is named as such, not as a packet mismatch.
    local ds = checkpoint.read(paths.diff_state)
    if ds and ds.fingerprint then
      local ok, ferr = fingerprint.check(paths.index, ds.fingerprint, ds.fingerprint.header_end or 0, true)
      if not ok then broken(ferr) end
    end
  end
  local on_packet = opts.deep and csv_matcher(paths, quarantined_offsets(paths), adoption and adoption.cursor) or nil
  local seq, after_line, packets = 1, 0, 0
  -- Progress on a terminal: packets and MB checked so far, over all files.
  local bar = progress.new("verify", { enabled = not opts.quiet })
  local checked, bytes_before, file_offset = 0, 0, 0
  local meter = { step = function(n, offset)
    checked, file_offset = checked + n, offset
    bar:update(checked, bytes_before + offset)
  end }
  for _, seal in ipairs(read.seals) do
    if seals_file.is_adoption(seal) then
      local m, merr = manifest.read(paths, seal)
      if not m then broken(merr) end
      local ok, cerr = manifest.check(paths, seal, m)
      if not ok then broken(cerr) end
      seq, after_line = seal.last_seq + 1, seal.cursor.line_no
    else
      seq, after_line = check_file(paths, seal, seq, after_line, on_packet, meter)
      bytes_before, file_offset = bytes_before + file_offset, 0
    end
    packets = packets + seal.packets
  end
  bar:done(checked, bytes_before)

  local sync = recover.scan(paths.outbox)
  local sealed, uerr = recover.sealed_files(paths, read.seals)
  if not sealed then broken(uerr) end
  local last_run_id = #read.seals > 0 and read.seals[#read.seals].run_id or ""
  for _, name in ipairs(sync) do
    if not sealed[name] then
      local path = layout.join(paths.outbox, name)
      if busy and recover.run_id_of(name) > last_run_id then
        note(path .. " is not sealed yet: the run in progress seals it")
      else
        broken(path .. " is not sealed (a run seals it)")
      end
    end
  end

  if serr then broken(serr) end
  if #read.seals > 0 then
    if not st then
      if not busy then broken(paths.state .. " is missing") end
      note(paths.state .. " is not written yet: the run in progress writes it")
    elseif st.last_chain_hash ~= last_chain or st.last_seq ~= last_seq then
      local earlier = busy and seals_file.find_chain(read.seals, st.last_chain_hash)
      if earlier and earlier.last_seq == st.last_seq then
        note(string.format("%s is at seal %s: the run in progress updates it", paths.state, earlier.file))
      elseif st.last_chain_hash ~= last_chain then
        broken(string.format("%s: last_chain_hash %s is not the last seal's chain %s", paths.state,
          tostring(st.last_chain_hash), last_chain))
      else
        broken(string.format("%s: last_seq %s, the seals end at %d", paths.state, tostring(st.last_seq), last_seq))
      end
    end
  end
  if lock then lock:release() end

  print(string.format("OK: %d seals, %d packets, chain %s%s", #read.seals, packets, last_chain,
    opts.deep and " (deep: index.csv matches)" or ""))
end

function M.status(opts)
  local paths = layout.from_options(opts)
  local read = seals_file.read(paths.seals) or { seals = {} }
  local last = read.seals[#read.seals]
  local ds = checkpoint.read(paths.diff_state)
  local st = fs.stat(paths.index, { follow = true })
  print("index:     " .. paths.index .. (st and string.format(" (%d bytes)", st.size) or " (missing)"))
  if ds and type(ds.offset) == "number" and type(ds.last_line_no) == "number" then
    print(string.format("cursor:    byte %d, line %d%s", ds.offset, ds.last_line_no,
      st and string.format(" (%d bytes after it)", st.size - ds.offset) or ""))
  elseif ds and type(ds.last_line_no) == "number" then
    print(string.format("cursor:    line %d (diff_state.json has no byte offset: not written by hostsync)",
      ds.last_line_no))
  else
    print("cursor:    none (the next run starts at the beginning)")
  end
  if last then
    print(string.format("last seal: %s seq %d..%d chain %s", last.file, last.first_seq, last.last_seq, last.chain))
  else
    print("last seal: none")
  end
  print(string.format("seals:     %d", #read.seals))
  local deliver_dir = layout.join(paths.state_dir, "deliver")
  for _, name in ipairs(fs.exists(deliver_dir) and assert(fs.listdir(deliver_dir)) or {}) do
    local c = name:match("%.json$") and checkpoint.read(layout.join(deliver_dir, name))
    if c and c.to then
      print(string.format("delivered: %d packets to %s (%s), up to %s line %s", c.delivered or 0, c.to,
        tostring(c.format), tostring(c.file), tostring(c.line)))
    end
  end
  local first = read.seals[1]
  if first and seals_file.is_adoption(first) then
    print(string.format("adopted:   %s (%d old packets, seq %d..%d; resumed at line %d)", first.file,
      first.packets, first.first_seq, first.last_seq, first.cursor.line_no))
  elseif legacy.detect(paths, #read.seals) then
    local plan, why = require("phase2.adopt").plan(paths)
    if plan then
      print(string.format("takeover:  a deployment of the PowerShell original, %d old file(s), %d packet(s); "
        .. "the next run takes it over and resumes at line %d", #plan.files, plan.packets, plan.cursor.line_no))
    else
      print("takeover:  a deployment of the PowerShell original that cannot be taken over: " .. why)
    end
  end
end

return M
