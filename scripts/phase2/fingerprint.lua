-- Detects a rewritten history in index.csv without reading all of it.
--
-- The fingerprint covers the bytes before the cursor: the SHA-256 of every complete
-- 1 MiB block, of the partial block that ends at the cursor, and of the header. A run
-- checks the header, the tail block and a few sampled full blocks (the sample changes
-- every run); `verify --deep` checks every block. See docs/phase2.md.
local hash = require "hostsync.hash"
local fs = require "hostsync.fs"

local M = {}
M.BLOCK_SIZE = 1024 * 1024
local SAMPLED_BLOCKS = 4

local function range_hash(path, offset, length)
  return hash.sha256_file(path, { offset = offset, length = length })
end

-- Returns a fingerprint of path's bytes [0, offset), reusing the block hashes of `base`
-- (a fingerprint of a shorter prefix that has already been checked) where it can.
function M.extend(path, base, offset, header_end)
  local bs = M.BLOCK_SIZE
  local fp = { block_size = bs, blocks = {}, offset = offset }
  local full = math.floor(offset / bs)
  if base and base.block_size == bs then
    for i = 1, math.min(#base.blocks, full) do fp.blocks[i] = base.blocks[i] end
  end
  for k = #fp.blocks, full - 1 do
    local h, err = range_hash(path, k * bs, bs)
    if not h then return nil, err end
    fp.blocks[k + 1] = h
  end
  local err
  fp.tail_sha256, err = range_hash(path, full * bs, offset - full * bs)
  if not fp.tail_sha256 then return nil, err end
  fp.header_sha256, err = range_hash(path, 0, math.min(header_end, offset))
  if not fp.header_sha256 then return nil, err end
  return fp
end

local function differs(path, what)
  return nil, string.format(
    "%s was rewritten before the cursor (%s differs from the last run); "
      .. "index.csv is append-only: restore it, or start a new outbox", path, what)
end

-- Checks path against fingerprint `fp`; `deep` checks every block instead of a sample.
-- Returns true or nil, err.
function M.check(path, fp, header_end, deep)
  local st, err = fs.stat(path, { follow = true })
  if not st then return nil, err end
  if st.size < fp.offset then
    return nil, string.format("%s shrank: it has %d bytes, the cursor is at byte %d; "
      .. "index.csv is append-only", path, st.size, fp.offset)
  end
  local bs = fp.block_size
  local h = range_hash(path, 0, math.min(header_end, fp.offset))
  if h ~= fp.header_sha256 then return differs(path, "the header") end
  local full = #fp.blocks
  h = range_hash(path, full * bs, fp.offset - full * bs)
  if h ~= fp.tail_sha256 then
    return differs(path, string.format("bytes %d..%d", full * bs, fp.offset))
  end
  local picks = {}
  if deep then
    for i = 1, full do picks[#picks + 1] = i end
  elseif full > 0 then
    picks[1], picks[2] = 1, full
    for _ = 1, SAMPLED_BLOCKS - 2 do picks[#picks + 1] = math.random(full) end
  end
  for _, i in ipairs(picks) do
    h = range_hash(path, (i - 1) * bs, bs)
    if h ~= fp.blocks[i] then
      return differs(path, string.format("bytes %d..%d", (i - 1) * bs, i * bs))
    end
  end
  return true
end

return M
