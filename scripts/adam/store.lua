-- The artifact store of SPEC-007: the artifact root, the append-only registry, and the
-- only way a tool writes an artifact (confined, exclusive, content-addressed, recorded).
--
--   <repo>/.adam_os/artifacts/<subdir>/<sha256[1..16]>-<name>   the artifact files
--   <repo>/.adam_os/artifacts/artifact_registry.jsonl           one record per artifact
--   <repo>/.adam_os/runs/receipts.jsonl                         one receipt per tool run (adam/receipts.lua)
--
-- Artifacts are content-addressed: the same bytes from the same tool land at the same
-- relpath with the same artifact_id, so rerunning a tool on unchanged inputs is a no-op
-- that returns the existing record (idempotent), and nothing is ever overwritten.
local check = require "hostsync.check"
local fs = require "hostsync.fs"
local hash = require "hostsync.hash"
local json = require "hostsync.json"
local time = require "hostsync.time"
local names = require "adam.names"

local M = {}

M.ARTIFACTS = ".adam_os/artifacts"
M.RUNS = ".adam_os/runs"
M.SUBDIRS = { "raw", "sanitized", "canon", "bundles", "specs", "work_orders", "snapshots" }
M.TYPES = {
  raw = "raw", sanitized = "sanitized", canon = "canon", bundle_manifest = "bundles",
  build_spec = "specs", work_order = "work_orders", snapshot = "snapshots", snapshot_manifest = "snapshots",
}

local Store = {}
Store.__index = Store

local function fail(msg) return nil, msg end

-- Opens the store of a repository. `at` is the caller's created_at_utc (SPEC-007: from
-- the caller, not the system clock), an ISO 8601 UTC time ending in Z; nil for a run
-- that records no artifact (then writing a record is refused).
function M.check_time(at)
  if type(at) ~= "string" or not at:match("Z$") or not time.parse_iso(at) then
    return fail("--at must be an ISO 8601 UTC time such as 2026-11-23T10:00:00Z, got " .. tostring(at))
  end
  return at
end

function M.open(repo, at)
  if at ~= nil then
    local ok, err = M.check_time(at)
    if not ok then return nil, err end
  end
  local st = fs.stat(repo, { follow = true })
  if not st or st.type ~= "dir" then return fail("repository root " .. repo .. " is not a directory") end
  local self = setmetatable({ repo = repo, at = at }, Store)
  self.root = repo .. "/" .. M.ARTIFACTS
  self.registry_path = self.root .. "/artifact_registry.jsonl"
  return self
end

