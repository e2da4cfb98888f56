-- Table-driven tests of ai_always_proposes.lua, run the way the server runs it:
--   hostsync test examples/policies/ai_always_proposes_test.lua
local pt = require "hostsync.policytest"
local t = require "hostsync.testing"
local sandbox = require "hostsync.sandbox"

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local POLICY = dir .. "ai_always_proposes.lua"

local OLD, NEW = "2026-01-05T10:00:00Z", "2026-01-05T11:00:00+01:00"   -- the same instant
local LATER = "2026-01-05T10:30:00Z"

local function note(level, at, extra)
  local it = { entity_type = "note", entity_id = "n1", tenant_id = "home", truth_level = level,
               version = 1, last_modified_at = at, payload = { title = "groceries" } }
  for k, v in pairs(extra or {}) do it[k] = v end
  return it
end

local function write(name, item, existing, writer, want)
  return { name = name, call = "check_write", args = { item, existing, { writer_level = writer } }, expect = want }
end

pt.cases(POLICY, {
  write("local AI creating a note: a proposal", note(3, LATER), nil, 3, { action = "proposal", rule = "ai" }),
  write("LAN AI editing AI content: a proposal", note(4, LATER), note(4, OLD), 4,
        { action = "proposal", event = { kind = "proposal", writer_level = 4 } }),
  write("cloud AI deleting: a proposal", note(5, LATER, { deleted = true }), note(3, OLD), 5, { action = "proposal" }),
  write("a user writes directly", note(1, LATER), note(1, OLD), 1, { action = "apply" }),
  write("automation writes its own content", note(2, LATER), note(2, OLD), 2, { action = "apply" }),
  write("automation changing user content: a proposal", note(2, LATER, { payload = { title = "x" } }), note(1, OLD), 2,
        { action = "proposal", rule = "user-content" }),
  write("automation cannot delete user content", note(2, LATER, { deleted = true }), note(1, OLD), 2,
        { action = "reject", rule = "user-content" }),
  write("automation cannot change a protected field", note(2, LATER, { payload = { owner_id = "u2" } }),
        note(2, OLD, { payload = { owner_id = "u1" } }), 2, { action = "reject", event = { field = "owner_id" } }),
  write("an AI token claiming user level is refused", note(1, LATER), nil, 3, { action = "reject", rule = "forged" }),
  write("an AI cannot accept its own output", note(3, LATER, { accepted_by_user = true }), nil, 3,
        { action = "reject", rule = "accept" }),
  write("a user accepting AI output makes it user content", note(3, LATER, { accepted_by_user = true }), nil, 1,
        { action = "apply", rule = "accept", item = { truth_level = 1, accepted_by_user = true } }),
  write("the tenant cannot change", note(1, LATER, { tenant_id = "other" }), note(1, OLD), 1, { action = "reject" }),
  { name = "an invalid level is an error, not a decision", call = "check_write",
    args = { note(9, LATER), nil, { writer_level = 1 } }, expect_error = "invalid truth_level" },

  { name = "a stale user write beats AI content, which stays a proposal",
    local_item = note(3, LATER), remote_item = note(1, OLD, { payload = { title = "mine" } }),
    expect_winner = "remote", expect = { proposal = "local" }, expect_event = { kind = "discarded", discarded_level = 3 } },
  { name = "equal levels: the later write wins, offsets compared as instants",
    local_item = note(1, LATER), remote_item = note(1, NEW, { payload = { title = "b" } }),
    expect_winner = "local", expect_event = { kind = "conflict" } },
  { name = "different tenants are never compared",
    local_item = note(1, OLD), remote_item = note(1, OLD, { tenant_id = "x" }), expect_winner = "none" },
  { name = "a time without a zone is an error",
    local_item = note(1, "2026-01-05T10:00:00"), remote_item = note(1, OLD), expect_error = "no time zone" },

  { name = "AI cloud reads views", call = "redacts", args = { { reader_level = 5 } }, expect = true },
  { name = "AI LAN reads everything", call = "redacts", args = { { reader_level = 4 } }, expect = false },
  { name = "a view hides protected fields and writers", call = "redact",
    args = { note(1, OLD, { payload = { title = "t", api_key = "k" },
                             origin_chain = { { level = 1, source = "user:phone", writer = { agent = "me" } } } }),
             { reader_level = 5 } },
    expect = { payload = { title = "t" }, origin_chain = { { level = 1, source = "user:phone" } } } },
})

t.test("a view really drops the protected field (not just a subset match)", function()
  local p = assert(sandbox.load(POLICY))
  local v = assert(p:call("redact", note(1, OLD, { payload = { title = "t", api_key = "k" } }), { reader_level = 5 }))
  t.eq(v.payload, { title = "t" })
end)

t.test("decide is symmetric over levels, times and contents", function()
  local p = assert(sandbox.load(POLICY))
  local flip = { ["local"] = "remote", remote = "local" }
  for a = 1, 5 do
    for b = 1, 5 do
      for _, at in ipairs({ { OLD, LATER }, { LATER, OLD }, { OLD, NEW } }) do
        local x = note(a, at[1], { payload = { title = "x" } })
        local y = note(b, at[2], { payload = { title = "y" } })
        local d1, d2 = assert(p:call("decide", x, y)), assert(p:call("decide", y, x))
        t.eq(d2.winner, flip[d1.winner], ("levels %d/%d at %s/%s"):format(a, b, at[1], at[2]))
      end
    end
  end
end)
