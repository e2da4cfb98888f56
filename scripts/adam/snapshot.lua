-- What a snapshot holds and how its plaintext is rebuilt: shared by snapshot_export,
-- snapshot_verify and snapshot_restore (docs/snapshots.md).
--
-- The archive is a deterministic tar (hostsync.tar) of .adam_os/artifacts/ (without
-- snapshots/, which holds the exports themselves), .adam_os/runs/ and any
-- .adam_os/*.duckdb. The registry and the receipts are append-only logs that each export
-- itself appends to; the archive holds them only up to their last record that is not a
-- snapshot's own (a byte prefix, immutable once written), so exporting twice with
-- nothing else changed gives the same plaintext, and the plaintext can be rebuilt later
-- from the tree ("controlled rebuild").
local fs = require "hostsync.fs"
local json = require "hostsync.json"
local tar = require "hostsync.tar"
local store_mod = require "adam.store"

local M = {}

M.SNAPSHOTS = store_mod.ARTIFACTS .. "/snapshots"
M.REGISTRY = store_mod.ARTIFACTS .. "/artifact_registry.jsonl"
M.RECEIPTS = store_mod.RUNS .. "/receipts.jsonl"
M.SCHEME_X25519 = "age-v1 X25519 (ChaCha20-Poly1305 STREAM)"
M.SCHEME_SCRYPT = "age-v1 scrypt (ChaCha20-Poly1305 STREAM)"

-- Byte length of the prefix of an append-only JSONL log that ends after its last record
-- for which keep(record) is true (0 if none). Torn fragments are kept inside the prefix.
local function log_prefix(path, keep)
  if not fs.exists(path) then return nil end
  local reader = assert(fs.line_reader(path))
  local prefix = 0
  for line in reader:lines() do
    local rec = json.decode(line)
    if type(rec) == "table" and keep(rec) then prefix = reader:offset() end
  end
  reader:close()
  return prefix
end

local function is_snapshot_record(rec)
  return rec.artifact_type == "snapshot" or rec.artifact_type == "snapshot_manifest"
end

-- The archive's inputs. Returns { paths, prefixes, included_roots } or nil, err.
function M.inputs(repo)
  local paths, prefixes, roots = {}, {}, {}
  local function add_tree(rel, skip)
    local abs = repo .. "/" .. rel
    if not fs.exists(abs) then return true end
    local list, err = tar.collect(abs)
    if not list then return nil, err end
    roots[#roots + 1] = rel .. "/"
    paths[#paths + 1] = rel
    for _, p in ipairs(list) do
      if not (skip and (p == skip or p:sub(1, #skip + 1) == skip .. "/")) then
        paths[#paths + 1] = rel .. "/" .. p
      end
    end
    return true
  end
  local ok, err = add_tree(store_mod.ARTIFACTS, "snapshots")
  if not ok then return nil, err end
  ok, err = add_tree(store_mod.RUNS)
  if not ok then return nil, err end
  for _, name in ipairs(fs.listdir(repo .. "/.adam_os") or {}) do
    if name:match("%.duckdb$") then  -- by rule: every DuckDB file directly under .adam_os
      local st = fs.stat(repo .. "/.adam_os/" .. name)
      if st and st.type == "file" then
        paths[#paths + 1] = ".adam_os/" .. name
        roots[#roots + 1] = ".adam_os/" .. name
      end
    end
  end
  prefixes[M.REGISTRY] = log_prefix(repo .. "/" .. M.REGISTRY, function(r) return not is_snapshot_record(r) end)
  prefixes[M.RECEIPTS] = log_prefix(repo .. "/" .. M.RECEIPTS, function(r)
    return r.tool ~= "snapshot_export" and r.tool ~= "snapshot_verify" and r.tool ~= "snapshot_restore"
  end)
  local files = 0
  for _, p in ipairs(paths) do
    local st = fs.stat(repo .. "/" .. p)
    if st and st.type == "file" then files = files + 1 end
  end
  return { paths = paths, prefixes = prefixes, included_roots = roots, file_count = files }
end

-- Streams the archive of `inputs` into `sink` (and finishes it). Returns the tar result.
-- `progress(entries, bytes)`, if given, is called as the archive is written.
function M.write_archive(sink, repo, inputs, progress)
  return tar.write(sink, repo, inputs.paths, { prefixes = inputs.prefixes, mtime = 0, progress = progress })
end

-- Rebuilds the plaintext from the tree as the manifest describes it, without writing
-- anything: returns sha256, bytes.
function M.rebuild_hash(repo, manifest)
  local h = tar.hash_sink()
  local inputs = { paths = manifest.archive_paths, prefixes = manifest.log_prefixes }
  local res, err = M.write_archive(h, repo, inputs)
  if not res then return nil, err end
  return h:hex(), h:bytes()
end

-- The work order's chain: { work_order, build_spec, bundle_manifest } records, or nil, err.
function M.chain(store, work_order_id)
  local _, by_id = store:records()
  if not by_id then return nil, _ end
  local wo = by_id[work_order_id]
  if not wo then return nil, "no artifact " .. tostring(work_order_id) .. " in the registry" end
  if wo.artifact_type ~= "work_order" then return nil, work_order_id .. " is a " .. wo.artifact_type .. ", not a work_order" end
  local chain = { work_order = wo }
  local cur = wo
  for _, want in ipairs({ "build_spec", "bundle_manifest" }) do
    local link = cur.parents and cur.parents[1]
    local parent = link and by_id[link.artifact_id]
    if not parent or parent.artifact_type ~= want or parent.sha256 ~= link.sha256 then
      return nil, string.format("missing parent linkage: %s %s has no %s parent with a matching sha256",
        cur.artifact_type, cur.artifact_id, want)
    end
    chain[want] = parent
    cur = parent
  end
  return chain
end

-- The work order chain a manifest names (manifest.parents), checked against the
-- registry: every parent must be the chain's record of its type, with its sha256.
function M.manifest_chain(store, manifest)
  local wo = manifest.parents[1]
  local chain, err = M.chain(store, wo.artifact_id)
  if not chain then return nil, err end
  for _, p in ipairs(manifest.parents) do
    local rec = chain[p.artifact_type]
    if not rec or rec.artifact_id ~= p.artifact_id or rec.sha256 ~= p.sha256 then
      return nil, "the manifest's parent " .. tostring(p.artifact_type) .. " does not match the registry's work order chain"
    end
  end
  return chain
end

function M.keys_from_options(opts, decrypt)
  local function read(path)
    local text, err = fs.read_file(path)
    if not text then return nil, err end
    return text
  end
  if opts.passphrase_file then
    local text, err = read(opts.passphrase_file)
    if not text then return nil, err end
    text = text:gsub("\r?\n$", "")
    if text == "" then return nil, opts.passphrase_file .. " is empty" end
    return { passphrase = text }, M.SCHEME_SCRYPT
  end
  if decrypt then
    if not opts.identity_file then return nil, "--identity-file or --passphrase-file is required" end
    local text, err = read(opts.identity_file)
    if not text then return nil, err end
    local ids, perr = require("hostsync.crypto").age_parse_identities(text)
    if not ids then return nil, opts.identity_file .. ": " .. perr end
    return { identities = ids }
  end
  if not opts.recipient then return nil, "--recipient age1... or --passphrase-file is required" end
  local list = {}
  for r in opts.recipient:gmatch("[^,%s]+") do list[#list + 1] = r end
  return { recipients = list }, M.SCHEME_X25519
end

return M
