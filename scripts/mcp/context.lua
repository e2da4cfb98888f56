-- mcp.context: what a tool handler gets as `ctx`. One place for calling the brain and
-- turning its refusals into tool errors that say what to do.
--
--   ctx.call("POST", "/chat", body, 201)   -> the decoded body, or ctx.fail("<why>")
--   ctx.path("/locks/", name)               -> "/locks/push%3Aweb"-style path with a segment
--   ctx.query{ project = p }                -> "?project=p" (nil values left out)
--   ctx.me()                                -> the token's identity (GET /whoami, once)
--   ctx.text(v, default)                    -> v as text; default for nil or JSON null
--   ctx.who(holder)                         -> "claude/@marcus (machine m1)"
--   ctx.fail(msg)                           -> ends the call with an isError result
local client = require "brain.client"
local json = require "hostsync.json"

local M = {}

function M.new(brain, fail)
  local ctx = { brain = brain, fail = fail, json = json, query = client.query }
  local me

  function ctx.path(prefix, segment, suffix)
    return prefix .. client.segment(segment) .. (suffix or "")
  end

  -- Calls the brain; any status but `want` (a number or a list) fails the tool call with
  -- the server's own error text, which names the field, the holder or the rule.
  function ctx.call(method, path, body, want)
    local st, v = brain:api(method, path, body)
    local wanted = type(want) == "table" and want or { want or 200 }
    for _, w in ipairs(wanted) do
      if st == w then return v, st end
    end
    fail(("%s %s: %d %s"):format(method, path, st, tostring(v.error or json.encode(v))))
  end

  function ctx.me()
    me = me or ctx.call("GET", "/whoami")
    return me
  end

  -- A string field of an answer as text: `default` for nil and JSON null.
  function ctx.text(v, default)
    if v == nil or v == json.null then return default end
    return tostring(v)
  end

  -- "claude/@marcus (machine m1)" from a lock holder or a message author.
  function ctx.who(h)
    if type(h) ~= "table" then return "?" end
    return ("%s/@%s (machine %s)"):format(ctx.text(h.ai, "?"), ctx.text(h.agent, "?"), ctx.text(h.machine, "?"))
  end

  return ctx
end

return M
