local t = require "hostsync.testing"
local fs = require "hostsync.fs"
local hash = require "hostsync.hash"

local host_binary = t.hostsync_binary

local function my_pid()
  local f = io.open("/proc/self/stat")
  local pid = f:read("*l"):match("^(%d+)")
  f:close()
  return pid
end

t.test("read_file and read_range", function()
  local d = t.tmpdir()
  t.write_file(d .. "/f", "0123456789")
  t.eq(fs.read_file(d .. "/f"), "0123456789")
  t.eq(fs.read_range(d .. "/f", 2, 3), "234")
  t.eq(fs.read_range(d .. "/f", 8, 100), "89")
  t.eq(fs.read_range(d .. "/f", 100, 1), "")
  t.eq(fs.read_file(d .. "/f"), "0123456789")
  t.fails("open " .. d .. "/none: No such file or directory", fs.read_file(d .. "/none"))
  t.fails("read " .. d .. ": Is a directory", fs.read_file(d))
  t.fails("open " .. d .. "/none: No such file or directory", fs.read_range(d .. "/none", 0, 1))
  t.raises(function() fs.read_file(nil) end, "Usage: fs.read_file(path): path must be a non-empty string")
  t.raises(function() fs.read_file("") end, "Usage: fs.read_file(path)")
  t.raises(function() fs.read_range(d .. "/f", -1, 1) end, "offset must be a non-negative integer")
  t.raises(function() fs.read_range(d .. "/f", 0, 0.5) end, "length must be a non-negative integer")
end)

t.test("write_atomic replaces content and leaves no temp file", function()
  local d = t.tmpdir()
  t.eq(fs.write_atomic(d .. "/state", "one"), true)
  t.eq(fs.write_atomic(d .. "/state", "two"), true)
  t.eq(t.read_file(d .. "/state"), "two")
  t.eq(fs.listdir(d), { "state" })
  t.fails("create temp file for " .. d .. "/no/state: No such file or directory", fs.write_atomic(d .. "/no/state", "x"))
  t.raises(function() fs.write_atomic(d .. "/state", 5) end, "Usage: fs.write_atomic(path, data): data must be a string")
end)

t.test("create_exclusive never overwrites", function()
  local d = t.tmpdir()
  t.eq(fs.create_exclusive(d .. "/a", "first"), true)
  t.fails("create " .. d .. "/a: File exists", fs.create_exclusive(d .. "/a", "second"))
  t.eq(t.read_file(d .. "/a"), "first")
  t.eq(fs.listdir(d), { "a" })
  t.fails("No such file or directory", fs.create_exclusive(d .. "/no/a", "x"))
  t.raises(function() fs.create_exclusive(d .. "/b") end, "Usage: fs.create_exclusive(path, data)")
end)

t.test("append adds, never truncates, returns the byte count", function()
  local d = t.tmpdir()
  t.write_file(d .. "/log", "old\n")
  t.eq(fs.append(d .. "/log", "a\n"), 2)
  t.eq(fs.append(d .. "/log", ""), 0)
  t.eq(fs.append(d .. "/new", "b\n"), 2)
  t.eq(t.read_file(d .. "/log"), "old\na\n")
  t.eq(t.read_file(d .. "/new"), "b\n")
  t.fails("open " .. d .. "/no/log: No such file or directory", fs.append(d .. "/no/log", "x"))
  t.raises(function() fs.append(d .. "/log", nil) end, "Usage: fs.append(path, data)")
end)

