-- Table-driven tests of notes_field_merge.lua, run the way the server runs it:
--   hostsync test examples/policies/notes_field_merge_test.lua
local pt = require "hostsync.policytest"
local t = require "hostsync.testing"
local sandbox = require "hostsync.sandbox"

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local POLICY = dir .. "notes_field_merge.lua"

local function item(level, payload, extra)
  local it = { entity_type = "note", entity_id = "n1", tenant_id = "home", truth_level = level, version = 3,
               last_modified_at = "2026-01-05T10:00:00Z", payload = payload }
  for k, v in pairs(extra or {}) do it[k] = v end
  return it
end

pt.cases(POLICY, {
  { name = "fields edited on different devices are both kept",
    local_item = item(1, { title = "groceries", body = "milk" }),
    remote_item = item(1, { title = "groceries", body = "milk", due = "friday" }, { version = 2 }),
    expect_winner = "remote", expect_event = { kind = "merged", rule = "merge" },
    expect = { item = { version = 2, payload = { title = "groceries", body = "milk", due = "friday" } } } },
  { name = "tags are merged as a set, first-seen order",
    local_item = item(1, { title = "t", tags = { "home", "food" } }),
    remote_item = item(1, { title = "t", tags = { "food", "urgent" } }),
    expect_winner = "remote", expect = { item = { payload = { tags = { "home", "food", "urgent" } } } } },
  { name = "a field changed on both sides keeps the stored value, the other is set aside",
    local_item = item(1, { title = "groceries", body = "milk" }),
    remote_item = item(1, { title = "Groceries!", body = "milk" }),
    expect_winner = "remote", expect_event = { kind = "merged", conflicts = { "title" } },
    expect = { item = { payload = { title = "groceries", merge_conflicts = { title = "Groceries!" } } } } },
  { name = "earlier conflicts set aside are kept by the next merge",
    local_item = item(1, { title = "a", merge_conflicts = { title = "b" } }),
    remote_item = item(1, { title = "a", body = "c", merge_conflicts = {} }),
    expect_winner = "remote", expect = { item = { payload = { merge_conflicts = { title = "b" }, body = "c" } } } },
  { name = "a stale write that adds nothing changes nothing",
    local_item = item(1, { title = "a", body = "b" }), remote_item = item(1, { title = "a" }),
    expect_winner = "same", expect_event = false },
  { name = "a user's note beats an AI edit, which stays a proposal",
    local_item = item(1, { title = "mine" }), remote_item = item(3, { title = "ai" }),
    expect_winner = "local", expect = { proposal = "remote" }, expect_event = { kind = "discarded" } },
  { name = "accepted AI content counts as the user's and merges",
    local_item = item(1, { title = "a" }), remote_item = item(3, { title = "a", body = "b" }, { accepted_by_user = true }),
    expect_winner = "remote", expect_event = { kind = "merged" } },
  { name = "a deletion does not merge: the stored version stands",
    local_item = item(1, { title = "a" }), remote_item = item(1, { title = "a" }, { deleted = true }),
    expect_winner = "local", expect_event = { kind = "conflict", rule = "stale" } },
  { name = "other entity types do not merge",
    local_item = item(1, { v = 1 }, { entity_type = "task" }), remote_item = item(1, { v = 2 }, { entity_type = "task" }),
    expect_winner = "local", expect_event = { kind = "conflict" } },
  { name = "different tenants are never compared",
    local_item = item(1, {}), remote_item = item(1, {}, { tenant_id = "x" }), expect_winner = "none" },

  { name = "a user writes its note", call = "check_write",
    args = { item(1, { title = "b" }), item(1, { title = "a" }), { writer_level = 1 } }, expect = { action = "apply" } },
  { name = "AI editing a user note: a proposal", call = "check_write",
    args = { item(3, { title = "b" }), item(1, { title = "a" }), { writer_level = 3 } }, expect = { action = "proposal" } },
  { name = "automation cannot delete a user note", call = "check_write",
    args = { item(2, {}, { deleted = true }), item(1, {}), { writer_level = 2 } }, expect = { action = "reject" } },
  { name = "a forged level is refused", call = "check_write",
    args = { item(1, {}), nil, { writer_level = 4 } }, expect = { action = "reject", rule = "forged" } },

  { name = "AI cloud reads views", call = "redacts", args = { { reader_level = 5 } }, expect = true },
  { name = "a user reads everything", call = "redacts", args = { { reader_level = 1 } }, expect = false },
})

t.test("a view leaves out what a merge set aside, and who wrote", function()
  local p = assert(sandbox.load(POLICY))
  local v = assert(p:call("redact", item(1, { title = "a", merge_conflicts = { title = "b" } },
    { origin_chain = { { level = 1, source = "user:phone", writer = { agent = "me" } } } }), { reader_level = 5 }))
  t.eq(v.payload, { title = "a" })
  t.eq(v.origin_chain, { { level = 1, source = "user:phone" } })
end)

t.test("nothing is lost: every field of both sides is in the merged note", function()
  local p = assert(sandbox.load(POLICY))
  local l = { title = "a", body = "b", tags = { "x" }, n = 1 }
  local r = { title = "A", due = "d", tags = { "y" }, n = 2 }
  local d = assert(p:call("decide", item(1, l), item(1, r)))
  local got = d.item.payload
  t.eq(got.title, "a"); t.eq(got.merge_conflicts, { title = "A", n = 2 })
  t.eq({ got.body, got.due, got.n }, { "b", "d", 1 })
  t.eq(got.tags, { "x", "y" })
end)
