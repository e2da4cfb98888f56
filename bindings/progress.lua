-- hostsync.progress: a rate-limited progress line on stderr, shown only on a terminal.
--
--   local p = progress.new("extract", { enabled = not opts.quiet })
--   p:update(records, bytes)   -- cheap; prints at most 4 times a second
--   p:done()                   -- ends the line
--
-- Options: enabled (default true; never without a terminal on stderr), interval
-- (seconds between lines, default 0.25), unit (what is counted, default "records"),
-- delay (seconds before the first line, default 0: a short run shows nothing).
local time = require "hostsync.time"
local fs = require "hostsync.fs"

local check_opts = require("hostsync.check").opts

local M = {}
local Progress = {}
Progress.__index = Progress

function M.new(label, opts)
  opts = check_opts(opts, { enabled = "boolean", interval = "number", delay = "number", unit = "string" },
                    "Usage: progress.new(label [, {enabled=, interval=, delay=, unit=}])")
  local enabled = opts.enabled ~= false and fs.isatty(2)
  local now = time.monotonic()
  return setmetatable({
    label = label, enabled = enabled, started = now, last = now,
    -- HOSTSYNC_PROGRESS_INTERVAL (seconds) overrides the rate; tests set it to 0.
    interval = tonumber(os.getenv("HOSTSYNC_PROGRESS_INTERVAL") or "") or opts.interval or 0.25,
    -- HOSTSYNC_PROGRESS_DELAY (seconds) overrides the delay; tests set it to 0.
    delay = tonumber(os.getenv("HOSTSYNC_PROGRESS_DELAY") or "") or opts.delay or 0,
    unit = opts.unit or "records",
    shown = false,
  }, Progress)
end

local function format(self, count, bytes, now)
  local elapsed = math.max(now - self.started, 1e-9)
  local mb = (bytes or 0) / 1e6
  return string.format("\r%s: %d %s, %.1f MB, %.1f MB/s ", self.label, count, self.unit, mb, mb / elapsed)
end

function Progress:update(count, bytes)
  if not self.enabled then return end
  local now = time.monotonic()
  if now - self.last < self.interval or now - self.started < self.delay then return end
  self.last = now
  self.shown = true
  io.stderr:write(format(self, count, bytes, now))
end

function Progress:done(count, bytes)
  if not self.enabled or not self.shown then return end
  io.stderr:write(format(self, count or 0, bytes, time.monotonic()), "\n")
end

return M
