-- hostsync.hash: SHA-256 (OpenSSL 3).
--
--   local hash = require "hostsync.hash"
--   hash.sha256_hex("abc")                 --> "ba7816bf..."
--   hash.sha256_file("big.tar", { offset = 512, length = 1024 })
--   local h = hash.sha256_new(); h:update("a"):update("b"); h:hex()
--
-- Reference: docs/api/hash.md.
local _, raw = ...

local type = type
local error = error
local raw_sha256, raw_sha256_hex = raw.sha256, raw.sha256_hex
local raw_update = raw.update

local M = {}

function M.sha256(data)
  if type(data) ~= "string" then error("Usage: hash.sha256(data: string)", 2) end
  return raw_sha256(data)
end

function M.sha256_hex(data)
  if type(data) ~= "string" then error("Usage: hash.sha256_hex(data: string)", 2) end
  return raw_sha256_hex(data)
end

local check = require "hostsync.check"

function M.sha256_file(path, opts)
  local usage = "Usage: hash.sha256_file(path: string [, {offset=n, length=n}])"
  if type(path) ~= "string" or path == "" then error(usage, 2) end
  opts = check.opts(opts, { offset = "any", length = "any" }, usage)
  local offset, length = opts.offset, opts.length
  if offset ~= nil and not check.is_count(offset) then error(usage .. ": offset must be a non-negative integer", 2) end
  if length ~= nil and not check.is_count(length) then error(usage .. ": length must be a non-negative integer", 2) end
  return raw.sha256_file(path, offset, length)
end

-- The incremental hasher's methods.
local methods = {}

function methods:update(data)
  if type(data) ~= "string" then error("Usage: h:update(data: string)", 2) end
  return raw_update(self, data)
end

methods.hex = raw.hex
methods.digest = raw.digest
methods.bytes = raw.bytes

raw.hasher_mt.__index = methods
raw.hasher_mt.__tostring = function(h) return "hostsync.hash.hasher (" .. raw.bytes(h) .. " bytes)" end
raw.hasher_mt.__metatable = "hostsync.hash.hasher"

function M.sha256_new()
  return raw.new()
end

return M
