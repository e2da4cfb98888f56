-- Crash injection for the crash-safety tests (Phase 2, snapshot export). With
-- HOSTSYNC_FAILPOINT=<name> in the environment the process kills itself with SIGKILL when
-- it reaches that point, exactly as an outside `kill -9` would; with <name>:stop it stops
-- itself (SIGSTOP) so a test can change the world and then SIGCONT it. Without the
-- variable this costs one table lookup.
local M = {}

local armed = os.getenv("HOSTSYNC_FAILPOINT")

function M.hit(name)
  if armed == name then
    io.stdout:flush()
    io.stderr:flush()
    -- $PPID of the shell is this process; SIGKILL gives it no chance to clean up.
    os.execute("kill -9 $PPID")
  elseif armed == name .. ":stop" then
    io.stdout:flush()
    io.stderr:flush()
    os.execute("kill -STOP $PPID")
  end
end

return M
