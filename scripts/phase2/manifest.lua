-- outbox/adoption_<run_id>.json, the manifest of a takeover (written by phase2/adopt.lua):
-- reading it against its seal, and checking the old files it names. docs/phase2.md,
-- "Taking over a deployment of the PowerShell original".
local fs = require "hostsync.fs"
local json = require "hostsync.json"
local hash = require "hostsync.hash"
local layout = require "phase2.layout"
local legacy = require "phase2.legacy"

local M = {}

local function differs(path, what, got, want)
  return nil, string.format("%s: %s is %s, the adoption manifest says %s", path, what, tostring(got), tostring(want))
end

-- The manifest a seal names, its bytes checked against the seal. Returns it or nil, err.
function M.read(paths, seal)
  local path = layout.join(paths.outbox, seal.file)
  local text, err = fs.read_file(path)
  if not text then return nil, err end
  local sha = hash.sha256_hex(text)
  if sha ~= seal.sha256 then
    return nil, string.format("%s: SHA-256 is %s, its seal says %s", path, sha, seal.sha256)
  end
  local m, derr = json.decode(text)
  if type(m) ~= "table" or type(m.files) ~= "table" or type(m.cursor) ~= "table" then
    return nil, path .. ": not an adoption manifest (" .. tostring(derr or "no files or cursor") .. ")"
  end
  return m
end

-- Everything verify checks of an adoption: the manifest agrees with its seal, and every
-- old file it names still has its bytes (SHA-256, size) and its packets (count, seq
-- range). Returns true or nil, err.
function M.check(paths, seal, m)
  local path = layout.join(paths.outbox, seal.file)
  for _, k in ipairs({ "packets", "first_seq", "last_seq", "run_id" }) do
    if m[k] ~= seal[k] then return differs(path, k, m[k], seal[k]) end
  end
  if m.cursor.offset ~= seal.cursor.offset or m.cursor.line_no ~= seal.cursor.line_no then
    return nil, path .. ": its cursor is not its seal's"
  end
  local packets, lowest, highest = 0, nil, nil
  for _, f in ipairs(m.files) do
    local fpath = layout.join(paths.outbox, f.file)
    local sha, err = hash.sha256_file(fpath)
    if not sha then return nil, err end
    if sha ~= f.sha256 then return differs(fpath, "SHA-256", sha, f.sha256) end
    local info
    info, err = legacy.read_sync_file(fpath)
    if not info then return nil, err end
    local want_first = f.first_seq ~= json.null and f.first_seq or nil
    local want_last = f.last_seq ~= json.null and f.last_seq or nil
    if info.packets ~= f.packets or info.first_seq ~= want_first or info.last_seq ~= want_last then
      return nil, string.format("%s holds %d packets seq %s..%s, the adoption manifest says %d seq %s..%s",
        fpath, info.packets, tostring(info.first_seq), tostring(info.last_seq), f.packets,
        tostring(f.first_seq), tostring(f.last_seq))
    end
    packets = packets + f.packets
    if info.first_seq then
      lowest = math.min(lowest or info.first_seq, info.first_seq)
      highest = math.max(highest or info.last_seq, info.last_seq)
    end
  end
  if packets ~= m.packets then return differs(path, "the sum of the files' packets", packets, m.packets) end
  if (lowest or 1) ~= m.first_seq or (highest or 0) ~= m.last_seq then
    return differs(path, "the files' seq range", (lowest or 1) .. ".." .. (highest or 0), m.first_seq .. ".." .. m.last_seq)
  end
  return true
end

return M
