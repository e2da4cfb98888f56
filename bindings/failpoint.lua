-- hostsync.failpoint: crash injection for the crash tests, shared with the host's own
-- points (fs_block, csv_record, age_chunk, tar_file).
--
--   local failpoint = require "hostsync.failpoint"
--   failpoint.hit("before_seal")   -- SIGKILL here if HOSTSYNC_FAILPOINT names it
--
-- HOSTSYNC_FAILPOINT is a comma-separated list of `name`, `name@N` (the N-th hit),
-- `name:stop` (SIGSTOP instead of SIGKILL) and `name@N:stop`. The process dies exactly as
-- from an outside `kill -9`: no cleanup, no buffered output lost (stdio is flushed first).
-- Unset, hit() costs one C call. Reference: docs/api/failpoint.md.
local _, raw = ...

local type, error = type, error
local raw_hit = raw.hit

local M = {}

function M.hit(name)
  if type(name) ~= "string" or name == "" then error("Usage: failpoint.hit(name: string)", 2) end
  raw_hit(name)
end

-- True when HOSTSYNC_FAILPOINT is set: a loop can skip building point names.
M.armed = raw.armed

return M
