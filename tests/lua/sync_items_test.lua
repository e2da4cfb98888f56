-- brain/sync_items.lua: what the sync server accepts in a pushed SyncItem, and the
-- identity-bound rules it enforces before any policy (docs/sync-contract.md).
local t = require "hostsync.testing"
local json = require "hostsync.json"
local items = require "brain.sync_items"

local NOW = "2026-11-23T12:00:00.000Z"
local USER = { tenant = "home", level = 1 }
local LOCAL_AI = { tenant = "home", level = 3 }

-- A pushed item as the server receives it (decoded JSON), overridable field by field.
local function raw(fields)
  local r = json.decode('{"mutation_id": "m1", "entity_type": "note", "entity_id": "n1", "payload": {"title": "x"}}')
  for k, v in pairs(fields or {}) do r[k] = v end
  return r
end

t.test("defaults come from the token and the server's clock", function()
  local it, payload_text, chain_text = items.normalise(raw(), LOCAL_AI, NOW)
  t.eq({ it.tenant_id, it.truth_level, it.last_modified_by_level, it.version, it.last_modified_at, it.deleted,
         it.accepted_by_user }, { "home", 3, 3, 0, NOW, false, false })
  t.eq(payload_text, '{"title":"x"}')
  t.eq(chain_text, "[]")
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
  local it, p, c = items.normalise(r, USER, NOW)
  local copy = items.for_policy(it, p, c)
  t.eq(copy.payload, { a = items.NULL_FOR_POLICY, b = { 1, items.NULL_FOR_POLICY } })
  t.eq(it.payload.a, json.null)   -- the stored item keeps the real null
  local plain = items.normalise(raw(), USER, NOW)
  t.ok(items.for_policy(plain, '{"title":"x"}', "[]") == plain, "no copy without a null")
end)

t.test("a feed entry is valid JSON with the item's fields", function()
  local it, p, c = items.normalise(raw({ origin_source = 'ai:"quoted"' }), USER, NOW)
  it.version = 42
  local entry = json.decode(items.feed_json("proposal", it, p, c, 41))
  t.eq(entry.kind, "proposal")
  t.eq(entry.version, 42)
  t.eq(entry.item.origin_source, 'ai:"quoted"')
  t.eq({ entry.item.version, entry.item.base_version, entry.item.tenant_id }, { 42, 41, "home" })
  t.eq(entry.item.payload, { title = "x" })
end)
