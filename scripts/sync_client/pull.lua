-- pull: reads the server's change feed from the vault's cursor and applies it. An entity
-- without a local pending change takes the server's state; one with a pending change
-- goes through the conflict policy (the same file the server runs), and the pending
-- change stays queued so the server decides it too and logs the decision. A proposal
-- comes with its status: open ones can be accepted, closed ones (resolved, accepted
-- by any vault) no longer can.
local M = {}

local function apply_entity(v, policy, item, ctx, sum)
  local etype, eid = item.entity_type, item.entity_id
  local e = v:entity(etype, eid)
  if e and e.server_version > item.version then return end   -- we know a newer one
  local pending = e and #v:pending_for(etype, eid) > 0
  if not e or not pending then
    v:set_server(etype, eid, item, item)
    return
  end
  if e.server_version == item.version then   -- our own push: the server's item is the truth
    v:set_server(etype, eid, item)
    return
  end
  local l = {}
  for k, val in pairs(e.item) do l[k] = val end
  l.tenant_id = l.tenant_id or item.tenant_id
  local d, err = policy:decide(l, item, ctx)
  sum.decided = sum.decided + 1
  if not d then
    io.stderr:write(("pull: %s/%s: policy error, keeping the local change: %s\n"):format(etype, eid, tostring(err)))
    v:set_server(etype, eid, item)
  elseif d.winner == "local" then
    v:set_server(etype, eid, item)
  else
    v:set_server(etype, eid, item, item)
    sum.overridden = sum.overridden + 1
  end
end

-- -> summary {changes, entities, proposals, decided, overridden, cursor} | nil, err, kind
function M.run(v, transport, policy, opts)
  opts = opts or {}
  local ctx = { vault_mode = v:get_config("vault_mode") }
  local sum = { changes = 0, entities = 0, proposals = 0, decided = 0, overridden = 0 }
  local cursor = tonumber(v:get_config("pull_cursor") or "0")
  while true do
    local body, err, kind = transport:pull(cursor, opts.limit or 5000)
    if not body then return nil, err, kind end
    if type(body.changes) ~= "table" or tonumber(body.next) == nil then
      return nil, "GET /sync/pull: response has no changes/next", "bad_response"
    end
    v:tx(function()
      for _, ch in ipairs(body.changes) do
        local item = ch.item
        if ch.kind == "proposal" then
          -- ch.version is its place in the feed; item.version names the proposal.
          v:put_proposal(tonumber(item.version), item, item.status)
          sum.proposals = sum.proposals + 1
        else
          item.version = tonumber(ch.version) or item.version
          apply_entity(v, policy, item, ctx, sum)
          sum.entities = sum.entities + 1
        end
        sum.changes = sum.changes + 1
      end
      v:set_config("pull_cursor", tonumber(body.next))
    end)
    local next_cursor = tonumber(body.next)
    if not body.more or next_cursor == cursor then cursor = next_cursor break end
    cursor = next_cursor
  end
  sum.cursor = cursor
  return sum
end

return M
