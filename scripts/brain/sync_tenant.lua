-- GET/POST /sync/tenant: the token's tenant and its vault_mode (contract section 8).
-- local_first (the default): the local vault is canonical and AI cloud output is kept as
-- proposals; cloud_first: AI cloud writes go through the normal rules. The rule itself is
-- in the policy (check_write sees ctx.vault_mode); the server only stores the mode.
local sstore = require "brain.sync_store"
local validate = require "brain.validate"
local db_check = require("hostsync.db").check   -- assert for database calls, keeping kind and code

local M = {}
M.MODES = { "local_first", "cloud_first" }

function M.get(h, ident)
  return 200, { tenant = ident.tenant, vault_mode = sstore.tenant(h, ident.tenant) }
end

-- Only user-level (1) tokens reach this: the route's access rule (brain/access.lua).
function M.set(h, ident, body)
  local f = validate.fields(body, { vault_mode = { "string", required = true, one_of = M.MODES } })
  db_check(h:transaction(function(tx)
    sstore.set_vault_mode(tx, ident.tenant, f.vault_mode)
    return true
  end))
  return 200, { tenant = ident.tenant, vault_mode = f.vault_mode }
end

return M
