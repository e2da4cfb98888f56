-- hostsync run sync_client.lua [options] COMMAND ...
-- The local-first sync client (docs/sync-client.md): a SQLite vault of entities with
-- truth fields and provenance, an offline queue of changes, push/pull against
-- `hostsync serve`'s /sync routes, `accept`, the upgrade rule as a user action, and
-- `resolve`, the user's explicit merge (POST /sync/conflict-resolve).
local cli = require "hostsync.cli"
local json = require "hostsync.json"
local vault_mod = require "sync_client.vault"
local changes = require "sync_client.changes"
local failpoint = require "hostsync.failpoint"

local usage = [==[hostsync run sync_client.lua [--vault FILE] [--server URL] [--token-file F] COMMAND ...
Commands:
  init --level LEVEL [--origin-source S]  record the server, token file, level and origin
  put TYPE ID --payload JSON              write content locally (queued for push)
  delete TYPE ID                          delete locally (queued for push)
  get TYPE ID                             print the local view of one entity (JSON)
  list [TYPE]                             print every entity, one JSON per line
  pending                                 print the offline queue, one JSON per line
  push                                    send the queue; record applied/conflict/rejected/proposal
  pull                                    apply the server's changes since the last pull
  sync [--follow [--count N]]             push, then pull; --follow: then again each time the
                                          server says the tenant moved on (GET /sync/stream)
  accept TYPE ID [--proposal V]           user only: make a proposal (or lower-level content) U1
  proposals [TYPE [ID]]                   suggestions pulled from the server, one JSON per line
  resolve TYPE ID --payload JSON [--deleted] [--from-proposal V]
                                          user only: write a merge as U1 on the server now
  outcomes                                what the server answered for each pushed change]==]
local spec = {
  usage = usage,
  summary = "Local vault + offline queue for the sync contract. Exit status: 0 done, 1 refused or failed, "
    .. "2 usage, 3 server unreachable (changes stay queued; run push again).",
  options = {
    { "--vault", "FILE", "the vault, a SQLite file (default $HOSTSYNC_SYNC_VAULT or ./hostsync.db)" },
    { "--server", "URL", "sync server (default: $HOSTSYNC_SYNC_URL, else what init recorded)" },
    { "--token-file", "F", "file holding the bearer token (default: $HOSTSYNC_SYNC_TOKEN_FILE, else init's)" },
    { "--level", "LEVEL", "init: user|automation|ai-local|ai-lan|ai-cloud or 1..5 (must match the token)" },
    { "--origin-source", "S", "init: origin_source of this client's writes (default LEVEL:hostsync)" },
    { "--payload", "JSON", "put: the entity's content, a JSON object" },
    { "--proposal", "V", "accept: the proposal's version (default: the latest open one)", number = true },
    { "--deleted", nil, "resolve: the merge is a deletion (a tombstone)" },
    { "--from-proposal", "V", "resolve: the merge closes this proposal (its content if no --payload)", number = true },
    { "--policy", "FILE", "pull: conflict policy (default policies/truth_hierarchy.lua)" },
    { "--retries", "N", "push/pull: extra attempts when the server is unreachable (default 4)", number = true },
    { "--backoff", "S", "first retry delay in seconds, doubled each time (default 0.5)", number = true },
    { "--batch", "N", "push: items per request, at most 1000 (default 1000)", number = true },
    { "--page", "N", "pull: changes per request, at most 5000 (default 5000)", number = true },
    { "--quiet", nil, "push/pull: print only the summary line" },
    { "--follow", nil, "sync: keep following the server's changes live (until interrupted)" },
    { "--count", "N", "sync --follow: exit after N rounds that pulled changes", number = true },
  },
}

local opts, rest = cli.parse(arg, spec)
local command = table.remove(rest, 1)
if not command then cli.usage_error("a command is required", usage) end

local function need_args(n, what)
  if #rest ~= n then cli.usage_error(command .. " takes " .. what, usage) end
end

local vault_path = opts.vault or os.getenv("HOSTSYNC_SYNC_VAULT") or "hostsync.db"
local v, verr = vault_mod.open(vault_path)
if not v then cli.fail("sync_client: " .. verr) end

