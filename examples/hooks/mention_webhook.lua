-- Forwards chat messages that mention a human to a webhook (docs/hooks.md).
--
-- Server config (hostsync serve --config brain.json):
--   "hooks": { "file": "examples/hooks/mention_webhook.lua",
--              "allow_hosts": ["hooks.example.org"],
--              "settings": { "webhook_url": "https://hooks.example.org/brain",
--                            "humans": ["alice", "bob"] } }
--
-- The webhook gets one JSON POST per message naming at least one of the humans:
--   { text, mentions = [the humans named], chat_id, from = {ai, agent}, project, type }
-- and an Idempotency-Key header: a message may arrive twice after a crash.
local M = {}

function M.on_chat(event, ctx)
  local s = ctx.settings
  if type(s.webhook_url) ~= "string" then error("settings.webhook_url is missing", 0) end
  local humans = {}
  for _, name in ipairs(s.humans or {}) do humans[name] = true end
  local named = {}
  for _, m in ipairs(event.mentions or {}) do
    if humans[m] then named[#named + 1] = m end
  end
  if #named == 0 then return nil end   -- nothing for a human: no action
  return { action = "http_post", url = s.webhook_url,
           json = { text = event.message, mentions = named, chat_id = event.id, type = event.type,
                    from = { ai = event.ai, agent = event.agent }, project = event.project } }
end

return M