t.test("appender: buffered writes, bytes, running sha256, close", function()
  local d = t.tmpdir()
  local w = assert(fs.appender(d .. "/out", { sha256 = true }))
  local parts = {}
  for i = 1, 10000 do
    local s = "row " .. i .. "\n"
    parts[#parts + 1] = s
    t.eq(w:write(s), w)
  end
  local big = string.rep("x", 3 * 1024 * 1024)
  w:write(big)
  parts[#parts + 1] = big
  local all = table.concat(parts)
  t.eq(w:bytes(), #all)
  t.eq(w:sha256_hex(), hash.sha256_hex(all))
  t.eq(w:flush(), true)
  t.eq(w:sync(), true)
  w:write("tail")
  t.eq(w:close(), true)
  t.eq(w:close(), true)
  t.eq(t.read_file(d .. "/out"), all .. "tail")
  t.eq(w:sha256_hex(), hash.sha256_hex(all .. "tail"), "hash still readable after close")
  t.match(tostring(w), "closed")
  t.raises(function() w:write("more") end, "Usage: w:write() on a closed appender")
  t.raises(function() w:flush() end, "Usage: w:flush() on a closed appender")
end)

t.test("appender: write(...) takes several strings and numbers, like file:write", function()
  local d = t.tmpdir()
  local w = assert(fs.appender(d .. "/out", { sha256 = true }))
  t.eq(w:write("seq=", 42, " x=", 1.5, " big=", 2 ^ 53, "\n"), w)
  t.raises(function() w:write("ok", {}) end, "argument 2 must be a string or a number, got table")
  t.eq(w:close(), true)
  local want = "seq=42 x=1.5 big=9007199254740992\n"
  t.eq(t.read_file(d .. "/out"), want)
  t.eq(w:sha256_hex(), hash.sha256_hex(want))
end)

t.test("appender: exclusive, appending to existing, errors", function()
  local d = t.tmpdir()
  t.write_file(d .. "/existing", "head\n")
  local w = assert(fs.appender(d .. "/existing"))
  w:write("more\n")
  assert(w:close())
  t.eq(t.read_file(d .. "/existing"), "head\nmore\n")
  t.fails("create " .. d .. "/existing: File exists", fs.appender(d .. "/existing", { exclusive = true }))
  local x = assert(fs.appender(d .. "/fresh", { exclusive = true }))
  x:write("x")
  x = nil
  collectgarbage()
  collectgarbage()
  t.eq(t.read_file(d .. "/fresh"), "x", "__gc flushed and closed it")
  t.fails("open " .. d .. "/no/x: No such file or directory", fs.appender(d .. "/no/x"))
  local plain = assert(fs.appender(d .. "/plain"))
  t.raises(function() plain:sha256_hex() end, "needs fs.appender(path, {sha256=true})")
  plain:close()
  t.raises(function() fs.appender(d .. "/y", { exclusive = 1 }) end, "option 'exclusive' must be a boolean")
  t.raises(function() fs.appender(d .. "/y", { hash = true }) end, "unknown option 'hash'")
  -- Errors from the disk are nil, err, and sticky.
  local full = assert(fs.appender("/dev/full"))
  full:write("abc")
  t.fails("write /dev/full: No space left on device", full:flush())
  t.fails("write /dev/full: No space left on device", full:write("more"))
  t.fails("No space left on device", full:close())
end)

t.test("lock: exclusive within the process, released by release() and by __gc", function()
  local d = t.tmpdir()
  local path = d .. "/run.lock"
  local l = assert(fs.lock(path))
  t.eq(l:held(), true)
  t.eq(t.read_file(path), my_pid() .. "\n")
  t.fails("lock " .. path .. " is held by pid " .. my_pid(), fs.lock(path))
  t.eq(l:release(), true)
  t.eq(l:held(), false)
  t.eq(l:release(), true)
  local l2 = assert(fs.lock(path))
  l2 = nil
  collectgarbage()
  collectgarbage()
  local l3 = t.ok(fs.lock(path), "lock released by __gc")
  l3:release()
  t.ok(fs.exists(path), "the lock file is never deleted")
  t.fails("lock " .. d .. "/no/x.lock: No such file or directory", fs.lock(d .. "/no/x.lock"))
  t.raises(function() fs.lock(path, { wait = -1 }) end, "wait must be >= 0")
  t.raises(function() fs.lock(path, { wait = "1" }) end, "option 'wait' must be a number")
end)

t.test("lock: shared holders exclude only exclusive ones and write no pid", function()
  local d = t.tmpdir()
  local path = d .. "/run.lock"
  local s1 = assert(fs.lock(path, { shared = true }))
  local s2 = t.ok(fs.lock(path, { shared = true }), "two shared holders at once")
  t.eq(t.read_file(path), "", "a shared holder writes no pid")
  t.fails("lock " .. path .. " is held by another process", fs.lock(path))
  s1:release()
  t.fails("lock " .. path .. " is held by another process", fs.lock(path))   -- one shared holder is enough
  s2:release()
  local ex = assert(fs.lock(path))
  t.eq(t.read_file(path), my_pid() .. "\n")
  t.fails("lock " .. path .. " is held by pid " .. my_pid(), fs.lock(path, { shared = true }))
  local s3 = fs.lock(path, { shared = true })
  t.eq(s3, nil)
  ex:release()
  local s4 = assert(fs.lock(path, { shared = true }))
  s4:release()
  local ex2 = assert(fs.lock(path))
  t.eq(t.read_file(path), my_pid() .. "\n", "a shared release does not erase the pid of a later holder")
  ex2:release()
  t.raises(function() fs.lock(path, { shared = 1 }) end, "option 'shared' must be a boolean")
end)

t.test("lock: two processes cannot both hold it (child hostsync process)", function()
  local d = t.tmpdir()
  local path = d .. "/run.lock"
  local script = d .. "/child.lua"
  t.write_file(script, [[
local fs = require "hostsync.fs"
local time = require "hostsync.time"
local path, wait = arg[1], tonumber(arg[2])
local t0 = time.monotonic()
local marker = io.open(path .. ".started", "w")  -- tells the parent we are about to wait
marker:close()
local l, err = fs.lock(path, { wait = wait })
io.write(l and "got" or ("refused: " .. err), string.format(" %.2f\n", time.monotonic() - t0))
io.flush()
]])
  local function child(wait)
    return io.popen(string.format("'%s' run '%s' '%s' %s", host_binary(), script, path, wait))
  end

  -- We hold it: the child is refused and names our pid.
  local l = assert(fs.lock(path))
  local p = child(0)
  t.match(p:read("*a"), "^refused: lock " .. path:gsub("%p", "%%%0") .. " is held by pid " .. my_pid())
  p:close()

  -- The child waits; we release 0.3 s after it started waiting; it gets it then (not
  -- before). Waiting for its marker keeps a slow process start out of the measurement.
  os.remove(path .. ".started")
  p = child(120)   -- 120 s: a hang guard; we release long before
  local time = require "hostsync.time"
  local deadline = time.monotonic() + 120
  while not fs.exists(path .. ".started") and time.monotonic() < deadline do
    time.sleep(0.005)   -- polling for the child's marker: cannot change an outcome
  end
  t.ok(fs.exists(path .. ".started"), "the child started")
  time.sleep(0.3)   -- the child's wait checked below is a lower bound: only longer on a slow machine
  l:release()
  local out = p:read("*a")
  p:close()
  local waited = tonumber(out:match("^got ([%d.]+)"))
  t.ok(waited and waited >= 0.2, "child got the lock after we released it: " .. out)

  -- A child that died holding it (no release) does not keep it.
  p = child(0)
  t.match(p:read("*a"), "^got")
  p:close()
  t.ok(fs.lock(path), "free after the holder exited")
end)

t.test("line reader: render lines through a template, many per call", function()
  local hash = require "hostsync.hash"
  local d = t.tmpdir()
  local path = d .. "/p.jsonl"
  t.write_file(path, '{"a":1}\n{"b":2}\r\n{"c":3}\n{"d":4}\nhalf')
  local S = fs.slot
  local tpl = fs.line_template{ "[", S.line_no, "@", S.offset, " ", S.text_sha256, " ", S.text, " ", S.text_sha256, "]" }
  local r = assert(fs.line_reader(path))
  local text, n, last_start, last_sha = r:render(tpl, { limit = 2, separator = "," })
  local h1, h2 = hash.sha256_hex('{"a":1}'), hash.sha256_hex('{"b":2}')
  t.eq(text, "[1@0 " .. h1 .. ' {"a":1} ' .. h1 .. "],[2@8 " .. h2 .. ' {"b":2} ' .. h2 .. "]")
  t.eq({ n, last_start, last_sha }, { 2, 8, h2 })
  t.eq({ r:offset(), r:line_no() }, { 17, 2 })
  -- max_bytes: stops after the line that reaches it (always at least one line).
  text, n = r:render(tpl, { max_bytes = 1 })
  t.eq(n, 1)
  t.match(text, '^%[3@17 ')
  text, n = r:render(tpl)
  t.eq(n, 1, "the torn last line is not rendered")
  t.eq(r:render(tpl), nil, "nothing complete left")
  t.eq(r:partial_bytes(), 4)
  -- Resuming at a line start with the line count before it.
  local r2 = assert(fs.line_reader(path, { offset = 17, line_no = 2 }))
  t.match((r2:render(fs.line_template{ S.line_no, ":", S.text })), '^3:{"c":3}4:{"d":4}$')
  t.raises(function() fs.line_template{ "x", {} } end, "not text or an fs.slot value")
  t.raises(function() r:render("nope") end, "template must be an fs.line_template")
  t.raises(function() r:render(tpl, { limit = -1 }) end, "limit must be a non-negative integer")
  t.raises(function() fs.line_reader(path, { line_no = 1.5 }) end, "line_no must be a non-negative integer")
  r:close()
  t.raises(function() r:render(tpl) end, "on a closed line reader")
end)

t.test("line pattern: every line held to a layout, with counters, canonical rows and hashes", function()
  local hash = require "hostsync.hash"
  local json = require "hostsync.json"
  local X = fs.match
  local function pattern(first)
    return fs.line_pattern({ '{"n":', X.counter("n"), ',"at":', X.increasing("at"), ',"who":', X.string("who"),
      ',"row":', X.string_object("row"), ',"h":"', X.object_sha256("h"), '","t":"', X.iso_time("t"), '"}' },
      { counter = first or 1, after = 0 })
  end
  local function line(n, at, row_text, h, t, who)
    return string.format('{"n":%s,"at":%s,"who":%s,"row":%s,"h":"%s","t":"%s"}', n, at, who or '"me"', row_text,
      h or hash.sha256_hex(row_text), t or "2026-11-23T17:25:52+01:00")
  end
  local d = t.tmpdir()
  local function check(lines, first)
    local path = d .. "/f.jsonl"
    t.write_file(path, table.concat(lines, "\n") .. "\n")
    local r = assert(fs.line_reader(path, { sha256 = true }))
    local pat = pattern(first)
    local n, status, bad = r:match(pat)
    local sha = r:sha256_hex()
    r:close()
    return n, status, bad, pat, sha
  end
  -- Canonical rows as the CSV reader writes them pass, escapes and non-ASCII included.
  local rows = { '{}', '{"a":"1"}', json.canonical(json.object{ b = 'say "hi"\n\t\1', a = "é東😀", ["€"] = "", ["😀"] = "x" }) }
  local good = {}
  for i, row in ipairs(rows) do good[i] = line(i, i * 10, row) end
  local n, status, bad, pat, sha = check(good)
  t.eq({ n, status, bad }, { 3, "end", nil })
  t.eq({ pat:counter(), pat:after() }, { 4, 30 })
  t.eq(sha, hash.sha256_hex(table.concat(good, "\n") .. "\n"), "the file's hash from the same pass")
  -- Each way to be wrong names what is wrong, on the right line.
  local cases = {
    { line(3, 20, '{"a":"1"}'), "n is 3, expected 2" },
    { line(2, 10, '{"a":"1"}'), "at is 10, not after 10" },
    { line(2, 20, '{"b":"1","a":"2"}'), "keys not in RFC 8785 order" },
    { line(2, 20, '{"a":"1","a":"2"}'), "keys not in RFC 8785 order (or repeated)" },
    { line(2, 20, '{"a": "1"}'), "row is not a canonical JSON object of strings" },
    { line(2, 20, '{"a":"\\u0041"}'), "a \\u escape that JCS does not write" },
    { line(2, 20, '{"a":"\\u000a"}'), "a \\u escape for a control JCS writes as" },
    { line(2, 20, '{"a":"\\/"}'), "an escape JCS does not write" },
    { line(2, 20, '{"a":1}'), "a value that is not a string" },
    { line(2, 20, '{"a":"\255"}'), "invalid UTF-8" },
    { line(2, 20, '{"a":"1"}', string.rep("0", 64)), "h is not the SHA-256 of the object before it" },
    { line(2, 20, '{"a":"1"}', nil, "yesterday"), "t is not an ISO 8601 time" },
    { line(2, 20, '{"a":"1"}', nil, "2026-11-23T17:25:52"), "t is not an ISO 8601 time" },
    { line(2, 20, '{"a":"1"}') .. " ", "after the end of the layout" },
    { line("02", 20, '{"a":"1"}'), "n is not a whole number" },
    { line(2, 20, '{"a":"1"}', nil, nil, '"a\\/b"'), "who is not a canonical JSON string" },
    { '{"n":2,"at":20,"who":"me","row":{"a":"1"},"h":"', "h is not the SHA-256" },
    { '{"n":2,"at":20,"who":"me","row":{"a":"1"}}', "expected ',\"h\":\"'" },
  }
  for _, c in ipairs(cases) do
    local first_line = line(1, 10, '{"a":"0"}')
    n, status, bad, pat = check({ first_line, c[1] })
    t.eq({ n, status }, { 1, "mismatch" }, c[2])
    t.eq(bad.line_no, 2, c[2])
    t.ok(bad.reason:find(c[2], 1, true), "expected '" .. c[2] .. "' in: " .. bad.reason)
    t.eq({ pat:counter(), pat:after() }, { 2, 10 }, "a line that does not match changes nothing")
  end
  t.raises(function() fs.line_pattern({ {} }) end, "not text or an fs.match value")
  t.raises(function() fs.match.counter() end, "Usage: fs.match.counter(name)")
end)

t.test("stat: lstat by default, follow option", function()
  local d = t.tmpdir()
  t.write_file(d .. "/f", "12345")
  os.execute("ln -s f '" .. d .. "/link' && chmod 640 '" .. d .. "/f'")
  local st = assert(fs.stat(d .. "/f"))
  t.eq(st.type, "file")
  t.eq(st.size, 5)
  t.eq(st.mode, tonumber("640", 8))
  t.ok(math.abs(st.mtime - os.time()) < 60, "mtime is now-ish")
  t.ok(st.ino > 0 and st.dev ~= nil)
  t.eq(fs.stat(d .. "/link").type, "link")
  t.eq(fs.stat(d .. "/link", { follow = true }).ino, st.ino)
  t.eq(fs.stat(d).type, "dir")
  t.eq(fs.stat("/dev/null", { follow = true }).type, "other")
  t.fails("stat " .. d .. "/none: No such file or directory", fs.stat(d .. "/none"))
  t.raises(function() fs.stat(d, { follow = "yes" }) end, "option 'follow' must be a boolean")
end)

t.test("exists, mkdir_p, listdir, remove, remove_tree", function()
  local d = t.tmpdir()
  t.eq(fs.exists(d), true)
  t.eq(fs.exists(d .. "/nope"), false)
  t.eq(fs.mkdir_p(d .. "/a/b/c"), true)
  t.eq(fs.mkdir_p(d .. "/a/b/c"), true)
  t.eq(fs.mkdir_p(d .. "/m", tonumber("700", 8)), true)
  t.eq(fs.stat(d .. "/m").mode, tonumber("700", 8))
  t.write_file(d .. "/a/z", "")
  t.write_file(d .. "/a/B", "")
  t.write_file(d .. "/a/.hidden", "")
  t.eq(fs.listdir(d .. "/a"), { ".hidden", "B", "b", "z" })
  t.fails("mkdir " .. d .. "/a/z: Not a directory", fs.mkdir_p(d .. "/a/z/q"))
  t.fails("listdir " .. d .. "/none: No such file or directory", fs.listdir(d .. "/none"))
  t.fails("remove " .. d .. "/a/b: Directory not empty", fs.remove(d .. "/a/b"))
  t.eq(fs.remove(d .. "/a/b/c"), true)
  t.eq(fs.remove(d .. "/a/z"), true)
  t.fails("remove " .. d .. "/a/z: No such file or directory", fs.remove(d .. "/a/z"))
  t.eq(fs.remove_tree(d .. "/a"), true)
  t.eq(fs.exists(d .. "/a"), false)
  t.fails("remove_tree " .. d .. "/a: No such file or directory", fs.remove_tree(d .. "/a"))
  t.raises(function() fs.remove_tree("/") end, "refusing to remove /")
  t.raises(function() fs.mkdir_p(d .. "/x", 99999) end, "mode must be an integer 0..4095")
end)

t.test("rename, with and without no_replace; fsync_dir; mkdtemp", function()
  local d = t.tmpdir()
  t.write_file(d .. "/a", "A")
  t.write_file(d .. "/b", "B")
  t.fails("rename " .. d .. "/a to " .. d .. "/b: File exists", fs.rename(d .. "/a", d .. "/b", { no_replace = true }))
  t.eq(t.read_file(d .. "/b"), "B")
  t.eq(fs.rename(d .. "/a", d .. "/c", { no_replace = true }), true)
  t.eq(fs.rename(d .. "/c", d .. "/b"), true)
  t.eq(t.read_file(d .. "/b"), "A")
  t.eq(fs.listdir(d), { "b" })
  t.fails("rename " .. d .. "/none to " .. d .. "/x: No such file or directory", fs.rename(d .. "/none", d .. "/x"))
  t.eq(fs.fsync_dir(d), true)
  t.fails("fsync_dir " .. d .. "/none: No such file or directory", fs.fsync_dir(d .. "/none"))
  local tmp = assert(fs.mkdtemp(d .. "/work-"))
  t.match(tmp, "^" .. d:gsub("%p", "%%%0") .. "/work%-......$")
  t.eq(fs.stat(tmp).type, "dir")
  t.fails("mkdtemp " .. d .. "/no/x-XXXXXX: No such file or directory", fs.mkdtemp(d .. "/no/x-"))
  t.raises(function() fs.rename(d .. "/b") end, "Usage: fs.rename(old, new [, {no_replace=bool}]): new must be")
end)

t.test("line_reader: lines, offsets, CRLF, torn tail, resume from offset", function()
  local d = t.tmpdir()
  t.write_file(d .. "/f", "id,name\r\n1,a\n\n2,b\n3,c-torn")
  local r = assert(fs.line_reader(d .. "/f"))
  local got = {}
  for line, start in r:lines() do got[#got + 1] = { line, start } end
  t.eq(got, { { "id,name", 0 }, { "1,a", 9 }, { "", 13 }, { "2,b", 14 } })
  t.eq(r:next(), nil)
  t.eq(r:offset(), 18)
  t.eq(r:partial_bytes(), 8)
  -- Resume where we stopped after the writer completed its line.
  local f = io.open(d .. "/f", "ab")
  f:write("\n4,d\n")
  f:close()
  local r2 = assert(fs.line_reader(d .. "/f", { offset = r:offset() }))
  local line, start = r2:next()
  t.eq({ line, start }, { "3,c-torn", 18 })
  t.eq(r2:next(), "4,d")
  t.eq(r2:next(), nil)
  t.eq(r2:partial_bytes(), 0)
  t.eq(r:next(), "3,c-torn", "the first reader sees the completed line too")
  t.eq(r:close(), true)
  t.raises(function() r:next() end, "Usage: r:next() on a closed line reader")
  t.fails("open " .. d .. "/none: No such file or directory", fs.line_reader(d .. "/none"))
  t.raises(function() fs.line_reader(d .. "/f", { offset = -3 }) end, "offset must be a non-negative integer")
end)

t.test("line_reader reads many lines quickly", function()
  local d = t.tmpdir()
  local parts = {}
  for i = 1, 200000 do parts[i] = "row," .. i end
  t.write_file(d .. "/big", table.concat(parts, "\n") .. "\n")
  local r = assert(fs.line_reader(d .. "/big"))
  local n, last = 0, nil
  local t0 = os.clock()
  for line in r:lines() do n = n + 1; last = line end
  t.eq(n, 200000)
  t.eq(last, "row,200000")
  t.ok(os.clock() - t0 < 2, "200k lines took " .. (os.clock() - t0))
end)

t.test("realpath resolves symlinks, . and ..; the path must exist", function()
  local d = fs.realpath(t.tmpdir())
  assert(fs.mkdir_p(d .. "/a/b"))
  os.execute(string.format("ln -s '%s/a/b' '%s/link'", d, d))
  t.eq(fs.realpath(d .. "/link/../b/./"), d .. "/a/b")
  t.eq(fs.realpath(d .. "//a/./b"), d .. "/a/b")
  t.fails("realpath " .. d .. "/nope: No such file or directory", fs.realpath(d .. "/nope"))
  t.raises(function() fs.realpath("") end, "Usage: fs.realpath(path)")
end)

t.test("confine", function()
  local d = t.tmpdir()
  local outside = t.tmpdir()
  os.execute(string.format("mkdir '%s/sub' && ln -s sub '%s/in' && ln -s '%s' '%s/out'", d, d, outside, d))
  t.eq(fs.confine(d, "sub/x.txt"), d .. "/sub/x.txt")
  t.eq(fs.confine(d, "./in//x.txt"), d .. "/in/x.txt")
  t.eq(fs.confine(d, "new/dir/file"), d .. "/new/dir/file")
  t.fails('confine "/etc/passwd": absolute path refused', fs.confine(d, "/etc/passwd"))
  t.fails('confine "a/../../b": ".." component refused', fs.confine(d, "a/../../b"))
  t.fails('confine "": empty path refused', fs.confine(d, ""))
  t.fails('confine "a?b": NUL byte in path', fs.confine(d, "a\0b"))
  t.fails('confine "out/x": "out" is a symlink to "' .. outside .. '", outside the root', fs.confine(d, "out/x"))
  t.fails("confine: root " .. d .. "/none: No such file or directory", fs.confine(d .. "/none", "x"))
  t.raises(function() fs.confine(d, nil) end, "Usage: fs.confine(root, relpath): relpath must be a string")
end)

t.test("isatty", function()
  t.eq(fs.isatty(99), false)
  t.eq(type(fs.isatty(0)), "boolean")
  -- A child whose stdout is our pipe is not on a terminal.
  local d = t.tmpdir()
  t.write_file(d .. "/tty.lua", 'io.write(tostring(require("hostsync.fs").isatty(1)))')
  local p = io.popen("'" .. host_binary() .. "' run " .. d .. "/tty.lua")
  t.eq(p:read("*a"), "false")
  p:close()
  t.raises(function() fs.isatty(-1) end, "Usage: fs.isatty(fd)")
  t.raises(function() fs.isatty("1") end, "Usage: fs.isatty(fd)")
end)
