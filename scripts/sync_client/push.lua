-- push: sends the offline queue in batches and records what the server decided.
--
-- Crash safety: a batch is marked sent (its items frozen) in one transaction before the
-- request, and the answers are applied in another after it. A kill between the two
-- leaves the batch queued; the rerun sends the same mutation ids and the server replays
-- its first answers, so no change is ever applied twice.
local check = require "hostsync.check"
local json = require "hostsync.json"

local M = {}

local function shallow(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- Applies one result to the vault (inside the caller's transaction).
local function apply_result(v, sent, res)
  local item = sent.item
  local etype, eid = item.entity_type, item.entity_id
  v:record_outcome(res, item)
  v:drop_pending(sent.mutation_id)
  local later = #v:pending_for(etype, eid) > 0
  local e = v:entity(etype, eid)
  local known = e and e.server_version or 0
  local status = res.status
  if status == "applied" and res.unchanged == true then
    -- The server found nothing to change (e.g. both sides deleted): what it holds at
    -- res.version is its own item, not ours. Take it from `current` if given, else
    -- rewind the pull cursor so the next pull fetches it again.
    if type(res.current) == "table" and (tonumber(res.current.version) or 0) > known then
      v:set_server(etype, eid, res.current, not later and res.current or nil)
    else
      if not later then v:restore_server_view(etype, eid) end
      v:rewind_cursor((tonumber(res.version) or 1) - 1)
    end
  elseif status == "applied" then
    -- The server answers with the item it stored, which is what its policy decided
    -- (e.g. the upgrade rule, or content that keeps its level), not necessarily ours.
    local version = tonumber(res.version) or 0
    if version > known then
      local stored = res.item
      if type(stored) ~= "table" then
        -- A replayed answer has no item: keep ours at that version for now, and read the
        -- server's on the next pull (pull takes the server's item at a version it knows).
        stored = shallow(item)
        v:rewind_cursor(version - 1)
      end
      stored.version = version
      v:set_server(etype, eid, stored, not later and stored or nil)
    end
    v:rebase_unsent(etype, eid, version)
  elseif status == "conflict" and type(res.current) == "table" and (tonumber(res.current.version) or 0) > known then
    v:set_server(etype, eid, res.current, not later and res.current or nil)
  elseif not later then
    -- conflict (we already know the winner), rejected, proposal: the server's state
    -- stands; a proposal comes back through pull as a suggestion.
    v:restore_server_view(etype, eid)
  end
end

-- opts: batch (items per request, default 1000), after_response() (called between the
-- server's answer and recording it: a failpoint for crash tests).
-- -> summary {sent, applied, conflict, rejected, proposal, replayed, results} | nil, err, kind
function M.run(v, transport, opts)
  opts = check.opts(opts, { batch = "number", after_response = "function" },
                    "Usage: sync_client.push.run(vault, transport [, {batch=, after_response=}])")
  local batch_size = opts.batch or 1000
  local sum = { sent = 0, applied = 0, conflict = 0, rejected = 0, proposal = 0, replayed = 0, results = {} }
  while true do
    local batch = v:tx(function() return v:take_batch(batch_size) end)
    if #batch == 0 then break end
    local items = {}
    for i, p in ipairs(batch) do
      local it = shallow(p.item)
      it.mutation_id = p.mutation_id
      items[i] = it
    end
    local body, err, kind = transport:push(items)
    if not body then return nil, err, kind end
    local results = body.results
    if type(results) ~= "table" or #results ~= #batch then
      return nil, "POST /sync/push: expected " .. #batch .. " results, got " .. json.encode(results or json.null), "bad_response"
    end
    if opts.after_response then opts.after_response() end   -- a failpoint for crash tests
    v:tx(function()
      for i, res in ipairs(results) do
        if res.mutation_id ~= batch[i].mutation_id then
          error("POST /sync/push: result " .. i .. " is for " .. tostring(res.mutation_id) .. ", not " .. batch[i].mutation_id)
        end
        apply_result(v, batch[i], res)
      end
    end)
    for _, res in ipairs(results) do
      sum.sent = sum.sent + 1
      sum[res.status] = (sum[res.status] or 0) + 1
      if res.replayed == true then sum.replayed = sum.replayed + 1 end
      sum.results[#sum.results + 1] = res
    end
  end
  return sum
end

return M
