-- work_order_emit: BUILD_SPEC -> WORK_ORDER. STOP-GATED: it writes the work order and
-- never executes anything (this tool has no way to run a command, by construction).
local json = require "hostsync.json"
local store_mod = require "adam.store"

local M = {
  summary = "emit a STOP-GATED WORK_ORDER from a build spec (never executes)",
  options = { { "--spec", "ID", "the build_spec artifact_id (required)", required = true } },
}

function M.run(store, opts)
  local spec, text = store:parent(opts.spec, "build_spec")
  if not spec then return nil, text end
  local steps = {}
  local in_steps = false
  for line in text:gmatch("[^\n]*") do
    if line:match("^## ") then in_steps = line:match("^## Steps") ~= nil
    elseif in_steps and line:match("^%d+%. ") then steps[#steps + 1] = line:gsub("^%d+%. ", "") end
  end
  local order = json.canonical({
    work_order_version = "0.1",
    spec = store_mod.link(spec),
    status = "STOP_GATED",
    execution = "forbidden in v0: a governed executor (post-v0) must approve and run it",
    steps = json.array(steps),
  }) .. "\n"
  local rec, err = store:put({ type = "work_order", name = "work_order.json", data = order,
                               media_type = "application/json", parents = { store_mod.link(spec) },
                               meta = { status = "STOP_GATED", steps = #steps } })
  if not rec then return nil, err end
  return { rec }
end

return M
