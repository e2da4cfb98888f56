local t = require "hostsync.testing"
local csv = require "hostsync.csv"

-- Writes `data` to a fresh file and opens a reader on it.
local function reader_for(data, opts)
  local path = t.tmpdir() .. "/data.csv"
  t.write_file(path, data)
  return assert(csv.open(path, opts)), path
end

-- Every record (fields only) and every error of a reader, in order.
local function drain(r)
  local out = {}
  while true do
    local rec, err = r:next()
    if rec then
      out[#out + 1] = rec.fields
    elseif err then
      out[#out + 1] = "bad " .. r:last_error().kind .. " line " .. r:last_error().line_no
      if r:last_error().fatal then break end
    else
      break
    end
  end
  return out
end

t.test("usage errors are raised, failures of the world returned", function()
  t.raises(function() csv.open() end, "Usage: csv.open(path")
  t.raises(function() csv.open("x", 5) end, "options must be a table")
  t.raises(function() csv.open("x", { offest = 1 }) end, "unknown option 'offest'")
  t.raises(function() csv.open("x", { offset = -1, line_no = 0 }) end, "offset must be an integer >= 0")
  t.raises(function() csv.open("x", { offset = 1.5, line_no = 0 }) end, "offset must be an integer")
  t.raises(function() csv.open("x", { offset = 10 }) end, "offset needs the line_no")
  t.raises(function() csv.open("x", { max_record_bytes = 0 }) end, "max_record_bytes must be an integer >= 1")
  local dir = t.tmpdir()
  t.fails(dir .. "/missing.csv: No such file", csv.open(dir .. "/missing.csv"))
  local r = reader_for("a\n1\n")
  t.raises(function() r.next({}) end, "Usage:")
  t.raises(function() r.next_object("x") end, "Usage:")
  r:close()
  r:close()  -- closing twice is harmless
  t.raises(function() r:next() end, "Usage: r:next(): the reader is closed")
  t.raises(function() r:cursor() end, "closed")
end)

t.test("records: quoted commas, doubled quotes, empty and trailing empty fields", function()
  local r = reader_for('a,b,c\n"x,y","say ""hi""",\n,,\n1,"",3\n')
  t.eq(r:header(), { "a", "b", "c" })
  t.eq(r:header_end(), 6)
  local rec = r:next()
  t.eq(rec, { fields = { "x,y", 'say "hi"', "" }, line_no = 2, offset = 6, end_offset = 26 })
  t.eq(r:next().fields, { "", "", "" })
  t.eq(r:next().fields, { "1", "", "3" })
  t.is_nil(r:next())
  t.is_nil(r:last_error())
  t.is_nil(r:pending())
end)

t.test("line numbers: newlines in quotes, blank lines, CRLF, LF and mixed, BOM", function()
  local data = "\239\187\191id,v\r\n" .. '1,"two\r\nlines"\r\n' .. "\n" .. "\r\n" .. "2,x\n" ..
    '3,"a\nb\nc"\n' .. "4,\r\n"
  local r = reader_for(data)
  t.eq(r:header(), { "id", "v" })  -- no BOM in the first name
  local lines, fields = {}, {}
  while true do
    local rec = r:next()
    if not rec then break end
    lines[#lines + 1] = rec.line_no
    fields[#fields + 1] = rec.fields[2]
  end
  t.eq(lines, { 2, 6, 7, 10 })
  t.eq(fields, { "two\r\nlines", "x", "a\nb\nc", "" })
  t.eq({ r:cursor() }, { #data, 10 })
end)

t.test("a lone CR in an unquoted field is data; the CR of CRLF is not", function()
  local r = reader_for("a,b\nx\ry,z\r\n")
  t.eq(r:next().fields, { "x\ry", "z" })
end)

t.test("UTF-8 values and names, and next_object's canonical JSON", function()
  local r = reader_for('z\195\169,a,"q""",\240\159\152\128,\239\188\161\n' ..
    '1,"x\ty",\226\130\172,"new\nline","\\"\n')
  local json, line_no, end_offset = r:next_object()
  -- keys in RFC 8785 order (UTF-16 units: U+1F600 before U+FF21), values escaped
  t.eq(json, '{"a":"x\\ty","q\\"":"\226\130\172","z\195\169":"1",' ..
    '"\240\159\152\128":"new\\nline","\239\188\161":"\\\\"}')
  t.eq(line_no, 2)
  t.eq(end_offset, #'z\195\169,a,"q""",\240\159\152\128,\239\188\161\n' + #'1,"x\ty",\226\130\172,"new\nline","\\"\n')
  t.is_nil(r:next_object())
end)

t.test("bad records: each kind reported with line, range and raw bytes; reading continues", function()
  local data = "a,b\n" .. "1,2,3\n" .. "x\255,y\n" .. 'p"q,r\n' .. '"s"t,"u\n' .. 'v",w\n' .. "ok,done\n"
  local r, path = reader_for(data)
  local json, err = r:next_object()
  t.is_nil(json)
  t.eq(err, path .. ": line 2: 3 fields, header has 2")
  t.eq(r:last_error(), { kind = "field_count", reason = "3 fields, header has 2", message = err,
    line_no = 2, offset = 4, end_offset = 10, raw = "1,2,3\n" })
  t.fails(": line 3: invalid UTF-8 at byte 1 of the record", r:next())
  t.eq(r:last_error().raw, "x\255,y\n")
  t.fails(": line 4: quote error: '\"' inside an unquoted field at byte 1", r:next())
  t.fails(": line 5: quote error: 't' after a closing quote at byte 3", r:next())
  -- resynchronised at the LF after the error: the quote opened on line 5 is ignored,
  -- so line 6 is a record of its own (with a stray quote, so bad too)
  t.eq(r:last_error().raw, '"s"t,"u\n')
  t.fails(": line 6: quote error", r:next())
  t.eq(r:next().fields, { "ok", "done" })
  t.is_nil(r:next())
  t.is_nil(r:last_error(), "cleared by the next call")
end)

t.test("records longer than max_record_bytes are bad, and reading goes on", function()
  local r = reader_for("a\n1234\n" .. string.rep("x", 100) .. "\n12\n", { max_record_bytes = 10 })
  t.eq(r:next().fields, { "1234" })
  t.fails("line 3: record of 101 bytes is longer than max_record_bytes (10)", r:next())
  t.eq(r:last_error().kind, "too_long")
  t.eq(r:last_error().raw, string.rep("x", 100) .. "\n")  -- short enough to keep whole
  t.is_nil(r:last_error().raw_truncated)
  t.eq(r:next().fields, { "12" })
end)

t.test("a 1 MB field", function()
  local big = string.rep("0123456789abcdef", 65536)
  local r = reader_for('k,v\n1,"' .. big .. '"\n2,' .. big .. "\n")
  t.eq(#r:next().fields[2], #big)
  local rec = r:next()
  t.ok(rec.fields[2] == big)
  t.eq(rec.line_no, 3)
end)

t.test("pending tail: unterminated last line and open quote; returned later at the cursor", function()
  for _, case in ipairs({ { tail = "3,half", rest = "\n", field = "half" },
                          { tail = '3,"open\nquote', rest = '"\n', field = "open\nquote" } }) do
    local head = "h1,h2\n1,a\n"
    local r, path = reader_for(head .. case.tail)
    t.eq(r:next().fields, { "1", "a" })
    t.is_nil(r:next())
    t.eq(r:pending(), { offset = #head, line_no = 3, bytes = #case.tail })
    local offset, line_no = r:cursor()
    t.eq({ offset, line_no }, { #head, 2 })
    t.write_file(path, head .. case.tail .. case.rest)
    local later = assert(csv.open(path, { offset = offset, line_no = line_no }))
    local rec = later:next()
    t.eq(rec, { fields = { "3", case.field }, line_no = 3, offset = #head,
      end_offset = #head + #case.tail + #case.rest })
    t.is_nil(later:next())
    t.is_nil(later:pending())
  end
end)

t.test("blank lines after the last record are consumed only with their terminator", function()
  local r = reader_for("a\n1\n\n\r")
  t.eq(r:next().fields, { "1" })
  t.is_nil(r:next())
  t.eq({ r:cursor() }, { 5, 3 })
  t.eq(r:pending(), { offset = 5, line_no = 4, bytes = 1 })
end)

t.test("resuming at every record boundary yields exactly the remaining records", function()
  local data = "k,v\r\n" .. '1,"a\nb"\r\n' .. "\n" .. "2,x\n" .. "bad\n" .. '3,"q"""\r\n' .. "\r\n" ..
    "4,\226\130\172\n" .. "5,y\n"
  local r, path = reader_for(data)
  local all, cursors = {}, { { r:cursor() } }
  while true do
    local rec, err = r:next()
    if not rec and not err then break end
    all[#all + 1] = rec and { rec.line_no, rec.fields } or { r:last_error().line_no, "bad" }
    cursors[#cursors + 1] = { r:cursor() }
  end
  t.eq(#all, 6)
  for i, c in ipairs(cursors) do
    local resumed = assert(csv.open(path, { offset = c[1], line_no = c[2] }))
    local rest = {}
    while true do
      local rec, err = resumed:next()
      if not rec and not err then break end
      rest[#rest + 1] = rec and { rec.line_no, rec.fields } or { resumed:last_error().line_no, "bad" }
    end
    t.eq(rest, { unpack(all, i) }, "resumed at " .. c[1])
    t.eq({ resumed:cursor() }, cursors[#cursors])
  end
end)

t.test("a cursor that cannot belong to the file is refused", function()
  local r, path = reader_for("a\n1\n2\n")
  t.fails("is past the end of the file", csv.open(path, { offset = 100, line_no = 5 }))
  t.fails("is not at the start of a line", csv.open(path, { offset = 3, line_no = 1 }))
  t.eq(r:next().fields, { "1" })
end)

t.test("header: empty, incomplete, duplicates, empty names allowed", function()
  local r = reader_for("")
  t.fails("empty", r:header())
  t.is_nil(r:next())
  t.is_nil(r:next_object())
  t.is_nil(r:header_end())
  r = reader_for("a,b")
  local names, why = r:header()
  t.is_nil(names)
  t.eq(why, "incomplete")
  t.is_nil(r:next())
  t.eq(r:pending(), { offset = 0, line_no = 1, bytes = 3 })
  local path
  r, path = reader_for("id,x,id,,y,\n1,2,3,4,5,6\n")
  t.fails(path .. ': line 1: header: duplicate names: "id", ""', r:header())
  local json, err = r:next_object()
  t.is_nil(json)
  t.match(err, "duplicate names")
  t.eq(r:last_error().fatal, true)
  t.is_nil(r:next(), "a fatal error is reported once")
  r = reader_for(",a,b\n1,2,3\n")
  t.eq(r:header(), { "", "a", "b" })
  t.eq(r:next_object(), '{"":"1","a":"2","b":"3"}')
end)

t.test("path, bytes_read, __tostring, __gc", function()
  local r, path = reader_for("a\n1\n2\n")
  t.eq(r:path(), path)
  t.eq(tostring(r), "csv.reader(" .. path .. " @ 2, line 1)")
  r:next()
  t.eq(tostring(r), "csv.reader(" .. path .. " @ 4, line 2)")
  t.eq(r:bytes_read(), 6)
  t.eq(getmetatable(r), "csv.reader")
  r:close()
  t.eq(tostring(r), "csv.reader(" .. path .. ", closed)")
  for _ = 1, 50 do assert(csv.open(path)) end
  collectgarbage()
  collectgarbage()
  t.eq(assert(csv.open(path)):next().fields, { "1" })
end)
