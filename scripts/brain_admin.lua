-- hostsync run brain_admin.lua token create|list|revoke|rotate ... | lock list|break ... |
--                              routes | backup | restore | prune ... | hooks [--failed] [--db URL]
-- The brain's administration (docs/brain.md): bearer tokens, locks, the access table,
-- backups (brain/backup.lua) and retention (brain/prune.lua).
-- A token is printed once, at creation or rotation; only its SHA-256 is stored, so a lost
-- token is revoked (or rotated) and replaced. Changes take effect at the server's next
-- request: every request looks its token up.
local cli = require "hostsync.cli"
local json = require "hostsync.json"
local null = require("hostsync.db").null
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code
local time = require "hostsync.time"
local auth = require "brain.auth"
local backup = require "brain.backup"
local hook_report = require "brain.hook_report"
local locks = require "brain.locks"
local names = require "brain.names"
local prune = require "brain.prune"
local store = require "brain.store"

local usage = [==[hostsync run brain_admin.lua token create --ai AI --agent NAME --machine M --project P[,P...]
           [--tenant T --level user|automation|ai-local|ai-lan|ai-cloud|1..5]
           [--expires-in 30d|12h|45m|90s | --expires-at 2026-12-31T00:00:00Z] [--db URL]
       hostsync run brain_admin.lua token list [--db URL]
       hostsync run brain_admin.lua token revoke ID [--db URL]
       hostsync run brain_admin.lua token rotate ID [--grace SECONDS] [--db URL]
       hostsync run brain_admin.lua lock list [--project P | --lobby] [--json] [--db URL]
       hostsync run brain_admin.lua lock break NAME [--reason TEXT] [--db URL]
       hostsync run brain_admin.lua routes [--json]
       hostsync run brain_admin.lua backup --to FILE [--db URL]
       hostsync run brain_admin.lua restore --from FILE --db NEW
       hostsync run brain_admin.lua prune [--chat 90d] [--inbox 90d] [--sync-events 30d] [--sync-mutations 7d]
           [--sync-tombstones 90d] [--hooks 30d] [--dry-run] [--json] [--db URL]     (each: a duration or off)
       hostsync run brain_admin.lua hooks [--failed] [--limit N] [--json] [--db URL]]==]
local spec = {
  usage = usage,
  summary = "Administer the shared brain: issue, list, revoke and rotate bearer tokens; list and break locks;\n" ..
            "print who may use each route; back up and restore (SQLite); prune old rows. --project * allows every project.",
  options = {
    { "--ai", "AI", "claude | gemini | chatgpt | grok | ..." },
    { "--agent", "NAME", "the agent, e.g. marcus (without @)" },
    { "--machine", "ID", "machine identifier" },
    { "--project", "P", "token create: allowed projects, comma separated; lock list: only this project's locks" },
    { "--tenant", "T", "sync tenant of this principal (needed for /sync/*; see docs/sync-contract.md)" },
    { "--level", "L", "its truth level: user, automation, ai-local, ai-lan, ai-cloud or 1..5" },
    { "--expires-in", "D", "the token stops working after D: a number with s, m, h or d (default: never)" },
    { "--expires-at", "T", "the token stops working at T (ISO 8601 with a zone)" },
    { "--grace", "S", "token rotate: the old token keeps working S more seconds (default 0: at once)", number = true },
    { "--lobby", nil, "lock list: only locks without a project" },
    { "--reason", "TEXT", "lock break: why (sent to the holder in the alert)" },
    { "--json", nil, "one JSON object per line" },
    { "--to", "FILE", "backup: the new file to write (never replaced)" },
    { "--from", "FILE", "restore: the backup to restore into the new database --db" },
    { "--chat", "D", "prune: keep chat messages D (30d, 12h, ...; off: keep all; default 90d)" },
    { "--inbox", "D", "prune: keep inbox entries D (default 90d)" },
    { "--sync-events", "D", "prune: keep sync_events D (default 30d)" },
    { "--sync-mutations", "D", "prune: keep sync_mutations (replay results) D (default 7d)" },
    { "--sync-tombstones", "D", "prune: keep deleted entities and closed proposals D (default 90d)" },
    { "--hooks", "D", "prune: keep finished hook events and their runs D (default 30d; pending ones stay)" },
    { "--dry-run", nil, "prune: only say what would be deleted" },
    { "--failed", nil, "hooks: only the runs that failed" },
    { "--limit", "N", "hooks: how many runs, newest first (default 50)", number = true },
    { "--db", "URL", "SQLite path or postgres:// URL (default ./brain.sqlite)" },
  },
}

