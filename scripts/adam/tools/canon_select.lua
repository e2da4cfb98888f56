-- artifact_canon_select: SANITIZED -> CANON. Records which sanitized artifacts are the
-- canonical inputs of what follows, as a canonical JSON list (deterministic: sorted).
local json = require "hostsync.json"
local store_mod = require "adam.store"

local M = {
  summary = "select the canonical SANITIZED artifacts (CANON)",
  options = {
    { "--select", "IDS", "comma-separated sanitized artifact_ids (required)", required = true },
  },
}

function M.run(store, opts)
  local selected, parents, seen = {}, {}, {}
  for id in opts.select:gmatch("[^,%s]+") do
    if not seen[id] then
      seen[id] = true
      local rec, err = store:parent(id, "sanitized")
      if not rec then return nil, err end
      selected[#selected + 1] = { artifact_id = rec.artifact_id, sha256 = rec.sha256, relpath = rec.relpath,
                                  media_type = rec.media_type, byte_size = rec.byte_size }
      parents[#parents + 1] = store_mod.link(rec)
    end
  end
  if #selected == 0 then return nil, "--select names no artifact" end
  table.sort(selected, function(a, b) return a.relpath < b.relpath end)
  table.sort(parents, function(a, b) return a.artifact_id < b.artifact_id end)
  local doc = json.canonical({ canon_version = "0.1", selected = json.array(selected) }) .. "\n"
  local rec, err = store:put({ type = "canon", name = "canon.json", data = doc, media_type = "application/json",
                               parents = parents, meta = { count = #selected } })
  if not rec then return nil, err end
  return { rec }
end

return M
