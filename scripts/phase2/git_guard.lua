-- PHASE2_SYNC_SPEC v0.1: "outbox stays local (infield default ignore); do not add to public Git". A run
-- warns when its outbox lies in a git work tree and git would pick it up: not ignored, or
-- ignored but with files already tracked. Git only runs when a .git is found above the
-- outbox, so a run outside any repository pays a few stats, not a process start.
local fs = require "hostsync.fs"
local proc = require "hostsync.proc"

local M = {}

-- The directory holding .git (a directory, or a file in a linked work tree), or nil.
local function work_tree_of(dir)
  local path = fs.realpath(dir)
  while path do
    if fs.exists((path == "/" and "" or path) .. "/.git") then return path end
    if path == "/" then return nil end
    path = path:match("^(.*)/[^/]*$")
    if path == "" then path = "/" end
  end
  return nil
end

local function git(outbox, ...)
  return proc.run({ "git", "-C", outbox, ... }, { timeout = 60 })
end

-- Returns a warning (string) or nil. `label` names the outbox in the message.
function M.check(outbox, label)
  local top = work_tree_of(outbox)
  if not top then return nil end
  local where = string.format("the outbox %s is inside the git work tree %s", label, top)
  local tracked, err = git(outbox, "ls-files", "--", ".")
  if not tracked then
    return where .. ", and git cannot be run to check that it is ignored (" .. err .. ")"
  end
  if tracked.ok and tracked.stdout ~= "" then
    local names = {}
    for name in tracked.stdout:gmatch("[^\n]+") do names[#names + 1] = name end
    return string.format("%s, and git already tracks %d file(s) in it (%s): the outbox must stay local, "
      .. "never in a public Git repository (PHASE2_SYNC_SPEC). Untrack them with git -C %s rm -r --cached . "
      .. "and ignore the outbox", where, #names,
      table.concat(names, ", ", 1, math.min(#names, 3)) .. (#names > 3 and ", ..." or ""), label)
  end
  local r = assert(git(outbox, "check-ignore", "-q", "--", "."))
  if r.status == 1 then
    local prefix = git(outbox, "rev-parse", "--show-prefix")
    local pattern = prefix and prefix.ok and prefix.stdout:gsub("%s+$", "") or label
    return string.format("%s and not ignored: the outbox must stay local, never in a public Git "
      .. "repository (PHASE2_SYNC_SPEC). Add the line '/%s' to %s/.gitignore or .git/info/exclude",
      where, pattern, top)
  end
  if r.status ~= 0 or not tracked.ok then
    return string.format("%s, and git cannot tell whether it is ignored (exit %s): %s", where,
      tostring(r.status), ((r.stderr ~= "" and r.stderr or tracked.stderr) or ""):gsub("%s+$", ""))
  end
  return nil
end

return M
