local t = require "hostsync.testing"
local hash = require "hostsync.hash"

local EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
local ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

t.test("sha256 and sha256_hex agree with the FIPS vectors", function()
  t.eq(hash.sha256_hex(""), EMPTY)
  t.eq(hash.sha256_hex("abc"), ABC)
  t.eq(hash.sha256_hex(string.rep("a", 1000000)),
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  local raw = hash.sha256("abc")
  t.eq(#raw, 32)
  t.eq((raw:gsub(".", function(c) return string.format("%02x", c:byte()) end)), ABC)
  t.eq(hash.sha256_hex("a\0b"), hash.sha256_hex("a\0b"))
  t.ne(hash.sha256_hex("a\0b"), hash.sha256_hex("a\0c"))
end)

t.test("sha256 functions reject non-strings", function()
  t.raises(function() hash.sha256(nil) end, "Usage: hash.sha256(data: string)")
  t.raises(function() hash.sha256_hex(42) end, "Usage: hash.sha256_hex(data: string)")
  t.raises(function() hash.sha256_file(nil) end, "Usage: hash.sha256_file")
  t.raises(function() hash.sha256_file("x", { offset = -1 }) end, "offset must be a non-negative integer")
  t.raises(function() hash.sha256_file("x", { length = 1.5 }) end, "length must be a non-negative integer")
  t.raises(function() hash.sha256_file("x", { size = 1 }) end, "unknown option 'size'")
end)

t.test("sha256_file hashes a whole file or exactly a range", function()
  local dir = t.tmpdir()
  local path = dir .. "/data.bin"
  local parts = {}
  for i = 1, 70000 do parts[i] = string.format("%05d", i) end
  local content = table.concat(parts)
  t.write_file(path, content)
  t.eq(hash.sha256_file(path), hash.sha256_hex(content))
  t.eq(hash.sha256_file(path, { offset = 1000, length = 300000 }), hash.sha256_hex(content:sub(1001, 301000)))
  t.eq(hash.sha256_file(path, { offset = 349990 }), hash.sha256_hex(content:sub(349991)))
  t.eq(hash.sha256_file(path, { length = 0 }), EMPTY)
  t.fails("sha256_file " .. path .. ": range 349000+1001 goes past the end of the file (350000 bytes)",
    hash.sha256_file(path, { offset = 349000, length = 1001 }))
  t.fails("open " .. dir .. "/missing: No such file or directory", hash.sha256_file(dir .. "/missing"))
  t.fails("read " .. dir .. ": Is a directory", hash.sha256_file(dir))
end)

t.test("incremental hasher: update chains, hex/digest do not end it, bytes counts", function()
  local h = hash.sha256_new()
  t.eq(h:hex(), EMPTY)
  t.eq(h:bytes(), 0)
  t.eq(h:update("a"), h)
  h:update("b"):update("c")
  t.eq(h:hex(), ABC)
  t.eq(h:digest(), hash.sha256("abc"))
  t.eq(h:bytes(), 3)
  h:update("d")
  t.eq(h:hex(), hash.sha256_hex("abcd"))
  t.eq(h:bytes(), 4)
  t.match(tostring(h), "hostsync.hash.hasher %(4 bytes%)")
  t.raises(function() h:update(5) end, "Usage: h:update(data: string)")
  local other = hash.sha256_new()
  t.eq(other:hex(), EMPTY, "hashers are independent")
end)

t.test("sha256_hex of 300 bytes is fast (1e5 calls well under a second)", function()
  local s = string.rep("x", 300)
  local t0 = os.clock()
  for _ = 1, 1e5 do hash.sha256_hex(s) end
  t.ok(os.clock() - t0 < 1.0, "too slow: " .. (os.clock() - t0))
end)