local ACTIONS = { token = { create = true, list = true, revoke = true, rotate = true }, lock = { list = true, ["break"] = true },
                  routes = true, backup = true, restore = true, prune = true, hooks = true }
if arg[1] == "-h" or arg[1] == "--help" then cli.parse({ "--help" }, spec) end
local group, action = arg[1], arg[2]
local first = 3
if ACTIONS[group] == true then action, first = nil, 2 end
if not ACTIONS[group] or (ACTIONS[group] ~= true and not ACTIONS[group][action]) then
  cli.usage_error("expected 'token create|list|revoke|rotate', 'lock list|break', 'routes', 'backup', 'restore', 'prune' or 'hooks'", usage)
end
local args = {}
for i = first, #arg do args[#args + 1] = arg[i] end
local opts, rest = cli.parse(args, spec)

local function no_rest()
  if #rest > 0 then cli.usage_error("unexpected argument '" .. rest[1] .. "'", usage) end
end

local function one_id(what)
  local id = tonumber(rest[1] or "")
  if not id or #rest ~= 1 or id ~= math.floor(id) then cli.usage_error(what .. " needs one token ID (see token list)", usage) end
  return id
end

-- "30d" | "12h" | "45m" | "90s" | "3600" -> seconds
local function duration(s, option)
  local n = prune.duration(s)
  if not n then cli.usage_error(option .. " must be a positive number with s, m, h or d (30d)", usage) end
  return n
end

-- --expires-in / --expires-at -> ISO 8601 UTC or nil
local function expiry()
  if opts.expires_in and opts.expires_at then cli.usage_error("give --expires-in or --expires-at, not both", usage) end
  if opts.expires_in then return store.now(duration(opts.expires_in, "--expires-in")) end
  if opts.expires_at then
    local t, err = time.parse_iso(opts.expires_at)
    if not t then cli.usage_error("--expires-at: " .. err, usage) end
    if t <= time.now() then cli.usage_error("--expires-at is not in the future", usage) end
    return time.utc_iso(t, { ms = true })
  end
end

-- The access table of the server's routes (docs/brain.md "Access"): routes need no database.
if group == "routes" then
  no_rest()
  local app = require("brain.app")({ db = ":memory:", sync_policy = package.searchpath("truth_hierarchy", package.path) })
  for _, r in ipairs(app.access) do
    local rule = r[3]
    if opts.json then
      io.stdout:write(json.encode({ method = r[1], path = r[2], rule = rule[1], required = rule.required or false,
                                    level = rule.level or json.null, body = r[4] and true or false }), "\n")
    else
      local extra = (rule.required and " (required)" or "") .. (rule.level and (" (level " .. rule.level .. ")") or "")
      io.stdout:write(("%-5s %-26s %s%s\n"):format(r[1], r[2], rule[1], extra))
    end
  end
  os.exit(0)
end

