-- LuaLS annotation files (`---@meta`) for every hostsync.* module, generated from the
-- documentation so the two cannot drift (docs/lua-api.md, "Editor support"):
--
--   hostsync run types/generate.lua            -- rewrite types/hostsync/*.lua
--   hostsync run types/generate.lua --check    -- fail if they differ from what the docs
--                                              -- give, or if docs and modules disagree
--
-- A module's functions are the `alias.name(args) -> returns` signatures its page shows
-- (headings, bullets and code), its methods the `x:name(args)` of headings and bullets,
-- attached to the class of the constructor that returned `x`. The check also loads each
-- real module and compares its exported functions with the documented ones, both ways:
-- an undocumented function or a documented one that does not exist fails.
local cli = require "hostsync.cli"
local fs = require "hostsync.fs"

local opts = cli.parse(arg, {
  usage = "hostsync run types/generate.lua [--check] [--root DIR]",
  summary = "Generate (or check) the LuaLS annotations of hostsync's modules from docs/.",
  options = {
    { "--check", nil, "change nothing; exit 1 when the annotations or the modules drifted from the docs" },
    { "--root", "DIR", "the source tree (default: this script's parent directory)" },
  },
})
local root = opts.root or (debug.getinfo(1, "S").source:match("^@(.*)/types/[^/]*$") or ".")

-- module -> where it is documented: the page, the section of it (nil: all of it), and the
-- name its examples call it by.
local SOURCES = {
  codec = { "docs/api/codec.md" }, crypto = { "docs/api/crypto.md" }, csv = { "docs/api/csv.md" },
  db = { "docs/api/db.md" }, failpoint = { "docs/api/failpoint.md" }, fs = { "docs/api/fs.md" },
  hash = { "docs/api/hash.md" }, http = { "docs/api/http.md" }, json = { "docs/api/json.md" },
  proc = { "docs/api/proc.md" }, tar = { "docs/api/tar.md" }, time = { "docs/api/time.md" },
  watch = { "docs/api/watch.md" },
  cli = { "docs/lua-api.md", "## hostsync.cli" },
  progress = { "docs/lua-api.md", "## hostsync.progress" },
  testing = { "docs/lua-api.md", "## hostsync.testing", "t" },
  debug = { "docs/lua-api.md", "## hostsync.debug" },
  pretty = { "docs/lua-api.md", "## hostsync.pretty" },
  sandbox = { "docs/policies.md", "## The sandbox" },
  policytest = { "docs/policies.md", "## Writing and testing your own policy", "pt" },
}
-- Exported, but not for scripts: the host's own entry points.
local INTERNAL = {
  http = { _run_stream = true, _worker = true },
  testing = { main = true },      -- what `hostsync test` calls
}

local TYPES = {   -- parameter name -> LuaLS type, where the docs' names say it
  path = "string", data = "string", s = "string", text = "string", hex = "string", sql = "string",
  url = "string", name = "string", channel = "string", label = "string", prefix = "string",
  root = "string", relpath = "string", src = "string", dst = "string", fmt = "string",
  message = "string", payload = "string", identity = "string", recipient = "string",
  opts = "table", options = "table", spec = "table", parts = "table", argv = "table",
  migrations = "table", cases = "table", args = "table",
  offset = "integer", length = "integer", fd = "integer", t = "number", seconds = "number",
  timeout = "number", timeout_seconds = "number", fn = "function",
}

local function read(path)
  local text, err = fs.read_file(root .. "/" .. path)
  if not text then cli.fail("generate: " .. err) end
  return text
end

local function section(text, heading)
  if not heading then return text end
  local start = text:find("\n" .. heading:gsub("%p", "%%%0") .. "[^\n]*\n")
  if not start then cli.fail("generate: no section " .. heading) end
  local stop = text:find("\n## ", start + 1, true)
  return text:sub(start, stop)
end

-- "path [, {offset=0}]" -> { {name=, optional=, type=}, ... }
local function params(argtext)
  local list, depth, cur, optional = {}, 0, "", false
  local function flush()
    local p = cur:gsub("^%s+", ""):gsub("%s+$", "")
    cur = ""
    if p == "" then return end
    local name, ty
    if p:sub(1, 1) == "{" then
      name, ty = "opts", "table"
    elseif p == "..." then
      name, ty = "...", "any"
    else
      name = p:match("^([%a_][%w_]*)") or ("arg" .. (#list + 1))
      ty = TYPES[name] or "any"
    end
    list[#list + 1] = { name = name, optional = optional, type = ty }
  end
  for c in argtext:gmatch(".") do
    if c == "[" and depth == 0 then flush() optional = true
    elseif c == "]" and depth == 0 then flush()
    elseif c == "{" or c == "(" then depth = depth + 1 cur = cur .. c
    elseif c == "}" or c == ")" then depth = depth - 1 cur = cur .. c
    elseif c == "," and depth == 0 then flush()
    else cur = cur .. c end
  end
  flush()
  return list
end

-- The balanced "(...)" at position i of s -> its inside, the position after it.
local function balanced(s, i)
  local depth = 0
  for j = i, #s do
    local c = s:sub(j, j)
    if c == "(" then depth = depth + 1 elseif c == ")" then
      depth = depth - 1
      if depth == 0 then return s:sub(i + 1, j - 1), j + 1 end
    end
  end
  return nil
end

local function returns_after(line, pos, alias)
  local ret = line:match("^%s*%->%s*([^`]*)", pos)
  if not ret then return nil end
  ret = ret:gsub(",%s*" .. alias .. "%..*$", ""):gsub("%s+/%s+.*$", ""):gsub(",%s*and%s.*$", "")
  return (ret:gsub("%s+$", ""))
end

-- One module's page -> functions, methods (by class), fields mentioned.
local function scan(mod, src, real)
  local alias = src[3] or mod
  local text = section(read(src[1]), src[2])
  local fns, order, classes, class_order, ctor_of = {}, {}, {}, {}, {}
  local pat = "%f[%w_]" .. alias .. "%.([%a_][%w_]*)([({])"
  local fence   -- inside a code block: its language
  for line in text:gmatch("[^\n]+") do
    local lang = line:match("^%s*```(%w*)")
    if lang then fence = (not fence) and lang or nil end
    -- What documents an API: headings, bullets, and Lua examples (not prose, not other
    -- languages' code, which may name functions of the same spelling).
    local prominent = not fence and (line:match("^#") or line:match("^%s*%- `"))
    local strict = prominent or (fence == "lua" and not lang)
    local pos = 1
    while strict or not fence do
      local s, e, name, open = line:find(pat, pos)
      if not s then break end
      -- In prose, a `code` mention documents a function the module has; it may also
      -- name something else spelled alike (Python's json.dumps), so it is not a claim.
      if not strict and (type(real[name]) ~= "function" or not line:sub(1, s - 1):find("`[^`]*$")) then
        pos = e + 1
        goto continue
      end
      local inside, after
      if open == "{" then
        inside, after = "opts", e + 1              -- f{...}: one options table
      else
        inside, after = balanced(line, e)
        if not inside then inside, after = "...", #line + 1 end   -- a call spanning lines
      end
      local ret = returns_after(line, after, alias)
      local f = fns[name]
      if not f then
        f = { name = name, args = inside, ret = ret, prominent = prominent }
        fns[name] = f
        order[#order + 1] = name
      elseif prominent and not f.prominent then
        f.args, f.ret, f.prominent = inside, ret, prominent
      end
      local receiver = ret and ret:match("^([%a_][%w_]*)")
      if receiver and prominent and receiver ~= "true" and receiver ~= "nil" then
        ctor_of[receiver] = name
      end
      pos = after
      ::continue::
    end
    if fence == "lua" and not lang then
      -- `local r, err = csv.open(...)`: r is what csv.open returns.
      local var, fname = line:match("^%s*local%s+([%a_][%w_]*)[^=]*=%s*" .. alias .. "%.([%a_][%w_]*)%(")
      if var then ctor_of[var] = fname end
    end
    local methods_here = (prominent and not lang) or (fence == "lua" and not lang)
    if methods_here then
      for recv, mname, rest in line:gmatch("%f[%w_]([%a_][%w_]*):([%a_][%w_]*)(%b())") do
        if not prominent and not ctor_of[recv] then goto next_method end   -- io.stderr:write
        local cname = "hostsync." .. mod .. "." .. (ctor_of[recv] or recv)
        local cls = classes[cname]
        if not cls then
          cls = { name = cname, methods = {}, order = {} }
          classes[cname] = cls
          class_order[#class_order + 1] = cname
        end
        if not cls.methods[mname] then
          local tail = line:sub((line:find(recv .. ":" .. mname .. rest, 1, true) or 1) + #recv + #mname + #rest + 1)
          cls.methods[mname] = { name = mname, args = rest:sub(2, -2), ret = returns_after(tail, 1, alias) }
          cls.order[#cls.order + 1] = mname
        end
        ::next_method::
      end
    end
  end
  local fields = {}
  for name in text:gmatch("%f[%w_]" .. alias .. "%.([%a_][%w_]*)%f[^%w_(]") do fields[name] = true end
  return { fns = fns, order = order, classes = classes, class_order = class_order, ctor_of = ctor_of,
           fields = fields, page = src[1] }
end

local function lua_type(v)
  local t = type(v)
  if t == "userdata" then return "userdata" end
  return t
end

-- Annotation text of one module, and the drift found between its docs and the module.
local function render(mod, doc, real)
  local problems = {}
  for name, v in pairs(real) do
    if type(v) == "function" and not doc.fns[name] and not (INTERNAL[mod] or {})[name] and name:sub(1, 1) ~= "_" then
      problems[#problems + 1] = ("hostsync.%s.%s is exported but not documented in %s"):format(mod, name, doc.page)
    end
  end
  for _, name in ipairs(doc.order) do
    if type(real[name]) ~= "function" then
      problems[#problems + 1] = ("%s documents %s.%s(), which hostsync.%s does not export"):format(doc.page,
        SOURCES[mod][3] or mod, name, mod)
    end
  end
  local out = { "---@meta hostsync." .. mod,
                "-- Generated by types/generate.lua from " .. doc.page .. "; do not edit (run it again).", "" }
  local function fn_lines(prefix, f)
    local ps = params(f.args)
    for _, p in ipairs(ps) do
      if p.name == "..." then out[#out + 1] = "---@param ... any"
      else out[#out + 1] = ("---@param %s%s %s"):format(p.name, p.optional and "?" or "", p.type) end
    end
    local cls = prefix == "M." and doc.classes["hostsync." .. mod .. "." .. f.name]   -- f constructs it
    if f.ret or cls then
      out[#out + 1] = ("---@return %s%s"):format(cls and (cls.name .. "|nil") or "any", f.ret and (" # " .. f.ret) or "")
    end
    local names = {}
    for _, p in ipairs(ps) do names[#names + 1] = p.name end
    out[#out + 1] = ("function %s(%s) end"):format(prefix .. f.name, table.concat(names, ", "))
    out[#out + 1] = ""
  end
  for _, cname in ipairs(doc.class_order) do
    out[#out + 1] = "---@class " .. cname
    out[#out + 1] = "local " .. cname:gsub("%.", "_") .. " = {}"
    out[#out + 1] = ""
    for _, m in ipairs(doc.classes[cname].order) do fn_lines(cname:gsub("%.", "_") .. ":", doc.classes[cname].methods[m]) end
  end
  out[#out + 1] = ("---@class hostsync.%s"):format(mod)
  local keys = {}
  for k in pairs(real) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    if type(real[k]) ~= "function" and doc.fields[k] then
      out[#out + 1] = ("---@field %s %s"):format(k, lua_type(real[k]))
    end
  end
  out[#out + 1] = "local M = {}"
  out[#out + 1] = ""
  out[#out + 1] = ("-- %s"):format(doc.page)
  local sorted = {}
  for _, name in ipairs(doc.order) do sorted[#sorted + 1] = name end
  table.sort(sorted)
  for _, name in ipairs(sorted) do fn_lines("M.", doc.fns[name]) end
  out[#out + 1] = "return M"
  return table.concat(out, "\n") .. "\n", problems
end

local mods = {}
for mod in pairs(SOURCES) do mods[#mods + 1] = mod end
table.sort(mods)
local problems, changed = {}, {}
local dir = root .. "/types/hostsync"
if not opts.check then assert(fs.mkdir_p(dir)) end
for _, mod in ipairs(mods) do
  local text, probs = render(mod, scan(mod, SOURCES[mod], require("hostsync." .. mod)), require("hostsync." .. mod))
  for _, p in ipairs(probs) do problems[#problems + 1] = p end
  local path = dir .. "/" .. mod .. ".lua"
  if fs.read_file(path) ~= text then
    changed[#changed + 1] = path
    if not opts.check then assert(fs.write_atomic(path, text)) end
  end
end
-- The global `hostsync` table: every module by its short name, and the version.
local ns = { "---@meta _", "-- Generated by types/generate.lua; do not edit (run it again).", "",
             "---@class hostsync.namespace", "---@field version string" }
for _, mod in ipairs(mods) do ns[#ns + 1] = ("---@field %s hostsync.%s"):format(mod, mod) end
ns[#ns + 1] = "---@type hostsync.namespace"
ns[#ns + 1] = "hostsync = {}"
local ns_text, ns_path = table.concat(ns, "\n") .. "\n", dir .. "/_namespace.lua"
if fs.read_file(ns_path) ~= ns_text then
  changed[#changed + 1] = ns_path
  if not opts.check then assert(fs.write_atomic(ns_path, ns_text)) end
end
table.sort(problems)
for _, p in ipairs(problems) do io.stderr:write("generate: ", p, "\n") end
if opts.check then
  for _, p in ipairs(changed) do
    io.stderr:write("generate: ", p, " differs from what the docs give: run hostsync run types/generate.lua\n")
  end
  if #problems + #changed > 0 then os.exit(1) end
  print(("%d modules: annotations match the docs, docs match the modules"):format(#mods))
elseif #problems > 0 then
  os.exit(1)
end
