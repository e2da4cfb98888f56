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
  }
end