-- Backups: before the database is opened (a backup copies it as it is, unmigrated).
if group == "backup" or group == "restore" then
  no_rest()
  local res, berr
  if group == "backup" then
    if not opts.to or opts.to == "" then cli.usage_error("backup needs --to FILE", usage) end
    res, berr = backup.backup(opts.db or store.DEFAULT_DB, opts.to)
  else
    if not opts.from or opts.from == "" then cli.usage_error("restore needs --from FILE", usage) end
    if not opts.db or opts.db == "" then cli.usage_error("restore needs --db NEW (a database that does not exist yet)", usage) end
    res, berr = backup.restore(opts.from, opts.db)
  end
  if not res then cli.fail("brain_admin: " .. group .. ": " .. berr) end
  if group == "backup" then
    io.stdout:write(("backup: %s -> %s (%d bytes, schema version %d, integrity ok)\n"):format(res.from, res.to,
      res.bytes, res.version))
  else
    io.stdout:write(("restore: %s -> %s (schema version %d%s, integrity ok)\n"):format(res.from, res.to, res.version,
      #res.migrated > 0 and (", migrated to " .. tostring(res.now)) or ""))
  end
  os.exit(0)
end

local h, err = store.open(opts.db)
if not h then cli.fail("brain_admin: " .. err) end
local ok, merr = store.migrate(h)
if not ok then cli.fail("brain_admin: " .. merr) end

local function hostname()
  local f = io.open("/proc/sys/kernel/hostname", "rb")
  local name = f and f:read("*l")
  if f then f:close() end
  return name or "unknown"
end

if group == "prune" then
  no_rest()
  local keep = {}
  for _, t in ipairs(prune.TARGETS) do
    local v = opts[t.option] or t.default
    keep[t.name] = v ~= "off" and duration(v, "--" .. t.option:gsub("_", "-")) or false
  end
  local pruned, results = pcall(prune.run, h, keep, opts.dry_run)
  if not pruned then
    -- Each chunk is its own transaction with its horizon: what went before stays consistent.
    cli.fail("brain_admin: prune: " .. tostring(results) .. " (chunks deleted before this stay deleted, with their " ..
      "horizons; run it again)")
  end
  for _, r in ipairs(results) do
    if opts.json then
      r.keep = r.keep or json.null
      r.dry_run = opts.dry_run == true
      io.stdout:write(json.encode(r), "\n")
    elseif not r.keep then
      io.stdout:write(("%s: kept (retention off)\n"):format(r.name))
    else
      local through = r.through and (" through #" .. r.through) or ""
      if r.tenants then
        local parts = {}
        for tenant, v in pairs(r.tenants) do parts[#parts + 1] = ("%s v%d"):format(tenant, v) end
        table.sort(parts)
        if #parts > 0 then through = " (feed horizon " .. table.concat(parts, ", ") .. ")" end
      end
      io.stdout:write(("%s: %s %d %s older than %s%s\n"):format(r.name, opts.dry_run and "would delete" or "deleted",
        r.count, r.what, r.cutoff, through))
    end
  end
elseif group == "token" and action == "create" then
  no_rest()
  for _, k in ipairs { "ai", "agent", "machine", "project" } do
    if not opts[k] or opts[k] == "" then cli.usage_error("--" .. k .. " is required", usage) end
  end
  local projects = {}
  for p in opts.project:gmatch("[^,]+") do projects[#projects + 1] = p end
  local level
  if (opts.tenant ~= nil) ~= (opts.level ~= nil) then cli.usage_error("--tenant and --level go together", usage) end
  if opts.tenant == "" then cli.usage_error("--tenant must not be empty", usage) end
  if opts.level then
    level = auth.level_of(opts.level)
    if not level then cli.usage_error("--level must be one of " .. table.concat(auth.LEVELS, ", ") .. " or 1..5", usage) end
  end
  local agent, why = names.agent(opts.agent)
  if not agent then cli.usage_error("--agent: " .. why, usage) end
  local token, terr = auth.create(h, { ai = opts.ai, agent = agent, machine = opts.machine,
    projects = projects, tenant = opts.tenant, level = level, expires_at = expiry() })
  if not token then cli.fail("brain_admin: " .. terr) end
  io.stdout:write(token, "\n")
elseif group == "token" and action == "list" then
  no_rest()
  local rows = db_check(h:query(("SELECT id, ai, agent, machine, projects, revoked_at, tenant, level, %s AS expires_at, rotated_from FROM tokens ORDER BY id")
    :format(store.ts(h, "expires_at"))))
  local now = store.now()
  for _, r in ipairs(rows) do
    local principal = r.tenant ~= null and ("\ttenant=%s level=%s"):format(r.tenant, auth.LEVELS[r.level] or tostring(r.level)) or ""
    local expires = ""
    if r.expires_at ~= null then expires = (r.expires_at <= now and "\texpired " or "\texpires ") .. r.expires_at end
    local from = r.rotated_from ~= null and ("\trotated from " .. r.rotated_from) or ""
    io.stdout:write(("%d\t%s/@%s\t%s\t%s%s%s%s%s\n"):format(r.id, r.ai, r.agent, r.machine, r.projects, principal,
      expires, from, r.revoked_at ~= null and "\trevoked" or ""))
  end
elseif group == "token" and action == "revoke" then
  local id = one_id("token revoke")
  local done, rerr = auth.revoke(h, id)
  if not done then cli.fail("brain_admin: " .. rerr) end
  io.stdout:write("revoked token ", id, "\n")
elseif group == "token" and action == "rotate" then
  local id = one_id("token rotate")
  if opts.grace and (opts.grace < 0 or opts.grace ~= math.floor(opts.grace)) then
    cli.usage_error("--grace must be a whole number of seconds >= 0", usage)
  end
  local token, new_id = auth.rotate(h, id, opts.grace)
  if not token then cli.fail("brain_admin: " .. new_id) end
  io.stderr:write(("brain_admin: token %d replaces token %d, which %s\n"):format(new_id, id,
    (opts.grace or 0) > 0 and ("stops working in " .. opts.grace .. " s") or "no longer works"))
  io.stdout:write(token, "\n")
elseif group == "hooks" then
  no_rest()
  local limit = opts.limit or 50
  if limit < 1 or limit ~= math.floor(limit) then cli.usage_error("--limit must be a whole number >= 1", usage) end
  local rep = hook_report.read(h, opts.failed, limit)
  if opts.json then
    io.stdout:write(json.encode(rep), "\n")
  else
    for _, f in ipairs(rep.files) do
      io.stdout:write(("hooks file %s: loaded %s (sha256 %s)%s\n"):format(f.path, tostring(f.loaded_at),
        tostring(f.sha256):sub(1, 12), f.last_error ~= json.null and ("; last edit refused: " .. f.last_error) or ""))
    end
    local ev = rep.events
    io.stdout:write(("events: %d pending, %d done, %d skipped (no handler), %d dead\n"):format(ev.pending or 0,
      ev.done or 0, ev.skipped or 0, ev.dead or 0))
    for _, r in ipairs(rep.runs) do
      io.stdout:write(("run %d\tevent %d %s\t%s\tattempt %d\t%.2f ms\t%s\t%s\n"):format(r.id, r.event_id, r.kind,
        r.handler, r.attempt, r.duration_ms, r.at, r.ok and ("ok, " .. r.actions .. " actions") or ("error: " .. tostring(r.error))))
    end
  end
elseif group == "lock" and action == "list" then
  no_rest()
  if opts.project and opts.lobby then cli.usage_error("give --project or --lobby, not both", usage) end
  local only = opts.project   -- false: lobby locks only
  if opts.lobby then only = false end
  for _, v in ipairs(locks.list(h, only)) do
    if opts.json then
      io.stdout:write(json.encode(v), "\n")
    else
      io.stdout:write(("%s\t%s\t%s/@%s\t%s\ttoken %s\t%s %s\n"):format(v.lock, v.project ~= json.null and v.project or "-",
        v.holder.ai, v.holder.agent, v.holder.machine, tostring(v.fencing_token),
        v.held and "expires" or "expired", v.expires_at))
    end
  end
else -- lock break
  if #rest ~= 1 then cli.usage_error("lock break needs one lock NAME (see lock list)", usage) end
  local v, berr = locks.break_lock(h, rest[1], opts.reason, { ai = "admin", agent = "brain_admin", machine = hostname() })
  if not v then cli.fail("brain_admin: " .. berr) end
  io.stdout:write(("broke lock %s (held by %s/@%s, fencing token %s; alert #%d)\n"):format(v.lock, v.holder.ai,
    v.holder.agent, tostring(v.fencing_token), v.chat_id))
end
