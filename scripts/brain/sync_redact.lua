-- What a reader may see (contract section 7.3: AI cloud gets redacted views only). The rules
-- are the policy's: `redacts(ctx)` says whether a reader level sees views at all, and
-- `redact(item, ctx)` makes the view of one item. The server applies them to everything
-- that carries an item to a reader: pull entries, push answers (`item`, `current`, also
-- replayed ones), conflict-resolve answers, and the stored and incoming items of
-- /sync/events.
--
-- It fails closed: when the policy cannot say or cannot make a view, the reader gets a
-- stub with the item's identity only (entity, tenant, version, and a proposal's
-- base_version and status), never the item.
local json = require "hostsync.json"
local items = require "brain.sync_items"
local output = require "brain.sync_policy_output"

local M = {}
local R = {}
R.__index = R

local IDENTITY = { "entity_type", "entity_id", "tenant_id", "version", "base_version", "status" }

-- -> a redactor for this reader, or nil when it sees everything
function M.for_reader(policy, ident)
  local ctx = { reader_level = ident.level, tenant = ident.tenant }
  local yes, err = policy:call("redacts", ctx, nil, nil, "boolean")
  if yes == false then return nil end
  return setmetatable({ policy = policy, ctx = ctx, err = err }, R)
end

local function stub(it, why)
  local s = { redacted = true, redaction_error = why }
  for _, k in ipairs(IDENTITY) do s[k] = it[k] end
  return s
end

-- A decoded item -> the view this reader may see (a table, marked `redacted`).
function R:item(it)
  if type(it) ~= "table" then return it end
  if self.err then return stub(it, self.err) end
  local view, err = self.policy:call("redact", items.strip_nulls(it), self.ctx)
  if not view then
    io.stderr:write("hostsync brain: sync policy redact: ", tostring(err), "\n")
    return stub(it, err)
  end
  for _, k in ipairs(IDENTITY) do
    if view[k] ~= it[k] then return stub(it, "policy error: redact changed the item's " .. k) end
  end
  view = output.restore(view, it)
  view.redacted = true
  return view
end

-- A JSON object with item members (a pull entry: "item"; a push result: "item",
-- "current") -> the same with each of them redacted.
function R:members(text, names)
  local v = json.decode(text)
  for _, name in ipairs(names) do
    if type(v[name]) == "table" then v[name] = self:item(v[name]) end
  end
  return json.encode(v)
end

local RESULT_MEMBERS = { "item", "current" }
function R:result_text(text)
  if not (text:find('"item":', 1, true) or text:find('"current":', 1, true)) then return text end
  return self:members(text, RESULT_MEMBERS)
end

local ENTRY_MEMBERS = { "item" }
function R:entry_text(text)
  return self:members(text, ENTRY_MEMBERS)
end

return M
