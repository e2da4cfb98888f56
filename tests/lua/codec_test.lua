local t = require "hostsync.testing"
local codec = require "hostsync.codec"

local all = {}
for i = 0, 255 do all[#all + 1] = string.char(i) end
all = table.concat(all)

t.test("hex_encode / hex_decode round trip, lowercase out, either case in", function()
  t.eq(codec.hex_encode("\0\1\171\255"), "0001abff")
  t.eq(codec.hex_decode("0001ABff"), "\0\1\171\255")
  t.eq(codec.hex_decode(codec.hex_encode(all)), all)
  t.eq(codec.hex_encode(""), "")
  t.eq(codec.hex_decode(""), "")
end)

t.test("hex_decode returns nil, err on bad input", function()
  t.fails("hex_decode: odd length 3: unpaired digit at offset 2", codec.hex_decode("abc"))
  t.fails("hex_decode: invalid character 'g' at offset 1", codec.hex_decode("0g"))
end)

t.test("base64 round trip and RFC 4648 vectors", function()
  local vectors = { [""] = "", f = "Zg==", fo = "Zm8=", foo = "Zm9v", foob = "Zm9vYg==", fooba = "Zm9vYmE=", foobar = "Zm9vYmFy" }
  for plain, enc in pairs(vectors) do
    t.eq(codec.base64_encode(plain), enc)
    t.eq(codec.base64_decode(enc), plain)
  end
  t.eq(codec.base64_encode("\251\255"), "+/8=")
  t.eq(codec.base64_decode(codec.base64_encode(all)), all)
end)

t.test("base64_decode returns nil, err naming the offset", function()
  t.fails("base64_decode: invalid character '-' at offset 2", codec.base64_decode("ab-d"))
  t.fails("base64_decode: truncated input (length 3 is not a multiple of 4) at offset 3", codec.base64_decode("abc"))
  t.fails("base64_decode: unexpected padding '=' at offset 2", codec.base64_decode("Zg==Zg=="))
  t.fails("base64_decode: non-zero bits before padding at offset 1", codec.base64_decode("Zh=="))
  t.fails("base64_decode: invalid character \\x0a at offset 4", codec.base64_decode("Zm9v\nZm9v"))
end)

t.test("codec functions reject non-strings", function()
  t.raises(function() codec.hex_encode(1) end, "Usage: codec.hex_encode(s: string)")
  t.raises(function() codec.hex_decode(nil) end, "Usage: codec.hex_decode(s: string)")
  t.raises(function() codec.base64_encode({}) end, "Usage: codec.base64_encode(s: string)")
  t.raises(function() codec.base64_decode(false) end, "Usage: codec.base64_decode(s: string)")
end)
