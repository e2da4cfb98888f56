-- `phase2.lua --watch`: runs Phase 2 after each burst of appends to index.csv, for as
-- long as it is left running (a systemd service, examples/systemd/). It follows the file
-- with inotify (hostsync.watch): a burst is a first change, then changes until none for
-- --debounce seconds (or --max-delay seconds after the first), then one run. Each run is
-- a child process (`hostsync run phase2.lua run` with the same options), so a run that
-- fails or is killed never takes the watcher with it. docs/phase2.md, "Running unattended".
local watch = require "hostsync.watch"
local proc = require "hostsync.proc"
local time = require "hostsync.time"
local cli = require "hostsync.cli"
local layout = require "phase2.layout"

local M = {}

local function say(msg)
  io.stderr:write("phase2 watch: ", msg, "\n")
  io.stderr:flush()
end

local FILE_KINDS = { "modify", "close_write", "move_self", "delete_self" }
local DIR_KINDS = { "create", "moved_to", "moved_from", "delete", "delete_self", "move_self" }

-- One run's command line: this script with the same options, without --watch.
local function run_argv(opts)
  local argv = { arg[-1], "run", arg[0] }
  local function add(flag, value)
    if value ~= nil then argv[#argv + 1], argv[#argv + 2] = flag, tostring(value) end
  end
  add("--root", opts.root)
  add("--index", opts.index)
  add("--outbox", opts.outbox)
  add("--state-dir", opts.state_dir)
  add("--max-packets", opts.max_packets)
  add("--wait", opts.wait)
  if opts.quarantine then argv[#argv + 1] = "--quarantine" end
  if opts.quiet then argv[#argv + 1] = "--quiet" end
  argv[#argv + 1] = "run"
  return argv
end

function M.run(opts)
  local paths = layout.from_options(opts)
  local debounce = opts.debounce or 1
  local max_delay = opts.max_delay or 30
  if debounce < 0 or max_delay < debounce then
    cli.usage_error("--debounce must be >= 0 and --max-delay at least --debounce")
  end
  local dir = paths.index:match("^(.*)/[^/]*$") or "."
  local name = paths.index:match("([^/]*)$")
  local w, werr = watch.open()
  if not w then cli.fail("phase2 watch: " .. werr) end
  local dir_id, derr = w:add(dir, DIR_KINDS)
  if not dir_id then cli.fail("phase2 watch: cannot watch the directory of the index: " .. derr) end

  local file_id        -- the watch on the index, nil while it is not there
  local function attach()
    if file_id then w:remove(file_id) end
    file_id = w:add(paths.index, FILE_KINDS)
    return file_id ~= nil
  end
  local function run()
    local r, err = proc.run(run_argv(opts), { capture = false })
    if not r then
      say("cannot start a run: " .. err)
    elseif not r.ok then
      say(string.format("the run ended with %s; waiting for the next change",
        r.status and ("exit status " .. r.status) or ("signal " .. tostring(r.signal))))
    end
  end

  -- What a batch of events says: the index changed, went away, or came back.
  local function digest(events)
    local changed, lost, back = false, false, false
    for _, ev in ipairs(events) do
      if ev.id == dir_id and (ev.delete_self or ev.move_self or ev.ignored) then
        cli.fail(string.format("phase2 watch: the directory %s was moved or deleted; nothing left to watch", dir))
      elseif ev.overflow then
        changed = true   -- events were lost: look at the file itself, by running
      elseif file_id and ev.id == file_id then
        if ev.modify or ev.close_write then changed = true end
        if ev.move_self or ev.delete_self or ev.ignored then lost = true end
      elseif ev.id == dir_id and ev.name == name then
        if ev.delete or ev.moved_from then lost, back = true, false end
        if ev.create or ev.moved_to then back = true end
      end
    end
    if lost and file_id then
      w:remove(file_id)
      file_id = nil
      say(string.format("%s was moved away or deleted (rotated?); waiting for it to come back. An index is "
        .. "append-only: the run checks whatever file comes back against the cursor and refuses one that is "
        .. "shorter or different", paths.index_rel))
    end
    if back and not file_id and attach() then
      say(paths.index_rel .. " is back")
      changed = true
    end
    return changed and file_id ~= nil
  end

  if attach() then
    say(string.format("watching %s (debounce %g s)", paths.index_rel, debounce))
    run()
  else
    say(paths.index_rel .. " does not exist; waiting for it to appear")
  end
  while true do
    local events, err = w:read(nil)   -- sleeps in poll(2) until something happens
    if not events then cli.fail("phase2 watch: " .. err) end
    if digest(events) then
      -- A burst: wait for a quiet moment (or the longest delay), then run once.
      local first = time.monotonic()
      while true do
        local left = max_delay - (time.monotonic() - first)
        if left <= 0 then break end
        local more = assert(w:read(math.min(debounce, left)))
        if #more == 0 then break end
        digest(more)
      end
      if file_id then run() end
    end
  end
end

return M
