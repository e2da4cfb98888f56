-- snapshot_verify: decrypts a snapshot (authenticating every chunk), recomputes the
-- plaintext SHA-256 and size, and checks the manifest, the registry records and their
-- linkage to the work order chain; --rebuild also rebuilds the plaintext from the tree
-- (SPEC-007's "controlled rebuild") and compares. Writes nothing but its receipt, which
-- lists the snapshot's two records as inputs (it checked them; it made nothing).
local fs = require "hostsync.fs"
local hash = require "hostsync.hash"
local json = require "hostsync.json"
local crypto = require "hostsync.crypto"
local tar = require "hostsync.tar"
local snapshot = require "adam.snapshot"

local M = {
  summary = "decrypt and check a snapshot: hashes, manifest, registry, lineage",
  records_nothing = true,  -- --at is optional: it only dates the receipt
  options = {
    { "--snapshot-id", "ID", "the snapshot to check (required)", required = true },
    { "--identity-file", "FILE", "age identities (AGE-SECRET-KEY-1...)" },
    { "--passphrase-file", "FILE", "the passphrase, for a scrypt snapshot" },
    { "--rebuild", nil, "also rebuild the plaintext from the tree and compare its hash" },
  },
}

-- Returns manifest, records {snapshot=, snapshot_manifest=}, or nil, err.
function M.check(store, opts)
  local rel_dir = snapshot.SNAPSHOTS .. "/" .. opts.snapshot_id
  local abs = store.repo .. "/" .. rel_dir
  local text, err = fs.read_file(abs .. "/snapshot_manifest.json")
  if not text then return nil, err end
  local manifest = json.decode(text)
  if type(manifest) ~= "table" then return nil, rel_dir .. "/snapshot_manifest.json is not JSON" end
  for _, f in ipairs({ "archive_plain_sha256", "archive_enc_sha256", "total_plain_bytes", "parents", "snapshot_id" }) do
    if manifest[f] == nil then return nil, "manifest has no " .. f end
  end
  local enc_sha = hash.sha256_file(abs .. "/snapshot.enc")
  if enc_sha ~= manifest.archive_enc_sha256 then
    return nil, "snapshot.enc does not match archive_enc_sha256 of the manifest (modified or truncated)"
  end
  local records = store:records()
  local found = {}
  for _, r in ipairs(records) do
    if r.relpath == rel_dir .. "/snapshot.enc" then found.snapshot = r end
    if r.relpath == rel_dir .. "/snapshot_manifest.json" then found.snapshot_manifest = r end
  end
  if not found.snapshot or not found.snapshot_manifest then return nil, "the registry has no records for " .. rel_dir end
  if found.snapshot.sha256 ~= enc_sha then return nil, "the registry's sha256 of snapshot.enc differs" end
  if found.snapshot_manifest.sha256 ~= hash.sha256_hex(text) then return nil, "the registry's sha256 of the manifest differs" end
  local wo = manifest.parents[1]
  for _, r in pairs(found) do
    local p = r.parents[1]
    if not p or p.artifact_id ~= wo.artifact_id or p.sha256 ~= wo.sha256 then
      return nil, r.artifact_type .. " record is not linked to the work order " .. tostring(wo.artifact_id)
    end
  end
  local chain, cerr = snapshot.manifest_chain(store, manifest)
  if not chain then return nil, cerr end
  return manifest, found
end

-- Decrypts into a hash sink: authenticated plaintext only; returns sha256, bytes.
function M.plain_hash(path, keys)
  local reader, err, kind = crypto.age_reader(path, keys)
  if not reader then return nil, "decrypt: " .. err .. (kind and (" (" .. kind .. ")") or "") end
  local h = tar.hash_sink()
  while true do
    local piece, rerr, rkind = reader:read()
    if piece == nil then
      if rerr then return nil, "decrypt: " .. rerr .. (rkind and (" (" .. rkind .. ")") or "") end
      break
    end
    h:write(piece)
  end
  reader:close()
  return h:hex(), h:bytes()
end

function M.run(store, opts)
  local keys, kerr = snapshot.keys_from_options(opts, true)
  if not keys then return nil, kerr end
  local manifest, records = M.check(store, opts)
  if not manifest then return nil, records end
  local abs = store.repo .. "/" .. snapshot.SNAPSHOTS .. "/" .. opts.snapshot_id
  local sha, bytes = M.plain_hash(abs .. "/snapshot.enc", keys)
  if not sha then return nil, bytes end
  if sha ~= manifest.archive_plain_sha256 or bytes ~= manifest.total_plain_bytes then
    return nil, "the decrypted archive does not match archive_plain_sha256 / total_plain_bytes"
  end
  if opts.rebuild then
    local rsha, rerr = snapshot.rebuild_hash(store.repo, manifest)
    if not rsha then return nil, "rebuild: " .. rerr end
    if rsha ~= manifest.archive_plain_sha256 then
      return nil, "rebuild: the tree no longer gives archive_plain_sha256 (an input changed since the export)"
    end
  end
  io.stderr:write(string.format("snapshot_verify: OK %s: %d plaintext bytes, sha256 %s%s\n", opts.snapshot_id,
    bytes, sha, opts.rebuild and ", rebuilt identically" or ""))
  return { records.snapshot, records.snapshot_manifest },
         { checked = true, meta = { snapshot_id = opts.snapshot_id, result = "ok", rebuilt = opts.rebuild == true } }
end

return M
