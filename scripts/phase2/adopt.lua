-- Taking over a deployment of another Phase 2 implementation (the PowerShell
-- original): its diff_state.json says how far it read (last_line_no), its state.json the
-- head of its chain (last_chain_hash), its sync_*.jsonl files hold what it sent. Adoption
-- checks that these agree with each other and with index.csv, then writes one manifest
-- (outbox/adoption_<run_id>.json) naming every old file with its SHA-256, seals it with
-- the old chain head as prev_chain, and from there on hostsync continues the chain.
-- Nothing the original wrote is changed, except the two state files, which become
-- hostsync's (their old bytes are kept in the manifest). docs/phase2.md, "Taking over a
-- deployment of the PowerShell original".
local fs = require "hostsync.fs"
local json = require "hostsync.json"
local hash = require "hostsync.hash"
local csv = require "hostsync.csv"
local codec = require "hostsync.codec"
local time = require "hostsync.time"
local failpoint = require "hostsync.failpoint"
local layout = require "phase2.layout"
local legacy = require "phase2.legacy"
local seals_file = require "phase2.seals"
local checkpoint = require "phase2.checkpoint"
local fingerprint = require "phase2.fingerprint"

local M = {}

M.VERSION = "0.1"

local function refuse(fmt, ...) return nil, string.format(fmt, ...) end