local function level_of(s)
  local n = tonumber(s) or vault_mod.LEVELS[s or ""]
  if not n or n < 1 or n > 5 or n ~= math.floor(n) then return nil end
  return n
end

local function identity()
  local level = tonumber(v:get_config("level"))
  if not level then cli.fail("sync_client: " .. vault_path .. " is not initialised: run init --level LEVEL first") end
  return { level = level, source = v:get_config("origin_source") }
end

-- Sorted keys (RFC 8785): the same entity always prints the same, so output diffs cleanly.
local function out(value) io.stdout:write(json.canonical(value), "\n") end

-- Where the server reported a conflict, a user vault can merge by hand.
local function resolve_hint(etype, eid)
  if tonumber(v:get_config("level")) ~= 1 then return nil end
  return ("hostsync run sync_client.lua resolve %s %s --payload JSON"):format(etype, eid)
end

local function describe(item)
  return ("v%s, truth_level %s, origin %s, modified %s by level %s%s: %s"):format(tostring(item.version),
    tostring(item.truth_level), tostring(item.origin_source), tostring(item.last_modified_at),
    tostring(item.last_modified_by_level), item.deleted == true and ", deleted" or "",
    json.encode(item.payload or json.null))
end

local function transport()
  local server = opts.server or os.getenv("HOSTSYNC_SYNC_URL") or v:get_config("server")
  local token_file = opts.token_file or os.getenv("HOSTSYNC_SYNC_TOKEN_FILE") or v:get_config("token_file")
  if not server then cli.fail("sync_client: no server: pass --server URL or set HOSTSYNC_SYNC_URL") end
  if not token_file then cli.fail("sync_client: no token: pass --token-file F or set HOSTSYNC_SYNC_TOKEN_FILE") end
  local f, ferr = io.open(token_file, "rb")
  if not f then cli.fail("sync_client: token file: " .. ferr) end
  local token = f:read("*a"):match("^%s*(%S+)")
  f:close()
  if not token then cli.fail("sync_client: token file " .. token_file .. " is empty") end
  return require("sync_client.transport").new(server, token, {
    retries = opts.retries, backoff = opts.backoff,
    on_retry = function(attempt, err, wait)
      io.stderr:write(("sync_client: %s (attempt %d); retrying in %.1f s\n"):format(tostring(err), attempt, wait))
    end,
  })
end

local function fail_remote(what, err, kind)
  if kind == "unreachable" then
    cli.fail(("sync_client: %s: %s; %d change(s) stay queued, run it again later"):format(what, err, v:pending_count()), 3)
  end
  cli.fail("sync_client: " .. what .. ": " .. tostring(err))
end

local function do_push(t)
  local batch = opts.batch or 1000
  if batch < 1 or batch > 1000 then cli.usage_error("--batch must be 1..1000", usage) end
  local sum, err, kind = require("sync_client.push").run(v, t, { batch = batch,
    -- HOSTSYNC_FAILPOINT=sync-push-answered kills the client between the server's answer
    -- and recording it (the crash test of tests/e2e/test_sync_client.py).
    after_response = function() failpoint.hit("sync-push-answered") end })
  if not sum then fail_remote("push", err, kind) end
  if not opts.quiet then
    for _, r in ipairs(sum.results) do
      io.stdout:write(("%s %s/%s%s%s%s\n"):format(r.status, tostring(r.entity_type), tostring(r.entity_id),
        r.version and (" v" .. tostring(r.version)) or "", r.replayed and " (replayed)" or "",
        type(r.reason) == "string" and (": " .. r.reason) or ""))
      local hint = r.status == "conflict" and resolve_hint(r.entity_type, r.entity_id)
      if hint then io.stdout:write("  to merge by hand: ", hint, "\n") end
    end
  end
  io.stdout:write(("push: %d sent: %d applied, %d conflict, %d rejected, %d proposal, %d replayed; %d pending\n")
    :format(sum.sent, sum.applied, sum.conflict, sum.rejected, sum.proposal, sum.replayed, v:pending_count()))
end

