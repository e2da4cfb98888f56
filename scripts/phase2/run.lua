-- One Phase 2 run: recover, check append-only, diff extract, seal, checkpoint.
local fs = require "hostsync.fs"
local time = require "hostsync.time"
local cli = require "hostsync.cli"
local layout = require "phase2.layout"
local seals_file = require "phase2.seals"
local checkpoint = require "phase2.checkpoint"
local fingerprint = require "phase2.fingerprint"
local recover = require "phase2.recover"
local extract = require "phase2.extract"
local git_guard = require "phase2.git_guard"
local adopt = require "phase2.adopt"
local failpoint = require "hostsync.failpoint"

local M = {}

local EXIT_LOCKED = 75  -- EX_TEMPFAIL: another run holds the lock; try again later

local function note(msg) io.stderr:write("phase2: ", msg, "\n") end

local function must(ok, err, ...)
  if not ok then cli.fail("phase2: " .. tostring(err)) end
  return ok, err, ...
end

local function describe_pending(paths, pending)
  if pending then
    note(string.format("%s:%d: an incomplete record (%d bytes) is waiting for its line end; "
      .. "it is emitted once complete", paths.index_rel, pending.line_no, pending.bytes))
  end
end

-- Commit: give the temporary file its final name, seal it, then update the checkpoint.
local function commit(paths, state, result, run_id)
  local name = layout.sync_name(run_id)
  local final = layout.join(paths.outbox, name)
  failpoint.hit("before_rename")
  must(fs.rename(result.tmp, final, { no_replace = true }))
  failpoint.hit("before_seal")
  local seal = {
    seal_version = "0.1", file = name, sha256 = result.sha256, bytes = result.bytes,
    packets = result.packets, first_seq = result.first_seq, last_seq = result.last_seq,
    prev_chain = state.last_chain, chain = seals_file.chain(state.last_chain, result.sha256),
    run_id = run_id, cursor = result.cursor, sealed_at = time.utc_iso(),
  }
  must(seals_file.append(paths.seals, seal))
  failpoint.hit("before_state")
  must(checkpoint.write_state(paths, seal, #state.seals + 1))
  failpoint.hit("before_cursor")
  return seal
end

-- The start of every run (and of `adopt`): the run lock, the outbox, the git check, and
-- the takeover of a deployment of the PowerShell original if there is one. Returns the
-- paths, the lock and the adoption's seal (false if there was nothing to adopt).
local function begin(opts)
  local paths = layout.from_options(opts)
  if not fs.exists(paths.index) then
    cli.fail("phase2: " .. paths.index .. ": No such file (the source index.csv; see --root, --index)")
  end
  must(fs.mkdir_p(paths.state_dir))
  local lock, lerr = fs.lock(paths.lock, { wait = opts.wait })
  if not lock then cli.fail("phase2: " .. lerr .. " (another run is working; try again later)", EXIT_LOCKED) end
  must(fs.mkdir_p(paths.outbox))
  local exposed = git_guard.check(paths.outbox, paths.outbox_rel)
  if exposed then note("warning: " .. exposed) end

  local adopt_notes = {}
  local adopted, aerr = adopt.run_if_needed(paths, adopt_notes)
  for _, n in ipairs(adopt_notes) do note(n) end
  if adopted == nil then cli.fail("phase2: " .. aerr) end
  return paths, lock, adopted
end

-- `phase2.lua adopt`: only the takeover, no packets.
function M.adopt(opts)
  local _, lock, adopted = begin(opts)
  lock:release()
  if adopted then
    print(string.format("OK: adopted -> %s chain %s", adopted.file, adopted.chain))
  else
    print("OK: nothing to adopt")
  end
end

function M.run(opts)
  math.randomseed(math.floor(time.now() * 1e6) % 2147483647)  -- the fingerprint's sample
  local paths, lock = begin(opts)

  local state, notes = recover.run(paths)
  if not state then cli.fail("phase2: " .. notes) end
  for _, n in ipairs(notes) do note(n) end

  local start, warnings = checkpoint.load_cursor(paths, state.last_seal)
  for _, w in ipairs(warnings) do note(w) end
  local base_fp = start.fingerprint
  if base_fp and start.cursor.offset > 0 then
    must(fingerprint.check(paths.index, base_fp, base_fp.header_end or 0, false))
  elseif start.cursor.offset > 0 then
    local st = must(fs.stat(paths.index, { follow = true }))
    if st.size < start.cursor.offset then
      cli.fail(string.format("phase2: %s shrank: it has %d bytes, the cursor is at byte %d; index.csv is append-only",
        paths.index, st.size, start.cursor.offset))
    end
  end

  local run_id = layout.unique_run_id(paths, state.last_seal and state.last_seal.run_id)
  local result, err = extract.run({
    paths = paths, run_id = run_id, cursor = start.cursor, next_seq = state.last_seq + 1,
    quarantine = opts.quarantine, max_packets = opts.max_packets, quiet = opts.quiet,
  })
  if not result then
    cli.fail("phase2: " .. tostring(err))
  end

  -- The fingerprint is hashed while the kernel still writes the packets back to disk.
  local moved = result.cursor.offset ~= start.cursor.offset
  local write_cursor = (moved or start.rewrite) and result.header_end ~= nil
  local fp
  if write_cursor then
    fp = must(fingerprint.extend(paths.index, moved and base_fp or nil, result.cursor.offset, result.header_end))
    fp.header_end = result.header_end
  end
  if result.writer then must(extract.finish(result)) end

  local seal
  if result.packets > 0 then seal = commit(paths, state, result, run_id) end
  if write_cursor then must(checkpoint.write_cursor(paths, result.cursor, fp)) end
  failpoint.hit("after_cursor")
  lock:release()

  if result.quarantined > 0 then
    note(string.format("quarantined %d bad record(s) (line %s) -> %s", result.quarantined,
      table.concat(result.quarantined_lines, ", "), layout.join(paths.outbox_rel, "quarantine.jsonl")))
  end
  if seal then
    print(string.format("OK: %d packets seq %d..%d -> %s chain %s", seal.packets, seal.first_seq,
      seal.last_seq, layout.join(paths.outbox_rel, seal.file), seal.chain))
  elseif not result.bad then
    print("OK: no new packets; skip seal")
  end
  if result.no_header == "incomplete" then
    note(paths.index_rel .. ": the header line is not complete yet")
  end
  describe_pending(paths, result.pending)
  if result.bad then
    cli.fail(string.format("phase2: %s line %d: bad row: %s\n%s", paths.index_rel, result.bad.info.line_no,
      result.bad.info.reason,
      "  everything before it was emitted; fix the row, or rerun with --quarantine to set it aside"))
  end
end

return M
