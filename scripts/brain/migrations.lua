-- The brain's schema, as db.migrate versions. Append new versions; never edit old ones
-- (db.migrate refuses a database whose history is not a prefix of this list).
--
-- The protocol's tables keep their names and columns (sync_locks, sync_state, chatroom,
-- handoffs, tasks) so a Supabase/Neon database can be used directly; we only add columns.
-- Types differ by backend where they must: timestamps are TIMESTAMPTZ on PostgreSQL and
-- ISO 8601 UTC text with milliseconds on SQLite (which then compares correctly as text).
return function(backend)
  local pg = backend == "postgres"
  local ts = pg and "TIMESTAMPTZ" or "TEXT"
  local json = pg and "JSONB" or "TEXT"
  local serial = pg and "BIGSERIAL" or "INTEGER"   -- INTEGER PRIMARY KEY is SQLite's rowid
  -- Migration 8's agent-name rule (brain/names.lua) in SQL: drop one leading '@',
  -- lowercase A-Z only (PostgreSQL's lower() follows the locale, SQLite's is ASCII).
  local function agent_name(col)
    local stripped = ("CASE WHEN substr(%s, 1, 1) = '@' THEN substr(%s, 2) ELSE %s END"):format(col, col, col)
    if pg then return ("translate(%s, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"):format(stripped) end
    return ("lower(%s)"):format(stripped)
  end
  -- Statements -> one list: nil entries (a backend's no-op) dropped, lists spliced in.
  local function statements(list)
    local out = {}
    for i = 1, table.maxn(list) do
      local v = list[i]
      if type(v) == "table" then
        for _, x in ipairs(v) do out[#out + 1] = x end
      elseif v ~= nil then
        out[#out + 1] = v
      end
    end
    return out
  end
  local function normalize(tbl, ...)
    local out = {}
    for _, col in ipairs { ... } do out[#out + 1] = ("UPDATE %s SET %s = %s WHERE %s IS NOT NULL"):format(tbl, col, agent_name(col), col) end
    return out
  end
  local now = pg and "now()" or "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
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
      -- seq orders the stream (SSE ids, ?since=); id stays the protocol's UUID.
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
      -- The protocol's "flag conflict in Shared Brain": one row per push the conflict policy
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
      -- the vault mode of contract section 8.
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
      -- sync_state keeps the protocol's one row per project (its latest push, whatever the
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
    { version = 8, name = "task and handoff lifecycle, inbox, agent names, retention", up = statements {
      -- Tasks: open | in_progress | blocked | done; the protocol's 'pending' is 'open'.
      "UPDATE tasks SET status = 'open' WHERE status = 'pending'",
      pg and "ALTER TABLE tasks ALTER COLUMN status SET DEFAULT 'open'" or nil,
      ("ALTER TABLE tasks ADD COLUMN updated_at %s"):format(ts),
      "CREATE INDEX idx_tasks_assigned ON tasks(assigned_to, status)",
      -- Every change of a task: who (the token's identity), when, {field: [old, new]}, a note.
      ([[CREATE TABLE task_history (
          id %s PRIMARY KEY, task_id BIGINT NOT NULL, at %s NOT NULL, ai TEXT NOT NULL,
          agent TEXT NOT NULL, machine TEXT, changes %s NOT NULL, note TEXT)]]):format(serial, ts, json),
      "CREATE INDEX idx_task_history_task ON task_history(task_id, id)",
      -- Handoffs: the sender's machine, the session summary (Markdown), the receiver's
      -- acknowledgement (picked up by whom, when).
      "ALTER TABLE handoffs ADD COLUMN from_machine TEXT",
      "ALTER TABLE handoffs ADD COLUMN summary TEXT",
      ("ALTER TABLE handoffs ADD COLUMN summary_at %s"):format(ts),
      "ALTER TABLE handoffs ADD COLUMN acknowledged_by TEXT",
      "ALTER TABLE handoffs ADD COLUMN acknowledged_by_ai TEXT",
      "ALTER TABLE handoffs ADD COLUMN acknowledged_by_machine TEXT",
      ("ALTER TABLE handoffs ADD COLUMN acknowledged_at %s"):format(ts),
      "ALTER TABLE handoffs ADD COLUMN ack_note TEXT",
      "CREATE INDEX idx_handoffs_to ON handoffs(to_agent, id)",
      -- The inbox: one row per event and agent it concerns (mentions, handoffs to it,
      -- acknowledgements of its handoffs, its tasks' changes), in one sequence. seq is
      -- assigned like chat's (MAX + 1 while writers are serialized), so seq order is
      -- commit order and "after N" never skips a row that committed late.
      ([[CREATE TABLE inbox (
          seq BIGINT PRIMARY KEY, agent TEXT NOT NULL, kind TEXT NOT NULL, project_id TEXT,
          by_ai TEXT NOT NULL, by_agent TEXT NOT NULL, by_machine TEXT, data %s NOT NULL,
          created_at %s NOT NULL)]]):format(json, ts),
      "CREATE INDEX idx_inbox_agent ON inbox(agent, seq)",
      -- What brain_admin.lua prune removed: per log (chat, inbox, sync_events) and per
      -- tenant for the sync feed, the cursor up to which rows may be gone ('' = all).
      ([[CREATE TABLE retention_horizons (
          what TEXT NOT NULL, tenant TEXT NOT NULL, through BIGINT NOT NULL, pruned_at %s NOT NULL,
          PRIMARY KEY (what, tenant))]]):format(ts),
      -- When a sync row last changed on the server's clock: the age of a tombstone or a
      -- closed proposal for prune. Rows from before this migration count from now.
      ("ALTER TABLE sync_entities ADD COLUMN changed_at %s"):format(ts),
      ("UPDATE sync_entities SET changed_at = %s WHERE deleted"):format(now),
      ("ALTER TABLE sync_proposals ADD COLUMN closed_at %s"):format(ts),
      ("UPDATE sync_proposals SET closed_at = %s WHERE status <> 'open'"):format(now),
      -- One spelling per agent everywhere it is stored (brain/names.lua).
      normalize("tokens", "agent"),
      normalize("handoffs", "from_agent", "to_agent"),
      normalize("tasks", "assigned_to", "created_by"),
      normalize("chatroom", "agent_id"),
      normalize("sync_locks", "held_by_agent"),
      normalize("sync_state", "last_push_agent"),
      normalize("sync_branch_state", "last_push_agent"),
      normalize("push_conflicts", "agent", "coordinator", "assigned_to", "resolved_by"),
    } },
    { version = 9, name = "event hooks", up = {
      -- What the hooks file must be told (docs/hooks.md), written in the transaction of
      -- the change that raised it, only while a hooks file is configured. status:
      -- pending | done | skipped (no handler) | dead (gave up after max_attempts).
      -- next_at: when it may run (again); a runner that claims it moves next_at past its
      -- lease, so a crashed run is picked up again once the lease is over. origin: the
      -- event whose hook's action raised this one; depth: how many hooks deep.
      ([[CREATE TABLE hook_events (
          id %s PRIMARY KEY, kind TEXT NOT NULL, data %s NOT NULL, origin BIGINT, depth INTEGER NOT NULL,
          status TEXT NOT NULL, attempts INTEGER NOT NULL, next_at %s NOT NULL, last_error TEXT,
          created_at %s NOT NULL, finished_at %s)]]):format(serial, json, ts, ts, ts),
      "CREATE INDEX idx_hook_events_due ON hook_events(status, next_at)",
      -- Every run of a handler: ok or the error, how long, which attempt.
      ([[CREATE TABLE hook_runs (
          id %s PRIMARY KEY, event_id BIGINT NOT NULL, handler TEXT NOT NULL, ok BOOLEAN NOT NULL,
          error TEXT, duration_ms DOUBLE PRECISION NOT NULL, attempt INTEGER NOT NULL, actions INTEGER NOT NULL,
          at %s NOT NULL)]]):format(serial, ts),
      "CREATE INDEX idx_hook_runs_event ON hook_runs(event_id, id)",
      -- The hooks file in force on each server (its path), and why an edit was refused.
      -- A grant that took over an expired lease records the lease it replaced (JSON), so
      -- lock_expired needs no extra statement on the acquire path; NULL for a new grant.
      "ALTER TABLE sync_locks ADD COLUMN taken_over TEXT",
      ([[CREATE TABLE hook_files (
          path TEXT PRIMARY KEY, sha256 TEXT, loaded_at %s, last_error TEXT, checked_at %s NOT NULL)]]):format(ts, ts),
    } },
  }
end
