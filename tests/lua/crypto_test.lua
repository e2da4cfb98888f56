local t = require "hostsync.testing"
local crypto = require "hostsync.crypto"
local hash = require "hostsync.hash"

local CHUNK = 65536
local SEALED = CHUNK + 16

-- Deterministic pseudo-random bytes (an LCG; fast enough for a few hundred KiB).
local function bytes(n, seed)
  local parts, x = {}, seed or 1
  for i = 1, n do
    x = (x * 1103515245 + 12345) % 2147483648
    parts[i] = string.char(x % 251)
  end
  return table.concat(parts)
end

local function read_all(r)
  local parts = {}
  while true do
    local piece, err, kind = r:read()
    if piece == nil then return table.concat(parts), err, kind end
    parts[#parts + 1] = piece
  end
end

local function header_len(ct)
  local mac = ct:find("\n--- ", 1, true)
  return ct:find("\n", mac + 1, true)  -- index of the MAC line's LF = header length
end

local ID, RCPT = crypto.age_keygen()

t.test("keygen: identity and recipient encodings, recipient_of", function()
  t.match(ID, "^AGE%-SECRET%-KEY%-1[0-9A-Z]+$")
  t.match(RCPT, "^age1[0-9a-z]+$")
  t.eq(#ID, 74)
  t.eq(#RCPT, 62)
  t.eq(crypto.age_recipient(ID), RCPT)
  t.eq(crypto.age_recipient(ID:lower()), RCPT)
  t.eq(crypto.age_recipient("AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"),
    "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj")
  t.eq(crypto.age_check_recipient(RCPT:upper()), RCPT)
  t.fails("invalid identity: bech32: invalid checksum", crypto.age_recipient(ID:sub(1, -2) .. (ID:sub(-1) == "Q" and "P" or "Q")))
  t.fails("not an X25519 identity", crypto.age_recipient(RCPT))
  t.fails("invalid recipient", crypto.age_check_recipient("age1nope"))
  local a = crypto.age_keygen()
  t.ne(a, ID, "fresh keys")
end)

t.test("parse_identities reads age-keygen files", function()
  local ids = crypto.age_parse_identities("# created: 2024-01-01\n# public key: " .. RCPT .. "\n" .. ID .. "\n\n")
  t.eq(ids, { ID })
  t.fails("line 2: invalid identity", crypto.age_parse_identities("# x\nAGE-SECRET-KEY-1XYZ\n"))
  t.fails("no identity found", crypto.age_parse_identities("# only a comment\n"))
end)

t.test("usage errors", function()
  t.raises(function() crypto.age_encrypt(1, { recipients = { RCPT } }) end, "Usage: crypto.age_encrypt")
  t.raises(function() crypto.age_encrypt("x", {}) end, "give recipients or a passphrase")
  t.raises(function() crypto.age_encrypt("x", { recipients = { RCPT }, passphrase = "p" }) end, "cannot be combined")
  t.raises(function() crypto.age_encrypt("x", { passphrase = "" }) end, "must not be empty")
  t.raises(function() crypto.age_encrypt("x", { passphrase = "p", work_factor = 23 }) end, "work_factor above 22")
  t.raises(function() crypto.age_encrypt("x", { recipients = { RCPT }, work_factor = 10 }) end, "work_factor needs a passphrase")
  t.raises(function() crypto.age_encrypt("x", { recipients = { 5 } }) end, "recipients[1] must be a string")
  t.raises(function() crypto.age_encrypt("x", { recipient = RCPT, colour = 1 }) end, "unknown option 'colour'")
  t.raises(function() crypto.age_decrypt("x", { passphrase = "p", max_work_factor = 0 }) end, "max_work_factor must be an integer")
  t.raises(function() crypto.age_decrypt("x", {}) end, "give identities or a passphrase")
  t.raises(function() crypto.age_writer("", { recipient = RCPT }) end, "Usage: crypto.age_writer")
  t.raises(function() crypto.age_reader("x") end, "Usage: crypto.age_reader")
  t.raises(function() crypto.age_recipient(nil) end, "Usage: crypto.age_recipient")
  -- A malformed key is data, not a caller mistake: nil, err.
  t.fails("invalid recipient", crypto.age_encrypt("x", { recipient = "age1xyz" }))
  t.fails("invalid identity", crypto.age_decrypt("x", { identity = "AGE-SECRET-KEY-1XYZ" }))
end)

t.test("in memory: round trips for X25519 (several recipients) and passphrase", function()
  local id2, r2 = crypto.age_keygen()
  for _, n in ipairs({ 0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK }) do
    local plain = bytes(n, n + 1)
    local ct = crypto.age_encrypt(plain, { recipients = { RCPT, r2 } })
    t.eq(ct:sub(1, 22), "age-encryption.org/v1\n")
    t.eq(crypto.age_decrypt(ct, { identity = ID }), plain)
    t.eq(crypto.age_decrypt(ct, { identities = { id2 } }), plain)
    local chunks = n == 0 and 1 or math.ceil(n / CHUNK)
    t.eq(#ct, header_len(ct) + 16 + n + 16 * chunks, "size for " .. n)
  end
  local ct = crypto.age_encrypt("secret", { passphrase = "correct horse", work_factor = 10 })
  t.match(ct, "\n%-> scrypt [A-Za-z0-9+/]+ 10\n")
  t.eq(crypto.age_decrypt(ct, { passphrase = "correct horse" }), "secret")
end)

t.test("wrong key and wrong passphrase: authentication errors, kind no_match", function()
  local ct = crypto.age_encrypt("data", { recipient = RCPT })
  local other = crypto.age_keygen()
  local v, err, kind = crypto.age_decrypt(ct, { identity = other })
  t.fails("age: authentication failed: no identity matches", v, err)
  t.eq(kind, "no_match")
  local pct = crypto.age_encrypt("data", { passphrase = "right", work_factor = 10 })
  v, err, kind = crypto.age_decrypt(pct, { passphrase = "wrong" })
  t.fails("authentication failed", v, err)
  t.eq(kind, "no_match")
  v, err, kind = crypto.age_decrypt(pct, { identity = ID })
  t.eq(kind, "no_match")
  -- The work-factor limit refuses before computing anything.
  v, err, kind = crypto.age_decrypt(pct, { passphrase = "right", max_work_factor = 9 })
  t.fails("work factor 2^10 exceeds the limit 2^9", v, err)
  t.eq(kind, "header")
  local dir = t.tmpdir()
  t.write_file(dir .. "/p.age", pct)
  v, err, kind = crypto.age_reader(dir .. "/p.age", { passphrase = "wrong" })
  t.fails(dir .. "/p.age: age: authentication failed", v, err)
  t.eq(kind, "no_match")
end)

t.test("writer: streams pieces, numbers, sha256 of the ciphertext, exclusive create", function()
  local dir = t.tmpdir()
  local path = dir .. "/out.age"
  local w = assert(crypto.age_writer(path, { recipients = { RCPT }, sha256 = true }))
  local plain = bytes(3 * CHUNK + 99, 7)
  local pos = 1
  local sizes = { 1, 100, CHUNK, 5, 2 * CHUNK + 3 }
  local i = 0
  while pos <= #plain do
    i = i + 1
    local n = sizes[(i - 1) % #sizes + 1]
    t.eq(w:write(plain:sub(pos, pos + n - 1)), w)
    pos = pos + n
  end
  w:write(42, "|", 1.5)
  plain = plain .. "42|1.5"
  t.eq(w:bytes(), #plain)
  t.match(tostring(w), "hostsync.crypto.age_writer %(.*out.age, open")
  t.eq(w:close(), true)
  t.eq(w:is_open(), false)
  local ct = t.read_file(path)
  t.eq(w:sha256_hex(), hash.sha256_hex(ct))
  t.eq(w:encrypted_bytes(), #ct)
  t.raises(function() w:write("x") end, "closed age writer")
  t.eq(crypto.age_decrypt(ct, { identity = ID }), plain)
  -- never overwrite
  t.fails("create " .. path .. ": File exists", crypto.age_writer(path, { recipient = RCPT }))
  t.eq(t.read_file(path), ct, "the existing file is untouched")
  t.fails("No such file or directory", crypto.age_writer(dir .. "/missing/x.age", { recipient = RCPT }))
end)

t.test("writer: abort and garbage collection remove the partial file; atomic mode", function()
  local dir = t.tmpdir()
  local w = assert(crypto.age_writer(dir .. "/a.age", { recipient = RCPT }))
  w:write(bytes(100000, 3))
  t.ok(io.open(dir .. "/a.age") ~= nil)
  w:abort()
  t.is_nil(io.open(dir .. "/a.age"))
  t.raises(function() w:close() end, "closed age writer")
  do
    local w2 = assert(crypto.age_writer(dir .. "/b.age", { recipient = RCPT }))
    w2:write("abc")
  end
  collectgarbage()
  collectgarbage()
  t.is_nil(io.open(dir .. "/b.age"), "an unclosed writer's file is removed when collected")
  local w3 = assert(crypto.age_writer(dir .. "/c.age", { recipient = RCPT, atomic = true }))
  w3:write(bytes(200000, 4))
  t.is_nil(io.open(dir .. "/c.age"), "atomic: nothing at the final name before close")
  t.ok(w3:close())
  t.eq(crypto.age_decrypt(t.read_file(dir .. "/c.age"), { identity = ID }), bytes(200000, 4))
  local early, e = crypto.age_writer(dir .. "/c.age", { recipient = RCPT, atomic = true })
  t.is_nil(e, "atomic mode only finds out at close")
  early:abort()
  local w4 = assert(crypto.age_writer(dir .. "/c.age", { recipient = RCPT, atomic = true }))
  w4:write("x")
  t.fails("create " .. dir .. "/c.age: File exists", w4:close())
  local names = {}
  for name in io.popen("ls -A " .. dir):lines() do names[#names + 1] = name end
  t.eq(names, { "c.age" }, "no temp file left behind")
end)

t.test("reader: chunk by chunk, bytes, close, missing file", function()
  local dir = t.tmpdir()
  local plain = bytes(5 * CHUNK + 17, 9)
  t.write_file(dir .. "/x.age", crypto.age_encrypt(plain, { recipient = RCPT }))
  local r = assert(crypto.age_reader(dir .. "/x.age", { identities = { (crypto.age_keygen()), ID } }))
  local got, err = read_all(r)
  t.is_nil(err)
  t.eq(got, plain)
  t.eq(r:bytes(), #plain)
  t.is_nil(r:read(), "stays at the end")
  r:close()
  t.raises(function() r:read() end, "closed age reader")
  local v, e, kind = crypto.age_reader(dir .. "/nope.age", { identity = ID })
  t.fails("open " .. dir .. "/nope.age: No such file or directory", v, e)
  t.eq(kind, "io")
  t.write_file(dir .. "/plain.txt", "just text\n")
  v, e, kind = crypto.age_reader(dir .. "/plain.txt", { identity = ID })
  t.fails("not an age file", v, e)
  t.eq(kind, "header")
end)

t.test("encrypt_file / decrypt_file: plaintext appears only when fully verified", function()
  local dir = t.tmpdir()
  local plain = bytes(2 * CHUNK + 5, 11)
  t.write_file(dir .. "/in", plain)
  t.ok(crypto.age_encrypt_file(dir .. "/in", dir .. "/in.age", { recipient = RCPT }))
  t.fails("File exists", crypto.age_encrypt_file(dir .. "/in", dir .. "/in.age", { recipient = RCPT }))
  t.ok(crypto.age_decrypt_file(dir .. "/in.age", dir .. "/out", { identity = ID }))
  t.eq(t.read_file(dir .. "/out"), plain)
  t.fails("File exists", crypto.age_decrypt_file(dir .. "/in.age", dir .. "/out", { identity = ID }))
  local ct = t.read_file(dir .. "/in.age")
  t.write_file(dir .. "/bad.age", ct:sub(1, -2))
  local v, e, kind = crypto.age_decrypt_file(dir .. "/bad.age", dir .. "/bad.out", { identity = ID })
  t.fails(dir .. "/bad.age: age: authentication failed", v, e)
  t.eq(kind, "payload")
  t.is_nil(io.open(dir .. "/bad.out"), "no output for a file that does not verify")
  t.fails("open " .. dir .. "/none", crypto.age_encrypt_file(dir .. "/none", dir .. "/none.age", { recipient = RCPT }))
  t.is_nil(io.open(dir .. "/none.age"), "no partial output")
end)

-- Tampering: any single flipped byte, truncation at any point, appended bytes. Every case
-- must fail with an age error, and the reader may release only whole chunks that come
-- before the damaged one (verified, and a prefix of the original).
t.test("tamper: one flipped byte anywhere is rejected; nothing unverified is released", function()
  local dir = t.tmpdir()
  local plain = bytes(3 * CHUNK + 1000, 21)
  local ct = crypto.age_encrypt(plain, { recipient = RCPT })
  local hl = header_len(ct)
  local body = hl + 16  -- first chunk starts after the nonce
  local positions = {}
  for i = 1, hl + 16 do positions[#positions + 1] = i end  -- every header and nonce byte
  for c = 0, 3 do
    local start = body + c * SEALED
    for _, d in ipairs({ 1, 2, 1000, SEALED - 16, SEALED - 15, SEALED - 1, SEALED }) do
      if start + d <= #ct then positions[#positions + 1] = start + d end
    end
  end
  positions[#positions + 1] = #ct
  local path = dir .. "/t.age"
  local kinds = {}
  for _, pos in ipairs(positions) do
    local b = ct:byte(pos)
    local bad = ct:sub(1, pos - 1) .. string.char((b + 1) % 256) .. ct:sub(pos + 1)
    local v, err, kind = crypto.age_decrypt(bad, { identity = ID })
    t.fails("age: ", v, err)
    kinds[kind] = true
    os.remove(path)
    t.write_file(path, bad)
    local r, rerr = crypto.age_reader(path, { identity = ID })
    if r then
      local got, e2, k2 = read_all(r)
      t.ok(e2, "reader must fail for a flip at " .. pos)
      t.eq(k2, "payload")
      t.match(e2, "authentication failed")
      -- Only chunks before the damaged one come out.
      local damaged = math.max(0, math.floor((pos - body - 1) / SEALED))
      t.eq(#got, damaged * CHUNK, "released bytes for a flip at " .. pos)
      t.eq(got, plain:sub(1, #got))
    else
      t.match(rerr, "age: ")
      t.ok(pos <= hl + 16, "a header-time failure only for header or nonce bytes, not at " .. pos)
    end
  end
  t.ok(kinds.header and kinds.hmac and kinds.payload, "the flips hit header syntax, the MAC and the payload")
end)

t.test("tamper: truncation anywhere and appended bytes are rejected", function()
  local plain = bytes(2 * CHUNK + 10, 31)
  local ct = crypto.age_encrypt(plain, { recipient = RCPT })
  local hl = header_len(ct)
  local cuts = { 0, 1, 21, 22, hl - 1, hl, hl + 15, hl + 16, hl + 17, hl + 16 + SEALED - 1, hl + 16 + SEALED,
    hl + 16 + SEALED + 1, hl + 16 + 2 * SEALED, #ct - 16, #ct - 1 }
  for _, n in ipairs(cuts) do
    local v, err, kind = crypto.age_decrypt(ct:sub(1, n), { identity = ID })
    t.fails("age: ", v, err)
    if n > hl + 16 then
      t.eq(kind, "payload", "cut at " .. n)
      t.match(err, "authentication failed")
    end
  end
  for _, extra in ipairs({ "\0", string.rep("x", 16), string.rep("y", SEALED), ct:sub(-SEALED) }) do
    local v, err, kind = crypto.age_decrypt(ct .. extra, { identity = ID })
    t.fails("authentication failed", v, err)
    t.eq(kind, "payload")
  end
  -- A whole chunk swapped or dropped is caught by the counter in the nonce.
  local b = hl + 16
  local c1, c2 = ct:sub(b + 1, b + SEALED), ct:sub(b + SEALED + 1, b + 2 * SEALED)
  local swapped = ct:sub(1, b) .. c2 .. c1 .. ct:sub(b + 2 * SEALED + 1)
  t.fails("chunk 1 does not verify", crypto.age_decrypt(swapped, { identity = ID }))
  local dropped = ct:sub(1, b) .. c2 .. ct:sub(b + 2 * SEALED + 1)
  t.fails("authentication failed", crypto.age_decrypt(dropped, { identity = ID }))
end)

t.test("the writer is a byte sink and the reader a byte source", function()
  local dir = t.tmpdir()
  local w = assert(crypto.age_writer(dir .. "/s.age", { recipient = RCPT }))
  local mt = getmetatable(w)
  t.eq(type(mt.__hostsync_sink), "function")
  t.eq(type(mt.__hostsync_sink(w)), "userdata")
  w:write("via sink")
  t.ok(w:close())
  local r = assert(crypto.age_reader(dir .. "/s.age", { identity = ID }))
  t.eq(type(getmetatable(r).__hostsync_source), "function")
  t.eq(read_all(r), "via sink")
end)

t.test("tar streams into the writer and extracts from the reader (no plaintext file)", function()
  local tar = require "hostsync.tar"
  local dir = t.tmpdir()
  os.execute("mkdir -p " .. dir .. "/tree/sub " .. dir .. "/out")
  local big = bytes(200000, 5)
  t.write_file(dir .. "/tree/a.txt", "a\n")
  t.write_file(dir .. "/tree/sub/b.bin", big)
  local w = assert(crypto.age_writer(dir .. "/t.tar.age", { recipient = RCPT, sha256 = true }))
  t.ok(tar.write(w, dir .. "/tree", { "a.txt", "sub/b.bin" }, { mtime = 0 }))
  t.ok(w:close())
  local names = {}
  for name in io.popen("ls -A " .. dir):lines() do names[#names + 1] = name end
  table.sort(names)
  t.eq(names, { "out", "t.tar.age", "tree" }, "no temporary plaintext")
  t.eq(w:sha256_hex(), hash.sha256_hex(t.read_file(dir .. "/t.tar.age")))
  local r = assert(crypto.age_reader(dir .. "/t.tar.age", { identity = ID }))
  t.ok(tar.extract(r, dir .. "/out"))
  t.eq(t.read_file(dir .. "/out/sub/b.bin"), big)
  t.eq(t.read_file(dir .. "/out/a.txt"), "a\n")
end)
