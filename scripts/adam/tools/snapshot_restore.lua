-- snapshot_restore: restores a snapshot into an empty directory. It first verifies the
-- whole snapshot (snapshot_verify: every chunk authenticated, hashes, registry,
-- lineage), then extracts with the safe extractor (no absolute paths, no "..", no links,
-- size limits) into a staging directory that is renamed into place only when complete.
-- Its receipt lists the snapshot's records as inputs and the destination in its meta.
local fs = require "hostsync.fs"
local crypto = require "hostsync.crypto"
local tar = require "hostsync.tar"
local snapshot = require "adam.snapshot"
local verify = require "adam.tools.snapshot_verify"

local M = {
  summary = "verify a snapshot, then restore it into an empty directory",
  records_nothing = true,  -- --at is optional: it only dates the receipt
  options = {
    { "--snapshot-id", "ID", "the snapshot to restore (required)", required = true },
    { "--dest", "DIR", "where to restore; must not exist or be empty (required)", required = true },
    { "--identity-file", "FILE", "age identities (AGE-SECRET-KEY-1...)" },
    { "--passphrase-file", "FILE", "the passphrase, for a scrypt snapshot" },
  },
}

function M.run(store, opts)
  local keys, kerr = snapshot.keys_from_options(opts, true)
  if not keys then return nil, kerr end
  local st = fs.stat(opts.dest)
  if st and (st.type ~= "dir" or #assert(fs.listdir(opts.dest)) > 0) then
    return nil, opts.dest .. " is not an empty directory"
  end
  local manifest, records = verify.check(store, opts)
  if not manifest then return nil, records end
  local enc = store.repo .. "/" .. snapshot.SNAPSHOTS .. "/" .. opts.snapshot_id .. "/snapshot.enc"
  local sha, bytes = verify.plain_hash(enc, keys)
  if not sha then return nil, bytes end
  if sha ~= manifest.archive_plain_sha256 then return nil, "the decrypted archive does not match the manifest" end

  local parent = opts.dest:match("^(.*)/[^/]+$") or "."
  local staging = parent .. "/." .. (opts.dest:match("([^/]+)$") or "restore") .. ".restoring"
  if fs.exists(staging) then fs.remove_tree(staging) end
  local ok, err = fs.mkdir_p(staging)
  if not ok then return nil, err end
  local reader, rerr = crypto.age_reader(enc, keys)
  if not reader then fs.remove_tree(staging); return nil, rerr end
  local res, xerr = tar.extract(reader, staging, { max_bytes = manifest.total_plain_bytes,
                                                   max_entries = #manifest.archive_paths + 1 })
  if not res then fs.remove_tree(staging); return nil, "extract: " .. xerr end
  if st then fs.remove(opts.dest) end  -- the empty directory we were given
  ok, err = fs.rename(staging, opts.dest, { no_replace = true })
  if not ok then fs.remove_tree(staging); return nil, err end
  io.stderr:write(string.format("snapshot_restore: restored %d entries (%d bytes) into %s\n", res.entries,
    res.bytes or 0, opts.dest))
  return { records.snapshot, records.snapshot_manifest },
         { checked = true, meta = { snapshot_id = opts.snapshot_id, dest = opts.dest, entries = res.entries } }
end

return M
