-- snapshot_export (SPEC-007 step 10): WORK_ORDER -> SNAPSHOT. Streams a deterministic tar
-- of the artifact tree through SHA-256 (archive_plain_sha256) into an age encryptor; only
-- the ciphertext reaches the disk. Writes snapshots/<snapshot_id>/{snapshot.enc,
-- snapshot_manifest.json} and two registry records linked to the work order.
--
-- Crash safety: everything is written into a hidden staging directory, made durable,
-- then renamed (no-replace) to snapshots/<snapshot_id>/, and only then registered. A
-- rerun removes stale staging directories and registers a complete snapshot whose
-- records a crash prevented, exactly as its manifest says (its work order, its
-- created_at_utc); a snapshot directory is never left half-written.
local fs = require "hostsync.fs"
local hash = require "hostsync.hash"
local json = require "hostsync.json"
local tar = require "hostsync.tar"
local crypto = require "hostsync.crypto"
local failpoint = require "hostsync.failpoint"
local progress = require "hostsync.progress"
local store_mod = require "adam.store"
local snapshot = require "adam.snapshot"

local M = {
  summary = "export an encrypted, deterministic snapshot of the artifact tree (SNAPSHOT)",
  options = {
    { "--work-order", "ID", "the work_order artifact_id, or latest: the last one recorded (required)", required = true },
    { "--recipient", "AGE1...", "age recipient(s), comma-separated" },
    { "--passphrase-file", "FILE", "encrypt with a passphrase (age scrypt) read from FILE" },
    { "--snapshot-id", "ID", "the snapshot's id (default: snap_<at>_<work order sha256[0:12]>)" },
    { "--notes", "TEXT", "a note for the manifest (no secrets)" },
  },
}

M.TOOL_VERSION = "snapshot_export/1 (hostsync)"
local REQUIRED = { "snapshot_id", "created_at_utc", "included_roots", "file_count", "total_plain_bytes",
                   "archive_plain_sha256", "archive_enc_sha256", "encryption_scheme", "tool_version", "parents" }

local function default_id(at, wo)
  return "snap_" .. at:gsub("[-:]", ""):gsub("%.%d+", "") .. "_" .. wo.sha256:sub(1, 12)
end

-- Registers a complete snapshot directory (both files, manifest hashes matching), with
-- the manifest's created_at_utc: the records say when the snapshot was made, also when
-- a later run finishes an interrupted one. Each record is appended only if missing.
local function register(store, rel_dir, manifest, chain)
  local primary = { store_mod.link(chain.work_order) }
  local enc, err = store:register({ type = "snapshot", relpath = rel_dir .. "/snapshot.enc",
    sha256 = manifest.archive_enc_sha256, media_type = "application/age-encryption", parents = primary,
    created_at_utc = manifest.created_at_utc,
    meta = { snapshot_id = manifest.snapshot_id, archive_plain_sha256 = manifest.archive_plain_sha256,
             encryption_scheme = manifest.encryption_scheme } })
  if not enc then return nil, err end
  failpoint.hit("snapshot_between_records")
  local man
  man, err = store:register({ type = "snapshot_manifest", relpath = rel_dir .. "/snapshot_manifest.json",
    media_type = "application/json", parents = primary, created_at_utc = manifest.created_at_utc,
    meta = { snapshot_id = manifest.snapshot_id, snapshot_artifact_id = enc.artifact_id } })
  if not man then return nil, err end
  return { enc, man }
end

-- Staging directories of interrupted exports go. The caller holds the run lock, so none
-- belongs to an export still running.
local function remove_staging(store)
  local dir = store.repo .. "/" .. snapshot.SNAPSHOTS
  for _, name in ipairs(fs.exists(dir) and assert(fs.listdir(dir)) or {}) do
    if name:match("^%.staging%-") then
      assert(fs.remove_tree(dir .. "/" .. name))
    end
  end
end

