-- brain/sync_items.lua: what the sync server accepts in a pushed SyncItem, and the
-- identity-bound rules it enforces before any policy (docs/sync-contract.md).
local t = require "hostsync.testing"
local json = require "hostsync.json"
local items = require "brain.sync_items"

local NOW = items.clock("2026-11-23T12:00:00.000Z", 300)
local USER = { tenant = "home", level = 1, agent = "me" }
local LOCAL_AI = { tenant = "home", level = 3, agent = "llama" }

-- A pushed item as the server receives it (decoded JSON), overridable field by field.
local function raw(fields)
  local r = json.decode('{"mutation_id": "m1", "entity_type": "note", "entity_id": "n1", "payload": {"title": "x"}}')
  for k, v in pairs(fields or {}) do r[k] = v end
  return r
end

t.test("defaults come from the token and the server's clock", function()
  local it, payload_text, notes = items.normalise(raw(), LOCAL_AI, NOW)
  t.eq({ it.tenant_id, it.truth_level, it.last_modified_by_level, it.version, it.last_modified_at, it.deleted,
         it.accepted_by_user, it.origin_source }, { "home", 3, 3, 0, NOW.now, false, false, "ai-local:llama" })
  t.eq(payload_text, '{"title":"x"}')
  t.eq(notes, {})
end)

t.test("origin_source names the item's level; the chain is the client's claim only", function()
  local it, reason, code = items.normalise(raw({ origin_source = "user:web" }), LOCAL_AI, NOW)
  t.is_nil(it)
  t.match(reason, "^forged origin_source")
  t.eq(code, "forged_source")
  it, reason, code = items.normalise(raw({ origin_source = "laptop" }), USER, NOW)
  t.is_nil(it)
  t.match(reason, "must be LEVEL:NAME")
  t.is_nil(code)
  -- a user pushing local-AI output names the AI
  t.ok(items.normalise(raw({ origin_source = "ai-local:model-x", truth_level = 3 }), USER, NOW))
  local chain = json.decode('[{"level": 1, "source": "user:web"}, {"level": 3, "op": "edit"}]')
  local _, _, notes = items.normalise(raw({ origin_chain = chain }), LOCAL_AI, NOW)
  t.eq(notes.claim, { level = 3, op = "edit" })
  it, reason = items.normalise(raw({ origin_chain = json.decode("[1]") }), USER, NOW)
  t.is_nil(it)
  t.match(reason, "last link must be an object")
  it, reason = items.normalise(raw({ origin_chain = json.decode('[{"note": "' .. ("x"):rep(5000) .. '"}]') }), USER, NOW)
  t.is_nil(it)
  t.match(reason, "larger than 4096 bytes")
end)

t.test("a last_modified_at past the allowed skew is stored as the server's time", function()
  local within = items.normalise(raw({ last_modified_at = "2026-11-23T12:05:00Z" }), USER, NOW)
  t.eq(within.last_modified_at, "2026-11-23T12:05:00Z")
  local it, _, notes = items.normalise(raw({ last_modified_at = "2026-11-23T12:05:01Z" }), USER, NOW)
  t.eq({ it.last_modified_at, notes.claimed_at }, { NOW.now, "2026-11-23T12:05:01Z" })
  it, _, notes = items.normalise(raw({ last_modified_at = "9999-12-31T23:59:59+14:00" }), USER, items.clock(NOW.now, 0))
  t.eq({ it.last_modified_at, notes.claimed_at }, { NOW.now, "9999-12-31T23:59:59+14:00" })
  local past = items.normalise(raw({ last_modified_at = "1970-01-01T00:00:00Z" }), USER, NOW)
  t.eq(past.last_modified_at, "1970-01-01T00:00:00Z")   -- an old clock only loses comparisons
end)

t.test("accepts_proposal is a user's acceptance", function()
  local _, _, notes = items.normalise(raw({ accepted_by_user = true, accepts_proposal = 7 }), USER, NOW)
  t.eq(notes.accepts, 7)
  local it, reason = items.normalise(raw({ accepts_proposal = 7 }), USER, NOW)
  t.is_nil(it)
  t.match(reason, "needs accepted_by_user")
  it, reason = items.normalise(raw({ accepted_by_user = true, accepts_proposal = 0 }), USER, NOW)
  t.is_nil(it)
  t.match(reason, "accepts_proposal")
end)

t.test("the writer's level is recorded whatever the client claims", function()
  local it = items.normalise(raw({ truth_level = 5, last_modified_by_level = 1 }), LOCAL_AI, NOW)
  t.eq({ it.truth_level, it.last_modified_by_level }, { 5, 3 })
end)

