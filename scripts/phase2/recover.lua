-- Repairs what a crash can leave, under the run lock, before a run does anything else
-- (docs/phase2.md, "Crash safety"). The outbox is the truth; everything converges to it.
local fs = require "hostsync.fs"
local hash = require "hostsync.hash"
local csv = require "hostsync.csv"
local time = require "hostsync.time"
local layout = require "phase2.layout"
local seals_file = require "phase2.seals"
local packet = require "phase2.packet"
local checkpoint = require "phase2.checkpoint"
local adopt_manifest = require "phase2.manifest"

local M = {}

local SYNC_PATTERN = "^sync_(%d%d%d%d%d%d%d%d_%d%d%d%d%d%d)%.jsonl$"

-- The run_id in a sync file's name.
function M.run_id_of(name) return name:match(SYNC_PATTERN) end

-- Lists the outbox: sync file names (sorted) and leftover temporary files.
function M.scan(outbox)
  local names = fs.exists(outbox) and assert(fs.listdir(outbox)) or {}
  local sync, tmp = {}, {}
  for _, name in ipairs(names) do
    if name:match(SYNC_PATTERN) then sync[#sync + 1] = name
    elseif name:match("^%.sync_.*%.tmp$") then tmp[#tmp + 1] = name end
  end
  return sync, tmp
end

-- Checks an unsealed sync file in one pass, in C++: every packet against the packet
-- layout (seq counting from first_seq, line_no after after_line, ...), and the file's
-- SHA-256. Returns { packets, last_seq, sha256 } or nil, err, torn (true when the only
-- problem is a final line without its newline).
local function check_orphan(path, run_id, first_seq, after_line)
  local reader, err = fs.line_reader(path, { sha256 = true })
  if not reader then return nil, err end
  local pat = packet.pattern(run_id, first_seq, after_line)
  local n, status, bad = reader:match(pat)
  if not n then reader:close(); return nil, status end
  if status == "mismatch" then
    reader:close()
    return nil, string.format("%s:%d: packet seq %d: %s", path, bad.line_no, pat:counter(), bad.reason)
  end
  local torn = reader:partial_bytes() > 0
  local sha = reader:sha256_hex()
  reader:close()
  if torn then return nil, string.format("%s ends with a torn line", path), true end
  return { packets = n, last_seq = pat:counter() - 1, sha256 = sha }
end

-- Finds where in index.csv the packets of an unsealed file end, by reading the records
-- after the previous seal's cursor and matching each packet's line and row hash (the
-- layout is checked already: line_no and row_hash are where it puts them). Streams both
-- files: memory does not grow with them.
local function find_cursor(paths, start, path)
  local reader, err = csv.open(paths.index, { offset = start.offset, line_no = start.line_no })
  if not reader then return nil, err end
  local seq = 0
  for line in assert(fs.line_reader(path)):lines() do
    seq = seq + 1
    local want_line = tonumber(line:match('"line_no":(%d+)},"row":'))
    local want_hash = line:match('"row_hash":"(sha256:%x+)"')
    while true do
      local row_json, line_no = reader:next_object()
      if row_json == nil and line_no == nil then
        reader:close()
        return nil, string.format("index.csv has no record at line %d for packet %d of the file", want_line, seq)
      end
      if row_json and line_no == want_line then
        if "sha256:" .. hash.sha256_hex(row_json) ~= want_hash then
          reader:close()
          return nil, string.format("index.csv line %d no longer matches packet %d of the file", want_line, seq)
        end
        break
      end
      if row_json and line_no > want_line then
        reader:close()
        return nil, string.format("index.csv has no record starting at line %d (packet %d of the file)", want_line, seq)
      end
    end
  end
  local offset, lines = reader:cursor()
  reader:close()
  return { offset = offset, line_no = lines }
end

local function seal_orphan(paths, name, state, notes)
  local path = layout.join(paths.outbox, name)
  local start = state.last_seal and state.last_seal.cursor or { offset = 0, line_no = 0 }
  local info, err, torn = check_orphan(path, M.run_id_of(name), state.last_seq + 1, start.line_no)
  if not info and torn then
    local aside = path .. ".torn"
    local ok, rerr = fs.rename(path, aside, { no_replace = true })
    if not ok then return nil, rerr end
    notes[#notes + 1] = string.format("set aside %s (unsealed, torn by a crash) as %s; its records are emitted again",
      name, name .. ".torn")
    return true
  end
  if not info then return nil, err end
  if info.packets == 0 then
    return nil, path .. " is empty and unsealed; sync files always hold at least one packet"
  end
  local cursor, cerr = find_cursor(paths, start, path)
  if not cursor then return nil, string.format("cannot seal %s left by a crash: %s", name, cerr) end
  local seal = {
    seal_version = "0.1", file = name, sha256 = info.sha256, bytes = fs.stat(path).size,
    packets = info.packets, first_seq = state.last_seq + 1, last_seq = info.last_seq,
    prev_chain = state.last_chain, chain = seals_file.chain(state.last_chain, info.sha256),
    run_id = M.run_id_of(name), cursor = cursor, sealed_at = time.utc_iso(),
  }
  local ok, aerr = seals_file.append(paths.seals, seal)
  if not ok then return nil, aerr end
  state.seals[#state.seals + 1] = seal
  state.last_seal, state.last_chain, state.last_seq = seal, seal.chain, seal.last_seq
  notes[#notes + 1] = "sealed " .. name .. " left unsealed by an interrupted run"
  return true
end

-- Every file a seal covers, name -> bytes: the sealed sync files, each adoption manifest
-- and the old files it names. Returns the table or nil, err.
function M.sealed_files(paths, seals)
  local sealed = {}
  for _, s in ipairs(seals) do
    sealed[s.file] = s.bytes
    if seals_file.is_adoption(s) then
      local m, err = adopt_manifest.read(paths, s)
      if not m then return nil, err .. "; the outbox was modified" end
      for _, f in ipairs(m.files) do sealed[f.file] = f.bytes end
    end
  end
  return sealed
end

-- Brings the outbox and the state files to a consistent state. Returns
-- { seals, last_seal, last_chain, last_seq, fragments } and notes, or nil, err.
function M.run(paths)
  local notes = {}
  local sync, tmp = M.scan(paths.outbox)
  for _, name in ipairs(tmp) do
    local ok, err = fs.remove(layout.join(paths.outbox, name))
    if not ok then return nil, err end
    notes[#notes + 1] = "removed " .. name .. " left by an interrupted run"
  end

  local read, err = seals_file.read(paths.seals)
  if not read then return nil, err end
  if read.torn_tail > 0 then
    local ok, rerr = seals_file.repair_torn_tail(paths.seals, read.torn_tail)
    if not ok then return nil, rerr end
    notes[#notes + 1] = string.format("terminated a torn seal line (%d bytes) in %s", read.torn_tail, paths.seals)
  end
  local last_chain, last_seq = seals_file.check_links(paths.seals, read.seals)
  if not last_chain then return nil, last_seq .. "; the outbox was modified" end
  local state = { seals = read.seals, last_seal = read.seals[#read.seals], last_chain = last_chain,
                  last_seq = last_seq, fragments = read.fragments }

  local sealed, serr = M.sealed_files(paths, read.seals)
  if not sealed then return nil, serr end
  local unsealed = {}
  for _, name in ipairs(sync) do
    if not sealed[name] then unsealed[#unsealed + 1] = name end
  end
  for name, bytes in pairs(sealed) do
    local st = fs.stat(layout.join(paths.outbox, name))
    if not st then return nil, string.format("%s is sealed but missing from %s; the outbox was modified", name, paths.outbox) end
    if st.size ~= bytes then
      return nil, string.format("%s has %d bytes, its seal says %d; the outbox was modified", name, st.size, bytes)
    end
  end
  if #unsealed > 1 then
    return nil, string.format("%s holds %d unsealed sync files (%s); an interrupted run leaves at most one%s",
      paths.outbox, #unsealed, table.concat(unsealed, ", "), #read.seals == 0 and ". If another Phase 2 "
      .. "implementation wrote them, hostsync takes them over only with its phase2/diff_state.json "
      .. "(last_line_no); see docs/phase2.md" or "")
  end
  if #unsealed == 1 then
    local ok, oerr = seal_orphan(paths, unsealed[1], state, notes)
    if not ok then return nil, oerr end
  end

  local st, cerr = checkpoint.read(paths.state)
  if cerr then notes[#notes + 1] = cerr .. " (rebuilt from the seals)" end
  if st and type(st.last_seq) == "number" and st.last_seq > state.last_seq then
    return nil, string.format("%s says seq %d was sealed, but %s ends at seq %d; seals were lost",
      paths.state, st.last_seq, paths.seals, state.last_seq)
  end
  if state.last_seal and (not st or st.last_chain_hash ~= state.last_chain) then
    local ok, werr = checkpoint.write_state(paths, state.last_seal, #state.seals)
    if not ok then return nil, werr end
  end
  return state, notes
end

return M
