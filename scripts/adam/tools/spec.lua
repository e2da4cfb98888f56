-- spec_generate: BUNDLE_MANIFEST -> BUILD_SPEC. Deterministic by default: fills a
-- template (scripts/adam/templates/build_spec.md, or --template FILE) from the bundle,
-- and records the template and inputs as the prompt/model meta of the artifact.
local fs = require "hostsync.fs"
local hash = require "hostsync.hash"
local json = require "hostsync.json"
local store_mod = require "adam.store"

local M = {
  summary = "generate a BUILD_SPEC from a bundle with a template (deterministic)",
  options = {
    { "--bundle", "ID", "the bundle_manifest artifact_id (required)", required = true },
    { "--template", "FILE", "the spec template (default: adam/templates/build_spec.md)" },
    { "--title", "TEXT", "the spec's title (default: the bundle id)" },
  },
}

local function default_template()
  local here = debug.getinfo(1, "S").source:match("^@(.*)/tools/[^/]+$") or "."
  return here .. "/templates/build_spec.md"
end

-- {{name}} placeholders only; an unknown placeholder is an error, not an empty string.
local function render(template, values)
  local missing
  local out = template:gsub("{{([%w_]+)}}", function(key)
    if values[key] == nil then missing = missing or key; return "" end
    return values[key]
  end)
  if missing then return nil, "template placeholder {{" .. missing .. "}} has no value" end
  return out
end

function M.run(store, opts)
  local bundle, data = store:parent(opts.bundle, "bundle_manifest")
  if not bundle then return nil, data end
  local doc = json.decode(data)
  if type(doc) ~= "table" or type(doc.items) ~= "table" then return nil, bundle.relpath .. ": not a bundle manifest" end
  local template_path = opts.template or default_template()
  local template, err = fs.read_file(template_path)
  if not template then return nil, err end
  local inputs, steps = {}, {}
  for i, item in ipairs(doc.items) do
    inputs[#inputs + 1] = string.format("- `%s` (%s, %d bytes, sha256 %s)", item.relpath, item.media_type,
      item.byte_size, item.sha256)
    steps[#steps + 1] = string.format("%d. Review `%s` and apply what it asks.", i, item.relpath)
  end
  local values = {
    title = opts.title or bundle.artifact_id, bundle_id = bundle.artifact_id, bundle_sha256 = bundle.sha256,
    inputs = table.concat(inputs, "\n"), steps = table.concat(steps, "\n"),
  }
  local text, rerr = render(template, values)
  if not text then return nil, template_path .. ": " .. rerr end
  local rec, perr = store:put({
    type = "build_spec", name = "build_spec.md", data = text, media_type = "text/markdown",
    parents = { store_mod.link(bundle) },
    meta = { generator = "template", model = "none", prompt_template = template_path:match("[^/]+$"),
             prompt_template_sha256 = hash.sha256_hex(template), inputs = json.array({ store_mod.link(bundle) }),
             title = values.title },
  })
  if not rec then return nil, perr end
  return { rec }
end

return M
