-- hostsync run brain_v7.lua URL SECRET_MILO SECRET_MARCUS: a brain database as version 7
-- left it (migrations 1..7), holding what migration 8 must convert: agent names spelled
-- several ways ('@Milo', 'Marcus', '@MILO'), a 'pending' task, a lock held by '@Milo',
-- a tombstone without its new timestamp. Ids start at 1 (fresh tables: task 1 is the
-- pending one, handoff 1, token 1 milo's). Prints "ok".
local db = require "hostsync.db"
local hash = require "hostsync.hash"
local migrations = require "brain.migrations"

local url, milo, marcus = arg[1], arg[2], arg[3]
local h = assert(db.open(url))
local all = migrations(h:backend())
assert(db.migrate(h, { unpack(all, 1, 7) }))
local T = "2026-01-01T00:00:00.000Z"
local function exec(sql, ...) assert(h:exec(sql, ...)) end
exec("INSERT INTO tokens(token_sha256, ai, agent, machine, projects, created_at) VALUES (?, 'gemini', '@Milo', 'm2', '[\"web\"]', ?)",
  hash.sha256_hex(milo), T)
exec("INSERT INTO tokens(token_sha256, ai, agent, machine, projects, created_at) VALUES (?, 'claude', 'Marcus', 'm1', '[\"*\"]', ?)",
  hash.sha256_hex(marcus), T)
exec("INSERT INTO tasks(project_id, title, status, assigned_to, created_by, created_at) VALUES ('web', 'old QA', 'pending', '@MILO', 'Marcus', ?)", T)
exec("INSERT INTO tasks(project_id, title, status, assigned_to, created_by, created_at) VALUES ('web', 'old done', 'done', 'Priya', 'Marcus', ?)", T)
exec("INSERT INTO handoffs(from_agent, to_agent, artifact, from_ai, project_id, created_at) VALUES ('Marcus', 'Milo', 'hero.tsx', 'claude', 'web', ?)", T)
exec([[INSERT INTO chatroom(id, seq, ai_source, machine_id, agent_id, message, project_context, mentions, message_type, created_at)
  VALUES ('u1', 1, 'gemini', 'm2', '@Milo', 'hi @Marcus', 'web', '["marcus"]', 'chat', ?)]], T)
exec([[INSERT INTO sync_locks(id, project_id, held_by_ai, held_by_machine, held_by_agent, acquired_at, expires_at, fencing_token, holder_token_id)
  VALUES ('push:web', 'web', 'gemini', 'm2', '@Milo', ?, '2999-01-01T00:00:00.000Z', 5, 1)]], T)
exec("INSERT INTO lock_fences(name, last_token) VALUES ('push:web', 5)")
exec([[INSERT INTO sync_entities(tenant, entity_type, entity_id, version, truth_level, origin_chain, last_modified_at, payload,
  deleted, accepted_by_user, last_modified_by_level, feed_json) VALUES ('t1', 'note', 'gone', 3, 1, '[]', ?, '{}', ?, ?, 1, '{}')]],
  T, true, false)
exec([[INSERT INTO sync_entities(tenant, entity_type, entity_id, version, truth_level, origin_chain, last_modified_at, payload,
  deleted, accepted_by_user, last_modified_by_level, feed_json) VALUES ('t1', 'note', 'live', 4, 1, '[]', ?, '{}', ?, ?, 1, '{}')]],
  T, false, false)
h:close()
print("ok")
