-- Agent names, one rule wherever a name is stored or compared (docs/brain.md, "Agent
-- names"): `@Milo`, `milo` and `Milo` are one agent.
--
--   normalize   strip one leading '@', ASCII lowercase: the stored form
--   agent       normalize, then refuse anything but 1..64 of [a-z0-9_-] (no Unicode
--               case folding: names are identifiers, and ASCII keeps every backend and
--               client agreeing on what "the same name" is)
--   mentions    the @names of a chat message, normalized, each once, in order
-- Used by the server (tokens, mentions, handoffs, tasks, conflicts, lock holders) and by
-- the command-line scripts (--to, --mention, --assign), so both sides agree.
local M = {}

M.MAX = 64
M.RULE = "1 to 64 of a-z, 0-9, '_' and '-', after dropping a leading '@' and lowercasing A-Z"

function M.normalize(s)
  return (s:gsub("^@", ""):gsub("%u", string.lower))
end

-- -> the normalized name | nil, why
function M.agent(s)
  if type(s) ~= "string" then return nil, "an agent name must be a string" end
  local n = M.normalize(s)
  if #n == 0 or #n > M.MAX or n:find("[^a-z0-9_%-]") then
    return nil, ("'%s' is not an agent name (%s)"):format(#s > 80 and (s:sub(1, 80) .. "...") or s, M.RULE)
  end
  return n
end

-- The @mentions of a message: "@Rowan and @priya, @rowan" -> { "rowan", "priya" }.
-- A mention is '@' followed by name characters; longer than M.MAX it is not a name.
function M.mentions(message)
  local out, seen = {}, {}
  for m in message:gmatch("@([%w_%-]+)") do
    m = m:lower()
    if #m <= M.MAX and not seen[m] then
      seen[m] = true
      out[#out + 1] = m
    end
  end
  return out
end

return M
