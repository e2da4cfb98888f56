-- Bearer tokens: issued by brain_admin.lua, stored as SHA-256 only. The identity of a
-- request (ai, agent, machine, projects) comes from here and never from the body.
local db = require "hostsync.db"
local hash = require "hostsync.hash"
local json = require "hostsync.json"
local store = require "brain.store"

local M = {}

-- Truth levels of the sync contract (seed section 2): lower is more authority.
M.LEVELS = { "user", "automation", "ai-local", "ai-lan", "ai-cloud" }

-- "user" | "1" | ... -> 1..5, or nil
function M.level_of(s)
  local n = tonumber(s)
  if n and n >= 1 and n <= 5 and n == math.floor(n) then return n end
  for i, name in ipairs(M.LEVELS) do if name == s then return i end end
  return nil
end

-- tenant and level are optional (nil for brain-only tokens) but go together.
function M.create(h, ai, agent, machine, projects, tenant, level)
  local token = "hsb_" .. store.random_hex(32)
  local ok, err = h:exec([[INSERT INTO tokens(token_sha256, ai, agent, machine, projects, created_at, tenant, level)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?)]],
    hash.sha256_hex(token), ai, agent, machine, json.encode(json.array(projects)), store.now(), tenant, level)
  if not ok then return nil, err end
  return token
end

-- -> identity | nil (no or unknown token) | nil, err (database failure)
function M.identify(h, req)
  local token = (req.headers.authorization or ""):match("^[Bb]earer%s+(%S+)%s*$")
  if not token then return nil end
  local rows, err = h:query([[SELECT id, ai, agent, machine, projects, tenant, level FROM tokens
                              WHERE token_sha256 = ? AND revoked_at IS NULL]], hash.sha256_hex(token))
  if not rows then return nil, err end
  local r = rows[1]
  if not r then return nil end
  local projects = {}
  for _, p in ipairs(json.decode(r.projects) or {}) do projects[p] = true end
  return { token_id = r.id, ai = r.ai, agent = r.agent, machine = r.machine, projects = projects,
           project_list = json.decode(r.projects),
           tenant = r.tenant ~= db.null and r.tenant or nil, level = r.level ~= db.null and r.level or nil }
end

function M.may_use(ident, project)
  return project == nil or ident.projects[project] or ident.projects["*"] or false
end

-- Raises the 403 a handler answers when the token may not use the project (nil: none named).
function M.require_project(ident, project)
  if not M.may_use(ident, project) then
    error({ status = 403, error = "this token may not use project '" .. project .. "'" }, 0)
  end
end

-- Of these token ids (strings), the ones no longer valid (revoked): an open stream
-- outlives the check made when it opened, so the server asks again (brain/topics.lua).
function M.invalid_among(h, ids)
  local out = {}
  for i = 1, #ids, 500 do
    local chunk = { unpack(ids, i, math.min(i + 499, #ids)) }
    local marks = ("?, "):rep(#chunk):sub(1, -3)
    for _, r in ipairs(assert(h:query("SELECT id FROM tokens WHERE revoked_at IS NOT NULL AND id IN (" .. marks .. ")",
        unpack(chunk)))) do
      out[#out + 1] = tostring(r.id)
    end
  end
  return out
end

return M