t.test("identity: tenant, forged level, forged acceptance", function()
  local it, reason, code = items.normalise(raw({ tenant_id = "office" }), USER, NOW)
  t.is_nil(it)
  t.match(reason, "^cross%-tenant")
  t.eq(code, "cross_tenant")
  t.ok(items.normalise(raw({ tenant_id = "home" }), USER, NOW))
  it, reason, code = items.normalise(raw({ truth_level = 2 }), LOCAL_AI, NOW)
  t.is_nil(it)
  t.match(reason, "^forged truth level")
  t.eq(code, "forged_level")
  it, reason, code = items.normalise(raw({ accepted_by_user = true }), LOCAL_AI, NOW)
  t.is_nil(it)
  t.match(reason, "^forged accepted_by_user")
  t.eq(code, "forged_acceptance")
  t.ok(items.normalise(raw({ accepted_by_user = true, truth_level = 4 }), USER, NOW))
end)

t.test("malformed fields are named, and are not identity events", function()
  local cases = {
    { { entity_id = json.null }, "field 'entity_id' is required" },
    { { entity_type = 7 }, "field 'entity_type' must be a string" },
    { { entity_id = ("x"):rep(201) }, "longer than 200 bytes" },
    { { truth_level = 6 }, "field 'truth_level' must be an integer 1..5" },
    { { version = -1 }, "field 'version'" },
    { { deleted = "yes" }, "field 'deleted' must be a boolean" },
    { { last_modified_at = "2026-11-23T12:00:00" }, "field 'last_modified_at' is not RFC 3339" },
    { { payload = json.decode("[1]") }, "field 'payload' must be an object" },
    { { origin_chain = json.decode("{}") }, nil },   -- {} decodes as an empty object: accepted as empty
    { { origin_chain = "x" }, "field 'origin_chain' must be an array" },
    { { payload = { s = "a\0b" } }, "U+0000" },
  }
  for _, c in ipairs(cases) do
    local it, reason, code = items.normalise(raw(c[1]), USER, NOW)
    if c[2] then
      t.is_nil(it, c[2])
      t.match(reason, c[2]:gsub("%p", "%%%0"))
      t.is_nil(code)
    else
      t.ok(it)
    end
  end
  t.eq(select(2, items.mutation_id(json.decode("[1]"))), "item must be a JSON object")
  t.eq(select(2, items.mutation_id(raw({ mutation_id = json.null }))), "field 'mutation_id' is required (string)")
end)

t.test("a policy never receives json.null (it cannot cross into the sandbox)", function()
  local r = raw({ payload = json.decode('{"a": null, "b": [1, null]}') })
  local it, p = items.normalise(r, USER, NOW)
  it.origin_chain = json.array()
  local copy = items.for_policy(it, p, "[]")
  t.eq(copy.payload, { a = items.NULL_FOR_POLICY, b = { 1, items.NULL_FOR_POLICY } })
  t.eq(it.payload.a, json.null)   -- the stored item keeps the real null
  local plain = items.normalise(raw(), USER, NOW)
  t.ok(items.for_policy(plain, '{"title":"x"}', "[]") == plain, "no copy without a null")
end)

t.test("a feed entry is valid JSON with the item's fields", function()
  local it, p = items.normalise(raw({ origin_source = 'user:"quoted"' }), USER, NOW)
  it.version = 42
  local entry = json.decode(items.feed_json("proposal", 44, items.item_json(it, p, "[]", items.proposal_extra(41, "open"))))
  t.eq(entry.kind, "proposal")
  t.eq(entry.version, 44)
  t.eq(entry.item.origin_source, 'user:"quoted"')
  t.eq({ entry.item.version, entry.item.base_version, entry.item.tenant_id, entry.item.status }, { 42, 41, "home", "open" })
  t.eq(entry.item.payload, { title = "x" })
end)

t.test("a payload nested deeper than the server answers is refused, by name", function()
  local deep = {}
  local cur = deep
  for _ = 1, items.MAX_PAYLOAD_DEPTH do cur.k = {} cur = cur.k end   -- one level too many
  local it, reason = items.normalise(raw({ payload = deep }), USER, NOW)
  t.is_nil(it)
  t.eq(reason, ("field 'payload' nests deeper than %d levels"):format(items.MAX_PAYLOAD_DEPTH))
  local ok_depth = {}
  cur = ok_depth
  for _ = 1, items.MAX_PAYLOAD_DEPTH - 1 do cur.k = {} cur = cur.k end
  t.ok(items.normalise(raw({ payload = ok_depth }), USER, NOW))
end)
