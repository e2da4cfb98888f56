-- brain/migrations.lua, version 7: proposals written before it get a feed position and
-- a status in their feed entry, on a real SQLite file.
local t = require "hostsync.testing"
local db = require "hostsync.db"
local json = require "hostsync.json"
local migrations = require "brain.migrations"

t.test("migration 7 gives older proposals a feed position and their status", function()
  local h = assert(db.open("sqlite:" .. t.tmpdir() .. "/brain.sqlite"))
  local all = migrations("sqlite")
  assert(db.migrate(h, { unpack(all, 1, 4) }))
  -- Two proposals as version 4 wrote them: one open, one resolved.
  for _, p in ipairs { { 7, "open" }, { 9, "resolved" } } do
    local entry = ('{"kind":"proposal","version":%d,"item":{"entity_type":"note","entity_id":"n1","version":%d,'
      .. '"payload":{},"base_version":3}}'):format(p[1], p[1])
    assert(h:exec([[INSERT INTO sync_proposals(tenant, version, entity_type, entity_id, truth_level, origin_chain,
        last_modified_at, payload, deleted, accepted_by_user, last_modified_by_level, base_version, status, feed_json)
      VALUES ('home', ?, 'note', 'n1', 3, '[]', '2026-01-01T00:00:00Z', '{}', 0, 0, 3, 3, ?, ?)]], p[1], p[2], entry))
  end
  assert(db.migrate(h, all))
  local rows = assert(h:query("SELECT version, feed_version, feed_json FROM sync_proposals ORDER BY version"))
  t.eq(#rows, 2)
  for i, want in ipairs { { 7, "open" }, { 9, "resolved" } } do
    local entry = assert(json.decode(rows[i].feed_json))
    t.eq({ rows[i].feed_version, entry.version, entry.item.status, entry.item.base_version },
         { want[1], want[1], want[2], 3 })
  end
  h:close()
end)
