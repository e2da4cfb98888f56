-- brain/names.lua: the agent-name rule the server and the scripts share (docs/brain.md,
-- "Agent names").
local t = require "hostsync.testing"
local names = require "brain.names"

t.test("one agent however it is spelled", function()
  for _, s in ipairs { "@Milo", "milo", "Milo", "MILO", "@milo" } do t.eq(names.agent(s), "milo", s) end
  t.eq(names.agent("grace_2-b"), "grace_2-b")
  t.eq(names.normalize("@@Milo"), "@milo", "one '@' is dropped; the second is not a name character")
  t.eq(names.agent(("a"):rep(64)), ("a"):rep(64))
end)

t.test("anything else is refused, saying the rule", function()
  for _, s in ipairs { "", "@", "mi lo", "milo.dev", "@@milo", "mílo", "Ｍilo", ("a"):rep(65), "milo\0", "a/b" } do
    local n, why = names.agent(s)
    t.is_nil(n, s)
    t.match(why, "is not an agent name %(1 to 64 of a%-z, 0%-9, '_' and '%-', after dropping a leading '@' and lowercasing A%-Z%)$")
  end
  local _, why = names.agent(("x"):rep(200))
  t.match(why, "^'" .. ("x"):rep(80) .. "%.%.%.' is not")
  t.eq(select(2, names.agent(7)), "an agent name must be a string")
end)

t.test("mentions: normalized, each once, in order; too long is not a name", function()
  t.eq(names.mentions("Good morning @Rowan and @priya, @ROWAN again (mail: x@example.com)"), { "rowan", "priya", "example" })
  t.eq(names.mentions("@" .. ("a"):rep(65) .. " @ok"), { "ok" })
  t.eq(names.mentions("no mentions here @ alone"), {})
end)
