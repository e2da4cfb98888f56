-- context_bundle_build: CANON -> BUNDLE_MANIFEST. Lists the canonical artifacts with
-- their hashes and sizes: the context a spec is generated from.
local json = require "hostsync.json"
local store_mod = require "adam.store"

local M = {
  summary = "build the context bundle manifest of a CANON selection (BUNDLE_MANIFEST)",
  options = { { "--canon", "ID", "the canon artifact_id (required)", required = true } },
}

function M.run(store, opts)
  local canon, data = store:parent(opts.canon, "canon")
  if not canon then return nil, data end
  local doc = json.decode(data)
  if type(doc) ~= "table" or type(doc.selected) ~= "table" then return nil, canon.relpath .. ": not a canon selection" end
  local items, total = {}, 0
  for _, item in ipairs(doc.selected) do
    local rec, err = store:parent(item.artifact_id, "sanitized")  -- re-checks every hash
    if not rec then return nil, err end
    items[#items + 1] = { artifact_id = rec.artifact_id, sha256 = rec.sha256, relpath = rec.relpath,
                          media_type = rec.media_type, byte_size = rec.byte_size }
    total = total + rec.byte_size
  end
  local manifest = json.canonical({
    bundle_version = "0.1", canon = store_mod.link(canon), items = json.array(items), total_bytes = total,
  }) .. "\n"
  local rec, err = store:put({ type = "bundle_manifest", name = "bundle_manifest.json", data = manifest,
                               media_type = "application/json", parents = { store_mod.link(canon) },
                               meta = { items = #items, total_bytes = total } })
  if not rec then return nil, err end
  return { rec }
end

return M
