local t = require "hostsync.testing"
local tar = require "hostsync.tar"
local fs = require "hostsync.fs"
local hash = require "hostsync.hash"

local function sh(cmd)
  local ok = os.execute(cmd)
  assert(ok == true or ok == 0, "command failed: " .. cmd)
end

local function mkfile(path, data, mode)
  t.write_file(path, data)
  if mode then sh("chmod " .. mode .. " '" .. path .. "'") end
end

-- A small tree: nested dirs, an empty dir, an executable, an empty file.
local function make_tree(root)
  sh("mkdir -p '" .. root .. "/src/lib' '" .. root .. "/empty' '" .. root .. "/docs'")
  mkfile(root .. "/README", "hello\n", "600")
  mkfile(root .. "/src/main.lua", string.rep("print(1)\n", 1000))
  mkfile(root .. "/src/lib/util.lua", "return {}\n")
  mkfile(root .. "/run.sh", "#!/bin/sh\necho hi\n", "700")
  mkfile(root .. "/docs/empty.txt", "")
  mkfile(root .. "/docs/big.bin", string.rep("\0\1\2\3\255", 300000))
end

-- Writes the archive of root to dir/name through a safe_writer; returns its SHA-256.
local function archive(root, dir, name, opts)
  local paths = assert(tar.collect(root))
  local h = tar.hash_sink()
  local w = assert(fs.safe_writer(dir, name))
  local res = assert(tar.write(tar.tee(h, w), root, paths, opts))
  t.eq(w:state(), "committed")
  t.eq(res.bytes, h:bytes())
  t.eq(hash.sha256_file(dir .. "/" .. name), h:hex())
  return h:hex(), res
end

t.test("collect lists dirs and files sorted, bytewise", function()
  local d = t.tmpdir()
  make_tree(d)
  t.eq(tar.collect(d), {
    "README", "docs", "docs/big.bin", "docs/empty.txt", "empty", "run.sh",
    "src", "src/lib", "src/lib/util.lua", "src/main.lua",
  })
end)

