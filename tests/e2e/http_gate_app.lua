-- An app with authorize (before the body) and config (test_http_admit.py): a request
-- needs the header X-Key equal to config.key; authorize records what it saw on req.
return function(config)
  local app = {}
  seen = 0   -- requests this worker's authorize saw (a global: one per Lua state)

  function app.authorize(req)
    seen = seen + 1
    req.body_at_authorize = type(req.body)
    if req.headers["x-boom"] then error("authorize failed with SECRET-DETAIL") end
    if req.headers["x-key"] ~= config.key then
      return 401, { ["WWW-Authenticate"] = "Key" }, { error = "no key" }
    end
    req.who = req.headers["x-who"] or "anonymous"
  end

  app.routes = {
    { "POST", "/echo", function(req)
        return { who = req.who, n = #req.body, head = req.body:sub(1, 16), body_at_authorize = req.body_at_authorize,
                 seen = seen }
      end },
    { "GET", "/who", function(req)
        return { who = req.who, body_at_authorize = req.body_at_authorize, seen = seen, label = config.label }
      end },
  }
  return app
end
