-- pull: reads the server's change feed from the vault's cursor and applies it. An entity
-- without a local pending change takes the server's state; one with a pending change
-- goes through the conflict policy (the same file the server runs), and the pending
-- change stays queued so the server decides it too and logs the decision. A proposal
-- comes with its status: open ones can be accepted, closed ones (resolved, accepted
-- by any vault) no longer can.
--
-- A pull from cursor 0 is a full resync: it marks everything the feed holds, and at its
-- last page the vault's server-known entities the feed did not hold are gone on the
-- server (deleted, their tombstones pruned) and go here too (vault:finish_resync). The
-- server answers 410 with `resync` to a cursor older than what it pruned
-- (docs/sync-contract.md, "Retention"): the pull then starts over from 0 that way, so a
-- delete is never missed. The mark is kept in the vault (config resync_mark), so a
-- resync interrupted between pages goes on, and still ends with the comparison.
local check = require "hostsync.check"

local M = {}
M.MAX_RESYNCS = 3   -- 410s in one run (the server pruning again meanwhile) before giving up

local function start_resync(v)
  local mark = (tonumber(v:get_config("resync_count") or "0") or 0) + 1
  v:tx(function()
    v:set_config("resync_count", mark)
    v:set_config("resync_mark", mark)
    v:set_config("pull_cursor", 0)
  end)
  return mark
end

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

-- -> summary {changes, entities, proposals, decided, overridden, cursor, resync?} | nil, err, kind
-- resync = {pruned = bool (a 410 started it), removed = {type/id}, kept = {type/id}, closed = n}
-- opts: limit (changes per request, default 5000).
function M.run(v, transport, policy, opts)
  opts = check.opts(opts, { limit = "number" }, "Usage: sync_client.pull.run(vault, transport, policy [, {limit=}])")
  local ctx = { vault_mode = v:get_config("vault_mode") }
  local sum = { changes = 0, entities = 0, proposals = 0, decided = 0, overridden = 0 }
  local cursor = tonumber(v:get_config("pull_cursor") or "0")
  local mark = tonumber(v:get_config("resync_mark") or "")
  if cursor == 0 and not mark then mark = start_resync(v) end
  local pruned, resyncs = false, 0
  while true do
    local body, err, kind, status, refusal = transport:pull(cursor, opts.limit or 5000, mark ~= nil)
    if not body and status == 410 and type(refusal) == "table" and refusal.resync then
      resyncs = resyncs + 1
      if resyncs > M.MAX_RESYNCS then return nil, err, kind end
      io.stderr:write(("pull: the server pruned its feed through v%s, after this vault's cursor %d: full resync\n")
        :format(tostring(refusal.pruned_through), cursor))
      pruned, cursor, mark = true, 0, start_resync(v)
    elseif not body then
      return nil, err, kind
    elseif type(body.changes) ~= "table" or tonumber(body.next) == nil then
      return nil, "GET /sync/pull: response has no changes/next", "bad_response"
    else
      local next_cursor = tonumber(body.next)
      local last = not body.more or next_cursor == cursor
      v:tx(function()
        for _, ch in ipairs(body.changes) do
          local item = ch.item
          if ch.kind == "proposal" then
            -- ch.version is its place in the feed; item.version names the proposal.
            v:put_proposal(tonumber(item.version), item, item.status)
            if mark then v:mark_proposal_seen(tonumber(item.version), mark) end
            sum.proposals = sum.proposals + 1
          else
            item.version = tonumber(ch.version) or item.version
            apply_entity(v, policy, item, ctx, sum)
            if mark then v:mark_entity_seen(item.entity_type, item.entity_id, mark) end
            sum.entities = sum.entities + 1
          end
          sum.changes = sum.changes + 1
        end
        v:set_config("pull_cursor", next_cursor)
        if last and mark then
          local removed, kept, closed = v:finish_resync(mark)
          sum.resync = { pruned = pruned, removed = removed, kept = kept, closed = closed }
          v:unset_config("resync_mark")
        end
      end)
      cursor = next_cursor
      if last then break end
    end
  end
  sum.cursor = cursor
  return sum
end

return M
