local t = require "hostsync.testing"
local json = require "hostsync.json"

-- decode -----------------------------------------------------------------------

t.test("decode builds tables, marks arrays, maps null to json.null", function()
  local v = t.ok(json.decode('{"name": "x", "n": 1.5, "ok": true, "no": false, "list": [1, null, "s"], "empty": [], "obj": {}}'))
  t.eq(v.name, "x")
  t.eq(v.n, 1.5)
  t.eq(v.ok, true)
  t.eq(v.no, false)
  t.eq(#v.list, 3)
  t.eq(v.list[2], json.null)
  t.eq(type(json.null), "userdata")
  t.ok(json.is_array(v.list))
  t.ok(json.is_array(v.empty), "an empty decoded array stays an array")
  t.eq(json.is_array(v.obj), false)
  t.eq(json.encode(v.empty), "[]")
  t.eq(json.encode(v.obj), "{}")
  t.eq(json.decode("null"), json.null)
  t.eq(json.decode(' "s" '), "s")
  t.eq(json.decode("-12"), -12)
end)

t.test("decode strings: escapes, NUL, surrogate pairs", function()
  t.eq(json.decode([["a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"]]), "a\"\\/\b\f\n\r\t\195\169\240\159\152\128")
  t.eq(json.decode([["a\u0000b"]]), "a\0b")
end)

t.test("decode failures return nil and 'line L column C: what'", function()
  t.fails("line 1 column 7: trailing comma before ']'", json.decode("[1, 2,]"))
  t.fails("line 2 column 3: duplicate key \"a\"", json.decode('{"a": 1,\n  "a": 2}'))
  t.fails("line 1 column 4: invalid UTF-8 in a string", json.decode('"ab\255"'))
  t.fails("line 1 column 4: unexpected 'x' after the JSON value", json.decode("{} x"))
  t.fails("unexpected end of input (empty document)", json.decode(""))
  t.fails("number out of range of a double", json.decode("[1e999]"))
  t.fails("lone high surrogate", json.decode([["\ud800"]]))
  t.fails("line 1 column 513: nesting deeper than 512 levels", json.decode(string.rep("[", 600) .. string.rep("]", 600)))
  local ok = json.decode(string.rep("[", 512) .. string.rep("]", 512))
  t.ok(json.is_array(ok))
end)

t.test("decode rejects a non-string argument as a usage error", function()
  t.raises(function() json.decode(42) end, "Usage: json.decode(text)")
  t.raises(function() json.decode() end, "Usage: json.decode(text)")
end)

-- encode -----------------------------------------------------------------------

t.test("encode arrays, objects and scalars", function()
  t.eq(json.encode({ 1, 2, 3 }), "[1,2,3]")
  t.eq(json.encode({}), "{}")
  t.eq(json.encode(json.array()), "[]")
  t.eq(json.encode(json.array({})), "[]")
  t.eq(json.encode({ a = 1 }), '{"a":1}')
  t.eq(json.encode("x\n\"y\""), '"x\\n\\"y\\""')
  t.eq(json.encode(json.null), "null")
  t.eq(json.encode(nil), "null")
  t.eq(json.encode(true), "true")
  t.eq(json.encode({ json.null, false }), "[null,false]")
  t.eq(json.encode(json.array({ 1, nil, 3 })), "[1,null,3]", "holes in a marked array are null")
end)

t.test("encode numbers: integers plain, ECMAScript shortest form otherwise", function()
  t.eq(json.encode({ 0, -0, 1, -1, 2 ^ 53, 1.5, 0.1, 1e21, 1e-7, 123456789 }),
    "[0,0,1,-1,9007199254740992,1.5,0.1,1e+21,1e-7,123456789]")
end)

t.test("encode with sort_keys and pretty", function()
  local v = { b = 1, a = { 2, 3 }, c = {} }
  t.eq(json.encode(v, { sort_keys = true }), '{"a":[2,3],"b":1,"c":{}}')
  t.eq(json.encode(v, { sort_keys = true, pretty = true }),
    '{\n  "a": [\n    2,\n    3\n  ],\n  "b": 1,\n  "c": {}\n}')
  t.eq(json.encode(json.array(), { pretty = true }), "[]")
end)

t.test("encode round-trips decode", function()
  local text = '{"a":[1,2.5,null,true,"\\u0001\\t"],"b":{"c":[],"d":{}},"e":"\226\130\172"}'
  t.eq(json.encode(json.decode(text), { sort_keys = true }), text)
end)

t.test("encode errors name the path and blame the caller", function()
  t.raises(function() json.encode({ a = { 1, 2, { b = print } } }) end,
    "json.encode: cannot encode a function at $.a[3].b")
  t.raises(function() json.encode({ x = 0 / 0 }) end, "json.encode: NaN has no JSON form at $.x")
  t.raises(function() json.encode({ 1, math.huge }) end, "json.encode: infinity has no JSON form at $[2]")
  t.raises(function() json.encode({ ["a b"] = { -math.huge } }) end, 'at $["a b"][1]')
  local cyc = { list = {} }
  cyc.list[1] = cyc
  t.raises(function() json.encode(cyc) end, "json.encode: table contains itself (a cycle) at $.list[1]")
  t.raises(function() json.encode({ s = "bad\255" }) end, "json.encode: string is not valid UTF-8 (byte 4) at $.s")
  t.raises(function() json.encode({ ["k\255"] = 1 }) end, "json.encode: key is not valid UTF-8")
  t.raises(function() json.encode({ 1, 2, x = 3 }) end, "json.encode: table mixes string and number keys at $")
  t.raises(function() json.encode({ [1] = 1, [3] = 3 }) end, "table has number keys that are not 1..n")
  t.raises(function() json.encode({ [1.5] = 1 }) end, "number key that is not an array index (1.5)")
  t.raises(function() json.encode({ [true] = 1 }) end, "table has a boolean key")
  t.raises(function() json.encode(json.object({ 1 })) end, "json.object table has a number key (1)")
  t.raises(function() json.encode(json.array({ a = 1 })) end, 'json.array table has a string key ("a")')
  t.raises(function() json.encode(json.array({ [1000] = 1 })) end, "json.array table is too sparse")
  t.raises(function() json.encode(io.stdout) end, "json.encode: cannot encode a userdata at $")
  -- The error points at the caller's line, not into the module.
  local msg = t.raises(function() json.encode({ f = print }) end, "json.encode")
  t.match(msg, "^[^:]*json_test%.lua:%d+:")
end)

t.test("encode refuses nesting beyond the limit", function()
  local deep = {}
  local cur = deep
  for _ = 1, 600 do cur[1] = {}; cur = cur[1] end
  t.raises(function() json.encode(deep) end, "nesting deeper than 512 levels")
end)

t.test("encode options are checked", function()
  t.raises(function() json.encode({}, "pretty") end, "Usage: json.encode(value [, {pretty=bool, sort_keys=bool}]): options must be a table")
  t.raises(function() json.encode({}, { indent = 2 }) end, "unknown option 'indent'")
  t.raises(function() json.encode({}, { pretty = 1 }) end, "option 'pretty' must be a boolean")
end)

t.test("json.array, json.object, json.is_array", function()
  local a = json.array({ 1 })
  t.ok(json.is_array(a))
  json.object(a)
  t.eq(json.is_array(a), false, "json.object re-marked it")
  a[1] = nil
  a.k = "v"
  t.eq(json.encode(a), '{"k":"v"}')
  t.eq(json.is_array({ 1, 2 }), true)
  t.eq(json.is_array({}), false)
  t.eq(json.is_array({ [2] = 1 }), false)
  t.eq(json.is_array({ 1, x = 2 }), false)
  t.eq(json.is_array("x"), false)
  t.eq(json.encode(json.object()), "{}")
  t.raises(function() json.array(setmetatable({}, {})) end, "Usage: json.array(t): t already has a metatable")
  t.raises(function() json.object(5) end, "Usage: json.object([t]): t must be a table")
end)

-- canonical --------------------------------------------------------------------

t.test("canonical: RFC 8785 section 3.2.2 sample", function()
  local v = {
    numbers = { 333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001 },
    string = "\226\130\172$\15\nA'B\"\\\\\"/",
    literals = { json.null, true, false },
  }
  local want = '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    .. '"string":"\226\130\172$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
  t.eq(json.canonical(v), want)
end)

t.test("canonical: RFC 8785 section 3.2.3 key order", function()
  local v = {
    ["\226\130\172"] = "Euro Sign",
    ["\r"] = "Carriage Return",
    ["\239\172\179"] = "Hebrew Letter Dalet With Dagesh",
    ["1"] = "One",
    ["\240\159\152\128"] = "Emoji: Grinning Face",
    ["\194\128"] = "Control",
    ["\195\182"] = "Latin Small Letter O With Diaeresis",
  }
  t.eq(json.canonical(v), '{"\\r":"Carriage Return","1":"One","\194\128":"Control",'
    .. '"\195\182":"Latin Small Letter O With Diaeresis","\226\130\172":"Euro Sign",'
    .. '"\240\159\152\128":"Emoji: Grinning Face","\239\172\179":"Hebrew Letter Dalet With Dagesh"}')
end)

t.test("canonical numbers", function()
  t.eq(json.canonical({ 1e30, 4.50, 2e-3, 0.000001, 1e-7, 333333333.33333329, -0.0, 5e-324, 1.7976931348623157e308 }),
    "[1e+30,4.5,0.002,0.000001,1e-7,333333333.3333333,0,5e-324,1.7976931348623157e+308]")
end)

t.test("canonical errors say json.canonical", function()
  t.raises(function() json.canonical({ a = print }) end, "json.canonical: cannot encode a function at $.a")
end)

t.test("canonicalize(text) equals canonical(decode(text))", function()
  local docs = {
    '{"b": [1, {"z": 2, "y": 1e2}], "a": "\\u00e9", "c": null, "d": -0.0}',
    '[{"x": 1.10}, [], {}, "s", true, false]',
    '{"\\ud83d\\ude00": 1, "\\ufb33": 2, "a": {"b": {"c": [0.1, 1e21]}}}',
    '"just a string"',
  }
  for _, text in ipairs(docs) do
    t.eq(json.canonicalize(text), json.canonical(json.decode(text)), text)
  end
  t.eq(json.canonicalize(' {"b":1, "a":2} '), '{"a":2,"b":1}')
  t.fails("line 1 column 9: duplicate key \"a\"", json.canonicalize('{"a":1, "a":2}'))
  t.fails("line 1 column 2: unexpected end of input", json.canonicalize("["))
  t.raises(function() json.canonicalize({}) end, "Usage: json.canonicalize(text)")
end)

t.test("encode error paths stay readable for odd keys", function()
  t.raises(function() json.encode({ ["k\255\""] = 1 }) end, 'key is not valid UTF-8 (byte 2) at $["k\\xff\\""]')
  t.raises(function() json.encode({ ["a.b"] = { x = print } }) end, 'at $["a.b"].x')
  t.raises(function() json.encode({ ["1st"] = print }) end, 'at $["1st"]')
end)

t.test("encode wide tables nested deep (more members than the Lua C stack holds)", function()
  local root = {}
  local cur = root
  for depth = 1, 100 do
    for i = 1, 100 do cur["k" .. i] = depth * 1000 + i end
    cur.next = {}
    cur = cur.next
  end
  local text = json.encode(root)
  local back = t.ok(json.decode(text))
  t.eq(back, root)
  t.eq(json.canonicalize(text), json.canonical(root))
  t.eq(back.next.next.k7, 3007)
end)
