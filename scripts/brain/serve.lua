-- hostsync serve: the brain server. Opens (and migrates) the database once, then runs
-- http.serve with brain/app.lua in every worker. Options come from flags, then a JSON
-- config file, then defaults: loopback, port 8377, SQLite at ./brain.sqlite.
local cli = require "hostsync.cli"
local http = require "hostsync.http"
local json = require "hostsync.json"
local store = require "brain.store"

local spec = {
  usage = "hostsync serve [options]",
  summary = "Run the shared brain: locks with fencing tokens, sync state, chat, handoffs, tasks. See docs/brain.md.",
  options = {
    { "--address", "A", "address to bind (default 127.0.0.1)" },
    { "--port", "N", "port (default 8377; 0 picks a free one)", number = true },
    { "--db", "URL", "SQLite path or postgres:// URL (default ./brain.sqlite)" },
    { "--config", "FILE", "JSON file with address, port, db, threads, sync_policy, sync_max_clock_skew, hooks, max_body, group_commit, stream_sweep, web, tls = {cert, key}" },
    { "--threads", "N", "worker threads: requests handled at once; open streams hold none (default 8)", number = true },
    { "--sync-policy", "FILE", "conflict policy of /sync/* (default policies/truth_hierarchy.lua); reloaded on change" },
    { "--hooks", "FILE", "event hooks in Lua (docs/hooks.md; config key hooks for their settings); reloaded on change" },
    { "--sync-max-clock-skew", "S", "seconds a pushed last_modified_at may be ahead of the server's clock; later ones are stored as the server's time (default 300)", number = true },
    { "--web", "DIR", "the web view's files, served at / (default: the web/ installed with this binary)" },
    { "--no-web", nil, "serve no web view (GET / then needs a token and answers 404)" },
  },
}
local opts, rest = cli.parse(arg, spec)
if #rest > 0 then cli.usage_error("unexpected argument '" .. rest[1] .. "'", spec.usage) end

local config = {}
if opts.config then
  local f, err = io.open(opts.config, "rb")
  if not f then cli.fail("hostsync serve: " .. err) end
  local v, jerr = json.decode(f:read("*a"))
  f:close()
  if type(v) ~= "table" then cli.fail("hostsync serve: " .. opts.config .. ": " .. tostring(jerr or "not a JSON object")) end
  config = v
end
for _, k in ipairs { "address", "port", "db", "threads" } do
  if opts[k] ~= nil then config[k] = opts[k] end
end
if opts.sync_policy ~= nil then config.sync_policy = opts.sync_policy end
if opts.sync_max_clock_skew ~= nil then config.sync_max_clock_skew = opts.sync_max_clock_skew end
local skew = config.sync_max_clock_skew
if skew ~= nil and (type(skew) ~= "number" or skew < 0 or skew ~= skew or skew == math.huge) then
  cli.usage_error("--sync-max-clock-skew (sync_max_clock_skew) must be a number of seconds >= 0", spec.usage)
end
config.db = config.db or store.DEFAULT_DB
-- SQLite: concurrent requests' transactions share one fsync (docs/api/db.md, "Group commit").
if config.group_commit == nil then config.group_commit = true end
if type(config.group_commit) ~= "boolean" then cli.fail("hostsync serve: group_commit must be true or false") end

-- The sync policy, loaded here once so that a broken policy fails before listening
-- (workers are threads of this process: a relative path means the same to them).
local policy_path = config.sync_policy or package.searchpath("truth_hierarchy", package.path)
if not policy_path then cli.fail("hostsync serve: policies/truth_hierarchy.lua not found on the script path") end
local _, perr = require("brain.sync_policy").load(policy_path)
if perr then cli.fail("hostsync serve: sync policy " .. policy_path .. ": " .. perr) end
config.sync_policy = policy_path

-- Event hooks (docs/hooks.md): --hooks FILE, or config "hooks" (a file name or an object
-- with file, allow_hosts, budgets, retries). Loaded here once: a broken file fails here.
if opts.hooks ~= nil then
  if type(config.hooks) == "table" then config.hooks.file = opts.hooks else config.hooks = opts.hooks end
end
if config.hooks ~= nil then
  local hooks = require "brain.hooks"
  local hc, herr = hooks.config(config.hooks)
  if not hc then cli.fail("hostsync serve: " .. herr) end
  local _, lerr = hooks.load(hc.file, hc)
  if lerr then cli.fail("hostsync serve: hooks file " .. hc.file .. ": " .. lerr) end
  config.hooks = hc
end

-- The web view (docs/web.md): by default the web/ of the binary's own tree (the host
-- passes it as arg.web_dir: the source tree from a build directory,
-- <prefix>/share/hostsync/web when installed), so the page comes from the same version
-- as the API it calls, and never from HOSTSYNC_PATH. Loaded here once so a broken
-- directory fails before listening; every worker loads its own copy.
if opts.web ~= nil and opts.no_web then cli.usage_error("give --web or --no-web, not both", spec.usage) end
if opts.web ~= nil then config.web = opts.web end
if opts.no_web then config.web = false end
if config.web == nil then
  if not arg.web_dir then cli.fail("hostsync serve: no web view installed beside this binary; give --web DIR or --no-web") end
  config.web = arg.web_dir
end
if config.web ~= false and (type(config.web) ~= "string" or config.web == "") then
  cli.fail("hostsync serve: web must be a directory or false")
end
local _, werr = require("brain.view").load(config.web)
if werr then cli.fail("hostsync serve: " .. werr) end

-- Migrate once here, not in every worker, so a bad database fails before listening.
local h, err = store.open(config.db)
if not h then cli.fail("hostsync serve: " .. err) end
local ok, merr = store.migrate(h)
if not ok then cli.fail("hostsync serve: " .. merr) end
h:close()

-- Every worker requires brain.app from this state's package.path (the same directories
-- this script was found in, nothing else) and calls it with its own copy of config. No
-- file is generated: nothing in a temporary directory, nothing left behind by a kill.
local served, serr = http.serve{ module = "brain.app", config = config, address = config.address or "127.0.0.1",
  port = config.port or 8377, threads = config.threads or 8, tls = config.tls,
  max_body = config.max_body or 8 * 1024 * 1024 }
if not served then cli.fail("hostsync serve: " .. serr) end