-- An absolute path for a relpath that must lie under .adam_os/artifacts/<subdir>/.
function Store:confine(relpath, subdir)
  local prefix = M.ARTIFACTS .. "/" .. subdir .. "/"
  if relpath:sub(1, #prefix) ~= prefix then
    return fail(string.format("%s is outside %s", relpath, prefix))
  end
  return fs.confine(self.repo, relpath)
end

-- Reads every registry record; returns records (array) and by_id, or nil, err. A line
-- that is not JSON is a fragment torn by a crash (terminated later by repair()).
function Store:records()
  local records, by_id = {}, {}
  if not fs.exists(self.registry_path) then return records, by_id end
  local reader, err = fs.line_reader(self.registry_path)
  if not reader then return nil, err end
  local n = 0
  for line in reader:lines() do
    n = n + 1
    local rec = json.decode(line)
    if type(rec) == "table" then
      if type(rec.artifact_id) ~= "string" then
        reader:close()
        return fail(string.format("%s:%d: record without artifact_id", self.registry_path, n))
      end
      records[#records + 1] = rec
      by_id[rec.artifact_id] = rec
    end
  end
  reader:close()
  return records, by_id
end

-- Terminates a torn last registry line by appending a newline (never rewriting).
function Store:repair()
  if not fs.exists(self.registry_path) then return true end
  local reader = assert(fs.line_reader(self.registry_path))
  for _ in reader:lines() do end
  local torn = reader:partial_bytes()
  reader:close()
  if torn > 0 then return fs.append(self.registry_path, "\n") end
  return true
end

function M.artifact_id(artifact_type, relpath, sha256)
  return artifact_type .. "_" .. hash.sha256_hex(artifact_type .. "\n" .. relpath .. "\n" .. sha256):sub(1, 24)
end

-- Appends the record of an artifact whose file is in place, unless the registry already
-- holds it (same type, relpath and bytes: same artifact_id). Returns record[, "exists"].
-- The record cites the receipt of the run that writes it (self.receipt_id); its
-- created_at_utc is the run's --at, or fields.created_at_utc when a run finishes what an
-- interrupted one began (a snapshot's manifest says when it was made).
function Store:append_record(fields)
  local id = M.artifact_id(fields.artifact_type, fields.relpath, fields.sha256)
  local _, by_id = self:records()
  if not by_id then return nil, _ end
  if by_id[id] then return by_id[id], "exists" end
  local at = fields.created_at_utc or self.at
  if not at then return fail("--at TIME is required to record an artifact (its created_at_utc)") end
  if not self.receipt_id then error("store: a record needs the run's receipt_id", 2) end
  local record = {
    artifact_id = id, created_at_utc = at, artifact_type = fields.artifact_type,
    relpath = fields.relpath, sha256 = fields.sha256, byte_size = fields.byte_size,
    media_type = fields.media_type or "application/octet-stream",
    parents = json.array(fields.parents or {}), meta = json.object(fields.meta or {}),
    receipt_id = self.receipt_id,
  }
  local ok, err = fs.append(self.registry_path, json.canonical(record) .. "\n")
  if not ok then return nil, err end
  return record
end

local function check_parents(spec)
  if spec.type ~= "raw" and (type(spec.parents) ~= "table" or #spec.parents == 0) then
    return fail(spec.type .. " artifact without parents: every derived artifact links to its parents")
  end
  for _, p in ipairs(spec.parents or {}) do
    if type(p.artifact_id) ~= "string" or type(p.sha256) ~= "string" then
      return fail("a parent needs artifact_id and sha256")
    end
  end
  return true
end

-- Writes a new artifact and appends its registry record. `spec`:
--   type (artifact_type), name (file name hint), data (bytes), media_type,
--   parents ({ {artifact_id=, sha256=}, ... }, empty only for raw), meta (no secrets),
--   relpath (where to write it, instead of a name under the type's directory).
-- Returns the record (existing one if the same artifact was already written) or nil, err.
-- An unknown key in spec is a usage error: a misspelt parents or meta would otherwise
-- record an artifact without its lineage.
local PUT_KEYS = { type = "string", name = "string", data = "string", media_type = "string", parents = "table",
                   meta = "table", relpath = "string" }
function Store:put(spec)
  spec = check.opts(spec, PUT_KEYS, "Usage: store:put{type=, name=, data=, media_type=, parents=, meta=, relpath=}")
  local subdir = M.TYPES[spec.type]
  if not subdir then error("Usage: store:put: unknown artifact type " .. tostring(spec.type), 2) end
  local ok, err = check_parents(spec)
  if not ok then return nil, err end
  local sha = hash.sha256_hex(spec.data)
  local relpath = spec.relpath or (M.ARTIFACTS .. "/" .. subdir .. "/" .. sha:sub(1, 16) .. "-" .. names.safe_name(spec.name))
  local path
  path, err = self:confine(relpath, subdir)
  if not path then return nil, err end
  ok, err = self:repair()
  if not ok then return nil, err end
  local _, by_id = self:records()
  if not by_id then return nil, _ end
  local existing = by_id[M.artifact_id(spec.type, relpath, sha)]
  if existing then return existing, "exists" end

  ok, err = fs.mkdir_p(path:match("^(.*)/[^/]*$"))
  if not ok then return nil, err end
  if fs.exists(path) then
    -- Written by a run that crashed before its registry record: adopt it if intact.
    if hash.sha256_file(path) ~= sha then
      return fail(relpath .. " exists with other content; artifacts are never overwritten")
    end
  else
    ok, err = fs.create_exclusive(path, spec.data)
    if not ok then return nil, err end
  end
  return self:append_record({ artifact_type = spec.type, relpath = relpath, sha256 = sha, byte_size = #spec.data,
                              media_type = spec.media_type, parents = spec.parents, meta = spec.meta })
end

-- Appends the registry record of a file a tool has already written in place (a snapshot:
-- too large to pass through Lua). spec: type, relpath, media_type, parents, meta,
-- created_at_utc (default: the run's --at), and sha256 if the tool computed it while writing.
local REGISTER_KEYS = { type = "string", relpath = "string", media_type = "string", parents = "table", meta = "table",
                        created_at_utc = "string", sha256 = "string" }
function Store:register(spec)
  spec = check.opts(spec, REGISTER_KEYS,
                    "Usage: store:register{type=, relpath=, media_type=, parents=, meta=, created_at_utc=, sha256=}")
  local subdir = M.TYPES[spec.type]
  if not subdir then error("Usage: store:register: unknown artifact type " .. tostring(spec.type), 2) end
  local ok, err = check_parents(spec)
  if not ok then return nil, err end
  local path
  path, err = self:confine(spec.relpath, subdir)
  if not path then return nil, err end
  local st = fs.stat(path)
  if not st or st.type ~= "file" then return fail(spec.relpath .. " is not a regular file") end
  -- A tool that hashed the bytes as it wrote them (a snapshot: 1 GB through the age
  -- writer) passes that hash; re-reading the file would only cost a second pass.
  local sha = spec.sha256
  if not sha then
    local herr
    sha, herr = hash.sha256_file(path)
    if not sha then return nil, herr end
  end
  ok, err = self:repair()
  if not ok then return nil, err end
  return self:append_record({ artifact_type = spec.type, relpath = spec.relpath, sha256 = sha, byte_size = st.size,
                              media_type = spec.media_type, parents = spec.parents, meta = spec.meta,
                              created_at_utc = spec.created_at_utc })
end

-- Reads an artifact's bytes and checks them against its record.
function Store:read(record)
  local path, err = self:confine(record.relpath, M.TYPES[record.artifact_type] or "?")
  if not path then return nil, err end
  local data, rerr = fs.read_file(path)
  if not data then return nil, rerr end
  if hash.sha256_hex(data) ~= record.sha256 then
    return fail(record.relpath .. " does not match the sha256 of its registry record (modified?)")
  end
  return data
end

-- Looks up a parent by artifact_id and checks its type. Returns record, bytes.
function Store:parent(id, want_type)
  local _, by_id = self:records()
  if not by_id then return nil, _ end
  local rec = by_id[id]
  if not rec then return fail("no artifact " .. tostring(id) .. " in " .. self.registry_path) end
  if want_type and rec.artifact_type ~= want_type then
    return fail(string.format("%s is a %s artifact, expected %s", id, rec.artifact_type, want_type))
  end
  local data, err = self:read(rec)
  if not data then return nil, err end
  return rec, data
end

function M.link(record) return { artifact_id = record.artifact_id, sha256 = record.sha256 } end

return M
