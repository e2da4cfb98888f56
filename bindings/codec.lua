-- hostsync.codec: hex and base64 (RFC 4648 standard alphabet, with padding).
--
--   local codec = require "hostsync.codec"
--   codec.hex_encode("\1\255")           --> "01ff"
--   codec.hex_decode("01FF")             --> "\1\255"
--   codec.base64_decode("YWJj")          --> "abc"
--   codec.base64_decode("YW*j")          --> nil, "base64_decode: invalid character '*' at offset 2"
--
-- Decoders are strict and return nil, err (naming the offset) on bad input. Reference:
-- docs/api/codec.md.
local _, raw = ...

local type, error = type, error

local M = {}

local function wrap(name)
  local fn = raw[name]
  local usage = "Usage: codec." .. name .. "(s: string)"
  M[name] = function(s)
    if type(s) ~= "string" then error(usage, 2) end
    return fn(s)
  end
end

wrap("hex_encode")
wrap("hex_decode")
wrap("base64_encode")
wrap("base64_decode")

return M
