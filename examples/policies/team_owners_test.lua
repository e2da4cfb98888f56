-- Table-driven tests of team_owners.lua, the way push.lua calls it (in the sandbox):
--   hostsync test examples/policies/team_owners_test.lua
local pt = require "hostsync.policytest"
local t = require "hostsync.testing"
local sandbox = require "hostsync.sandbox"

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local POLICY = dir .. "team_owners.lua"

local function resolve(name, path, me, want)
  return { name = name, call = "resolve", args = { path, me }, expect = want }
end

pt.cases(POLICY, {
  resolve("the owner pushing keeps its side", "design/home.fig", "priya", "mine"),
  resolve("anyone else takes the owner's (upstream) side", "design/home.fig", "rowan", "upstream"),
  resolve("an unanchored pattern matches at any depth", "web/theme/site.css", "priya", "mine"),
  resolve("the last matching rule wins (/content/ after *.css)", "content/site.css", "rowan", "mine"),
  resolve("... so the earlier rule's owner is not one there", "content/site.css", "priya", "upstream"),
  resolve("either of two owners keeps its side", "mobile/ui-kit/button.tsx", "priya", "mine"),
  resolve("... and so does the other", "mobile/ui-kit/button.tsx", "milo", "mine"),
  resolve("a non-owner of a shared path takes the owners' side", "mobile/ui-kit/button.tsx", "grace", "upstream"),
  resolve("the broader rule still holds next to the shared path", "mobile/app.tsx", "priya", "upstream"),
  { name = "an un-owned hole in a broad rule goes to the coordinator", call = "resolve",
    args = { "content/generated/index.html", "rowan" }, expect_error = "returned nil" },
  { name = "a path no rule covers goes to the coordinator", call = "resolve",
    args = { "README.md", "priya" }, expect_error = "returned nil" },
  { name = "an anchored directory does not match deeper down", call = "resolve",
    args = { "docs/design/notes.md", "priya" }, expect_error = "returned nil" },
  { name = "a directory name is not a prefix of a longer name", call = "resolve",
    args = { "designs.md", "priya" }, expect_error = "returned nil" },
  { name = "owner() names the first owner, for push.lua's message", call = "owner",
    args = { "mobile/ui-kit/x.tsx" }, expect = "milo" },
})

t.test("the coordinator is a setting push.lua reads", function()
  local p = assert(sandbox.load(POLICY))
  t.eq(p:get("coordinator"), "marcus")
end)

t.test("a malformed owners line stops the load, naming the line", function()
  local text = t.read_file(POLICY)
  local broken = text:gsub("/seo/               @grace", "/seo/ grace", 1)
  t.ne(broken, text)
  local path = t.tmpdir() .. "/broken_owners.lua"
  t.write_file(path, broken)
  t.fails('owners line 6: "grace" is not an @owner', sandbox.load(path))
end)
