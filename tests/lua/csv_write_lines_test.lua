local t = require "hostsync.testing"
local csv = require "hostsync.csv"
local fs = require "hostsync.fs"
local hash = require "hostsync.hash"
local json = require "hostsync.json"
local time = require "hostsync.time"

local S = csv.slot

local function setup(content)
  local d = t.tmpdir()
  t.write_file(d .. "/in.csv", content)
  local r = assert(csv.open(d .. "/in.csv"))
  assert(r:header())
  local w = assert(fs.appender(d .. "/out", { sha256 = true }))
  return d, r, w
end

t.test("write_lines renders every slot for every record", function()
  local d, r, w = setup('b,a\r\n2,"x,y"\r\n\r\n4,"q""uote"\r\n')
  local tpl = csv.template{ "[", S.seq, "|", S.line_no, "|", S.offset, "|", S.row, "|", S.row_sha256, "|",
    S.local_time, "|", S.utc_time, "]\n" }
  local n, status = r:write_lines(w, tpl, { seq = 7 })
  t.eq({ n, status }, { 2, "end" })
  assert(w:close())
  local lines = {}
  for line in t.read_file(d .. "/out"):gmatch("[^\n]+") do lines[#lines + 1] = line end
  t.eq(#lines, 2)
  local function parts(line)
    local p = {}
    for piece in line:sub(2, -2):gmatch("[^|]+") do p[#p + 1] = piece end
    return p
  end
  local p1, p2 = parts(lines[1]), parts(lines[2])
  t.eq({ p1[1], p1[2], p1[3], p1[4] }, { "7", "2", "5", '{"a":"x,y","b":"2"}' })
  t.eq({ p2[1], p2[2], p2[4] }, { "8", "4", '{"a":"q\\"uote","b":"4"}' })
  t.eq(p1[5], hash.sha256_hex(p1[4]))
  t.eq(p1[4], json.canonical({ b = "2", a = "x,y" }))
  t.ok(time.parse_iso(p1[6]), "local_time is ISO 8601")
  t.match(p1[7], "Z$")
  t.ok(math.abs(time.parse_iso(p1[7]) - time.now()) < 5)
end)

t.test("write_lines stops at the limit and resumes where it stopped", function()
  local rows = { "n" }
  for i = 1, 10 do rows[#rows + 1] = tostring(i) end
  local d, r, w = setup(table.concat(rows, "\n") .. "\n")
  local tpl = csv.template{ S.seq, ":", S.row, "\n" }
  t.eq({ r:write_lines(w, tpl, { seq = 1, limit = 4 }) }, { 4, "limit" })
  t.eq({ r:write_lines(w, tpl, { seq = 5, limit = 4 }) }, { 4, "limit" })
  t.eq({ r:write_lines(w, tpl, { seq = 9, limit = 4 }) }, { 2, "end" })
  t.eq({ r:write_lines(w, tpl, { seq = 11 }) }, { 0, "end" })
  assert(w:close())
  local out = t.read_file(d .. "/out")
  t.match(out, '^1:{"n":"1"}\n2:{"n":"2"}')
  t.match(out, '10:{"n":"10"}\n$')
end)

t.test("write_lines reports a bad record and continues after it", function()
  local d, r, w = setup("a,b\n1,2\n3\n4,5\n")
  local tpl = csv.template{ S.line_no, "\n" }
  t.eq({ r:write_lines(w, tpl) }, { 1, "bad" })
  local bad = r:last_error()
  t.eq(bad.line_no, 3)
  t.eq(bad.kind, "field_count")
  t.eq({ r:write_lines(w, tpl) }, { 1, "end" })
  assert(w:close())
  t.eq(t.read_file(d .. "/out"), "2\n4\n")
end)

t.test("template and write_lines refuse caller mistakes", function()
  local _, r, w = setup("a\n1\n")
  t.raises(function() csv.template{} end, "Usage: csv.template")
  t.raises(function() csv.template{ "x", 42 } end, "part 2 is a number")
  t.raises(function() csv.template{ "x", { slot = "seq" } } end, "not text or a csv.slot value")
  t.raises(function() r:write_lines(w, { "x" }) end, "template must come from csv.template")
  local tpl = csv.template{ S.row, "\n" }
  t.raises(function() r:write_lines(w, tpl, { seq = -1 }) end, "seq must be a whole number")
  t.raises(function() r:write_lines("nope", tpl) end, "must be a byte sink")
  t.raises(function() r:write_lines(r, tpl) end, "must be a byte sink")
  w:close()
  -- a closed appender is a failed write, found before a record is consumed
  t.fails("appender is closed", r:write_lines(w, tpl))
  t.eq({ r:cursor() }, { 2, 1 })
end)

t.test("write_lines writes into any byte sink: a hash sink, an age encryptor", function()
  local tar = require "hostsync.tar"
  local crypto = require "hostsync.crypto"
  local content = "a,b\n1,2\n3,4\n5,6\n"
  local tpl = csv.template{ S.seq, ":", S.row, "\n" }
  local expect = '1:{"a":"1","b":"2"}\n2:{"a":"3","b":"4"}\n3:{"a":"5","b":"6"}\n'
  local d, r, w = setup(content)
  local sink = tar.hash_sink()
  t.eq({ r:write_lines(sink, tpl) }, { 3, "end" })
  t.eq(sink:hex(), hash.sha256_hex(expect))
  t.eq(sink:bytes(), #expect)
  assert(w:close())

  local identity = crypto.age_keygen()
  local enc = assert(crypto.age_writer(d .. "/out.age", { recipients = { crypto.age_recipient(identity) } }))
  local r2 = assert(csv.open(d .. "/in.csv"))
  assert(r2:header())
  t.eq({ r2:write_lines(enc, tpl, { limit = 2 }) }, { 2, "limit" })
  t.eq({ r2:write_lines(enc, tpl, { seq = 3 }) }, { 1, "end" })
  assert(enc:close())
  t.eq(assert(crypto.age_decrypt(t.read_file(d .. "/out.age"), { identities = { identity } })), expect)
end)
