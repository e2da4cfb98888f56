-- Every rule of sections 6.3 and 7 of the sync contract, table-driven, against
-- policies/truth_hierarchy.lua running in the sandbox as the host runs it.
local pt = require "hostsync.policytest"

local SRC = assert(os.getenv("HOSTSYNC_SOURCE_DIR"), "HOSTSYNC_SOURCE_DIR is set by ctest")
local POLICY = SRC .. "/policies/truth_hierarchy.lua"

local SOURCES = { "user:desktop", "automation:rule-1", "ai-local:model-x", "ai-lan:box", "ai-cloud:llama" }

-- A SyncItem of note n-1 in tenant t-1, overridable field by field.
local function item(level, at, fields)
  local source = SOURCES[level] or "bogus"
  local it = {
    entity_type = "note", entity_id = "n-1", tenant_id = "t-1",
    truth_level = level, origin_source = source,
    origin_chain = { { level = level, source = source, timestamp = at } },
    version = 1, last_modified_at = at, payload = { title = "from " .. source },
    deleted = false, accepted_by_user = false, last_modified_by_level = level,
  }
  for k, v in pairs(fields or {}) do it[k] = v end
  return it
end

local OLD, NEW = "2025-11-24T16:00:00Z", "2025-11-24T17:00:00Z"