-- The packets of the old files, as much as adoption checks of them: every line number
-- (each record before the cursor must be in one), the highest, and the first and last
-- packet of each file, whose rows are compared with index.csv.
local function collect(outbox, names)
  local files, lines, samples = {}, {}, {}
  local total, first_seq, last_seq, max_line, max_line_at = 0, nil, nil, 0, nil
  for _, name in ipairs(names) do
    local first, last
    local entry, err = legacy.describe_file(outbox, name, function(p, line_in_file)
      local where = { file = name, line = line_in_file, seq = p.seq, row = p.row, line_no = p.source.line_no }
      lines[p.source.line_no] = lines[p.source.line_no] or where
      if p.source.line_no > max_line then max_line, max_line_at = p.source.line_no, where end
      first = first or where
      last = where
    end)
    if not entry then return nil, err end
    files[#files + 1] = entry
    for _, w in ipairs({ first, last }) do
      samples[w.line_no] = samples[w.line_no] or {}
      table.insert(samples[w.line_no], w)
    end
    total = total + entry.packets
    if entry.packets > 0 then
      first_seq = math.min(first_seq or entry.first_seq, entry.first_seq)
      last_seq = math.max(last_seq or entry.last_seq, entry.last_seq)
    end
  end
  return { files = files, lines = lines, samples = samples, packets = total, first_seq = first_seq,
           last_seq = last_seq, max_line = max_line, max_line_at = max_line_at }
end

local function same_row(a, b)
  local n = 0
  for k, v in pairs(a) do
    if b[k] ~= v then return false end
    n = n + 1
  end
  for _ in pairs(b) do n = n - 1 end
  return n == 0
end

local function show_row(row)
  return json.canonical(json.object(row))
end

-- The byte offset just after line `n`, counting from (offset, lines) across blank lines.
local function after_blank_lines(path, offset, lines, stop, n)
  if n == lines then return offset end
  local data = assert(fs.read_range(path, offset, stop - offset))
  local pos = 0
  for _ = lines + 1, n do
    pos = data:find("\n", pos + 1, true)
    if not pos then return nil end
  end
  return offset + pos
end

-- Reads index.csv up to line `n` (the original's last_line_no) and decides where hostsync
-- resumes: right after line n, which must end a record (or, if line n is inside a record
-- an old packet holds, right after that record). Every record before that point must be
-- in an old packet, every old packet's line_no must be where a record starts, and the
-- sampled packets' rows must be those records. Returns { cursor, header_end } or nil, why.
local function find_resume_point(paths, n, old)
  local index = paths.index_rel
  if n == 0 then return { cursor = { offset = 0, line_no = 0 }, header_end = 0 } end
  local r, err = csv.open(paths.index)
  if not r then return nil, err end
  local header, why = r:header()
  if not header then
    r:close()
    return refuse("diff_state.json says line %d was read, but %s has no complete header line (%s)", n, index, why)
  end
  local header_end = r:header_end()
  local missing, matched = {}, {}
  local have_packets = #old.files > 0
  local resume
  while not resume do
    local prev_off, prev_lines = r:cursor()
    if prev_lines >= n then
      if prev_lines > n then r:close(); return refuse("line %d is inside the header of %s", n, index) end
      resume = { offset = prev_off, line_no = prev_lines }
      break
    end
    local rec, rerr = r:next()
    local start_line, start_off
    if rec then
      start_line, start_off = rec.line_no, rec.offset
    elseif rerr then
      local bad = r:last_error()
      if bad.fatal then r:close(); return nil, bad.message end
      start_line, start_off = bad.line_no, bad.offset
    else
      local end_off, end_lines = r:cursor()
      local pending = r:pending()
      if end_lines < n then
        r:close()
        return refuse("diff_state.json says line %d was read, but %s has only %d complete lines%s: "
          .. "was index.csv replaced or truncated?", n, index, end_lines,
          pending and string.format(" (line %d is still being written)", pending.line_no) or "")
      end
      resume = { offset = after_blank_lines(paths.index, prev_off, prev_lines, end_off, n), line_no = n }
      break
    end
    local end_off, end_lines = r:cursor()
    if start_line > n then  -- line n is one of the blank lines before this record
      resume = { offset = after_blank_lines(paths.index, prev_off, prev_lines, start_off, n), line_no = n }
      break
    end
    -- A record that starts on or before line n: the original has read it.
    if old.lines[start_line] then
      matched[start_line] = true
    elseif end_lines > n then
      r:close()
      return refuse("diff_state.json says line %d was read, but that line is inside the record on lines "
        .. "%d..%d of %s, and no old packet holds that record, so it cannot be told whether it was "
        .. "sent. If it was, set last_line_no to %d; if not, to %d", n, start_line, end_lines, index,
        end_lines, start_line - 1)
    elseif have_packets then
      missing[#missing + 1] = start_line
    end
    for _, s in ipairs(rec and old.samples[start_line] or {}) do
      local row = {}
      for i, name in ipairs(header) do row[name] = rec.fields[i] end
      if not same_row(row, s.row) then
        r:close()
        return refuse("%s line %d (seq %s) says line %d of %s holds %s, but the record starting on that "
          .. "line is %s: the original numbered lines differently (Import-Csv counts records, not lines, "
          .. "when a value spans lines), so its last_line_no cannot be trusted either", s.file, s.line,
          tostring(s.seq), start_line, index, show_row(s.row), show_row(row))
      end
    end
    if end_lines >= n then resume = { offset = end_off, line_no = end_lines } end
  end
  r:close()
  if #missing > 0 then
    return refuse("%d record(s) of %s up to line %d are in no old sync file (the first on line %d): the "
      .. "original skipped them or its files were lost. Restore the missing files; or, to send those "
      .. "records now, set last_line_no in diff_state.json to %d (the records after it that old files "
      .. "hold would then be sent again)", #missing, index, n, missing[1], missing[1] - 1)
  end
  for line_no, at in pairs(old.lines) do
    if not matched[line_no] then
      return refuse("%s line %d (seq %s) names line %d of %s, where no record starts: the original "
        .. "numbered lines differently, so its last_line_no cannot be trusted", at.file, at.line,
        tostring(at.seq), line_no, index)
    end
  end
  return { cursor = resume, header_end = header_end }
end

-- Analyses the deployment and changes nothing. Returns a plan or nil, reason.
function M.plan(paths)
  local ds, ds_bytes = legacy.read_state(paths.diff_state)
  if ds == nil and ds_bytes then return nil, ds_bytes end
  if not ds then
    return refuse("%s is missing: adoption needs the original's last_line_no to know where to resume",
      paths.diff_state)
  end
  local n = ds.last_line_no
  if type(n) ~= "number" or n % 1 ~= 0 or n < 0 then
    return refuse("%s has no whole-number last_line_no (it holds %s)", paths.diff_state, json.encode(ds))
  end
  local st, st_bytes = legacy.read_state(paths.state)
  if st == nil and st_bytes then return nil, st_bytes end
  local head = st and st.last_chain_hash
  if st and not (type(head) == "string" and head:match("^" .. string.rep("%x", 64) .. "$")) then
    return refuse("%s: last_chain_hash is %s, not a SHA-256 in hex", paths.state, json.encode(head or json.null))
  end

  local names = legacy.sync_files(paths.outbox)
  local old, err = collect(paths.outbox, names)
  if not old then return refuse("%s; the files the original wrote are never changed, so it cannot be "
    .. "adopted until this file is repaired or moved out of the outbox", err) end
  if old.max_line > n then
    local at = old.max_line_at
    return refuse("%s line %d (seq %s) holds line %d of %s, after last_line_no %d in diff_state.json: the "
      .. "original stopped before saving its cursor, and resuming would send those records again. If the "
      .. "file is complete, set last_line_no to %d", at.file, at.line, tostring(at.seq), at.line_no,
      paths.index_rel, n, old.max_line)
  end
  local point, perr = find_resume_point(paths, n, old)
  if not point then return nil, perr end

  local chain = seals_file.GENESIS
  for _, f in ipairs(old.files) do chain = seals_file.chain(chain, f.sha256) end
  local plan = {
    last_line_no = n, cursor = point.cursor, header_end = point.header_end, files = old.files,
    packets = old.packets, first_seq = old.first_seq or 1, last_seq = old.last_seq or 0,
    head = head and head:lower() or nil, head_as_found = head,
    chain_reproduced = head ~= nil and head:lower() == chain,
    diff_state_bytes = ds_bytes, state_bytes = st_bytes,
  }
  return plan
end

-- Writes the manifest and its seal, then hostsync's own state files. Returns the seal.
function M.commit(paths, plan, run_id)
  local name = layout.adoption_name(run_id)
  local manifest = {
    adoption_version = M.VERSION,
    run_id = run_id,
    adopted_at = time.utc_iso(),
    source = paths.index_rel,
    cursor = plan.cursor,
    legacy = {
      last_line_no = plan.last_line_no,
      last_chain_hash = plan.head_as_found or json.null,
      chain_reproduced = plan.chain_reproduced,
      diff_state_base64 = codec.base64_encode(plan.diff_state_bytes),
      state_base64 = plan.state_bytes and codec.base64_encode(plan.state_bytes) or json.null,
    },
    files = json.array(plan.files),
    packets = plan.packets, first_seq = plan.first_seq, last_seq = plan.last_seq,
  }
  local text = json.canonical(manifest) .. "\n"
  local ok, err = fs.create_exclusive(layout.join(paths.outbox, name), text)
  if not ok then return nil, err end
  failpoint.hit("adopt_before_seal")
  local sha = hash.sha256_hex(text)
  local prev = plan.head or seals_file.GENESIS
  local seal = {
    seal_version = "0.1", file = name, sha256 = sha, bytes = #text, packets = plan.packets,
    first_seq = plan.first_seq, last_seq = plan.last_seq, prev_chain = prev,
    chain = seals_file.chain(prev, sha), run_id = run_id, cursor = plan.cursor, sealed_at = time.utc_iso(),
  }
  ok, err = seals_file.append(paths.seals, seal)
  if not ok then return nil, err end
  failpoint.hit("adopt_before_state")
  ok, err = checkpoint.write_state(paths, seal, 1)
  if not ok then return nil, err end
  local fp
  fp, err = fingerprint.extend(paths.index, nil, plan.cursor.offset, plan.header_end)
  if not fp then return nil, err end
  fp.header_end = plan.header_end
  ok, err = checkpoint.write_cursor(paths, plan.cursor, fp)
  if not ok then return nil, err end
  return seal
end

-- Manifests left by an adoption that crashed before its seal: they were never part of
-- the chain, so they are removed and the adoption is done again.
function M.remove_unsealed(paths, notes)
  if not fs.exists(paths.outbox) then return true end
  for _, name in ipairs(assert(fs.listdir(paths.outbox))) do
    if name:match(layout.ADOPTION_PATTERN) then
      local ok, err = fs.remove(layout.join(paths.outbox, name))
      if not ok then return nil, err end
      notes[#notes + 1] = "removed " .. name .. ", left unsealed by an interrupted adoption"
    end
  end
  return true
end

-- Under the run lock: adopts the deployment if there is one. Returns the seal and the
-- plan, false if there is nothing to adopt, or nil, err (nothing changed).
function M.run_if_needed(paths, notes)
  local read, err = seals_file.read(paths.seals)
  if not read then return nil, err end
  if not legacy.detect(paths, #read.seals) then return false end
  local ok, rerr = M.remove_unsealed(paths, notes)
  if not ok then return nil, rerr end
  local plan, perr = M.plan(paths)
  if not plan then
    return nil, "cannot take over the existing Phase 2 deployment: " .. perr .. ". Nothing was changed"
  end
  local run_id = layout.unique_run_id(paths, nil)
  local seal, cerr = M.commit(paths, plan, run_id)
  if not seal then return nil, cerr end
  notes[#notes + 1] = M.describe(paths, plan, seal)
  return seal, plan
end

function M.describe(paths, plan, seal)
  local head
  if not plan.head then
    head = "no old chain head (no state.json): the chain starts from 64 zeros"
  elseif plan.chain_reproduced then
    head = "old chain head " .. plan.head .. " (reproduced from the files)"
  else
    head = "old chain head " .. plan.head .. " (as state.json says; not reproducible from the files)"
  end
  return string.format("took over the existing deployment: %d old file(s), %d packet(s) (seq %d..%d), %s; "
    .. "resuming after line %d of %s -> %s", #plan.files, plan.packets, plan.first_seq, plan.last_seq, head,
    plan.cursor.line_no, paths.index_rel, layout.join(paths.outbox_rel, seal.file))
end

return M
