-- Turns every handoff into a task for its receiver (docs/hooks.md).
--
-- Server config: "hooks": "examples/hooks/handoff_to_task.lua" (or --hooks FILE).
-- The task is created by the hooks' own identity (hooks.agent, default "hooks"), in the
-- handoff's project, assigned to the receiver, who may then update it.
local M = {}

function M.on_handoff(event)
  if event.action ~= "created" then return nil end   -- an acknowledgement: nothing to do
  local h = event.handoff
  return { action = "create_task", assigned_to = h.to_agent, project = h.project,
           title = ("Handoff #%d from @%s: %s"):format(h.id, h.from_agent, h.artifact or "work") }
end

return M