-- The work order named by --work-order: an artifact_id, or "latest", the last work order
-- appended to the registry (SPEC-007: "the most recent work order").
function M.resolve_work_order(store, wanted)
  if wanted ~= "latest" then return wanted end
  local records, err = store:records()
  if not records then return nil, err end
  for i = #records, 1, -1 do
    if records[i].artifact_type == "work_order" then return records[i].artifact_id end
  end
  return nil, "--work-order latest: the registry holds no work order yet (run work_order_emit)"
end

-- A snapshot directory that exists: finish its registration if an export was interrupted
-- after the rename, exactly as its manifest says, or refuse (never overwritten).
local function finish_existing(store, rel_dir, work_order_id)
  local abs = store.repo .. "/" .. rel_dir
  local exists = "snapshot " .. rel_dir .. " already exists; snapshots are never overwritten (use --snapshot-id)"
  local manifest_text = fs.read_file(abs .. "/snapshot_manifest.json")
  local manifest = manifest_text and json.decode(manifest_text)
  local enc_sha = fs.exists(abs .. "/snapshot.enc") and hash.sha256_file(abs .. "/snapshot.enc")
  if type(manifest) ~= "table" or not enc_sha or enc_sha ~= manifest.archive_enc_sha256 then return nil, exists end
  local _, by_id = store:records()
  if not by_id then return nil, _ end
  local enc_id = store_mod.artifact_id("snapshot", rel_dir .. "/snapshot.enc", enc_sha)
  local man_id = store_mod.artifact_id("snapshot_manifest", rel_dir .. "/snapshot_manifest.json",
                                       hash.sha256_hex(manifest_text))
  if by_id[enc_id] and by_id[man_id] then return nil, exists end
  -- Complete but not (fully) registered: an export died between its rename and its
  -- records. Register what the manifest says, or nothing.
  local wo = type(manifest.parents) == "table" and manifest.parents[1]
  if type(wo) ~= "table" or wo.artifact_type ~= "work_order" or type(manifest.created_at_utc) ~= "string" then
    return nil, rel_dir .. " is complete but unregistered, and its manifest names no work order or time: not registering it"
  end
  if wo.artifact_id ~= work_order_id then
    return nil, string.format("%s is the export of work order %s made at %s, interrupted before it was registered; "
      .. "this run asks for work order %s. To finish that export, run it again with --work-order %s "
      .. "(it is registered as made at %s); for a new export, choose another --snapshot-id",
      rel_dir, wo.artifact_id, manifest.created_at_utc, tostring(work_order_id), wo.artifact_id, manifest.created_at_utc)
  end
  local chain, cerr = snapshot.manifest_chain(store, manifest)
  if not chain then return nil, rel_dir .. ": " .. cerr .. ": not registering it" end
  io.stderr:write(string.format("snapshot_export: registering %s, complete but unregistered after an interrupted "
    .. "export (work order %s, created_at_utc %s, as its manifest says)\n", rel_dir, wo.artifact_id,
    manifest.created_at_utc))
  return register(store, rel_dir, manifest, chain)
end

