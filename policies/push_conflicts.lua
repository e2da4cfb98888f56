-- The conflict policy of push.lua (docs/brain.md, "Conflict rules"). The protocol's automatic
-- rules, in order:
--
-- 1. "Check timestamps - more recent change wins (if non-overlapping)." Nothing to code
--    here: this is what `git pull --rebase` already does before any policy runs. Rebase
--    replays the pusher's commits (the more recent change) onto the remote's with a
--    three-way merge, line range by line range; changes that do not overlap are BOTH kept,
--    which is lossless where "the more recent side wins" would throw the older side's
--    non-overlapping lines away. Only when git finds changes that overlap (or touch:
--    edits of adjacent lines count as overlapping for git) does it stop with a conflict,
--    and rule 1 says nothing about those. So a file reaches resolve() below only when
--    rule 1 could not apply.
-- 2. "Check agent authority - specialist wins in their domain": resolve() below.
-- Anything else is the protocol's manual resolution: push.lua aborts the rebase and records
-- the conflict in the brain (POST /conflicts), which alerts the coordinator.
--
-- Copy this file, change the map, and run
-- `hostsync run push.lua --policy my_conflicts.lua ...` (or put your copy, named
-- push_conflicts.lua, in a directory first in $HOSTSYNC_PATH). It runs in
-- hostsync.sandbox: plain Lua only (no io, os.execute, require or dofile).
--
-- owners: Lua patterns (string.find, anchored by you) over repository-relative paths,
-- first match wins, mapped to the agent (without @) that owns those paths.
-- coordinator: the agent an `alert` mentions when a conflict cannot be resolved here.
local M = {}

M.coordinator = "marcus"

M.owners = {
  { "^design/", "priya" },
  { "%.css$", "priya" },
  { "^content/", "rowan" },
  { "^mobile/", "milo" },
  { "^seo/", "grace" },
}

-- owner(path) -> agent | nil
function M.owner(path)
  for _, rule in ipairs(M.owners) do
    if path:find(rule[1]) then return rule[2] end
  end
  return nil
end

-- resolve(path, me) -> "mine" | "upstream" | nil
-- Which side of a conflicted file wins when `me` (the pushing agent) replays its commits
-- on the remote's with `git pull --rebase`. nil: not ours to decide; push.lua aborts the
-- rebase and alerts the coordinator.
--
-- "mine"/"upstream" on purpose, not git's "ours"/"theirs": during a rebase git's sides are
-- inverted. Rebase checks out the upstream branch and replays your commits onto it, so
-- `git checkout --ours` is the UPSTREAM version (what the others pushed) and
-- `git checkout --theirs` is YOUR commit being replayed. push.lua does that mapping
-- ("mine" -> --theirs, "upstream" -> --ours) so a policy never has to think about it.
function M.resolve(path, me)
  local owner = M.owner(path)
  if not owner then return nil end
  if owner == me then return "mine" end      -- the specialist pushing keeps its own version
  return "upstream"                          -- someone else's domain: the owner's side wins
end

return M
