-- A push conflict policy (push.lua --policy, docs/brain.md "Conflicts") driven by the
-- team's owners file, written the way GitHub's CODEOWNERS is: paste yours into `OWNERS`
-- below. A conflicted file goes to its owner's side: the owner pushing keeps its version,
-- anyone else takes the remote's; a file without an owner (or a pusher and owners that
-- disagree) is left to the coordinator.
--
-- It runs in hostsync.sandbox like every push conflict policy: it cannot read files, so
-- the owners text lives in this file. Tested by team_owners_test.lua.
--
-- The owners file, as CODEOWNERS reads it:
--   - one rule per line: a path pattern, then one or more owners (`@name`); `#` comments;
--   - the LAST rule that matches a path wins (put the specific rules after the broad ones);
--   - a pattern starting with `/`, or with a `/` inside it, is anchored at the repository
--     root; otherwise it matches at any depth (`*.css` is every CSS file);
--   - a trailing `/` means a directory and everything under it; `*` matches within one
--     path segment, `**` across segments, `?` one character of a segment;
--   - a rule with no owner un-owns what it matches (a hole in a broad rule).
local M = {}

M.coordinator = "marcus"

M.OWNERS = [[
# Everything under design/ and every stylesheet: Priya.
/design/            @priya
*.css               @priya
/content/           @rowan
/mobile/            @milo
/seo/               @grace
# The app's shared UI kit belongs to both front-end owners.
/mobile/ui-kit/     @milo @priya
# Generated files: nobody's; a conflict there is the coordinator's call.
/content/generated/
]]

local MAGIC = "[%^%$%(%)%%%.%[%]%+%-]"

-- A CODEOWNERS pattern -> a list of anchored Lua patterns (any one matching is a match).
local function compile(glob)
  local anchored = glob:sub(1, 1) == "/" or glob:sub(1, -2):find("/", 1, true) ~= nil
  local dir_only = glob:sub(-1) == "/"
  local body = glob:gsub("^/", ""):gsub("/$", "")
  body = body:gsub(MAGIC, "%%%0")
  body = body:gsub("%*%*", "\1"):gsub("%*", "[^/]*"):gsub("%?", "[^/]"):gsub("\1", ".*")
  -- At the root, or (unanchored) after any "/"; Lua patterns have no optional group.
  local starts = anchored and { "^" } or { "^", "/" }
  local forms = {}
  for _, start in ipairs(starts) do
    forms[#forms + 1] = start .. body .. "/"                           -- a directory: all under it
    if not dir_only then forms[#forms + 1] = start .. body .. "$" end  -- or the file itself
  end
  return forms
end

-- The owners text -> { { patterns = {...}, owners = {...}, line = N, glob = "..." } ... }.
-- A malformed line is an error naming it: better no policy than a wrong one.
function M.parse(text)
  local rules, n = {}, 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    line = line:gsub("#.*$", "")
    local glob, rest = line:match("^%s*(%S+)%s*(.-)%s*$")
    if glob then
      local owners = {}
      for word in rest:gmatch("%S+") do
        local name = word:match("^@([%w_.%-/]+)$")
        if not name then error(("owners line %d: %q is not an @owner"):format(n, word), 0) end
        owners[#owners + 1] = name
      end
      rules[#rules + 1] = { patterns = compile(glob), owners = owners, line = n, glob = glob }
    end
  end
  return rules
end

local RULES = M.parse(M.OWNERS)   -- at load time: a bad owners text stops the load

-- The rule that decides `path` (the last one matching), or nil.
function M.rule(path)
  local found
  for _, rule in ipairs(RULES) do
    for _, pat in ipairs(rule.patterns) do
      if path:find(pat) then found = rule break end
    end
  end
  return found
end

-- owner(path) -> the first owner of the path, or nil: what push.lua names in its message.
function M.owner(path)
  local rule = M.rule(path)
  return rule and rule.owners[1] or nil
end

-- resolve(path, me) -> "mine" | "upstream" | nil (push.lua maps these onto git's
-- inverted rebase sides; see policies/push_conflicts.lua).
function M.resolve(path, me)
  local rule = M.rule(path)
  if not rule or #rule.owners == 0 then return nil end   -- nobody's: the coordinator's
  for _, owner in ipairs(rule.owners) do
    if owner == me then return "mine" end                 -- an owner pushing keeps its side
  end
  return "upstream"                                       -- someone else's: the owners' side
end

return M
