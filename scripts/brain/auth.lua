-- Bearer tokens: issued by brain_admin.lua, stored as SHA-256 only. The identity of a
-- request (ai, agent, machine, projects, tenant, level) comes from here and never from
-- the body. What a token may reach is brain/access.lua's job.
local db = require "hostsync.db"
local hash = require "hostsync.hash"
local json = require "hostsync.json"
local store = require "brain.store"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}

-- Truth levels of the sync contract (contract section 2): lower is more authority.
M.LEVELS = { "user", "automation", "ai-local", "ai-lan", "ai-cloud" }

-- "user" | "1" | ... -> 1..5, or nil
function M.level_of(s)
  local n = tonumber(s)
  if n and n >= 1 and n <= 5 and n == math.floor(n) then return n end
  for i, name in ipairs(M.LEVELS) do if name == s then return i end end
  return nil
end

local function truthy(v) return v == true or v == 1 end

local function new_secret() return "hsb_" .. store.random_hex(32) end

-- p: {ai, agent, machine, projects = {...}, tenant?, level?, expires_at? (ISO), rotated_from?}.
-- tenant and level are optional (nil for brain-only tokens) but go together.
-- -> the token (printed once; only its hash is kept), its id | nil, err
function M.create(h, p)
  local token = new_secret()
  local rows, err = h:query([[INSERT INTO tokens(token_sha256, ai, agent, machine, projects, created_at, tenant, level,
                                                 expires_at, rotated_from)
                              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id]],
    hash.sha256_hex(token), p.ai, p.agent, p.machine, json.encode(json.array(p.projects)), store.now(), p.tenant,
    p.level, p.expires_at, p.rotated_from)
  if not rows then return nil, err end
  return token, rows[1].id
end

-- A new secret for token `id` with the same identity, projects, tenant, level and expiry;
-- the old one stops working at once, or after `grace` seconds (so agents can switch over).
-- One transaction: never both gone, never two unbounded. -> token, new id | nil, err
function M.rotate(h, id, grace)
  return h:transaction(function(tx)
    local r = db_check(tx:query(("SELECT ai, agent, machine, projects, tenant, level, %s AS expires_at FROM tokens WHERE id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)")
      :format(store.ts(tx, "expires_at")), id, store.now()))[1]
    if not r then return nil, "no active token with ID " .. id end
    local token, new_id = db_check(M.create(tx, { ai = r.ai, agent = r.agent, machine = r.machine,
      projects = json.decode(r.projects), tenant = r.tenant ~= db.null and r.tenant or nil,
      level = r.level ~= db.null and r.level or nil, expires_at = r.expires_at ~= db.null and r.expires_at or nil,
      rotated_from = id }))
    if grace and grace > 0 then
      local until_ = store.now(grace)
      db_check(tx:exec("UPDATE tokens SET expires_at = ? WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)", until_, id, until_))
    else
      db_check(tx:exec("UPDATE tokens SET revoked_at = ? WHERE id = ?", store.now(), id))
    end
    return token, new_id
  end)
end

-- -> true | nil, err
function M.revoke(h, id)
  local n = db_check(h:exec("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", store.now(), id))
  if n == 0 then return nil, "no active token with ID " .. id end
  return true
end

-- Whether token `id` is still neither revoked nor expired (for what outlives a request:
-- an open stream asks again while it runs).
function M.still_valid(h, id)
  local rows = db_check(h:query("SELECT 1 AS ok FROM tokens WHERE id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
    id, store.now()))
  return rows[1] ~= nil
end

-- The bearer token of a request's headers -> identity | nil, why (401: no token, unknown,
-- revoked or expired) | raises on a database failure.
-- The lookup of a request's token, per backend, built once: it runs on every request.
local identify_sql = {}
local function identify_sql_for(h)
  local sql = identify_sql[h:backend()]
  if not sql then
    sql = ([[SELECT id, ai, agent, machine, projects, tenant, level, %s AS expires_at,
                    revoked_at IS NOT NULL AS revoked, (expires_at IS NOT NULL AND expires_at <= ?) AS expired
             FROM tokens WHERE token_sha256 = ?]]):format(store.ts(h, "expires_at"))
    identify_sql[h:backend()] = sql
  end
  return sql
end

function M.identify(h, headers)
  local token = (headers.authorization or ""):match("^[Bb]earer%s+(%S+)%s*$")
  if not token then return nil, "missing or invalid bearer token" end
  local rows, err = h:query(identify_sql_for(h), store.now(), hash.sha256_hex(token))
  if not rows then error(err, 0) end
  local r = rows[1]
  if not r then return nil, "missing or invalid bearer token" end
  if truthy(r.revoked) then return nil, "this token was revoked" end
  if truthy(r.expired) then return nil, "this token expired at " .. r.expires_at end
  local list = json.decode(r.projects) or {}
  local projects = {}
  for _, p in ipairs(list) do projects[p] = true end
  return { token_id = r.id, ai = r.ai, agent = r.agent, machine = r.machine, projects = projects, project_list = list,
           tenant = r.tenant ~= db.null and r.tenant or nil, level = r.level ~= db.null and r.level or nil,
           expires_at = r.expires_at ~= db.null and r.expires_at or nil }
end

-- Of these token ids (strings), the ones no longer valid (revoked or expired): an open stream
-- outlives the check made when it opened, so the server asks again (brain/topics.lua).
function M.invalid_among(h, ids)
  local out = {}
  for i = 1, #ids, 500 do
    local chunk = { unpack(ids, i, math.min(i + 499, #ids)) }
    local marks = ("?, "):rep(#chunk):sub(1, -3)
    for _, r in ipairs(db_check(h:query("SELECT id FROM tokens WHERE (revoked_at IS NOT NULL OR (expires_at IS NOT NULL AND expires_at <= ?)) AND id IN (" .. marks .. ")",
        store.now(), unpack(chunk)))) do
      out[#out + 1] = tostring(r.id)
    end
  end
  return out
end

return M
