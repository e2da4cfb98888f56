-- The conflict policy of push.lua (docs/brain.md, "The push workflow"): the seed's rule
-- "specialist wins in their domain". Copy this file, change the map, and run
-- `hostsync run push.lua --policy my_conflicts.lua ...` (or put your copy first in
-- $HOSTSYNC_PATH as policies/push_conflicts.lua).
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