function M.run(store, opts)
  local wanted, rerr = M.resolve_work_order(store, opts.work_order)
  if not wanted then return nil, rerr end
  local chain, err = snapshot.chain(store, wanted)
  if not chain then return nil, err end
  local keys, scheme = snapshot.keys_from_options(opts, false)
  if not keys then return nil, scheme end
  local ok, merr = fs.safe_mkdir(store.repo, snapshot.SNAPSHOTS, { within = store_mod.ARTIFACTS, parents = true })
  if not ok then return nil, merr end
  remove_staging(store)

  local id = opts.snapshot_id or default_id(store.at, chain.work_order)
  if not id:match("^[%w][%w_.%-]*$") then return nil, "snapshot id '" .. id .. "' may hold only letters, digits, _ . -" end
  local rel_dir = snapshot.SNAPSHOTS .. "/" .. id
  local final_abs = store.repo .. "/" .. rel_dir
  if fs.exists(final_abs) then return finish_existing(store, rel_dir, wanted) end

  -- Registry append-only guard: the registry must still start with these bytes when the
  -- records are appended.
  local reg_abs = store.repo .. "/" .. snapshot.REGISTRY
  local reg_size = (fs.stat(reg_abs) or { size = 0 }).size
  local reg_prefix_sha = hash.sha256_file(reg_abs, { offset = 0, length = reg_size })

  local inputs, ierr = snapshot.inputs(store.repo)
  if not inputs then return nil, ierr end
  local staging = snapshot.SNAPSHOTS .. "/.staging-" .. id
  ok, merr = fs.safe_mkdir(store.repo, staging,
    { within = snapshot.SNAPSHOTS, parents = true, exclusive = true })
  if not ok then return nil, merr end
  local staging_abs = store.repo .. "/" .. staging
  local function abandon(e)
    fs.remove_tree(staging_abs)
    return nil, e
  end

  local plain = tar.hash_sink()
  local wopts = { sha256 = true }
  for k, v in pairs(keys) do wopts[k] = v end
  local writer, werr = crypto.age_writer(staging_abs .. "/snapshot.enc", wopts)
  if not writer then return abandon(werr) end
  -- A progress line on a terminal, for exports that take more than a few seconds.
  local meter = progress.new("snapshot_export", { unit = "files", delay = 3 })
  local res, terr = snapshot.write_archive(tar.tee(plain, writer), store.repo, inputs,
                                           function(entries, bytes) meter:update(entries, bytes) end)
  if not res then writer:abort(); return abandon(terr) end
  meter:done(res.entries, res.data_bytes)
  ok, werr = writer:close()
  if not ok then return abandon(werr) end

  local manifest = {
    snapshot_id = id,
    created_at_utc = store.at,
    included_roots = json.array(inputs.included_roots),
    file_count = inputs.file_count,
    total_plain_bytes = plain:bytes(),
    archive_plain_sha256 = plain:hex(),
    archive_enc_sha256 = writer:sha256_hex(),
    encrypted_bytes = writer:encrypted_bytes(),
    encryption_scheme = scheme,
    tool_version = M.TOOL_VERSION,
    parents = json.array({
      { artifact_type = "work_order", artifact_id = chain.work_order.artifact_id, sha256 = chain.work_order.sha256 },
      { artifact_type = "build_spec", artifact_id = chain.build_spec.artifact_id, sha256 = chain.build_spec.sha256 },
      { artifact_type = "bundle_manifest", artifact_id = chain.bundle_manifest.artifact_id,
        sha256 = chain.bundle_manifest.sha256 },
    }),
    archive_paths = json.array(inputs.paths),
    log_prefixes = json.object(inputs.prefixes),
    notes = opts.notes,
  }
  for _, field in ipairs(REQUIRED) do
    if manifest[field] == nil or manifest[field] == "" then return abandon("manifest is missing " .. field) end
  end
  ok, werr = fs.safe_create(store.repo, staging .. "/snapshot_manifest.json",
    json.encode(manifest, { pretty = true, sort_keys = true }) .. "\n", { within = snapshot.SNAPSHOTS })
  if not ok then return abandon(werr) end
  ok, werr = fs.fsync_dir(staging_abs)
  if not ok then return abandon(werr) end
  failpoint.hit("snapshot_before_rename")
  ok, werr = fs.rename(staging_abs, final_abs, { no_replace = true })
  if not ok then return abandon(werr) end
  failpoint.hit("snapshot_before_register")

  local now_sha = hash.sha256_file(reg_abs, { offset = 0, length = reg_size })
  if now_sha ~= reg_prefix_sha then
    return nil, snapshot.REGISTRY .. " was rewritten during the export; append-only invariant violated, not registering"
  end
  return register(store, rel_dir, manifest, chain)
end

return M