local cases = {
  -- 6.3.1
  { name = "6.3.1 different tenants are never compared",
    local_item = item(1, NEW), remote_item = item(5, NEW, { tenant_id = "t-2" }),
    expect_winner = "none",
    expect_event = { kind = "cross_tenant", local_tenant = "t-1", remote_tenant = "t-2" },
    expect = { item = nil } },
  -- 6.3.2 deletion rule
  { name = "6.3.2 U1 delete beats an older-or-newer A2 update",
    local_item = item(1, OLD, { deleted = true }), remote_item = item(2, NEW),
    expect_winner = "local", expect_event = { kind = "discarded", rule = "6.3.2", discarded_level = 2 } },
  { name = "6.3.2 a newer AI deletion does not remove U1 content",
    local_item = item(1, OLD), remote_item = item(3, NEW, { deleted = true }),
    expect_winner = "local", expect_event = { kind = "discarded", rule = "6.3.2", discarded_level = 3 } },
  { name = "6.3.2 A2 delete beats a cloud AI update",
    local_item = item(5, NEW), remote_item = item(2, OLD, { deleted = true }),
    expect_winner = "remote", expect_event = { kind = "discarded", winner = "remote", discarded_level = 5 } },
  { name = "6.3.2 both U1: the more recent update beats an older delete",
    local_item = item(1, OLD, { deleted = true }), remote_item = item(1, NEW),
    expect_winner = "remote", expect_event = { kind = "conflict", rule = "6.3.2" } },
  { name = "6.3.2 both U1: the more recent delete beats an older update",
    local_item = item(1, NEW, { deleted = true }), remote_item = item(1, OLD),
    expect_winner = "local", expect_event = { kind = "conflict", rule = "6.3.2" } },
  { name = "6.3.2 accepted AI deletion counts as U1 (upgrade rule)",
    local_item = item(1, OLD), remote_item = item(4, NEW, { deleted = true, accepted_by_user = true }),
    expect_winner = "remote", expect_event = { kind = "conflict", upgraded = "remote" },
    expect = { item = { truth_level = 1, deleted = true } } },
  { name = "6.3.2 both deleted: nothing to resolve",
    local_item = item(1, OLD, { deleted = true }), remote_item = item(3, NEW, { deleted = true }),
    expect_winner = "same", expect_event = false },
  -- 6.3.3 case A
  { name = "6.3.3A U1 beats a newer A2 update (discarded, no proposal)",
    local_item = item(1, OLD), remote_item = item(2, NEW),
    expect_winner = "local", expect_event = { kind = "discarded", rule = "6.3.3A", discarded_level = 2 },
    expect = { proposal = nil } },
  { name = "6.3.3A U1 beats a newer L3 update, which stays a proposal",
    local_item = item(1, OLD), remote_item = item(3, NEW),
    expect_winner = "local", expect_event = { kind = "discarded", proposal = "remote" },
    expect = { proposal = "remote", item = { truth_level = 1, origin_source = "user:desktop" } } },
  { name = "6.3.3A remote U1 beats a local LN4",
    local_item = item(4, NEW), remote_item = item(1, OLD),
    expect_winner = "remote", expect_event = { kind = "discarded", winner = "remote" },
    expect = { proposal = "local" } },
  { name = "6.3.3A U1 beats C5",
    local_item = item(5, NEW), remote_item = item(1, OLD),
    expect_winner = "remote", expect_event = { kind = "discarded", discarded_level = 5 } },
  { name = "6.3.3A/6.3.4 the user accepted the other side: it is U1, last write wins",
    local_item = item(1, OLD), remote_item = item(5, NEW, { accepted_by_user = true }),
    expect_winner = "remote", expect_event = { kind = "conflict", rule = "6.3.3B", upgraded = "remote" },
    expect = { item = { truth_level = 1, last_modified_by_level = 1,
                        origin_chain = { [2] = { level = 1, from_level = 5, source = "upgrade:accepted_by_user" } } } } },
  -- 6.3.3 case B
  { name = "6.3.3B both U1: last write wins (remote newer), conflict logged",
    local_item = item(1, OLD), remote_item = item(1, NEW, { payload = { title = "b" }, version = 2 }),
    expect_winner = "remote",
    expect_event = { kind = "conflict", rule = "6.3.3B", local_version = 1, remote_version = 2,
                     tenant_id = "t-1", entity_id = "n-1", entity_type = "note" } },
  { name = "6.3.3B both U1: last write wins (local newer)",
    local_item = item(1, NEW, { payload = { title = "a" } }), remote_item = item(1, OLD),
    expect_winner = "local", expect_event = { kind = "conflict", winner = "local" } },
  { name = "6.3.3B time zones are compared as instants",
    local_item = item(1, "2025-11-24T18:30:00+02:00", { payload = { title = "a" } }),
    remote_item = item(1, "2025-11-24T16:45:00Z"),
    expect_winner = "remote", expect_event = { kind = "conflict" } },
  { name = "6.3.3B equal times: the tie-break is by version",
    local_item = item(1, NEW, { payload = { title = "a" }, version = 3 }), remote_item = item(1, NEW, { version = 2 }),
    expect_winner = "local", expect_event = { kind = "conflict" } },
  { name = "6.3.3 identical content: nothing to resolve, no event",
    local_item = item(1, OLD), remote_item = item(1, NEW),
    expect_winner = "same", expect_event = false },
  -- 6.3.3 case C
  { name = "6.3.3C A2 beats a newer L3",
    local_item = item(2, OLD), remote_item = item(3, NEW),
    expect_winner = "local", expect_event = { kind = "discarded", rule = "6.3.3C", discarded_level = 3 },
    expect = { proposal = nil } },
  { name = "6.3.3C L3 (local) beats LN4 (network)",
    local_item = item(4, NEW), remote_item = item(3, OLD),
    expect_winner = "remote", expect_event = { kind = "discarded", discarded_level = 4 } },
  { name = "6.3.3C LN4 (network) beats C5 (cloud)",
    local_item = item(4, OLD), remote_item = item(5, NEW),
    expect_winner = "local", expect_event = { kind = "discarded", discarded_level = 5 } },
  { name = "6.3.3C same level: last write wins",
    local_item = item(3, NEW, { payload = { title = "a" } }), remote_item = item(3, OLD),
    expect_winner = "local", expect_event = { kind = "conflict", rule = "6.3.3C" } },
  -- 6.3.4 upgrade rule
  { name = "6.3.4 accepted_by_user sets truth_level 1 on the winner",
    local_item = item(3, OLD), remote_item = item(5, NEW, { accepted_by_user = true }),
    expect_winner = "remote", expect_event = { kind = "discarded", upgraded = "remote", discarded_level = 3 },
    expect = { item = { truth_level = 1 } } },
  { name = "6.3.4 an upgrade alone (same content) is logged",
    local_item = item(1, OLD, { payload = { title = "x" } }),
    remote_item = item(3, NEW, { payload = { title = "x" }, accepted_by_user = true }),
    expect_winner = "same", expect_event = { kind = "upgrade", upgraded = "remote" } },
  -- invalid input is an error, not a decision
  { name = "an invalid truth_level is refused",
    local_item = item(1, OLD), remote_item = item(7, NEW), expect_error = "invalid truth_level" },
  { name = "two different entities are refused",
    local_item = item(1, OLD), remote_item = item(1, NEW, { entity_id = "n-2" }), expect_error = "one entity" },

  -- section 7 write rules: check_write(item, existing, { writer_level = token's level })
  { name = "7.1 U1 can write anywhere, even protected fields",
    call = "check_write", args = { item(1, NEW, { payload = { owner_id = "u-2" } }), item(1, OLD), { writer_level = 1 } },
    expect = { action = "apply", rule = "7.1" } },
  { name = "7 a forged truth level is refused",
    call = "check_write", args = { item(1, NEW), item(1, OLD), { writer_level = 5 } },
    expect = { action = "reject", event = { kind = "write_rejected", writer_level = 5 } } },
  { name = "3 only a user can set accepted_by_user",
    call = "check_write", args = { item(3, NEW, { accepted_by_user = true }), nil, { writer_level = 3 } },
    expect = { action = "reject", rule = "3" } },
  { name = "7.2 automation cannot change ownership",
    call = "check_write", args = { item(2, NEW, { payload = { owner_id = "u-9" } }), item(2, OLD, { payload = { owner_id = "u-1" } }), { writer_level = 2 } },
    expect = { action = "reject", rule = "7.2", event = { field = "owner_id", field_class = "ownership" } } },
  { name = "7.2 automation cannot change tenant membership",
    call = "check_write", args = { item(2, NEW, { tenant_id = "t-2" }), item(2, OLD), { writer_level = 2 } },
    expect = { action = "reject", rule = "7.2" } },
  { name = "7.3 AI cannot change a billing field",
    call = "check_write", args = { item(5, NEW, { payload = { plan = "pro" } }), item(5, OLD, { payload = { plan = "free" } }), { writer_level = 5 } },
    expect = { action = "reject", rule = "7.3", event = { field_class = "billing" } } },
  { name = "7.3 AI cannot change a security field",
    call = "check_write", args = { item(3, NEW, { payload = { permissions = "all" } }), nil, { writer_level = 3 } },
    expect = { action = "reject", event = { field = "permissions", field_class = "security" } } },
  { name = "7 field classes come from the context when given",
    call = "check_write", args = { item(4, NEW, { payload = { salary = 1 } }), nil, { writer_level = 4, field_classes = { salary = "billing" } } },
    expect = { action = "reject", event = { field = "salary" } } },
  { name = "7.2 automation cannot hard-delete a U1 entity",
    call = "check_write", args = { item(2, NEW, { deleted = true }), item(1, OLD), { writer_level = 2 } },
    expect = { action = "reject", rule = "7.2", event = { kind = "write_rejected" } } },
  { name = "7.2 automation may delete its own (A2) entity",
    call = "check_write", args = { item(2, NEW, { deleted = true }), item(2, OLD), { writer_level = 2 } },
    expect = { action = "apply" } },
  { name = "7.3 an AI deletion of U1 content becomes a proposal",
    call = "check_write", args = { item(3, NEW, { deleted = true }), item(1, OLD), { writer_level = 3 } },
    expect = { action = "proposal", event = { kind = "proposal" } } },
  { name = "7.3 AI never replaces U1 content: a proposal",
    call = "check_write", args = { item(5, NEW, { payload = { title = "better" } }), item(1, OLD), { writer_level = 5 } },
    expect = { action = "proposal", rule = "7.3", event = { kind = "proposal", writer_level = 5 } } },
  { name = "7.3 ... also when the U1 content was accepted AI output",
    call = "check_write", args = { item(4, NEW, { payload = { title = "v2" } }), item(4, OLD, { accepted_by_user = true }), { writer_level = 4 } },
    expect = { action = "proposal" } },
  { name = "5.2 automation rewriting U1 content becomes a proposal",
    call = "check_write", args = { item(2, NEW, { payload = { title = "auto" } }), item(1, OLD), { writer_level = 2 } },
    expect = { action = "proposal", rule = "5.2" } },
  { name = "7.2 automation may update system fields of U1 content, which keeps its authority",
    call = "check_write", args = { item(2, NEW, { payload = { title = "from user:desktop", status = "done" } }),
                                   item(1, OLD), { writer_level = 2 } },
    expect = { action = "apply", rule = "7.2",
               item = { truth_level = 1, origin_source = "user:desktop", last_modified_at = OLD,
                        accepted_by_user = false, payload = { title = "from user:desktop", status = "done" } },
               event = { kind = "system_update", fields = { "status" }, kept_level = 1, writer_level = 2 } } },
  { name = "5.2 a system-field update keeps accepted AI content U1 (accepted_by_user stays)",
    call = "check_write", args = { item(3, NEW, { payload = { title = "from ai-local:model-x", metrics = 3 } }),
                                   item(4, OLD, { truth_level = 1, accepted_by_user = true, payload = { title = "from ai-local:model-x" } }),
                                   { writer_level = 3 } },
    expect = { action = "apply", rule = "5.2", item = { truth_level = 1, accepted_by_user = true } } },
  { name = "7 a system-field update does not raise authority either (A2 on L3 content)",
    call = "check_write", args = { item(2, NEW, { payload = { title = "from ai-local:model-x", status = "x" } }),
                                   item(3, OLD), { writer_level = 2 } },
    expect = { action = "apply", item = { truth_level = 3, origin_source = "ai-local:model-x" },
               event = { kind = "system_update", kept_level = 3 } } },
  { name = "6.3.4 an accepted write is upgraded by check_write (the one place of the rule)",
    call = "check_write", args = { item(3, NEW, { accepted_by_user = true }), item(1, OLD), { writer_level = 1 } },
    expect = { action = "apply", rule = "6.3.4", event = { kind = "upgrade", from_level = 3 },
               item = { truth_level = 1, last_modified_by_level = 1,
                        origin_chain = { [2] = { level = 1, source = "upgrade:accepted_by_user", from_level = 3 } } } } },
  { name = "7.3 hidden fields AI cloud left out of its write are kept, not deleted",
    call = "check_write", args = { item(5, NEW, { payload = { title = "cloud" } }),
                                   item(5, OLD, { payload = { title = "old", api_key = "k", plan = "p" } }),
                                   { writer_level = 5, vault_mode = "cloud_first" } },
    expect = { action = "apply", item = { payload = { title = "cloud", api_key = "k", plan = "p" } } } },
  { name = "7.3 ... but a hidden field AI cloud does send is still a protected change",
    call = "check_write", args = { item(5, NEW, { payload = { title = "cloud", api_key = "mine" } }),
                                   item(5, OLD, { payload = { title = "old", api_key = "k" } }),
                                   { writer_level = 5, vault_mode = "cloud_first" } },
    expect = { action = "reject", event = { field = "api_key" } } },
  { name = "7.3 hidden fields are kept in a proposal too",
    call = "check_write", args = { item(5, NEW, { payload = { title = "cloud" } }),
                                   item(1, OLD, { payload = { title = "mine", permissions = "all" } }),
                                   { writer_level = 5, vault_mode = "local_first" } },
    expect = { action = "proposal", item = { payload = { title = "cloud", permissions = "all" } } } },
  { name = "7.3 lower levels see everything: nothing is kept for them",
    call = "check_write", args = { item(3, NEW, { payload = { title = "ai" } }), item(3, OLD, { payload = { title = "x", plan = "p" } }),
                                   { writer_level = 3 } },
    expect = { action = "reject", event = { field = "plan" } } },
  -- section 7.3: redacted views
  { name = "7.3 AI cloud reads redacted views", call = "redacts", args = { { reader_level = 5 } }, expect = true },
  { name = "7.3 AI LAN reads everything", call = "redacts", args = { { reader_level = 4 } }, expect = false },
  { name = "7.3 the view hides protected fields and writer identities",
    call = "redact", args = { item(1, OLD, { payload = { title = "t", api_key = "k", owner_id = "u", price = 3 },
                                            origin_chain = { { level = 1, source = "user:desktop", writer = { agent = "me" },
                                                               claimed = { level = 1 } } } }),
                              { reader_level = 5 } },
    expect = { payload = { title = "t" }, origin_chain = { { level = 1, source = "user:desktop" } } } },
  { name = "7.3 field classes of the context count for redaction too",
    call = "redact", args = { item(1, OLD, { payload = { title = "t", salary = 1 } }),
                              { reader_level = 5, field_classes = { salary = "billing" } } },
    expect = { payload = { title = "t" } } },
  { name = "7.3 AI may create new content",
    call = "check_write", args = { item(5, NEW), nil, { writer_level = 5 } }, expect = { action = "apply" } },
  { name = "7 a writer may claim less authority than its token (user pushing local AI output)",
    call = "check_write", args = { item(3, NEW), nil, { writer_level = 1 } }, expect = { action = "apply" } },
  -- section 8: vault_mode
  { name = "8.1 local_first: an AI cloud write, even new content, is a proposal",
    call = "check_write", args = { item(5, NEW), nil, { writer_level = 5, vault_mode = "local_first" } },
    expect = { action = "proposal", rule = "8.1", event = { kind = "proposal", vault_mode = "local_first" } } },
  { name = "8.1 local_first: AI cloud on AI cloud content is a proposal too",
    call = "check_write", args = { item(5, NEW, { payload = { title = "v2" } }), item(5, OLD), { writer_level = 5, vault_mode = "local_first" } },
    expect = { action = "proposal", rule = "8.1" } },
  { name = "8.1 local_first: a protected field is still a rejection, not a proposal",
    call = "check_write", args = { item(5, NEW, { payload = { plan = "pro" } }), nil, { writer_level = 5, vault_mode = "local_first" } },
    expect = { action = "reject", rule = "7.3" } },
  { name = "8.1 local_first does not affect AI LAN",
    call = "check_write", args = { item(4, NEW), nil, { writer_level = 4, vault_mode = "local_first" } },
    expect = { action = "apply" } },
  { name = "8.2 cloud_first: AI cloud new content is applied",
    call = "check_write", args = { item(5, NEW), nil, { writer_level = 5, vault_mode = "cloud_first" } },
    expect = { action = "apply" } },
  { name = "8.2 cloud_first: AI cloud still never replaces U1 content",
    call = "check_write", args = { item(5, NEW, { payload = { title = "x" } }), item(1, OLD), { writer_level = 5, vault_mode = "cloud_first" } },
    expect = { action = "proposal", rule = "7.3" } },
  { name = "7 writer_level defaults to the item's truth_level",
    call = "check_write", args = { item(3, NEW, { payload = { title = "x" } }), item(1, OLD) },
    expect = { action = "proposal" } },
}

pt.cases(POLICY, cases)

-- decide() must not depend on which side is local: swapping sides swaps the winner.
local t = require "hostsync.testing"
local sandbox = require "hostsync.sandbox"
t.test("decide is symmetric over every pair of levels and orders", function()
  local p = assert(sandbox.load(POLICY))
  local flip = { ["local"] = "remote", remote = "local", same = "same", none = "none" }
  for a = 1, 5 do
    for b = 1, 5 do
      for _, times in ipairs({ { OLD, NEW }, { NEW, OLD }, { NEW, NEW } }) do
        for _, del in ipairs({ { false, false }, { true, false }, { false, true } }) do
          local x = item(a, times[1], { deleted = del[1], payload = { v = "x" } })
          local y = item(b, times[2], { deleted = del[2], payload = { v = "y" } })
          local d1 = assert(p:call("decide", x, y))
          local d2 = assert(p:call("decide", y, x))
          t.eq(d2.winner, flip[d1.winner], ("levels %d/%d %s/%s"):format(a, b, times[1], times[2]))
          t.eq(d1.item, d2.item)
        end
      end
    end
  end
end)

t.test("check_write returns no item when the incoming one is stored as it is", function()
  local p = assert(sandbox.load(POLICY))
  local cases = {
    { "an ordinary write", item(3, NEW, { payload = { title = "v2" } }), item(3, OLD), 3 },
    { "a deletion with a system field is not a system-field update",
      item(2, NEW, { deleted = true, payload = { title = "from ai-local:model-x", status = "x" } }), item(3, OLD), 2 },
    { "a user's write", item(1, NEW, { payload = { status = "x" } }), item(3, OLD), 1 },
  }
  for _, c in ipairs(cases) do
    local d = assert(p:call("check_write", c[2], c[3], { writer_level = c[4] }))
    t.eq({ d.action, d.item, d.event }, { "apply", nil, nil }, c[1])
  end
end)