t.test("write is deterministic and normalises owner, mode and mtime", function()
  local d, out = t.tmpdir(), t.tmpdir()
  make_tree(d)
  local h1, res = archive(d, out, "a.tar")
  local h2 = archive(d, out, "b.tar")
  t.eq(h1, h2)
  t.eq(res.entries, 10)
  t.eq(res.bytes % 10240, 0)
  -- touching and chmod'ing within the same class changes nothing
  sh("touch -d '2001-02-03 04:05:06' '" .. d .. "/README' && chmod 644 '" .. d .. "/README' && chmod 711 '" .. d .. "/run.sh'")
  t.eq(archive(d, out, "c.tar"), h1)
  local entries = assert(tar.list(out .. "/a.tar"))
  local by = {}
  for _, e in ipairs(entries) do by[e.path] = e end
  t.eq(#entries, 10)
  t.eq(by["README"].mode, tonumber("644", 8))
  t.eq(by["run.sh"].mode, tonumber("755", 8))
  t.eq(by["src/"].mode, tonumber("755", 8))
  t.eq(by["src/"].type, "dir")
  t.eq(by["docs/big.bin"].size, 1500000)
  for _, e in ipairs(entries) do
    t.eq({ e.uid, e.gid, e.uname, e.gname, e.mtime }, { 0, 0, "", "", 0 }, e.path)
  end
  -- entries in byte order of their path
  t.eq(entries[1].path, "README")
  t.eq(entries[#entries].path, "src/main.lua")
end)

t.test("mtime policy: fixed epoch or the file's own", function()
  local d, out = t.tmpdir(), t.tmpdir()
  t.write_file(d .. "/f", "x")
  sh("touch -d @1234567890 '" .. d .. "/f'")
  local w = assert(fs.safe_writer(out, "fixed.tar"))
  assert(tar.write(w, d, { "f" }, { mtime = 1700000000 }))
  t.eq(tar.list(out .. "/fixed.tar")[1].mtime, 1700000000)
  w = assert(fs.safe_writer(out, "file.tar"))
  assert(tar.write(w, d, { "f" }, { mtime = "file" }))
  t.eq(tar.list(out .. "/file.tar")[1].mtime, 1234567890)
  t.raises(function() tar.write(tar.hash_sink(), d, { "f" }, { mtime = -1 }) end, "mtime must be")
  t.raises(function() tar.write(tar.hash_sink(), d, { "f" }, { mtime = 1.5 }) end, "mtime must be")
end)

t.test("paths are normalised, sorted, and must be unique, relative, UTF-8", function()
  local d = t.tmpdir()
  sh("mkdir -p '" .. d .. "/a/b'")
  t.write_file(d .. "/a/b/c", "c")
  t.write_file(d .. "/z", "z")
  local h1, h2 = tar.hash_sink(), tar.hash_sink()
  assert(tar.write(h1, d, { "z", "a/b/c" }))
  assert(tar.write(h2, d, { "./a//b/c", "z/" }))
  t.eq(h1:hex(), h2:hex())
  t.fails("listed twice", tar.write(tar.hash_sink(), d, { "z", "./z" }))
  t.fails('".." component refused', tar.write(tar.hash_sink(), d, { "a/../z" }))
  t.fails("absolute path refused", tar.write(tar.hash_sink(), d, { "/etc/passwd" }))
  t.fails("not valid UTF-8", tar.write(tar.hash_sink(), d, { "z\255" }))
  t.fails("No such file or directory", tar.write(tar.hash_sink(), d, { "missing" }))
  t.raises(function() tar.write(tar.hash_sink(), d, { 5 }) end, "paths[1] must be a string")
  t.raises(function() tar.write("not a sink", d, {}) end, "sink must be a sink")
end)

t.test("symlinks are refused, never followed, or stored when asked", function()
  local d, outside = t.tmpdir(), t.tmpdir()
  t.write_file(outside .. "/secret", "secret")
  sh("mkdir '" .. d .. "/dir' && ln -s '" .. outside .. "/secret' '" .. d .. "/link' && ln -s '" .. outside .. "' '" .. d .. "/dirlink'")
  t.write_file(d .. "/dir/f", "f")
  t.fails("is a symlink (refused)", tar.collect(d))
  t.fails("is a symlink (refused", tar.write(tar.hash_sink(), d, { "link" }))
  t.fails("is a symlink", tar.write(tar.hash_sink(), d, { "dirlink/secret" }))
  local paths = assert(tar.collect(d, { symlinks = "store" }))
  t.eq(paths, { "dir", "dir/f", "dirlink", "link" })
  local out = t.tmpdir()
  local w = assert(fs.safe_writer(out, "l.tar"))
  assert(tar.write(w, d, paths, { symlinks = "store" }))
  local e = tar.list(out .. "/l.tar")
  t.eq({ e[4].path, e[4].type, e[4].link }, { "link", "symlink", outside .. "/secret" })
  -- the extractor refuses what was stored
  t.fails("symlink refused", tar.extract(out .. "/l.tar", t.tmpdir()))
end)

t.test("files and directories only: a FIFO is refused without blocking", function()
  local d = t.tmpdir()
  sh("mkfifo '" .. d .. "/fifo'")
  t.fails("not a regular file or directory", tar.write(tar.hash_sink(), d, { "fifo" }))
  t.fails("not a regular file or directory", tar.collect(d))
end)

t.test("long paths: >100 and >255 bytes round-trip", function()
  local d, out = t.tmpdir(), t.tmpdir()
  local p120 = string.rep("a", 60) .. "/" .. string.rep("b", 59) -- 120 bytes
  local p300 = string.rep("c", 100) .. "/" .. string.rep("d", 100) .. "/" .. string.rep("e", 98) .. ".txt"
  local utf = "d\195\169j\195\160/" .. string.rep("\226\130\172", 40) -- non-ASCII, 126 bytes
  for _, p in ipairs({ p120, p300, utf }) do
    sh("mkdir -p '" .. d .. "/" .. p:match("^(.*)/") .. "'")
    t.write_file(d .. "/" .. p, p)
  end
  t.ok(#p300 > 255)
  local h = archive(d, out, "long.tar")
  t.eq(archive(d, out, "long2.tar"), h)
  local names = {}
  for _, e in ipairs(tar.list(out .. "/long.tar")) do names[#names + 1] = e.path end
  t.eq(names, { string.rep("a", 60) .. "/", p120, string.rep("c", 100) .. "/", string.rep("c", 100) .. "/" .. string.rep("d", 100) .. "/", p300, "d\195\169j\195\160/", utf })
  local dest = t.tmpdir()
  assert(tar.extract(out .. "/long.tar", dest))
  for _, p in ipairs({ p120, p300, utf }) do t.eq(fs.read_file(dest .. "/" .. p), p) end
end)

t.test("round trip: write then extract gives the same tree", function()
  local d, out, dest = t.tmpdir(), t.tmpdir(), t.tmpdir() .. "/restore"
  make_tree(d)
  archive(d, out, "a.tar")
  sh("mkdir '" .. dest .. "'")
  local res = assert(tar.extract(out .. "/a.tar", dest, { max_bytes = 2000000, max_entries = 10 }))
  t.eq(res, { entries = 10, bytes = 1500000 + 9000 + 6 + 10 + 18 })
  t.eq(tar.collect(dest), tar.collect(d))
  for _, p in ipairs(tar.collect(d)) do
    local a, b = fs.stat(d .. "/" .. p), fs.stat(dest .. "/" .. p)
    t.eq(b.type, a.type, p)
    if a.type == "file" then
      t.eq(fs.read_file(dest .. "/" .. p), fs.read_file(d .. "/" .. p), p)
      t.eq(b.mode, (a.mode % 512 >= 256 and (math.floor(a.mode / 64) % 2 == 1)) and tonumber("755", 8) or tonumber("644", 8), p)
      t.eq(b.mtime, 0, p)
    else
      t.eq(b.mode, tonumber("755", 8), p)
    end
  end
  -- re-archiving the restored tree gives the same bytes
  t.eq(archive(dest, out, "b.tar"), archive(d, out, "c.tar"))
end)

t.test("extract: destination must be an empty real directory; limits", function()
  local d, out = t.tmpdir(), t.tmpdir()
  make_tree(d)
  archive(d, out, "a.tar")
  local full = t.tmpdir()
  t.write_file(full .. "/x", "x")
  t.fails("destination is not empty", tar.extract(out .. "/a.tar", full))
  local real = t.tmpdir()
  sh("ln -s '" .. real .. "' '" .. out .. "/destlink'")
  t.fails("destination is a symlink", tar.extract(out .. "/a.tar", out .. "/destlink"))
  t.fails("No such file or directory", tar.extract(out .. "/a.tar", out .. "/none"))
  t.fails("max_entries", tar.extract(out .. "/a.tar", t.tmpdir(), { max_entries = 9 }))
  t.fails("max_bytes", tar.extract(out .. "/a.tar", t.tmpdir(), { max_bytes = 1500000 }))
  t.fails("max_entries", tar.list(out .. "/a.tar", { max_entries = 3 }))
  t.fails("open " .. out .. "/none.tar: No such file", tar.extract(out .. "/none.tar", t.tmpdir()))
  t.raises(function() tar.extract(out .. "/a.tar", t.tmpdir(), { max_bytes = -1 }) end, "max_bytes must be")
  t.raises(function() tar.extract(out .. "/a.tar", t.tmpdir(), { bogus = 1 }) end, "unknown option 'bogus'")
end)

t.test("extract from a function source, in small chunks; errors of the source", function()
  local d, out = t.tmpdir(), t.tmpdir()
  make_tree(d)
  archive(d, out, "a.tar")
  local data = fs.read_file(out .. "/a.tar")
  local pos = 1
  local dest = t.tmpdir()
  local res = assert(tar.extract(function()
    if pos > #data then return nil end
    local chunk = data:sub(pos, pos + 4999)
    pos = pos + 5000
    return chunk
  end, dest, { fsync = false }))
  t.eq(res.entries, 10)
  t.eq(fs.read_file(dest .. "/docs/big.bin"), fs.read_file(d .. "/docs/big.bin"))
  -- a source failing half-way: the file being written is not left under its name
  pos = 1
  local dest2 = t.tmpdir()
  local err = t.fails("decrypt: authentication failed", tar.extract(function()
    if pos > 600000 then return nil, "decrypt: authentication failed" end
    local chunk = data:sub(pos, pos + 99999)
    pos = pos + 100000
    return chunk
  end, dest2))
  t.ok(not fs.exists(dest2 .. "/docs/big.bin"), err)
  t.eq(fs.listdir(dest2 .. "/docs"), {})
  local function failing_source() error("boom") end
  local ok, serr = tar.extract(failing_source, t.tmpdir())
  t.is_nil(ok)
  -- with the traceback handler: where in the source function it raised
  t.match(serr, "source function raised: [^\n]*tar_test%.lua:%d+: boom\nstack traceback:.*in function <[^>]*tar_test%.lua:%d+>")
end)

t.test("a truncated archive fails and leaves no partial file under its name", function()
  local d, out = t.tmpdir(), t.tmpdir()
  make_tree(d)
  archive(d, out, "a.tar")
  local data = fs.read_file(out .. "/a.tar")
  -- cut inside docs/big.bin's data
  t.write_file(out .. "/cut.tar", data:sub(1, 800000))
  local dest = t.tmpdir()
  t.fails("runcated", tar.extract(out .. "/cut.tar", dest))
  t.eq(fs.listdir(dest .. "/docs"), {})
  t.fails("runcated", tar.list(out .. "/cut.tar"))
end)

t.test("sinks: appender joins the protocol; tee; hash_sink methods", function()
  local d, out = t.tmpdir(), t.tmpdir()
  make_tree(d)
  local paths = tar.collect(d)
  local w = assert(fs.appender(out .. "/x.tar", { exclusive = true, sha256 = true }))
  local h = tar.hash_sink()
  assert(tar.write(tar.tee(w, h), d, paths))
  assert(w:close())
  t.eq(w:sha256_hex(), h:hex())
  t.eq(hash.sha256_file(out .. "/x.tar"), h:hex())
  -- a closed appender as a sink fails as a failure of the world
  t.fails("appender is closed", tar.write(w, d, paths))
  local s = tar.hash_sink()
  t.eq(s:write("abc"), s)
  t.eq(s:hex(), hash.sha256_hex("abc"))
  t.eq(s:bytes(), 3)
  t.eq(s:finish(), true)
  t.fails("write after finish", s:write("x"))
  t.raises(function() tar.tee() end, "at least one sink")
  t.raises(function() tar.tee(h, {}) end, "argument 2 is not a sink")
  t.ok(tar.is_sink(w) and tar.is_sink(h) and not tar.is_sink("x"))
  -- finish = false leaves the sink open for more
  local h2 = tar.hash_sink()
  assert(tar.write(h2, d, paths, { finish = false }))
  t.eq(h2:write("more"), h2)
end)

t.test("archive bytes do not depend on os.setlocale", function()
  local d = t.tmpdir()
  t.write_file(d .. "/d\195\169j\195\160.txt", "x")
  local h1 = tar.hash_sink()
  assert(tar.write(h1, d, tar.collect(d)))
  local old = os.setlocale(nil)
  local ok = os.setlocale("C.UTF-8") or os.setlocale("C.utf8")
  local h2 = tar.hash_sink()
  local r, err = tar.write(h2, d, tar.collect(d))
  os.setlocale(old)
  assert(r, err)
  if ok then t.eq(h2:hex(), h1:hex()) end
  t.eq(tar.list(function() return nil end, {}) == nil, true)
end)

t.test("write: prefixes store the first n bytes of an append-only file, reproducibly", function()
  local fs = require "hostsync.fs"
  local d = t.tmpdir()
  t.write_file(d .. "/log.jsonl", "one\ntwo\n")
  t.write_file(d .. "/other.txt", "x")
  local function archive_hash()
    local h = tar.hash_sink()
    assert(tar.write(h, d, { "log.jsonl", "other.txt" }, { prefixes = { ["log.jsonl"] = 4 } }))
    return h:hex()
  end
  local first = archive_hash()
  assert(fs.append(d .. "/log.jsonl", "three\n"))   -- the log grows: the prefix does not change
  t.eq(archive_hash(), first)
  local out = t.tmpdir() .. "/x"
  local w = assert(fs.safe_writer(out:match("^(.*)/x$"), "a.tar"))
  assert(tar.write(w, d, { "log.jsonl" }, { prefixes = { ["log.jsonl"] = 4 } }))
  local entries = assert(tar.list(out:match("^(.*)/x$") .. "/a.tar"))
  t.eq(entries[1].size, 4)
  local h = tar.hash_sink()
  local r, err = tar.write(h, d, { "log.jsonl" }, { prefixes = { ["log.jsonl"] = 1000 } })
  t.is_nil(r)
  t.match(err, "fewer than the 1000 to store")
  t.raises(function() tar.write(tar.hash_sink(), d, { "log.jsonl" }, { prefixes = { ["log.jsonl"] = -1 } }) end,
    "prefixes maps relative paths to byte counts")
end)

t.test("write: progress is called after each entry and every 4 MiB, and can stop the stream", function()
  local d = t.tmpdir()
  t.write_file(d .. "/a.txt", "aa")
  t.write_file(d .. "/big.bin", string.rep("x", 10 * 1024 * 1024 + 5))
  local calls = {}
  local plain = tar.hash_sink()
  assert(tar.write(plain, d, { "a.txt", "big.bin" }, { progress = function(entries, bytes)
    calls[#calls + 1] = { entries, bytes }
  end }))
  -- a.txt done; big.bin at 4 and 8 MiB; big.bin done.
  t.eq(calls, { { 1, 2 }, { 1, 2 + 4 * 1048576 }, { 1, 2 + 8 * 1048576 }, { 2, 2 + 10 * 1048576 + 5 } })
  local h = tar.hash_sink()
  assert(tar.write(h, d, { "a.txt", "big.bin" }))
  t.eq(h:hex(), plain:hex(), "the callback changes nothing in the archive")
  local r, err = tar.write(tar.hash_sink(), d, { "a.txt", "big.bin" }, { progress = function(entries)
    if entries == 1 then error("enough") end
  end })
  t.is_nil(r)
  t.match(err, "progress function raised: .*enough\nstack traceback:.*tar_test%.lua")
end)