local function do_pull(t)
  local pol, perr = require("sync_client.policy").load(opts.policy or v:get_config("policy"))
  if not pol then cli.fail("sync_client: " .. perr) end
  local page = opts.page or 5000
  if page < 1 or page > 5000 or page ~= math.floor(page) then cli.usage_error("--page must be 1..5000", usage) end
  local sum, err, kind = require("sync_client.pull").run(v, t, pol, { limit = page })
  if not sum then fail_remote("pull", err, kind) end
  io.stdout:write(("pull: %d changes (%d entity, %d proposal), %d decided by policy, %d local views overridden; cursor %d\n")
    :format(sum.changes, sum.entities, sum.proposals, sum.decided, sum.overridden, sum.cursor))
  local r = sum.resync
  if r and (r.pruned or #r.removed > 0 or #r.kept > 0 or r.closed > 0) then
    io.stdout:write(("pull: full resync%s: %d removed (deleted on the server), %d kept with queued changes, %d proposals closed\n")
      :format(r.pruned and " (the server pruned its history past this vault's cursor)" or "", #r.removed, #r.kept, r.closed))
    for _, name in ipairs(r.removed) do io.stdout:write("  removed ", name, "\n") end
    for _, name in ipairs(r.kept) do io.stdout:write("  kept ", name, " (its queued change will create it again)\n") end
  end
  return sum.changes
end

if command == "init" then
  need_args(0, "no arguments")
  local level = level_of(opts.level)
  if not level then cli.usage_error("init needs --level user|automation|ai-local|ai-lan|ai-cloud (or 1..5)", usage) end
  v:tx(function()
    v:set_config("level", level)
    v:set_config("origin_source", opts.origin_source or (vault_mod.LEVEL_NAMES[level] .. ":hostsync"))
    if opts.server then v:set_config("server", opts.server) end
    if opts.token_file then v:set_config("token_file", opts.token_file) end
    if opts.policy then v:set_config("policy", opts.policy) end
  end)
  local c = v:config()
  io.stdout:write(("init: %s is a %s vault (level %d, origin %s), server %s\n"):format(vault_path,
    vault_mod.LEVEL_NAMES[level], level, c.origin_source, c.server or "(not set)"))
elseif command == "put" then
  need_args(2, "TYPE ID --payload JSON")
  local payload, jerr = json.decode(opts.payload or "")
  if type(payload) ~= "table" or payload[1] ~= nil then
    cli.usage_error("put needs --payload with a JSON object" .. (jerr and (": " .. jerr) or ""), usage)
  end
  local item = changes.put(v, identity(), rest[1], rest[2], payload)
  io.stdout:write(("queued %s/%s (truth_level %d, based on v%d)\n"):format(rest[1], rest[2], item.truth_level, item.version))
elseif command == "delete" then
  need_args(2, "TYPE ID")
  local item, err = changes.delete(v, identity(), rest[1], rest[2])
  if not item then cli.fail("sync_client: delete: " .. err) end
  io.stdout:write(("queued delete %s/%s (based on v%d)\n"):format(rest[1], rest[2], item.version))
elseif command == "accept" then
  need_args(2, "TYPE ID [--proposal V]")
  local item, err = changes.accept(v, identity(), rest[1], rest[2], opts.proposal)
  if not item then cli.fail("sync_client: accept: " .. err) end
  io.stdout:write(("queued accept %s/%s: now U1, accepted_by_user (from level %s)\n"):format(rest[1], rest[2],
    tostring(item.origin_chain[#item.origin_chain].from_level)))
elseif command == "resolve" then
  need_args(2, "TYPE ID --payload JSON [--deleted] [--from-proposal V]")
  local etype, eid = rest[1], rest[2]
  local who = identity()
  if who.level ~= 1 then
    cli.fail("sync_client: resolve is a user action: this vault's level is " .. vault_mod.LEVEL_NAMES[who.level]
      .. ", not user (only a user-level token may merge; nothing was sent)")
  end
  local payload
  if opts.payload then
    local jerr
    payload, jerr = json.decode(opts.payload)
    if type(payload) ~= "table" or payload[1] ~= nil then
      cli.usage_error("resolve needs --payload with a JSON object" .. (jerr and (": " .. jerr) or ""), usage)
    end
  elseif opts.from_proposal then
    for _, p in ipairs(v:proposals(etype, eid)) do
      if p.version == opts.from_proposal then payload = p.item.payload end
    end
    if type(payload) ~= "table" then
      cli.fail(("sync_client: resolve: %s/%s has no open pulled proposal v%d to take the content from; pass --payload")
        :format(etype, eid, opts.from_proposal))
    end
  elseif opts.deleted then
    local e = v:entity(etype, eid)
    payload = e and e.item.payload or json.object({})
  else
    cli.usage_error("resolve needs --payload JSON (or --from-proposal V, or --deleted)", usage)
  end
  local res, err, kind, current = require("sync_client.resolve").run(v, transport(), {
    entity_type = etype, entity_id = eid, payload = payload, deleted = opts.deleted == true,
    proposal_version = opts.from_proposal })
  if not res and kind == "stale" then
    io.stderr:write(("sync_client: resolve %s/%s: the server's version changed since this vault's v%d: %s\n")
      :format(etype, eid, (v:entity(etype, eid) or { server_version = 0 }).server_version, err))
    if type(current) == "table" then io.stderr:write("  current: ", describe(current), "\n") end
    cli.fail("sync_client: resolve: nothing written; run pull, look at the current content, and retry the resolve")
  end
  if not res then fail_remote("resolve", err, kind) end
  io.stdout:write(("resolved %s/%s: %s (based on v%d)\n"):format(etype, eid, describe(res.item), res.base_version))
  for _, p in ipairs(res.dropped) do
    io.stdout:write(("  dropped queued change %s (based on v%s): superseded by the resolution\n")
      :format(p.mutation_id, tostring(p.item.version)))
  end
elseif command == "get" then
  need_args(2, "TYPE ID")
  local e = v:entity(rest[1], rest[2])
  if not e then cli.fail(("sync_client: %s/%s: not in the vault"):format(rest[1], rest[2])) end
  out(e.item)
elseif command == "list" then
  if #rest > 1 then cli.usage_error("list takes at most a TYPE", usage) end
  for _, item in ipairs(v:entities(rest[1])) do out(item) end
elseif command == "pending" then
  need_args(0, "no arguments")
  for _, p in ipairs(v:all_pending()) do
    out({ mutation_id = p.mutation_id, entity_type = p.entity_type, entity_id = p.entity_id, sent = p.sent == 1, item = p.item })
  end
elseif command == "proposals" then
  if #rest > 2 then cli.usage_error("proposals takes at most TYPE ID", usage) end
  for _, p in ipairs(v:proposals(rest[1], rest[2])) do
    out({ version = p.version, entity_type = p.item.entity_type, entity_id = p.item.entity_id,
          truth_level = p.item.truth_level, origin_source = p.item.origin_source, payload = p.item.payload,
          deleted = p.item.deleted })
  end
elseif command == "outcomes" then
  need_args(0, "no arguments")
  for _, o in ipairs(v:outcomes()) do
    if o.status == "conflict" then o.resolve = resolve_hint(o.entity_type, o.entity_id) end
    out(o)
  end
elseif command == "push" then
  need_args(0, "no arguments")
  identity()
  do_push(transport())
elseif command == "pull" then
  need_args(0, "no arguments")
  identity()
  do_pull(transport())
elseif command == "sync" then
  need_args(0, "no arguments")
  if opts.count ~= nil and (not opts.follow or opts.count < 1 or opts.count ~= math.floor(opts.count)) then
    cli.usage_error("--count N (N >= 1) goes with sync --follow", usage)
  end
  identity()
  local t = transport()
  do_push(t)
  do_pull(t)
  if opts.follow then
    io.stdout:flush()
    require("sync_client.follow").run(t, {
      cursor = function() return tonumber(v:get_config("pull_cursor") or "0") end,
      -- An unreachable server while following is a note, not the end: the next
      -- reconnect's catch-up tries again.
      sync = function()
        local ok, e = pcall(function() do_push(t); return do_pull(t) end)
        io.stdout:flush()
        if ok then return e end
        if type(e) == "table" and e.exit_code == 3 then io.stderr:write(e.message, "\n") return 0 end
        error(e, 0)
      end,
      count = opts.count,
      fail = function(msg) cli.fail("sync_client: " .. msg) end,
      note = function(msg) io.stderr:write("sync_client: ", msg, "\n") end,
    })
  end
else
  cli.usage_error("unknown command '" .. command .. "'", usage)
end
v:close()
