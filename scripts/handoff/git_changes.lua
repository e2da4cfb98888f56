-- handoff.git_changes: the "Key Files Changed" of a session handoff, from real git
-- (hostsync.proc, an argument list, never a shell).
--
-- The range is, in order: --since REF; else the previous handoff from this clone (the
-- ref refs/hostsync/last-handoff, moved to HEAD after each handoff); else the last
-- commit. Uncommitted work (staged, unstaged, untracked) is always added, since a
-- session often ends before its last commit.
local proc = require "hostsync.proc"

local M = {}

M.MARKER = "refs/hostsync/last-handoff"

local function git(repo, args)
  local argv = { "git" }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local r, err = proc.run(argv, { cwd = repo, timeout = 60, env = { GIT_TERMINAL_PROMPT = "0" } })
  if not r then return nil, err end
  return r
end

local function split0(s)
  local out = {}
  for f in s:gmatch("([^%z]+)") do out[#out + 1] = f end
  return out
end

local function verify(repo, rev)
  local r = git(repo, { "rev-parse", "--verify", "--quiet", rev .. "^{commit}" })
  if r and r.ok then return (r.stdout:gsub("%s+$", "")) end
  return nil
end

-- -> { files = sorted unique paths, base = commit or nil, range = description } | nil, err
function M.collect(repo, since)
  local r, err = git(repo, { "rev-parse", "--is-inside-work-tree" })
  if not r then return nil, err end
  if not r.ok or not r.stdout:find("true") then return nil, repo .. " is not a git work tree (use --repo DIR)" end

  local head = verify(repo, "HEAD")
  local seen, files = {}, {}
  local function add(list)
    for _, f in ipairs(list) do
      if not seen[f] then seen[f] = true; files[#files + 1] = f end
    end
  end

  local base, range
  if since then
    base = verify(repo, since)
    if not base then return nil, ("--since %s: not a commit in %s"):format(since, repo) end
    range = since .. ".." .. "HEAD"
  elseif head and verify(repo, M.MARKER) then
    base, range = verify(repo, M.MARKER), "since the last handoff (" .. M.MARKER .. ")"
  elseif head then
    range = "the last commit"
  else
    range = "no commits yet"
  end

  if head then
    local c
    if base then
      c = git(repo, { "diff", "--name-only", "-z", base, head })
    else
      c = git(repo, { "diff-tree", "--root", "--no-commit-id", "--name-only", "-r", "-z", head })
    end
    if not c or not c.ok then return nil, "git diff failed: " .. (c and c.stderr or "?") end
    add(split0(c.stdout))
  end

  -- porcelain v1 -z: "XY path\0", a rename/copy adds "\0origpath" (skipped: the new name counts)
  local s = git(repo, { "status", "--porcelain=v1", "-z", "--untracked-files=all" })
  if not s or not s.ok then return nil, "git status failed: " .. (s and s.stderr or "?") end
  local entries, i = split0(s.stdout), 1
  local uncommitted = {}
  while i <= #entries do
    local e = entries[i]
    uncommitted[#uncommitted + 1] = e:sub(4)
    if e:sub(1, 1) == "R" or e:sub(1, 1) == "C" then i = i + 1 end
    i = i + 1
  end
  add(uncommitted)
  table.sort(files)
  return { files = files, head = head, range = range, uncommitted = #uncommitted }
end

-- After a handoff: the next one's range starts here.
function M.mark(repo, head)
  if not head then return true end
  local r, err = git(repo, { "update-ref", M.MARKER, head })
  if not r then return nil, err end
  if not r.ok then return nil, "git update-ref: " .. r.stderr end
  return true
end

return M
