-- handoff.template: a tiny Mustache-like renderer for the session-handoff summary, so
-- users can edit the Markdown without touching Lua.
--
--   {{name}}                  a text value ("" when absent)
--   {{#name}} ... {{/name}}   a list: the block once per item; a text: once if non-empty
--   {{^name}} ... {{/name}}   the block only if the list/text is empty
--   {{.}}  {{index}}          inside a block: the current item, its 1-based number
--
-- A line holding only a section tag ({{#x}}, {{^x}}, {{/x}}) leaves no blank line behind.
-- Every name is checked when the template is parsed, against the names the caller
-- declares, so a typo fails before anything is done: "FILE:LINE: unknown placeholder
-- {{nmae}}". No escaping (the output is Markdown) and no partials.
local M = {}

local Template = {}
Template.__index = Template

-- Splits one line into text and tag tokens.
local function tokenize_line(line, lineno, out, fail)
  local pos = 1
  while true do
    local s, e, inner = line:find("{{(.-)}}", pos)
    if not s then
      if line:find("{{", pos, true) then fail(lineno, "'{{' without a closing '}}'") end
      if pos <= #line then out[#out + 1] = { kind = "text", s = line:sub(pos) } end
      return
    end
    if s > pos then out[#out + 1] = { kind = "text", s = line:sub(pos, s - 1) } end
    local sigil, name = inner:match("^%s*([#%^/]?)%s*([%w_%.]+)%s*$")
    if not name then fail(lineno, "bad placeholder {{" .. inner .. "}}") end
    local kind = sigil == "#" and "open" or sigil == "^" and "open" or sigil == "/" and "close" or "var"
    out[#out + 1] = { kind = kind, name = name, inverted = sigil == "^", line = lineno }
    pos = e + 1
  end
end

-- text: the template; source: its file name (for errors); names: name -> "text" | "list".
-- Returns a template, or nil and "SOURCE:LINE: message".
function M.parse(text, source, names)
  local ok, result = pcall(function()
    local function fail(lineno, msg) error({ msg = ("%s:%d: %s"):format(source, lineno, msg) }, 0) end
    local tokens, lineno = {}, 0
    for line, nl in text:gmatch("([^\n]*)(\n?)") do
      if line == "" and nl == "" then break end
      lineno = lineno + 1
      local tag = line:match("^%s*({{%s*[#%^/].-}})%s*$")
      if tag and select(2, line:gsub("{{", "")) == 1 then
        tokenize_line(tag, lineno, tokens, fail)          -- standalone: drop the line's whitespace and newline
      else
        tokenize_line(line .. nl, lineno, tokens, fail)
      end
    end
    -- Build the tree, checking names and nesting.
    local root = { children = {} }
    local stack = { root }
    for _, t in ipairs(tokens) do
      local top = stack[#stack]
      local in_section = #stack > 1
      if t.kind == "text" then
        top.children[#top.children + 1] = t
      elseif t.kind == "var" then
        if (t.name == "." or t.name == "index") then
          if not in_section then fail(t.line, "{{" .. t.name .. "}} outside a {{#section}}") end
        elseif names[t.name] == "list" then
          fail(t.line, "{{" .. t.name .. "}} is a list: use {{#" .. t.name .. "}} ... {{/" .. t.name .. "}}")
        elseif not names[t.name] then
          fail(t.line, "unknown placeholder {{" .. t.name .. "}}")
        end
        top.children[#top.children + 1] = t
      elseif t.kind == "open" then
        if not names[t.name] then fail(t.line, "unknown placeholder {{" .. (t.inverted and "^" or "#") .. t.name .. "}}") end
        t.children = {}
        top.children[#top.children + 1] = t
        stack[#stack + 1] = t
      else
        if not in_section then fail(t.line, "{{/" .. t.name .. "}} closes nothing") end
        if top.name ~= t.name then
          fail(t.line, ("{{/%s}} closes {{#%s}} (opened on line %d)"):format(t.name, top.name, top.line))
        end
        stack[#stack] = nil
      end
    end
    if #stack > 1 then
      local open = stack[#stack]
      fail(open.line, "{{#" .. open.name .. "}} is never closed")
    end
    return setmetatable({ root = root, source = source }, Template)
  end)
  if ok then return result end
  if type(result) == "table" then return nil, result.msg end
  error(result, 0)
end

local function is_empty(v)
  if v == nil or v == false or v == "" then return true end
  return type(v) == "table" and #v == 0
end

local function render_nodes(nodes, values, scope, out)
  for _, n in ipairs(nodes) do
    if n.kind == "text" then
      out[#out + 1] = n.s
    elseif n.kind == "var" then
      local v
      if n.name == "." then v = scope.item elseif n.name == "index" then v = scope.index else v = values[n.name] end
      out[#out + 1] = v == nil and "" or tostring(v)
    else
      local v = values[n.name]
      if n.inverted then
        if is_empty(v) then render_nodes(n.children, values, scope, out) end
      elseif type(v) == "table" then
        for i, item in ipairs(v) do render_nodes(n.children, values, { item = item, index = i }, out) end
      elseif not is_empty(v) then
        render_nodes(n.children, values, { item = v, index = 1 }, out)
      end
    end
  end
end

-- values: name -> string (text) or array of strings (list).
function Template:render(values)
  local out = {}
  render_nodes(self.root.children, values, {}, out)
  return table.concat(out)
end

return M
