-- The tool registry of SPEC-007: the seven locked tool names (plus snapshot_verify and
-- snapshot_restore) and the modules that implement them. Tools run only through this registry (`hostsync run adam.lua <tool>`);
-- a name that is not registered is refused.
local M = {}

M.ORDER = {
  "artifact_ingest", "artifact_sanitize", "artifact_canon_select", "context_bundle_build",
  "spec_generate", "work_order_emit", "snapshot_export",
  -- not among SPEC-007's locked names, but run through the same registry:
  "snapshot_verify", "snapshot_restore",
}

local MODULES = {
  artifact_ingest = "adam.tools.ingest",
  artifact_sanitize = "adam.tools.sanitize",
  artifact_canon_select = "adam.tools.canon_select",
  context_bundle_build = "adam.tools.bundle",
  spec_generate = "adam.tools.spec",
  work_order_emit = "adam.tools.work_order",
  snapshot_export = "adam.tools.snapshot_export",
  snapshot_verify = "adam.tools.snapshot_verify",
  snapshot_restore = "adam.tools.snapshot_restore",
}

function M.lookup(name)
  local module = MODULES[name]
  if not module then return nil end
  local ok, tool = pcall(require, module)
  if not ok then return nil, tool end
  return tool
end

function M.is_registered(name) return MODULES[name] ~= nil end

return M
