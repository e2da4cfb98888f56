-- The brain's schema, as db.migrate versions. Append new versions; never edit old ones
-- (db.migrate refuses a database whose history is not a prefix of this list).
--
-- The seed's tables keep their names and columns (sync_locks, sync_state, chatroom,
-- handoffs, tasks) so a Supabase/Neon database can be used directly; we only add columns.
-- Types differ by backend where they must: timestamps are TIMESTAMPTZ on PostgreSQL and
-- ISO 8601 UTC text with milliseconds on SQLite (which then compares correctly as text).
return function(backend)
  local pg = backend == "postgres"
  local ts = pg and "TIMESTAMPTZ" or "TEXT"
  local json = pg and "JSONB" or "TEXT"
  local serial = pg and "BIGSERIAL" or "INTEGER"   -- INTEGER PRIMARY KEY is SQLite's rowid
  return {
    { version = 1, name = "seed tables", up = {
      -- fencing_token and holder_token_id are ours: the grant's fencing token and the
      -- tokens.id of the holder (identity comes from tokens, not from the request).
      ([[CREATE TABLE sync_locks (
          id TEXT PRIMARY KEY, project_id TEXT, held_by_ai TEXT NOT NULL,
          held_by_machine TEXT, held_by_agent TEXT, acquired_at %s, expires_at %s,
          reason TEXT, fencing_token BIGINT NOT NULL, holder_token_id BIGINT NOT NULL)]]):format(ts, ts),
      "CREATE INDEX idx_sync_locks_project ON sync_locks(project_id)",
      ([[CREATE TABLE sync_state (
          id TEXT PRIMARY KEY, project_id TEXT NOT NULL UNIQUE, last_push_ai TEXT,
          last_push_agent TEXT, last_push_commit TEXT, last_push_at %s, last_pull_ai TEXT,
          last_pull_at %s, local_changes %s, created_at %s, updated_at %s,
          last_push_machine TEXT, last_push_message TEXT)]]):format(ts, ts, json, ts, ts),
      -- seq orders the stream (SSE ids, ?since=); id stays the seed's UUID.
      ([[CREATE TABLE chatroom (
          id TEXT PRIMARY KEY, seq BIGINT NOT NULL UNIQUE, ai_source TEXT NOT NULL,
          machine_id TEXT, agent_id TEXT, message TEXT NOT NULL, project_context TEXT,
          mentions %s, message_type TEXT DEFAULT 'chat', metadata %s, created_at %s)]]):format(json, json, ts),
      "CREATE INDEX idx_chatroom_project ON chatroom(project_context)",
      ([[CREATE TABLE handoffs (
          id %s PRIMARY KEY, from_agent TEXT NOT NULL, to_agent TEXT NOT NULL, artifact TEXT,
          context TEXT, dependencies %s, from_ai TEXT, project_id TEXT, created_at %s)]]):format(serial, json, ts),
      ([[CREATE TABLE tasks (
          id %s PRIMARY KEY, project_id TEXT, title TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
          assigned_to TEXT, created_by TEXT, created_at %s)]]):format(serial, ts),
    } },
    { version = 2, name = "tokens and fences", up = {
      -- Only the SHA-256 of a bearer token is stored; projects is a JSON array of names.
      ([[CREATE TABLE tokens (
          id %s PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE, ai TEXT NOT NULL,
          agent TEXT NOT NULL, machine TEXT NOT NULL, projects TEXT NOT NULL,
          created_at %s, revoked_at %s)]]):format(serial, ts, ts),
      -- The last fencing token granted per lock name. It outlives the sync_locks row
      -- (deleted on release), so tokens keep increasing across release and expiry.
      "CREATE TABLE lock_fences (name TEXT PRIMARY KEY, last_token BIGINT NOT NULL)",
    } },
    { version = 3, name = "push conflicts", up = {
      -- The seed's "flag conflict in Shared Brain": one row per push the conflict policy
      -- could not resolve (scripts/brain/conflicts.lua). files is a JSON array of paths;
      -- summary what was being pushed; coordinator the agent alerted, who assigns an owner
      -- (assigned_to); resolved_* is set by whoever resolves it; chat_seq is the alert.
      ([[CREATE TABLE push_conflicts (
          id %s PRIMARY KEY, project_id TEXT, ai TEXT NOT NULL, agent TEXT NOT NULL,
          machine TEXT, files %s NOT NULL, local_commit TEXT, upstream_commit TEXT,
          summary TEXT, coordinator TEXT NOT NULL,
          status TEXT NOT NULL DEFAULT 'open', assigned_to TEXT, chat_seq BIGINT,
          created_at %s, resolved_at %s, resolved_by TEXT, resolution TEXT)]]):format(serial, json, ts, ts),
      "CREATE INDEX idx_push_conflicts_project ON push_conflicts(project_id, status)",
    } },
    { version = 4, name = "sync contract", up = {
      -- A token's principal: its tenant and truth level (1 user .. 5 AI cloud). Both NULL
      -- for brain-only tokens, which get 403 on the sync routes.
      "ALTER TABLE tokens ADD COLUMN tenant TEXT",
      "ALTER TABLE tokens ADD COLUMN level SMALLINT",
      -- One row per tenant: the version counter (incremented inside each write
      -- transaction while the row is locked, so version order is commit order) and
      -- the vault mode of seed section 8.
      [[CREATE TABLE sync_tenants (
          tenant TEXT PRIMARY KEY, last_version BIGINT NOT NULL DEFAULT 0,
          vault_mode TEXT NOT NULL DEFAULT 'local_first')]],
      -- The current state of each entity; version is the server version of its last change.
      -- last_modified_at is kept as the client sent it (RFC 3339 text) on both backends.
      -- feed_json is the entity's /sync/pull entry, written with the row so that a pull
      -- only reads text (it repeats payload: space traded for pull speed).
      ([[CREATE TABLE sync_entities (
          tenant TEXT NOT NULL, entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,
          version BIGINT NOT NULL, truth_level SMALLINT NOT NULL, origin_source TEXT,
          origin_chain %s NOT NULL, last_modified_at TEXT NOT NULL, payload %s NOT NULL,
          deleted BOOLEAN NOT NULL, accepted_by_user BOOLEAN NOT NULL,
          last_modified_by_level SMALLINT NOT NULL, writer_token_id BIGINT, feed_json TEXT NOT NULL,
          PRIMARY KEY (tenant, entity_type, entity_id))]]):format(json, json),
      "CREATE UNIQUE INDEX idx_sync_entities_feed ON sync_entities(tenant, version)",
      -- Changes kept as suggestions (AI output on U1 content, cloud AI in a local_first
      -- tenant). Each takes a version of the tenant's feed; base_version is the entity's
      -- version it was written against.
      ([[CREATE TABLE sync_proposals (
          tenant TEXT NOT NULL, version BIGINT NOT NULL, entity_type TEXT NOT NULL,
          entity_id TEXT NOT NULL, truth_level SMALLINT NOT NULL, origin_source TEXT,
          origin_chain %s NOT NULL, last_modified_at TEXT NOT NULL, payload %s NOT NULL,
          deleted BOOLEAN NOT NULL, accepted_by_user BOOLEAN NOT NULL,
          last_modified_by_level SMALLINT NOT NULL, writer_token_id BIGINT,
          base_version BIGINT NOT NULL, status TEXT NOT NULL DEFAULT 'open', created_at %s,
          feed_json TEXT NOT NULL, PRIMARY KEY (tenant, version))]]):format(json, json, ts),
      "CREATE INDEX idx_sync_proposals_entity ON sync_proposals(tenant, entity_type, entity_id)",
      -- The first result of each client mutation, returned again on a replay.
      ([[CREATE TABLE sync_mutations (
          tenant TEXT NOT NULL, mutation_id TEXT NOT NULL, result TEXT NOT NULL,
          created_at %s, PRIMARY KEY (tenant, mutation_id))]]):format(ts),
      -- Every decision: conflicts, discarded updates, upgrades, rejections, proposals,
      -- resolutions, with the stored and the incoming item.
      ([[CREATE TABLE sync_events (
          id %s PRIMARY KEY, tenant TEXT NOT NULL, entity_type TEXT, entity_id TEXT,
          kind TEXT NOT NULL, rule TEXT, reason TEXT, mutation_id TEXT,
          stored_version BIGINT, incoming_version BIGINT, result_version BIGINT,
          stored %s, incoming %s, detail %s, writer_token_id BIGINT, writer_level SMALLINT,
          created_at %s)]]):format(serial, json, json, json, ts),
      "CREATE INDEX idx_sync_events_entity ON sync_events(tenant, entity_type, entity_id, id)",
      "CREATE INDEX idx_sync_events_tenant ON sync_events(tenant, id)",
    } },
    { version = 5, name = "token expiry and rotation", up = {
      -- A token past expires_at is refused like a revoked one (NULL: no expiry).
      -- rotated_from: the tokens.id this one replaced (brain_admin.lua token rotate).
      ("ALTER TABLE tokens ADD COLUMN expires_at %s"):format(ts),
      "ALTER TABLE tokens ADD COLUMN rotated_from BIGINT",
    } },
    { version = 6, name = "last push per branch", up = {
      -- sync_state keeps the seed's one row per project (its latest push, whatever the
      -- branch); push.lua's "has someone pushed since your last pull" is per branch, so
      -- a push to a feature branch never blocks the others' pushes to main.
      ([[CREATE TABLE sync_branch_state (
          project_id TEXT NOT NULL, branch TEXT NOT NULL, last_push_ai TEXT NOT NULL,
          last_push_agent TEXT NOT NULL, last_push_machine TEXT, last_push_commit TEXT NOT NULL,
          last_push_message TEXT, last_push_at %s NOT NULL, PRIMARY KEY (project_id, branch))]]):format(ts),
    } },
    { version = 7, name = "proposal feed position", up = {
      -- A proposal keeps its version (its id) but takes a new place in the pull feed when
      -- it is closed (resolved, accepted), so vaults that pulled it learn it is closed. Its
      -- feed entry carries its status; entries written before this migration get theirs
      -- (at their old place: vaults that pulled a proposal closed before it do not learn).
      "ALTER TABLE sync_proposals ADD COLUMN feed_version BIGINT",
      "UPDATE sync_proposals SET feed_version = version",
      [[UPDATE sync_proposals SET feed_json = substr(feed_json, 1, length(feed_json) - 2)
          || ',"status":"' || status || '"}}']],
      "CREATE UNIQUE INDEX idx_sync_proposals_feed ON sync_proposals(tenant, feed_version)",
    } },
  }
end
