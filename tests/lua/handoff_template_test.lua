-- scripts/handoff/template.lua: the {{name}} / {{#list}} renderer behind handoff.lua's
-- session summary (the e2e test covers it with the shipped template and real files).
local t = require "hostsync.testing"

local SRC = assert(os.getenv("HOSTSYNC_SOURCE_DIR"), "HOSTSYNC_SOURCE_DIR is set by ctest")
local template = dofile(SRC .. "/scripts/handoff/template.lua")

local NAMES = { title = "text", context = "text", items = "list", other = "list" }

local function render(text, values)
  local tpl, err = template.parse(text, "t.md", NAMES)
  assert(tpl, err)
  return tpl:render(values)
end

t.test("text values, absent ones empty, spaces inside tags", function()
  t.eq(render("# {{title}} / {{ context }}.\n", { title = "Hero" }), "# Hero / .\n")
end)

t.test("a list repeats its block with {{.}} and {{index}}; an inverted block shows only when empty", function()
  local text = "{{#items}}\n{{index}}. {{.}}\n{{/items}}\n{{^items}}\n- None\n{{/items}}\nend\n"
  t.eq(render(text, { items = { "a", "b" } }), "1. a\n2. b\nend\n")
  t.eq(render(text, { items = {} }), "- None\nend\n")
end)

t.test("a text section renders once when non-empty, with {{.}} the text", function()
  local text = "{{#context}}Context: {{.}}{{/context}}{{^context}}no context{{/context}}\n"
  t.eq(render(text, { context = "premium" }), "Context: premium\n")
  t.eq(render(text, { context = "" }), "no context\n")
end)

t.test("inline section tags keep their line; nested blocks see the innermost item", function()
  t.eq(render("[{{#items}}{{.}},{{/items}}]\n", { items = { "x", "y" } }), "[x,y,]\n")
  t.eq(render("{{#items}}\n{{#other}}\n{{.}}\n{{/other}}\n{{/items}}\n", { items = { "a", "b" }, other = { "o" } }),
       "o\no\n")
end)

t.test("errors name the file and line", function()
  local cases = {
    { "a\n{{nope}}\n", "t.md:2: unknown placeholder {{nope}}" },
    { "{{#nope}}\n{{/nope}}\n", "t.md:1: unknown placeholder {{#nope}}" },
    { "{{items}}\n", "t.md:1: {{items}} is a list: use {{#items}} ... {{/items}}" },
    { "{{#items}}\n{{#other}}\n{{/items}}\n", "t.md:3: {{/items}} closes {{#other}} (opened on line 2)" },
    { "x\n{{/items}}\n", "t.md:2: {{/items}} closes nothing" },
    { "{{#items}}\n\n", "t.md:1: {{#items}} is never closed" },
    { "{{index}}\n", "t.md:1: {{index}} outside a {{#section}}" },
    { "ok\n{{title\n", "t.md:2: '{{' without a closing '}}'" },
    { "{{ti tle}}\n", "t.md:1: bad placeholder {{ti tle}}" },
  }
  for _, c in ipairs(cases) do
    local tpl, err = template.parse(c[1], "t.md", NAMES)
    t.eq(tpl, nil)
    t.eq(err, c[2])
  end
end)
